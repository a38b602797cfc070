//! Tenants' secrets, encrypted at rest in the KV backend (envelope
//! encryption with AES-256-GCM):
//!
//! - each tenant has a random data key, stored wrapped (encrypted) by the
//!   operator's current master key and tagged with that key's id;
//! - each secret is encrypted with its tenant's data key and tagged with
//!   the data key's id; the associated data binds it to its tenant, server
//!   and name, so a ciphertext copied elsewhere does not decrypt;
//! - rotating the master key re-wraps the data keys only; old master keys
//!   keep working until every data key has moved, so there is no downtime.
//!
//! Plaintext exists only in memory, for the call that reads it, and is
//! wiped when dropped.

mod keyring;

pub use keyring::{Keyring, MasterKey};

use crate::names::TenantId;
use crate::platform::kv::KvStore;
use crate::platform::{CapabilityError, LocalFuture, Random, SecretStore};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Why a vault operation failed. Messages never carry key material or
/// secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("vault configuration: {0}")]
    Config(String),
    #[error("no master key is configured (set SMCP_MASTER_KEYS)")]
    NoKeyring,
    #[error("data key of tenant `{tenant}` is wrapped by master key `{id}`, which is not configured")]
    UnknownMasterKey { tenant: TenantId, id: String },
    #[error("stored {0} failed authentication (tampered, or under another key)")]
    Corrupt(&'static str),
    #[error("invalid {what}: {why}")]
    InvalidName { what: &'static str, why: &'static str },
    #[error("storage: {0}")]
    Storage(#[from] CapabilityError),
}

#[derive(Serialize, Deserialize)]
struct DataKeyRecord {
    v: u8,
    /// The data key's own id, on every secret it encrypts.
    id: String,
    /// The master key that wraps it.
    kid: String,
    nonce: String,
    wrapped: String,
}

#[derive(Serialize, Deserialize)]
struct SecretRecord {
    v: u8,
    /// Id of the data key that encrypts it.
    dek: String,
    nonce: String,
    ct: String,
}

/// What [`Vault::rotate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    pub rewrapped: usize,
    pub already_current: usize,
}

/// Secrets on a KV backend under `vault/`, a prefix guests cannot reach.
pub struct Vault<K> {
    kv: K,
    keyring: Option<Keyring>,
    random: Box<dyn Random + Send + Sync>,
}

fn data_key_path(tenant: &TenantId) -> String {
    format!("vault/{tenant}/data-key")
}

fn secret_path(tenant: &TenantId, server: &str, name: &str) -> String {
    format!("vault/{tenant}/secrets/{server}/{name}")
}

/// Names are path segments: no separators, nothing to escape.
fn check_name(what: &'static str, name: &str) -> Result<(), VaultError> {
    let why = if name.is_empty() || name.len() > 128 {
        "must be 1-128 characters"
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) || name == "." || name == ".." {
        "may hold only letters, digits, `_`, `.` and `-`"
    } else {
        return Ok(());
    };
    Err(VaultError::InvalidName { what, why })
}

fn seal(key: &[u8; 32], nonce: &[u8; 12], plaintext: &[u8], aad: &str) -> Vec<u8> {
    crate::sealing::seal(key, nonce, plaintext, aad.as_bytes())
}

fn open(
    key: &[u8; 32],
    nonce: &str,
    ciphertext: &str,
    aad: &str,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let nonce = B64.decode(nonce).map_err(|_| VaultError::Corrupt(what))?;
    let ciphertext = B64.decode(ciphertext).map_err(|_| VaultError::Corrupt(what))?;
    crate::sealing::open(key, &nonce, &ciphertext, aad.as_bytes()).ok_or(VaultError::Corrupt(what))
}

impl<K: KvStore> Vault<K> {
    /// A vault on `kv`; without a keyring every operation fails with
    /// [`VaultError::NoKeyring`].
    pub fn new(kv: K, keyring: Option<Keyring>, random: Box<dyn Random + Send + Sync>) -> Self {
        Vault { kv, keyring, random }
    }

