//! What the script guests' builds share (the JavaScript and Python
//! guests, whose tools cargo does not track): whether a built component is
//! up to date with its inputs, and running the language's tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::guests::ScriptGuest;

/// Runs `command` (the language's componentize tool, named `tool`) in
/// `guest`'s directory, its output on stderr (a build script's stdout is
/// for cargo).
pub(crate) fn run(mut command: Command, guest: &ScriptGuest, tool: &str) -> Result<()> {
    let status = command
        .current_dir(&guest.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("running {tool} for guest `{}`", guest.name))?;
    if !status.success() {
        bail!("building guest `{}` failed ({tool})", guest.name);
    }
    Ok(())
}

/// True when `out` exists and is newer than every file under `inputs`.
pub(crate) fn is_newer_than_all(out: &Path, inputs: &[PathBuf]) -> bool {
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
