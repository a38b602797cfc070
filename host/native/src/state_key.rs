//! Keys the host makes for itself, 32 random bytes in a file of the data
//! directory, readable by this user only, made on first start and kept:
//! the key of the MAC the engine puts on state it hands to clients
//! (`state.key`), and dev mode's master key (`dev-master.key`).

use std::io::Write;
use std::path::Path;

const FILE: &str = "state.key";

/// Reads the state key, or makes and stores a new one if there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    load_or_create_named(data_dir, FILE)
}

/// The key API keys are hashed with: derived from the state key, so it is
/// secret, stable across restarts and never stored on its own.
pub fn api_key_hash_key(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    Ok(hash_key_of(&load_or_create(data_dir)?))
}

/// The API key hashing key of a state key.
pub fn hash_key_of(state_key: &[u8; 32]) -> [u8; 32] {
    smcp_core::auth::api_keys::hash_key_of(state_key)
}

/// Reads key file `name`, or makes and stores a new one if there is none.
pub fn load_or_create_named(data_dir: &Path, name: &str) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!("{} holds {} bytes, not 32: remove it to make a new key", path.display(), bytes.len())
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), mode = format_args!("{:o}", mode & 0o777), "a key file is readable by others; chmod 600 it");
                }
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
            // Written whole under a temporary name, then renamed: a crash
            // never leaves a short key behind.
            let tmp = data_dir.join(format!("{name}.tmp"));
            let _ = std::fs::remove_file(&tmp);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(|e| anyhow::anyhow!("creating {}: {e}", tmp.display()))?;
            file.write_all(&key)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, &path)?;
            crate::store::sync_dir(data_dir)?;
            tracing::info!(path = %path.display(), "created a new key");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_private_and_kept() {
        let dir = crate::testutil::TempDir::new("state-key");
        let first = load_or_create(dir.path()).unwrap();
        assert_ne!(first, [0; 32]);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(FILE), b"short").unwrap();
        assert!(load_or_create(dir.path()).is_err(), "a damaged key is an error, not silently replaced");
    }
}
