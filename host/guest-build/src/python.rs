//! Python guests: `guests/<name>/app.py`, a module defining `Server` (the
//! `smcp:mcp/server` export), built against the world of `wit/` it names
//! (see [`crate::guests`]) by componentize-py (CPython and its standard
//! library) from the
//! pinned toolchain in `guests/py-toolchain` (a virtual environment;
//! `scripts/test.sh` makes it).
//!
//! The build stubs out WASI (`--stub-wasi`): componentize-py's CPython
//! imports `wasi:sockets`, which the host does not serve. A stubbed
//! function traps if called, so Python's `print`, `time` and `random`
//! are not available; use the `smcp:mcp` log, clock and random imports.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::guests::ScriptGuest;
use crate::{BuildOptions, script};

/// The toolchain's directory under the repository root.
pub const TOOLCHAIN_DIR: &str = "guests/py-toolchain";

/// Builds `guest` into `<out>/<name>.component.wasm` unless that is newer
/// than its sources, the WIT and the toolchain; returns its path.
pub(crate) fn build(opts: &BuildOptions, guest: &ScriptGuest) -> Result<PathBuf> {
    let toolchain = opts.workspace_root.join(TOOLCHAIN_DIR);
    let componentize = toolchain.join(".venv/bin/componentize-py");
    if !componentize.is_file() {
        bail!(
            "guest `{}` is Python, and the toolchain that builds it is not installed: run `python3 -m venv {TOOLCHAIN_DIR}/.venv && {TOOLCHAIN_DIR}/.venv/bin/pip install -r {TOOLCHAIN_DIR}/requirements.txt` (scripts/test.sh does)",
            guest.name
        );
    }
    let out = opts.out_dir.join(format!("{}.component.wasm", guest.name));
    let inputs = [guest.dir.clone(), opts.wit_dir(), toolchain.join("requirements.txt")];
    if script::is_newer_than_all(&out, &inputs) {
        return Ok(out);
    }
    let mut command = std::process::Command::new(&componentize);
    command
        .arg("-d")
        .arg(opts.wit_dir())
        .args(["-w", &guest.world, "componentize", "--stub-wasi", "app", "-o"])
        .arg(&out);
    script::run(command, guest, "componentize-py")?;
    Ok(out)
}