    fn keyring(&self) -> Result<&Keyring, VaultError> {
        self.keyring.as_ref().ok_or(VaultError::NoKeyring)
    }

    fn nonce(&self) -> [u8; 12] {
        let mut nonce = [0; 12];
        self.random.fill(&mut nonce);
        nonce
    }

    async fn load_data_key(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(DataKeyRecord, Zeroizing<[u8; 32]>)>, VaultError> {
        let Some(bytes) = self.kv.get(&data_key_path(tenant)).await? else { return Ok(None) };
        let record: DataKeyRecord = serde_json::from_slice(&bytes).map_err(|_| VaultError::Corrupt("data key"))?;
        let master = self
            .keyring()?
            .get(&record.kid)
            .ok_or_else(|| VaultError::UnknownMasterKey { tenant: tenant.to_owned(), id: record.kid.clone() })?;
        let aad = format!("smcp/data-key/{tenant}/{}", record.id);
        let plain = open(&master.bytes, &record.nonce, &record.wrapped, &aad, "data key")?;
        let key: [u8; 32] = plain.as_slice().try_into().map_err(|_| VaultError::Corrupt("data key"))?;
        Ok(Some((record, Zeroizing::new(key))))
    }

    async fn store_data_key(&self, tenant: &TenantId, id: &str, key: &[u8; 32]) -> Result<(), VaultError> {
        let bytes = self.wrapped_data_key(tenant, id, key)?;
        Ok(self.kv.set(&data_key_path(tenant), bytes, None).await?)
    }

    /// The tenant's first data key. Two writers may make it at once (two
    /// serving threads putting a tenant's first secrets): one key is
    /// kept and both seal under it, since a secret sealed under the other
    /// could never be opened again.
    async fn first_data_key(&self, tenant: &TenantId) -> Result<(String, Zeroizing<[u8; 32]>), VaultError> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.random.fill(&mut *key);
        let mut id = [0u8; 6];
        self.random.fill(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let bytes = self.wrapped_data_key(tenant, &id, &key)?;
        if self.kv.insert_new(&data_key_path(tenant), bytes, None).await? {
            return Ok((id, key));
        }
        let (record, key) = self.load_data_key(tenant).await?.ok_or(VaultError::Corrupt("data key"))?;
        Ok((record.id, key))
    }

    /// `key` wrapped under the current master key, as stored.
    fn wrapped_data_key(&self, tenant: &TenantId, id: &str, key: &[u8; 32]) -> Result<Vec<u8>, VaultError> {
        let master = self.keyring()?.current();
        let nonce = self.nonce();
        let wrapped = seal(&master.bytes, &nonce, key, &format!("smcp/data-key/{tenant}/{id}"));
        let record = DataKeyRecord {
            v: 1,
            id: id.to_owned(),
            kid: master.id.clone(),
            nonce: B64.encode(nonce),
            wrapped: B64.encode(wrapped),
        };
        serde_json::to_vec(&record).map_err(|_| VaultError::Corrupt("data key"))
    }

    /// Stores `value` as secret `name` of `tenant`'s `server`.
    pub async fn put(&self, tenant: &TenantId, server: &str, name: &str, value: &str) -> Result<(), VaultError> {
        check_name("tenant", tenant)?;
        check_name("server", server)?;
        check_name("secret name", name)?;
        let (dek_id, key) = match self.load_data_key(tenant).await? {
            Some((record, key)) => (record.id, key),
            None => self.first_data_key(tenant).await?,
        };
        let nonce = self.nonce();
        let ct = seal(&key, &nonce, value.as_bytes(), &format!("smcp/secret/{tenant}/{server}/{name}/{dek_id}"));
        let record = SecretRecord { v: 1, dek: dek_id, nonce: B64.encode(nonce), ct: B64.encode(ct) };
        let bytes = serde_json::to_vec(&record).map_err(|_| VaultError::Corrupt("secret"))?;
        Ok(self.kv.set(&secret_path(tenant, server, name), bytes, None).await?)
    }

    /// The plaintext of a secret, wiped when dropped.
    pub async fn read(
        &self,
        tenant: &TenantId,
        server: &str,
        name: &str,
    ) -> Result<Option<Zeroizing<String>>, VaultError> {
        check_name("tenant", tenant)?;
        check_name("server", server)?;
        check_name("secret name", name)?;
        let Some(bytes) = self.kv.get(&secret_path(tenant, server, name)).await? else { return Ok(None) };
        let record: SecretRecord = serde_json::from_slice(&bytes).map_err(|_| VaultError::Corrupt("secret"))?;
        let (dek, key) = self.load_data_key(tenant).await?.ok_or(VaultError::Corrupt("secret without a data key"))?;
        if dek.id != record.dek {
            return Err(VaultError::Corrupt("secret under an unknown data key"));
        }
        let aad = format!("smcp/secret/{tenant}/{server}/{name}/{}", record.dek);
        let plain = open(&key, &record.nonce, &record.ct, &aad, "secret")?;
        let text = String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Corrupt("secret"))?;
        Ok(Some(Zeroizing::new(text)))
    }

