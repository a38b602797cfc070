//! `smcp new`: a guest project anywhere on disk, which `smcp build` turns
//! into a component. In Rust cargo's own `wasm32-wasip2` target builds a
//! component the host takes as it is (the SDK's imports plus the WASI
//! subset its standard library uses); in JavaScript and Python,
//! componentize-js or componentize-py build against the host's WIT, which
//! the project carries in `wit/`.

use std::path::{Path, PathBuf};

/// What the new server starts with.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// A tool that only computes: no grant sections needed.
    Tool,
    /// Tools that keep data in the server's own kv space.
    Storage,
    /// A tool that fetches pages from the hosts the grant allows.
    Fetch,
}

/// The language the server is written in.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Rust,
    Javascript,
    Python,
}

#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// The directory to create; its last part names the server.
    dir: PathBuf,
    #[arg(long, value_enum, default_value = "tool")]
    template: Template,
    /// JavaScript and Python projects start from the `tool` template.
    #[arg(long, value_enum, default_value = "rust")]
    lang: Language,
    /// The guest SDK (`smcp-guest`): a path to its crate. Default: the SDK
    /// of the checkout this smcp was built from, when it is still there.
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// Creates the project; prints what was made and what to run next.
pub fn run(args: NewArgs) -> Result<(), String> {
    let name = args
        .dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| valid_name(n))
        .ok_or_else(|| {
            format!(
                "`{}`: the directory's name names the server: lowercase letters, digits and `-`, starting with a letter",
                args.dir.display()
            )
        })?
        .to_owned();
    if args.dir.exists() {
        return Err(format!("{} already exists", args.dir.display()));
    }
    let lib = name.replace('-', "_");
    let fill = |template: &str, sdk: &str| {
        template.replace("{{name}}", &name).replace("{{lib}}", &lib).replace("{{sdk}}", sdk)
    };
    let files: Vec<(&str, String)> = match (args.lang, args.template) {
        (Language::Rust, template) => {
            let sdk = match args.sdk {
                Some(path) => path,
                None => {
                    built_with_sdk().ok_or("no guest SDK found beside this smcp: give its crate with --sdk PATH")?
                }
            };
            let sdk = sdk.canonicalize().map_err(|e| format!("--sdk {}: {e}", sdk.display()))?;
            if !sdk.join("Cargo.toml").is_file() {
                return Err(format!("--sdk {}: not a crate (no Cargo.toml)", sdk.display()));
            }
            let sdk = format!("path = {:?}", sdk.display().to_string());
            let fill = |template: &str| fill(template, &sdk);
            let (source, grant) = match template {
                Template::Tool => (include_str!("templates/tool.rs"), include_str!("templates/grant-tool.toml")),
                Template::Storage => {
                    (include_str!("templates/storage.rs"), include_str!("templates/grant-storage.toml"))
                }
                Template::Fetch => (include_str!("templates/fetch.rs"), include_str!("templates/grant-fetch.toml")),
            };
            vec![
                ("Cargo.toml", fill(include_str!("templates/Cargo.toml.in"))),
                ("src/lib.rs", fill(source)),
                ("grant.toml", fill(grant)),
                ("README.md", fill(include_str!("templates/README.md.in"))),
                (".gitignore", "/target\n".to_owned()),
            ]
        }
        (language, Template::Tool) => {
            let fill = |template: &str| fill(template, "");
            let wit = ("wit/smcp.wit", smcp_core::world::HOST_WIT.to_owned());
            let grant = ("grant.toml", fill(include_str!("templates/grant-script.toml")));
            match language {
                Language::Javascript => vec![
                    ("app.js", fill(include_str!("templates/tool.js"))),
                    ("package.json", fill(include_str!("templates/package.json.in"))),
                    ("README.md", fill(include_str!("templates/README-js.md.in"))),
                    (".gitignore", "/node_modules\n*.wasm\n".to_owned()),
                    wit,
                    grant,
                ],
                _ => vec![
                    ("app.py", fill(include_str!("templates/tool.py"))),
                    ("pyproject.toml", fill(include_str!("templates/pyproject.toml.in"))),
                    ("README.md", fill(include_str!("templates/README-py.md.in"))),
                    (".gitignore", "*.wasm\n__pycache__/\n".to_owned()),
                    wit,
                    grant,
                ],
            }
        }
        (language, template) => {
            return Err(format!("{language:?} projects start from the tool template, not {template:?} (for now)"));
        }
    };
    for (file, text) in files {
        write(&args.dir.join(file), &text)?;
    }
    println!("created {} ({:?}, {:?} template)", args.dir.display(), args.lang, args.template);
    let build = match args.lang {
        Language::Javascript => "npm install && smcp build",
        Language::Rust | Language::Python => "smcp build",
    };
    println!("next: cd {} && {build}", args.dir.display());
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// A crate name the server's name can be: `[a-z][a-z0-9-]*`, at most 64.
pub(crate) fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The SDK of the checkout this binary was built from.
fn built_with_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk");
    sdk.join("Cargo.toml").is_file().then_some(sdk)
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn server_names_are_crate_names() {
        for good in ["bookmarks", "my-server2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "2fast", "My", "a_b", "a/b", "..", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
