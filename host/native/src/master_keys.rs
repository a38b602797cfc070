//! Where the master keys that protect secrets come from: the operator's
//! `SMCP_MASTER_KEYS` (`id:base64[,…]`, current first), kept outside the
//! data directory so a copy of the data alone decrypts nothing. Dev mode
//! without it makes a key of its own in the data directory, which is only
//! fit for local use.

use smcp_core::vault::Keyring;
use std::path::Path;

/// The environment variable operators set.
pub const ENV: &str = "SMCP_MASTER_KEYS";
/// Dev mode's own key, in the data directory.
const DEV_KEY_FILE: &str = "dev-master.key";

/// The keyring from `spec` (the operator's `SMCP_MASTER_KEYS`), or in dev
/// mode (or when it made one before) the dev key in `data_dir`; none else.
pub fn load(spec: Option<&str>, data_dir: &Path, dev: bool) -> anyhow::Result<Option<Keyring>> {
    if let Some(spec) = spec {
        let keyring = Keyring::parse(spec).map_err(|e| anyhow::anyhow!("{ENV}: {e}"))?;
        tracing::info!(current = %keyring.current().id, "secrets: master keys loaded");
        return Ok(Some(keyring));
    }
    let dev_key = data_dir.join(DEV_KEY_FILE);
    if dev || dev_key.exists() {
        crate::store::create_private_dir(data_dir)?;
        let bytes = crate::state_key::load_or_create_named(data_dir, DEV_KEY_FILE)?;
        tracing::warn!(path = %dev_key.display(), "secrets: using the dev master key from the data directory; set {ENV} in production");
        return Ok(Some(Keyring::single("dev", bytes)));
    }
    tracing::warn!("secrets: no master key ({ENV} is not set): guests cannot read secrets");
    Ok(None)
}