    pub async fn delete(&self, tenant: &TenantId, server: &str, name: &str) -> Result<(), VaultError> {
        check_name("tenant", tenant)?;
        check_name("server", server)?;
        check_name("secret name", name)?;
        Ok(self.kv.delete(&secret_path(tenant, server, name)).await?)
    }

    /// Re-wraps every tenant's data key under the current master key.
    /// Secrets themselves are untouched; afterwards the old master keys
    /// can be removed from the configuration.
    pub async fn rotate(&self) -> Result<Rotation, VaultError> {
        let current = self.keyring()?.current().id.clone();
        let mut report = Rotation::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.kv.list("vault/", cursor.as_deref(), 1000).await?;
            for path in &page.keys {
                let Some(tenant) = path.strip_prefix("vault/").and_then(|p| p.strip_suffix("/data-key")) else {
                    continue;
                };
                let Ok(tenant) = TenantId::parse(tenant) else { continue };
                let tenant = &tenant;
                let Some((record, key)) = self.load_data_key(tenant).await? else { continue };
                if record.kid == current {
                    report.already_current += 1;
                } else {
                    self.store_data_key(tenant, &record.id, &key).await?;
                    report.rewrapped += 1;
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(report),
            }
        }
    }
}

impl<K: KvStore> SecretStore for Vault<K> {
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        server: &'a str,
        name: &'a str,
    ) -> LocalFuture<'a, Result<Option<String>, CapabilityError>> {
        Box::pin(async move {
            match self.read(tenant, server, name).await {
                // The guest gets its own copy; ours is wiped here.
                Ok(value) => Ok(value.map(|v| v.as_str().to_owned())),
                // The operator's problem, not the tenant's: no details.
                Err(_) => Err(CapabilityError::Unavailable("the secret store cannot read this secret".into())),
            }
        })
    }

    fn put<'a>(
        &'a self,
        tenant: &'a TenantId,
        server: &'a str,
        name: &'a str,
        value: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move { Vault::put(self, tenant, server, name, value).await.map_err(write_error) })
    }

    fn delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        server: &'a str,
        name: &'a str,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move { Vault::delete(self, tenant, server, name).await.map_err(write_error) })
    }
}

/// A vault error as the admin API may show it: names and configuration
/// problems, never key material.
fn write_error(e: VaultError) -> CapabilityError {
    match e {
        VaultError::InvalidName { .. } => CapabilityError::InvalidInput(e.to_string()),
        VaultError::Storage(e) => e,
        other => CapabilityError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
