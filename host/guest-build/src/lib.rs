//! Builds SMCP's guests and turns them into components.
//!
//! Every `cdylib` member of the guests workspace (`guests/Cargo.toml`) is
//! compiled for `wasm32-unknown-unknown` in release and made into a
//! component with wit-component; every `guests/wat/*.wat` is assembled,
//! given the `mcp-server` world's metadata from `wit/`, and made into a
//! component the same way; every `guests/<name>/app.js` is built with
//! componentize-js (StarlingMonkey) from `guests/js-toolchain`, every
//! `guests/<name>/app.py` with componentize-py from `guests/py-toolchain`.
//! Each lands in `<out>/<name>.component.wasm`.
//!
//! From a build script:
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
//! let opts = smcp_guest_build::BuildOptions::new(root, std::env::var("OUT_DIR")?);
//! opts.emit_rerun_if_changed();
//! for guest in smcp_guest_build::build_all(&opts)? {
//!     println!("cargo:rustc-env=GUEST_{}={}", guest.env_name(), guest.component_path.display());
//! }
//! # Ok(())
//! # }
//! ```

mod build;
mod component;
mod guests;
mod javascript;
mod python;
mod script;
mod toolchain;
mod watch;

use std::path::{Path, PathBuf};

pub use build::build_all;
pub use component::{WORLD, WorldSummary, componentize, embed_world};
pub use guests::DEFAULT_STACK_SIZE;
pub use toolchain::{TARGET, Toolchain};

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The repository root: holds `guests/`, `guest-sdk/` and `wit/`.
    pub workspace_root: PathBuf,
    /// Where the components go.
    pub out_dir: PathBuf,
    /// Cargo's target directory for the guests; `guests/target` when unset.
    /// Keep it apart from the host's: the wasm build has its own std.
    pub target_dir: Option<PathBuf>,
    /// Build only guests with these names; all when empty.
    pub only: Vec<String>,
    /// Passed to cargo as `-j`; cargo's default (or `CARGO_BUILD_JOBS`) when unset.
    pub jobs: Option<u32>,
    /// The compiler route; detected when unset.
    pub toolchain: Option<Toolchain>,
}

impl BuildOptions {
    /// All guests of `workspace_root`, components into `out_dir`.
    pub fn new(workspace_root: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Self {
            workspace_root: workspace_root.into(),
            out_dir: out_dir.into(),
            target_dir: None,
            only: Vec::new(),
            jobs: None,
            toolchain: None,
        }
    }

    /// The guests workspace: `<root>/guests`.
    pub fn guests_dir(&self) -> PathBuf {
        self.workspace_root.join("guests")
    }

    /// The host's WIT package: `<root>/wit`.
    pub fn wit_dir(&self) -> PathBuf {
        self.workspace_root.join("wit")
    }

    /// The target directory in use.
    pub fn target_dir(&self) -> PathBuf {
        self.target_dir.clone().unwrap_or_else(|| self.guests_dir().join("target"))
    }

    /// The files and directories whose changes should rebuild the guests:
    /// sources and manifests of the guests, the SDK and the WIT, never a
    /// target directory (its changes would trigger rebuilds forever).
    pub fn rerun_if_changed(&self) -> Vec<PathBuf> {
        watch::inputs(&self.workspace_root)
    }

    /// Prints `cargo:rerun-if-changed` for each of [`Self::rerun_if_changed`].
    pub fn emit_rerun_if_changed(&self) {
        for path in self.rerun_if_changed() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The language a guest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestKind {
    Rust,
    Wat,
    JavaScript,
    Python,
}

/// One built guest.
#[derive(Debug, Clone)]
pub struct BuiltGuest {
    /// The package name (Rust) or file stem (WAT), e.g. `calc`, `bad-utf8`.
    pub name: String,
    pub kind: GuestKind,
    /// The core module cargo produced (Rust guests; none for WAT guests).
    pub core_path: Option<PathBuf>,
    pub core_size: u64,
    /// `<out>/<name>.component.wasm`.
    pub component_path: PathBuf,
    pub component_size: u64,
    /// The component's imports and exports.
    pub world: WorldSummary,
}

impl BuiltGuest {
    /// The name in SCREAMING_SNAKE_CASE, for constants and env variables.
    pub fn env_name(&self) -> String {
        self.name.to_ascii_uppercase().replace(['-', '.'], "_")
    }
}

/// The repository root: the nearest directory at or above the current
/// one holding `guests/Cargo.toml` and `wit/`, else the checkout this crate
/// was compiled from (its manifest sits at `<root>/host/guest-build`).
pub fn default_workspace_root() -> PathBuf {
    let is_root = |dir: &Path| dir.join("guests/Cargo.toml").is_file() && dir.join("wit").is_dir();
    if let Some(found) =
        std::env::current_dir().ok().and_then(|cwd| cwd.ancestors().find(|d| is_root(d)).map(Path::to_path_buf))
    {
        return found;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(Path::parent).unwrap_or(here).to_path_buf()
}
