//! The operator's master keys: AES-256 keys named by short ids, the first
//! one current. Old keys stay listed until `rotate` has re-wrapped every
//! data key under the current one, so rotation needs no downtime.

use super::VaultError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

/// A master key: its id and 32 secret bytes (wiped on drop).
#[derive(Clone)]
pub struct MasterKey {
    pub id: String,
    pub(crate) bytes: Zeroizing<[u8; 32]>,
}

/// The master keys, current first.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl core::fmt::Debug for Keyring {
    /// Ids only: key bytes never reach logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keyring").field("ids", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>()).finish()
    }
}

impl Keyring {
    /// Parses `id:base64key[,id:base64key…]` (the first is current), as an
    /// operator puts it in the environment.
    pub fn parse(spec: &str) -> Result<Keyring, VaultError> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) =
                entry.split_once(':').ok_or_else(|| VaultError::Config("a master key must be `id:base64`".into()))?;
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(VaultError::Config(format!("master key id `{id}` must be 1-32 of [A-Za-z0-9_-]")));
            }
            let decoded = Zeroizing::new(
                B64.decode(encoded).map_err(|_| VaultError::Config(format!("master key `{id}` is not base64")))?,
            );
            let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
                VaultError::Config(format!("master key `{id}` must be 32 bytes, not {}", decoded.len()))
            })?;
            if keys.iter().any(|k: &MasterKey| k.id == id) {
                return Err(VaultError::Config(format!("master key id `{id}` is listed twice")));
            }
            keys.push(MasterKey { id: id.to_owned(), bytes: Zeroizing::new(bytes) });
        }
        if keys.is_empty() {
            return Err(VaultError::Config("no master key given".into()));
        }
        Ok(Keyring { keys })
    }

    /// A keyring of one key.
    pub fn single(id: &str, bytes: [u8; 32]) -> Keyring {
        Keyring { keys: vec![MasterKey { id: id.to_owned(), bytes: Zeroizing::new(bytes) }] }
    }

    /// The key new data keys are wrapped with.
    pub fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// `id:base64` for `bytes`, the form [`parse`](Self::parse) reads.
    pub fn format(id: &str, bytes: &[u8; 32]) -> String {
        format!("{id}:{}", B64.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_is_strict() {
        let a = Keyring::format("k2", &[2; 32]);
        let b = Keyring::format("k1", &[1; 32]);
        let ring = Keyring::parse(&format!("{a}, {b}")).unwrap();
        assert_eq!(ring.current().id, "k2");
        assert_eq!(*ring.get("k1").unwrap().bytes, [1; 32]);
        assert!(!format!("{ring:?}").contains("AQEB"), "no key bytes in Debug");
        for bad in ["", "k1", "k1:!!", "k1:AAAA", "bad id:AAAA", &format!("{a},{a}")] {
            assert!(Keyring::parse(bad).is_err(), "{bad}");
        }
    }
}
