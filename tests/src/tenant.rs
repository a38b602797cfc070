//! Commands run as a tenant runs them, outside this repository's build:
//! none of the running test's cargo settings, and a shared target directory
//! for the projects the tests make (a warm cache between runs).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `<target>/new-project-target`, beside the tests' own guest builds.
pub fn projects_target_dir() -> PathBuf {
    let guests = crate::guest_target_dir().expect("the tests' target directory");
    guests.with_file_name("new-project-target")
}

/// `program` in `dir` with the environment a tenant's shell has: the
/// running test's CARGO*/RUSTC* settings removed (cargo's home, network
/// and registry settings kept), and `CARGO_TARGET_DIR` set to `target`.
pub fn command_in(program: impl AsRef<std::ffi::OsStr>, dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = ["CARGO_HOME", "CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_TERM_"]
            .iter()
            .any(|k| key.starts_with(k));
        if (key.starts_with("CARGO") && !keep) || key.starts_with("RUSTC") || key == "RUSTFLAGS" {
            command.env_remove(&key);
        }
    }
    command.current_dir(dir).env("CARGO_TARGET_DIR", target);
    command
}

/// [`command_in`] with the projects' shared target directory.
pub fn command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    command_in(program, dir, &projects_target_dir())
}
