//! `--dev`: builds the example guests from this repository and hosts them
//! under tenant `dev`, so a developer has MCP servers to talk to before
//! deployment exists.

use smcp_core::capabilities::Grant;
use smcp_core::capabilities::grant::{HttpGrant, KvGrant, ObjectsGrant};
use std::path::{Path, PathBuf};

/// The tenant dev servers are hosted under.
pub const DEV_TENANT: &str = "dev";

/// The example guests `--dev` hosts.
pub const EXAMPLES: [&str; 4] = ["calc", "notes", "files", "fetcher"];

/// Which guests to build and host in dev mode, and where to build them.
#[derive(Debug, Clone)]
pub struct DevGuests {
    /// Guest names (packages of `guests/`); each is hosted as a server of
    /// the same name.
    pub names: Vec<String>,
    /// The repository root holding `guests/`, `guest-sdk/` and `wit/`.
    pub workspace_root: PathBuf,
    /// Cargo's target directory for the wasm build; when unset,
    /// `$CARGO_TARGET_DIR/wasm-guests` or else `<data-dir>/guest-target`.
    pub target_dir: Option<PathBuf>,
}

impl DevGuests {
    /// The example guests of this repository.
    pub fn examples() -> DevGuests {
        DevGuests::only(&EXAMPLES)
    }

    /// Only the named guests of this repository.
    pub fn only(names: &[&str]) -> DevGuests {
        DevGuests {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            workspace_root: smcp_guest_build::default_workspace_root(),
            target_dir: None,
        }
    }

    /// Builds the guests into `<data-dir>/dev-components` and returns
    /// each one's name and component bytes. Blocking: runs cargo.
    pub fn build(&self, data_dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let mut opts = smcp_guest_build::BuildOptions::new(&self.workspace_root, data_dir.join("dev-components"));
        opts.only = self.names.clone();
        opts.target_dir = Some(self.target_dir.clone().unwrap_or_else(|| match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("wasm-guests"),
            _ => data_dir.join("guest-target"),
        }));
        let built = smcp_guest_build::build_all(&opts)?;
        built
            .into_iter()
            .map(|guest| {
                let bytes = std::fs::read(&guest.component_path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", guest.component_path.display()))?;
                Ok((guest.name, bytes))
            })
            .collect()
    }
}

/// The grant a dev server gets: kv and objects with default limits, and
/// for `fetcher` HTTPS to `example.com` with the default HTTP limits.
pub fn grant_for(name: &str) -> Grant {
    let http = (name == "fetcher").then(|| HttpGrant {
        allowed_hosts: vec!["example.com".into()],
        allow_insecure: false,
        max_response_bytes: 1 << 20,
        timeout_ms: 10_000,
        ..HttpGrant::default()
    });
    Grant { kv: Some(KvGrant::default()), objects: Some(ObjectsGrant::default()), http, ..Grant::default() }
}
