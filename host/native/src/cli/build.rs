//! `smcp build`: a guest project, anywhere on disk, into a component, by
//! its language's own tools, then reviewed exactly as `smcp inspect`
//! reviews it (the same exit codes). What it runs:
//!
//! - a Rust crate (`Cargo.toml`): `cargo build --release --target
//!   wasm32-wasip2`, adding the target through rustup when it is missing;
//! - a JavaScript project (`package.json`): its `build` script, with
//!   `node_modules/.bin` first on the path, as `npm run build` does;
//! - a Python project (`pyproject.toml`): componentize-py against `wit/`,
//!   with the world and module named under `[tool.smcp]`.
//!
//! Progress goes to stderr, one `==>` line per step; the review to stdout.

use super::inspect::{self, Verdict};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The project: a Rust crate using the guest SDK, or a JavaScript or
    /// Python project made by `smcp new`.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The grant to review the component with [default: the project's
    /// grant.toml, when it has one].
    #[arg(long)]
    grant: Option<PathBuf>,
    /// The host's `--max-upload-bytes`, which sets the largest component it takes.
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,
    /// Also copy the component here: a path that does not depend on the
    /// language's build directory, for the commands that follow.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// The component's path and review as JSON, on stdout.
    #[arg(long)]
    json: bool,
}

/// The Rust target whose output is a component the host takes as it is.
const RUST_TARGET: &str = "wasm32-wasip2";

pub fn build(args: BuildArgs) -> anyhow::Result<Verdict> {
    let dir = args.dir.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", args.dir.display()))?;
    let mut component = build_component(&dir)?;
    if let Some(out) = &args.out {
        std::fs::copy(&component, out)
            .map_err(|e| anyhow::anyhow!("copying the component to {}: {e}", out.display()))?;
        component = out.clone();
    }
    let grant = args.grant.or_else(|| project_grant(&dir));
    step(&format!("reviewing {}", component.display()));
    let review = inspect::read_review(&inspect::runtime(args.max_upload_bytes)?, &component, grant.as_deref())?;
    if args.json {
        let answer = serde_json::json!({ "component": component, "grant": grant, "review": review });
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        inspect::print_review(&component, &review, grant.is_some());
    }
    let verdict = Verdict::of(&review);
    let imported = review.capabilities.iter().filter(|c| c.imported).count();
    eprintln!(
        "==> built {} ({:.2} MiB, {imported} imported interfaces): {}",
        component.display(),
        review.size as f64 / (1 << 20) as f64,
        match verdict {
            Verdict::Fine => "the host would run it",
            _ => "the host would REFUSE it (see above)",
        }
    );
    Ok(verdict)
}

/// Builds the project in `dir` (canonical) by its language's tools: the
/// component's path.
pub(crate) fn build_component(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.join("Cargo.toml").is_file() {
        build_rust(dir)
    } else if dir.join("package.json").is_file() {
        build_javascript(dir)
    } else if dir.join("pyproject.toml").is_file() {
        build_python(dir)
    } else {
        anyhow::bail!(
            "{}: no Cargo.toml, package.json or pyproject.toml: not a project `smcp build` knows (see `smcp new`)",
            dir.display()
        )
    }
}

/// The project's `grant.toml`, when it has one.
pub(crate) fn project_grant(dir: &Path) -> Option<PathBuf> {
    Some(dir.join("grant.toml")).filter(|g| g.is_file())
}

/// One step's progress line.
pub(crate) fn step(what: &str) {
    eprintln!("==> {what}");
}

/// Runs `command`, its output going to this process's stderr (stdout is
/// the review's).
fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    step(what);
    let status = command.stdout(std::io::stderr()).status().map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    anyhow::ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}

fn build_rust(dir: &Path) -> anyhow::Result<PathBuf> {
    ensure_rust_target()?;
    let manifest = dir.join("Cargo.toml");
    let what = format!("cargo build --release --target {RUST_TARGET} (in {})", dir.display());
    step(&what);
    let output = Command::new("cargo")
        .args(["build", "--release", "--target", RUST_TARGET, "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("running cargo: {e}"))?;
    anyhow::ensure!(output.status.success(), "{what} failed ({})", output.status);
    // cargo names each artifact in a JSON message: the crate's cdylib is
    // the component.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let artifacts: Vec<PathBuf> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["manifest_path"].as_str() == manifest.to_str())
        .filter(|m| m["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib")))
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().filter(|f| f.ends_with(".wasm")).map(PathBuf::from))
        .collect();
    artifacts.into_iter().next().ok_or_else(|| {
        anyhow::anyhow!("{} builds no cdylib: give it `[lib] crate-type = [\"cdylib\"]`", manifest.display())
    })
}

