//! Whether a built file is up to date with its inputs, for the builds that
//! cargo does not track (the JavaScript and Python guests).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
