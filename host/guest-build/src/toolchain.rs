//! Finding a compiler for `wasm32-unknown-unknown` and running cargo for it
//! with a clean environment.
//!
//! Two routes, in order of preference:
//! 1. the target is installed (`rustup target add wasm32-unknown-unknown`,
//!    or any rustc whose sysroot has the target's std): plain cargo;
//! 2. Debian's `rustc-web`/`cargo-web`/`rust-web-src` (a newer compiler with
//!    the standard library's source): std is built from source with
//!    `-Zbuild-std`, linked by rustup's `rust-lld`. This is how machines
//!    without internet access to rustup's servers build guests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// The guests' target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// How guests get compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    /// The `cargo` and `rustc` on PATH have the wasm32 target installed.
    Installed,
    /// A nightly-capable compiler builds std from source; `linker` links.
    BuildStd { cargo: PathBuf, rustc: PathBuf, linker: PathBuf },
}

impl Toolchain {
    /// Picks the first route that works in `dir` (where a `rust-toolchain`
    /// file may choose the toolchain), or explains what to install.
    pub fn detect(dir: &Path) -> Result<Self> {
        if rustup_has_target(dir, TARGET) || sysroot_has_target(dir, TARGET) {
            return Ok(Self::Installed);
        }
        let (cargo, rustc) = (PathBuf::from("/usr/bin/cargo"), PathBuf::from("/usr/bin/rustc"));
        let has_std_source =
            sysroot(&mut plain(&rustc)).is_some_and(|s| s.join("lib/rustlib/src/rust/library/std").is_dir());
        if cargo.is_file() && has_std_source {
            if let Some(linker) = find_rust_lld() {
                return Ok(Self::BuildStd { cargo, rustc, linker });
            }
            bail!(
                "found Debian's rustc and std source but no wasm linker: install rustup's stable \
                 toolchain (it ships rust-lld) or put `rust-lld` or `wasm-ld` on PATH"
            );
        }
        bail!(
            "cannot compile for {TARGET}: run `rustup target add {TARGET}`, or (Debian, without \
             rustup downloads) `apt-get install rustc-web cargo-web rust-web-src` together with \
             rustup's stable toolchain for rust-lld"
        )
    }

    /// Fails, saying what to install, unless this route can compile for
    /// `target` too. Only an installed target's std will do for
    /// `wasm32-wasip2`: building its std from source needs wasi-libc.
    pub(crate) fn check_target(&self, dir: &Path, target: &str) -> Result<()> {
        if target == TARGET && *self == Self::Installed {
            return Ok(());
        }
        if rustup_has_target(dir, target) || sysroot_has_target(dir, target) {
            return Ok(());
        }
        bail!("cannot compile for {target}: run `rustup target add {target}`")
    }

    /// A one-line description for logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Installed => format!("cargo with the installed {TARGET} target"),
            Self::BuildStd { cargo, linker, .. } => {
                format!("{} with -Zbuild-std, linked by {}", cargo.display(), linker.display())
            }
        }
    }

    /// A cargo command for this route: clean environment, route settings.
    pub(crate) fn cargo(&self) -> Command {
        match self {
            Self::Installed => plain(Path::new("cargo")),
            Self::BuildStd { cargo, rustc, linker } => {
                let mut cmd = plain(cargo);
                cmd.env("RUSTC", rustc)
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker);
                cmd
            }
        }
    }

    /// Extra `cargo build` arguments this route needs.
    pub(crate) fn build_args(&self) -> &'static [&'static str] {
        match self {
            Self::Installed => &[],
            Self::BuildStd { .. } => &["-Zbuild-std=std,panic_abort"],
        }
    }
}

/// `program` with the variables a parent cargo leaks removed.
///
/// A build script inherits `RUSTC`, `RUSTFLAGS`, `CARGO_*` (target dir,
/// profile, encoded flags, package info) and build-script variables such as
/// `TARGET` and `OUT_DIR`; any of them would point the nested build at the
/// host's settings. Kept: the user's cargo configuration (`CARGO_HOME`,
/// registries, network, terminal, `CARGO_BUILD_JOBS`) and `CARGO_MAKEFLAGS`,
/// the jobserver, so that a nested build shares the parent's job slots
/// instead of adding its own.
pub(crate) fn plain(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(leaks_from_parent) {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn leaks_from_parent(key: &str) -> bool {
    const KEEP: [&str; 3] = ["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_BUILD_JOBS"];
    const KEEP_PREFIXES: [&str; 5] =
        ["CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_", "CARGO_TERM_"];
    const BUILD_SCRIPT: [&str; 9] =
        ["RUSTFLAGS", "RUSTDOCFLAGS", "TARGET", "HOST", "OUT_DIR", "OPT_LEVEL", "DEBUG", "PROFILE", "NUM_JOBS"];
    if key.starts_with("CARGO") {
        return !KEEP.contains(&key) && !KEEP_PREFIXES.iter().any(|p| key.starts_with(p));
    }
    key.starts_with("RUSTC") || key.starts_with("DEP_") || BUILD_SCRIPT.contains(&key)
}

fn rustup_has_target(dir: &Path, target: &str) -> bool {
    let mut cmd = plain(Path::new("rustup"));
    cmd.current_dir(dir).args(["target", "list", "--installed"]);
    output(&mut cmd).is_some_and(|out| out.lines().any(|l| l.trim() == target))
}

/// True when the `rustc` on PATH has a prebuilt std for `target`.
fn sysroot_has_target(dir: &Path, target: &str) -> bool {
    let mut cmd = plain(Path::new("rustc"));
    cmd.current_dir(dir).args(["--print", "target-libdir", "--target", target]);
    let Some(dir) = output(&mut cmd) else { return false };
    std::fs::read_dir(dir.trim())
        .is_ok_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
}

/// rust-lld from rustup's stable toolchain, the active toolchain, or PATH.
fn find_rust_lld() -> Option<PathBuf> {
    let mut stable = plain(Path::new("rustc"));
    stable.args(["+stable"]);
    let sysroots = [sysroot(&mut stable), sysroot(&mut plain(Path::new("rustc")))];
    for root in sysroots.into_iter().flatten() {
        let Ok(hosts) = std::fs::read_dir(root.join("lib/rustlib")) else { continue };
        for host in hosts.flatten() {
            let lld = host.path().join("bin/rust-lld");
            if lld.is_file() {
                return Some(lld);
            }
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| [dir.join("rust-lld"), dir.join("wasm-ld")]).find(|p| p.is_file())
}

fn sysroot(rustc: &mut Command) -> Option<PathBuf> {
    rustc.args(["--print", "sysroot"]);
    output(rustc).map(|s| PathBuf::from(s.trim()))
}

/// The command's stdout when it ran and succeeded.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::leaks_from_parent;

    #[test]
    fn parent_cargo_variables_are_dropped() {
        for key in [
            "CARGO",
            "CARGO_TARGET_DIR",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_PKG_NAME",
            "RUSTC",
            "RUSTC_WRAPPER",
            "RUSTFLAGS",
            "TARGET",
            "OUT_DIR",
            "DEP_Z_INCLUDE",
            "CARGO_PROFILE_RELEASE_LTO",
        ] {
            assert!(leaks_from_parent(key), "{key}");
        }
        for key in
            ["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_BUILD_JOBS", "CARGO_NET_OFFLINE", "PATH", "RUSTUP_HOME", "HOME"]
        {
            assert!(!leaks_from_parent(key), "{key}");
        }
    }
}
