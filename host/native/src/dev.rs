//! `--dev`: builds the example guests from this repository and hosts them
//! under tenant `dev`, so a developer has MCP servers to talk to before
//! deployment exists.

use smcp_core::auth::{Principal, Role};
use smcp_core::deploy;
use smcp_core::engine::Engine;
use smcp_core::names::TenantId;
use std::collections::HashMap;
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
    /// Grant files (TOML) used instead of a guest's `grant.toml` (tests).
    pub grants: HashMap<String, String>,
}

impl DevGuests {
    /// The example guests of this repository.
    pub fn examples() -> DevGuests {
        DevGuests::only(&EXAMPLES)
    }

    /// No guests: dev mode's tenant and key alone (`smcp dev`).
    pub fn none() -> DevGuests {
        DevGuests::only(&[])
    }

    /// Only the named guests of this repository.
    pub fn only(names: &[&str]) -> DevGuests {
        DevGuests {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            workspace_root: smcp_guest_build::default_workspace_root(),
            target_dir: None,
            grants: HashMap::new(),
        }
    }

    /// The grant file guest `name` is hosted with (empty: no grant).
    pub fn grant(&self, name: &str) -> anyhow::Result<String> {
        match self.grants.get(name) {
            Some(grant) => Ok(grant.clone()),
            None => grant_text(&self.workspace_root, name),
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

/// The grant file of dev guest `name`: `guests/<name>/grant.toml` under
/// `workspace_root`, or none (limits only) when there is no such file.
pub fn grant_text(workspace_root: &Path, name: &str) -> anyhow::Result<String> {
    let path = workspace_root.join("guests").join(name).join("grant.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

/// Deploys guest `name` as server `name` of tenant `dev` through the same
/// path as the admin API (stored, audited, activated with approval by
/// `dev-mode`). Unchanged guests are the same deployment as before.
pub async fn deploy(
    engine: &Engine,
    storage: &crate::Storage,
    name: &str,
    component: Vec<u8>,
    grant: String,
) -> anyhow::Result<()> {
    let backends = storage.backends();
    let dev = &TenantId::from_static(DEV_TENANT);
    let by = Principal { tenant: dev.clone(), id: DEV_KEY_NAME.into(), role: Role::Admin };
    let fail = |e: smcp_core::deploy::DeployError| anyhow::anyhow!("deploying guest {name}: {e}");
    deploy::create_server(&engine.deployments, backends, dev, name, &by).await.map_err(fail)?;
    let upload = deploy::Upload { component, grant: Some(grant.into_bytes()), ..Default::default() };
    let uploaded = deploy::upload(&engine.deployments, backends, dev, name, upload, &by).await.map_err(fail)?;
    if uploaded.changes.from.as_deref() != Some(uploaded.deployment.id.as_str()) {
        deploy::activate(&engine.deployments, backends, dev, name, &uploaded.deployment.id, true, &by)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// Dev mode's admin key of tenant `dev`: the key a developer copies from
/// the start-up banner, the same at every start on one data directory (it
/// is derived from the host's own key-hashing secret), so client
/// configurations keep working. Revoking it makes the next start derive
/// the next one; earlier dev-mode keys are revoked.
pub async fn admin_key(storage: &crate::Storage, hash_key: &[u8; 32]) -> anyhow::Result<String> {
    use smcp_core::auth::Role;
    use smcp_core::auth::api_keys::{ApiKeys, Derived};
    use smcp_core::platform::Clock;
    let keys = ApiKeys::new(&storage.kv, *hash_key);
    let dev = &TenantId::from_static(DEV_TENANT);
    let now = storage.clock.now_ms();
    let fail = |e: smcp_core::auth::AuthError| anyhow::anyhow!("dev API key: {e}");
    let record = |kind: &str, id: &str| smcp_core::audit::Event {
        kind: kind.into(),
        principal: Some("dev-mode".into()),
        server: None,
        detail: serde_json::json!({ "key": id }),
    };
    let mut generation: u32 = 0;
    let (key, made) = loop {
        let mut material = hash_key.to_vec();
        material.extend_from_slice(&generation.to_le_bytes());
        let secret = blake3::derive_key("smcp dev mode admin key", &material);
        match keys.derived(dev, Role::Admin, DEV_KEY_NAME, &secret, now).await.map_err(fail)? {
            Derived::Kept(key, made) => break (key, made),
            Derived::Created(key, made) => {
                smcp_core::audit::append(&storage.kv, dev, record("key.create", &made.id), now).await?;
                break (key, made);
            }
            Derived::Revoked => {
                generation =
                    generation.checked_add(1).ok_or_else(|| anyhow::anyhow!("dev API key: no generation left"))?
            }
        }
    };
    let earlier = keys.list(dev).await.map_err(fail)?.into_iter();
    for old in earlier.filter(|k| k.name == DEV_KEY_NAME && k.revoked_ms.is_none() && k.id != made.id) {
        keys.revoke(dev, &old.id, now).await.map_err(fail)?;
        smcp_core::audit::append(&storage.kv, dev, record("key.revoke", &old.id), now).await?;
    }
    Ok(key)
}

/// The name of dev mode's admin key.
const DEV_KEY_NAME: &str = "dev-mode";
