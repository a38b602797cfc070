//! Where the master keys that protect secrets come from: the operator's
//! `SMCP_MASTER_KEYS` (`id:base64[,…]`, current first), kept outside the
//! data directory so a copy of the data alone decrypts nothing. Dev mode
//! without it makes a key of its own in the data directory, which is only
//! fit for local use.

use crate::server::Config;
use smcp_core::vault::Keyring;

/// The environment variable operators set.
pub const ENV: &str = "SMCP_MASTER_KEYS";
/// Dev mode's own key, in the data directory.
const DEV_KEY_FILE: &str = "dev-master.key";

/// The keyring for `config`, if any.
pub fn load(config: &Config) -> anyhow::Result<Option<Keyring>> {
    if let Some(spec) = &config.master_keys {
        let keyring = Keyring::parse(spec).map_err(|e| anyhow::anyhow!("{ENV}: {e}"))?;
        tracing::info!(current = %keyring.current().id, "secrets: master keys loaded");
        return Ok(Some(keyring));
    }
    let dev_key = config.data_dir.join(DEV_KEY_FILE);
    if config.dev.is_some() || dev_key.exists() {
        crate::store::create_private_dir(&config.data_dir)?;
        let bytes = crate::state_key::load_or_create_named(&config.data_dir, DEV_KEY_FILE)?;
        tracing::warn!(path = %dev_key.display(), "secrets: using the dev master key from the data directory; set {ENV} in production");
        return Ok(Some(Keyring::single("dev", bytes)));
    }
    tracing::warn!("secrets: no master key ({ENV} is not set): guests cannot read secrets");
    Ok(None)
}
