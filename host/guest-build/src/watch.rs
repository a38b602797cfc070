//! The inputs of a guest build, for `cargo:rerun-if-changed`.
//!
//! Directories are fine to list (cargo scans them), but never one that
//! contains a target directory: the build itself changes it.

use std::path::{Path, PathBuf};

/// Sources and manifests under `root` that the guests are built from.
pub(crate) fn inputs(root: &Path) -> Vec<PathBuf> {
    // The WIT lives in the SDK (the top-level wit/ links to it): listed by
    // its real path, as cargo's scan may not follow a link.
    let sdk = root.join("guest-sdk");
    let mut paths: Vec<PathBuf> = ["Cargo.toml", "src", "wit"].map(|p| sdk.join(p)).into();
    let guests = root.join("guests");
    paths.extend(["Cargo.toml", "Cargo.lock", "wat"].map(|p| guests.join(p)));
    if let Ok(entries) = std::fs::read_dir(&guests) {
        let mut crates: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("Cargo.toml").is_file()).collect();
        crates.sort();
        for dir in crates {
            paths.extend(["Cargo.toml", "src", "wit", "build.rs"].map(|p| dir.join(p)));
        }
    }
    // JavaScript and Python guests, and the toolchains that build them.
    if let Ok(entries) = std::fs::read_dir(&guests) {
        let mut scripts: Vec<PathBuf> =
            entries.flatten().map(|e| e.path().join("app.js")).filter(|p| p.is_file()).collect();
        scripts.sort();
        paths.extend(scripts);
    }
    paths.push(guests.join("js-toolchain/package-lock.json"));
    paths.push(guests.join("py-toolchain/requirements.txt"));
    paths.retain(|p| p.exists());
    paths
}