/// Adds the wasm32-wasip2 target through rustup when it is missing; without
/// rustup, says how to get it.
fn ensure_rust_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(output) if output.status.success() => {
            if !String::from_utf8_lossy(&output.stdout).lines().any(|t| t.trim() == RUST_TARGET) {
                run(
                    Command::new("rustup").args(["target", "add", RUST_TARGET]),
                    &format!("rustup target add {RUST_TARGET}"),
                )?;
            }
            Ok(())
        }
        // No rustup: a toolchain that has the target has its library.
        _ => {
            let libdir = Command::new("rustc")
                .args(["--print", "target-libdir", "--target", RUST_TARGET])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
            anyhow::ensure!(
                libdir.is_some_and(|d| d.is_dir()),
                "this Rust toolchain has no {RUST_TARGET} target, and there is no rustup to add it: install Rust with rustup (https://rustup.rs), then `rustup target add {RUST_TARGET}`"
            );
            Ok(())
        }
    }
}

fn build_javascript(dir: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(dir.join("package.json"))?;
    let package: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", dir.join("package.json").display()))?;
    let script = package["scripts"]["build"].as_str().ok_or_else(|| {
        anyhow::anyhow!("package.json has no `build` script (`smcp new --lang javascript` writes one)")
    })?;
    let bin = dir.join("node_modules/.bin");
    anyhow::ensure!(bin.is_dir(), "{} has no node_modules: run `npm install` there first", dir.display());
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    run(
        Command::new("sh").arg("-c").arg(script).current_dir(dir).env("PATH", path),
        &format!("npm run build: {script}"),
    )?;
    let name = package["name"].as_str().unwrap_or("component");
    Ok(dir.join(output_of(script).unwrap_or_else(|| format!("{name}.wasm"))))
}

/// The `-o`/`--out` file a build command writes, when it names one.
fn output_of(command: &str) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == "-o" || w[0] == "--out").map(|w| w[1].to_owned())
}

/// `[tool.smcp]` of a Python project's pyproject.toml.
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct PythonSettings {
    world: Option<String>,
    module: Option<String>,
    stub_wasi: Option<bool>,
}

fn build_python(dir: &Path) -> anyhow::Result<PathBuf> {
    let file = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&file)?;
    let pyproject: toml::Table = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let name = pyproject
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| anyhow::anyhow!("{}: no [project] name", file.display()))?;
    let settings: PythonSettings = match pyproject.get("tool").and_then(|t| t.get("smcp")) {
        Some(table) => table.clone().try_into().map_err(|e| anyhow::anyhow!("{}: [tool.smcp]: {e}", file.display()))?,
        None => PythonSettings::default(),
    };
    let world = settings.world.as_deref().unwrap_or("tool-server");
    let module = settings.module.as_deref().unwrap_or("app");
    let component = format!("{name}.wasm");
    // The project's own virtual environment first, then the path.
    let local = dir.join(".venv/bin/componentize-py");
    let program = if local.is_file() { local } else { PathBuf::from("componentize-py") };
    let mut command = Command::new(&program);
    command.args(["-d", "wit", "-w", world, "componentize"]);
    if settings.stub_wasi.unwrap_or(true) {
        command.arg("--stub-wasi");
    }
    command.args([module, "-o", &component]).current_dir(dir);
    let what = format!("componentize-py -d wit -w {world} componentize {module} -o {component}");
    run(&mut command, &what).map_err(|e| {
        if program.is_relative() && which_missing(&program) {
            anyhow::anyhow!("{e}: componentize-py is not installed (`pip install componentize-py==0.25.1`)")
        } else {
            e
        }
    })?;
    Ok(dir.join(component))
}

/// True when `program` is on no directory of the path.
fn which_missing(program: &Path) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).all(|d| !d.join(program).is_file())
}

#[cfg(test)]
mod tests {
    use super::output_of;

    #[test]
    fn a_build_scripts_output_is_its_dash_o() {
        assert_eq!(output_of("jco componentize app.js --wit wit -o x.wasm").as_deref(), Some("x.wasm"));
        assert_eq!(output_of("tsc && jco componentize app.js --out dist/y.wasm").as_deref(), Some("dist/y.wasm"));
        assert_eq!(output_of("make"), None);
    }
}
