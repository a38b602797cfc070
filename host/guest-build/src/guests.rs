//! Finding the guests: the Rust members of the guests workspace (through
//! `cargo metadata`, so the workspace's own member list is the truth) and
//! the hand-written `.wat` modules in `guests/wat/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::toolchain::Toolchain;

/// The stack a guest gets unless its manifest says otherwise. Small on
/// purpose: the host zeroes guest memory for every call, and the stack is
/// most of a small guest's memory.
pub const DEFAULT_STACK_SIZE: u64 = 64 * 1024;

/// A `cdylib` member of the guests workspace.
#[derive(Debug, Clone)]
pub(crate) struct RustGuest {
    /// The package name, used as the component's name.
    pub name: String,
    /// The library target's name: the `.wasm` file's stem.
    pub lib_name: String,
    /// From `[package.metadata.smcp] stack-size`, else [`DEFAULT_STACK_SIZE`].
    pub stack_size: u64,
    /// From `[package.metadata.smcp] target`, else [`RustTarget::Bare`].
    pub target: RustTarget,
}

/// What a Rust guest is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustTarget {
    /// `wasm32-unknown-unknown`: a core module importing only the host's
    /// WIT, made into a component here.
    Bare,
    /// `wasm32-wasip2`: rustc's own component, WASI imports and all, as any
    /// tenant's `cargo build --target wasm32-wasip2` makes it.
    Wasip2,
}

impl RustTarget {
    pub fn triple(self) -> &'static str {
        match self {
            Self::Bare => "wasm32-unknown-unknown",
            Self::Wasip2 => "wasm32-wasip2",
        }
    }
}

/// A hand-written core module.
#[derive(Debug, Clone)]
pub(crate) struct WatGuest {
    pub name: String,
    pub path: PathBuf,
}

/// A guest in a scripting language: `guests/<name>/app.js` (JavaScript,
/// componentize-js) or `guests/<name>/app.py` (Python, componentize-py).
#[derive(Debug, Clone)]
pub(crate) struct ScriptGuest {
    pub name: String,
    pub dir: PathBuf,
    /// The world of `wit/` it is built against: a `smcp-world: NAME` line
    /// in its script (a comment), else `mcp-server`. Dynamic-language
    /// toolchains import every interface of the world, so a smaller world
    /// keeps the component's reach, and its grant, small.
    pub world: String,
}

/// The world a script names in a `smcp-world: NAME` comment.
fn world_of(script: &str) -> Option<String> {
    script.lines().find_map(|line| {
        let (_, rest) = line.split_once("smcp-world:")?;
        let name = rest.trim();
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')).then(|| name.to_owned())
    })
}

/// Every directory of `guests/` with an `entry` file (`app.js`, `app.py`)
/// and no `Cargo.toml`, sorted by name.
pub(crate) fn script_guests(guests_dir: &Path, entry: &str) -> Result<Vec<ScriptGuest>> {
    let mut guests = Vec::new();
    for item in std::fs::read_dir(guests_dir).with_context(|| format!("reading {}", guests_dir.display()))? {
        let dir = item?.path();
        if dir.join(entry).is_file() && !dir.join("Cargo.toml").exists() {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let script = std::fs::read_to_string(dir.join(entry)).with_context(|| format!("reading {name}/{entry}"))?;
            let world = world_of(&script).unwrap_or_else(|| crate::component::WORLD.to_owned());
            guests.push(ScriptGuest { name, dir, world });
        }
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

/// The workspace's `cdylib` members, in `cargo metadata` order.
pub(crate) fn rust_guests(toolchain: &Toolchain, guests_dir: &Path) -> Result<Vec<RustGuest>> {
    let mut cmd = toolchain.cargo();
    cmd.current_dir(guests_dir)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(guests_dir.join("Cargo.toml"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let out = cmd.output().context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed for {}", guests_dir.display());
    }
    let metadata: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    parse_metadata(&metadata)
}

fn parse_metadata(metadata: &Value) -> Result<Vec<RustGuest>> {
    let packages = metadata["packages"].as_array().context("cargo metadata without packages")?;
    let mut guests = Vec::new();
    for package in packages {
        let name = package["name"].as_str().context("package without a name")?;
        let cdylib = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["crate_types"].as_array().is_some_and(|types| types.iter().any(|k| k == "cdylib")));
        let Some(lib) = cdylib else { continue };
        let stack_size = match &package["metadata"]["smcp"]["stack-size"] {
            Value::Null => DEFAULT_STACK_SIZE,
            v => v
                .as_u64()
                .filter(|&n| n > 0 && n % 16 == 0)
                .with_context(|| format!("{name}: stack-size must be a positive multiple of 16, not {v}"))?,
        };
        let target = match &package["metadata"]["smcp"]["target"] {
            Value::Null => RustTarget::Bare,
            v if v == "wasm32-unknown-unknown" => RustTarget::Bare,
            v if v == "wasm32-wasip2" => RustTarget::Wasip2,
            v => bail!("{name}: target must be \"wasm32-unknown-unknown\" or \"wasm32-wasip2\", not {v}"),
        };
        let lib_name = lib["name"].as_str().context("target without a name")?.replace('-', "_");
        guests.push(RustGuest { name: name.to_string(), lib_name, stack_size, target });
    }
    Ok(guests)
}

/// Every `guests/wat/*.wat`, sorted by name.
pub(crate) fn wat_guests(guests_dir: &Path) -> Result<Vec<WatGuest>> {
    let dir = guests_dir.join("wat");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut guests = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wat") {
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            guests.push(WatGuest { name, path });
        }
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_selects_cdylibs_and_reads_stack_size() {
        let metadata = serde_json::json!({"packages": [
            {"name": "calc", "metadata": null,
             "targets": [{"name": "calc", "crate_types": ["cdylib"]}]},
            {"name": "hostile-recursion", "metadata": {"smcp": {"stack-size": 131072}},
             "targets": [{"name": "hostile-recursion", "crate_types": ["cdylib"]}]},
            {"name": "calc-wasip2", "metadata": {"smcp": {"target": "wasm32-wasip2"}},
             "targets": [{"name": "calc", "crate_types": ["cdylib"]}]},
            {"name": "helper", "targets": [{"name": "helper", "crate_types": ["lib"]}]}
        ]});
        let guests = parse_metadata(&metadata).unwrap();
        assert_eq!(guests.len(), 3);
        assert_eq!(guests[0].target, RustTarget::Bare);
        assert_eq!(guests[2].target, RustTarget::Wasip2);
        assert_eq!((guests[0].name.as_str(), guests[0].stack_size), ("calc", DEFAULT_STACK_SIZE));
        assert_eq!((guests[1].lib_name.as_str(), guests[1].stack_size), ("hostile_recursion", 131072));
    }

    #[test]
    fn a_script_names_its_world_in_a_comment() {
        assert_eq!(world_of("// notes\n// smcp-world: kv-server\nimport x;"), Some("kv-server".into()));
        assert_eq!(world_of("# smcp-world: tool-server"), Some("tool-server".into()));
        assert_eq!(world_of("// smcp-world: ../etc"), None);
        assert_eq!(world_of("print(1)"), None);
    }

    #[test]
    fn bad_stack_size_is_an_error() {
        let metadata = serde_json::json!({"packages": [{"name": "g", "metadata": {"smcp": {"stack-size": "big"}},
            "targets": [{"name": "g", "crate_types": ["cdylib"]}]}]});
        assert!(parse_metadata(&metadata).is_err());
    }
}
