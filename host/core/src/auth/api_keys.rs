//! API keys for services: `smcp_<tenant>_<64 hex digits>`, 256 random
//! bits. The key is shown once, at creation; the host keeps only a keyed
//! blake3 hash of it (the hashing key is the host's, so a copy of the store
//! alone cannot even test guesses), looked up by that hash and compared in
//! constant time. Records live in the KV backend under
//! `auth/keys/<tenant>/<hash>`.

use super::{AuthError, Principal, Role};
use crate::names::TenantId;
use crate::platform::Random;
use crate::platform::kv::KvStore;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "smcp_";
/// How often `last_used_ms` is written at most: a key used many times a
/// second must not turn every request into a write.
const LAST_USED_GRANULARITY_MS: u64 = 60_000;

/// A derived key ([`ApiKeys::derived`]): the key and its record.
#[derive(Debug)]
pub enum Derived {
    /// Stored before and still valid.
    Kept(String, KeyRecord),
    /// Stored now.
    Created(String, KeyRecord),
    /// Revoked: it does not come back.
    Revoked,
}

/// What the host stores about a key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub v: u8,
    /// Public id: the first 16 hex digits of the hash. Safe to log and show.
    pub id: String,
    pub tenant: TenantId,
    pub role: Role,
    pub name: String,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    pub revoked_ms: Option<u64>,
    pub last_used_ms: Option<u64>,
    /// The keyed blake3 hash of the key, hex.
    pub hash: String,
}

pub use crate::names::valid_tenant;

/// Keys this process remembers using.
const NOTED_KEYS: usize = 10_000;

/// When this process last noted each key's use, and the uses it has not
/// written yet: at most once a minute a key, so that a busy key does not
/// turn every request into a write, and written by the engine's upkeep,
/// not by the request (on a new Worker isolate, a write its caller would
/// wait for).
#[derive(Default)]
pub struct UseNotes {
    noted: crate::lru::Lru<String, u64>,
    unwritten: Vec<(TenantId, String, u64)>,
}

impl UseNotes {
    /// Notes that key `id` of `tenant` was used at `now_ms`, unless it was
    /// within the last minute.
    pub fn note(&mut self, tenant: &TenantId, id: &str, now_ms: u64) {
        if self.noted.get(id).is_some_and(|at| now_ms.saturating_sub(*at) < LAST_USED_GRANULARITY_MS) {
            return;
        }
        self.noted.insert(id.to_owned(), now_ms, NOTED_KEYS);
        // Each key is noted at most once a minute: past this many, uses of
        // the least recent keys wait for a later minute.
        if self.unwritten.len() < NOTED_KEYS {
            self.unwritten.push((tenant.clone(), id.to_owned(), now_ms));
        }
    }

    /// The uses noted and not written yet, which the caller now writes.
    pub fn take_unwritten(&mut self) -> Vec<(TenantId, String, u64)> {
        std::mem::take(&mut self.unwritten)
    }
}

/// How long a process may answer an API key from memory instead of the
/// store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyCaching {
    /// Every request reads its key's record.
    #[default]
    Off,
    /// Until this process writes a key record: only for a process that is
    /// its store's one writer (the native server, whose data directory is
    /// locked), where a revocation holds from the next request on every
    /// serving thread.
    UntilWritten,
    /// For `ms` after the record was read, or until this process writes a
    /// key record: for processes sharing a store they each write (the
    /// Worker's isolates). A revocation holds at once in the isolate that
    /// wrote it and within `ms` in every other.
    For { ms: u64 },
}

/// Keys this process accepted, by hash, so that a request with a known
/// key reads nothing from the store (see [`KeyCaching`] for how long).
/// Every write of a key record through [`ApiKeys::cached`] empties it.
#[derive(Default)]
pub struct KeyCache {
    caching: KeyCaching,
    accepted: std::sync::Mutex<Accepted>,
}

#[derive(Default)]
struct Accepted {
    /// Bumped by every write: an answer read from the store before a write
    /// is not cached after it.
    epoch: u64,
    keys: crate::lru::Lru<[u8; 32], Cached>,
}

#[derive(Clone)]
struct Cached {
    principal: Principal,
    expires_ms: Option<u64>,
    read_ms: u64,
}

/// Keys held at most; a key not held is read from the store as before.
const CACHED_KEYS: usize = 10_000;

impl KeyCache {
    pub fn new(caching: KeyCaching) -> KeyCache {
        KeyCache { caching, accepted: Default::default() }
    }

    fn epoch(&self) -> u64 {
        self.accepted.lock().map_or(u64::MAX, |a| a.epoch)
    }

    /// The principal of the key hashing to `hash`, if cached, still
    /// trusted and not expired at `now_ms`.
    fn get(&self, hash: &blake3::Hash, now_ms: u64) -> Option<Principal> {
        let trusted_ms = match self.caching {
            KeyCaching::Off => return None,
            KeyCaching::UntilWritten => u64::MAX,
            KeyCaching::For { ms } => ms,
        };
        let mut accepted = self.accepted.lock().ok()?;
        let cached = accepted.keys.get(hash.as_bytes())?;
        let fresh = now_ms.saturating_sub(cached.read_ms) < trusted_ms;
        let live = cached.expires_ms.is_none_or(|at| now_ms < at);
        (fresh && live).then(|| cached.principal.clone())
    }

    /// Caches an answer read from the store at `epoch` (the cache's epoch
    /// when the read began) and `now_ms`, unless a write came since.
    fn put(&self, hash: &blake3::Hash, principal: &Principal, expires_ms: Option<u64>, epoch: u64, now_ms: u64) {
        if self.caching == KeyCaching::Off {
            return;
        }
        if let Ok(mut accepted) = self.accepted.lock()
            && accepted.epoch == epoch
        {
            let cached = Cached { principal: principal.clone(), expires_ms, read_ms: now_ms };
            accepted.keys.insert(*hash.as_bytes(), cached, CACHED_KEYS);
        }
    }

    /// Forgets every key: a record was written.
    fn written(&self) {
        // A poisoned lock cannot be trusted to hold anything: take it over and empty it.
        let mut accepted = self.accepted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        accepted.epoch += 1;
        accepted.keys = Default::default();
    }
}

/// The API keys of every tenant, on a KV backend.
pub struct ApiKeys<'a> {
    kv: &'a dyn KvStore,
    hash_key: [u8; 32],
    cache: Option<&'a KeyCache>,
}

fn record_path(tenant: &TenantId, hash: &str) -> String {
    format!("auth/keys/{tenant}/{hash}")
}

/// When key `id` was last used: kept apart from its record, so that
/// noting a use never writes the record back over a revocation.
fn used_path(tenant: &TenantId, id: &str) -> String {
    format!("auth/used/{tenant}/{id}")
}

/// Splits `smcp_<tenant>_<secret>`; `None` when it is not shaped like one.
fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(PREFIX)?;
    let (tenant, secret) = rest.split_once('_')?;
    let shaped = valid_tenant(tenant)
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    shaped.then_some((tenant, secret))
}

/// The key API keys are hashed with, derived from the host's state key:
/// secret, stable across restarts and never stored on its own.
pub fn hash_key_of(state_key: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key("smcp 2026-11 api key hashing", state_key)
}

impl<'a> ApiKeys<'a> {
    /// `hash_key` is the host's secret for hashing keys.
    pub fn new(kv: &'a dyn KvStore, hash_key: [u8; 32]) -> Self {
        ApiKeys { kv, hash_key, cache: None }
    }

    /// The same keys, answering from `cache` and emptying it on every
    /// write (see [`KeyCache`] for when a process may keep one).
    pub fn cached(self, cache: Option<&'a KeyCache>) -> Self {
        ApiKeys { cache, ..self }
    }

    fn hash(&self, key: &str) -> blake3::Hash {
        blake3::keyed_hash(&self.hash_key, key.as_bytes())
    }

    /// Makes a key for `tenant` with `role`; returns the key (to show once)
    /// and its record.
    pub async fn create(
        &self,
        tenant: &TenantId,
        role: Role,
        name: &str,
        expires_ms: Option<u64>,
        now_ms: u64,
        random: &dyn Random,
    ) -> Result<(String, KeyRecord), AuthError> {
        let mut secret = [0u8; 32];
        random.fill(&mut secret);
        let (key, record) = self.record_of(tenant, role, name, expires_ms, now_ms, &secret);
        self.store(&record).await?;
        Ok((key, record))
    }

    /// The key made from `secret`, which the caller derived from a secret
    /// of its own (dev mode's stable admin key): stored now if it was not
    /// yet, and never brought back once revoked. The secret must be as
    /// unguessable as a random one.
    pub async fn derived(
        &self,
        tenant: &TenantId,
        role: Role,
        name: &str,
        secret: &[u8; 32],
        now_ms: u64,
    ) -> Result<Derived, AuthError> {
        let (key, record) = self.record_of(tenant, role, name, None, now_ms, secret);
        match self.stored(tenant, &record.hash).await? {
            Some(stored) if stored.revoked_ms.is_some() => Ok(Derived::Revoked),
            Some(stored) => Ok(Derived::Kept(key, stored)),
            None => {
                self.store(&record).await?;
                Ok(Derived::Created(key, record))
            }
        }
    }

    /// The stored record of the key hashing to `hash` (hex), if any.
    async fn stored(&self, tenant: &TenantId, hash: &str) -> Result<Option<KeyRecord>, AuthError> {
        let storage = |e: String| AuthError::Storage(e);
        let bytes = self.kv.get(&record_path(tenant, hash)).await.map_err(|e| storage(e.to_string()))?;
        bytes.map(|b| serde_json::from_slice(&b)).transpose().map_err(|e| storage(e.to_string()))
    }

    fn record_of(
        &self,
        tenant: &TenantId,
        role: Role,
        name: &str,
        expires_ms: Option<u64>,
        now_ms: u64,
        secret: &[u8; 32],
    ) -> (String, KeyRecord) {
        let key = format!("{PREFIX}{tenant}_{}", secret.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let hash = self.hash(&key).to_hex().to_string();
        let record = KeyRecord {
            v: 1,
            id: hash[..16].to_owned(),
            tenant: tenant.to_owned(),
            role,
            name: name.chars().filter(|c| !c.is_control()).take(100).collect(),
            created_ms: now_ms,
            expires_ms,
            revoked_ms: None,
            last_used_ms: None,
            hash,
        };
        (key, record)
    }

    async fn store(&self, record: &KeyRecord) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec(record).map_err(|e| AuthError::Storage(e.to_string()))?;
        let written = self.kv.set(&record_path(&record.tenant, &record.hash), bytes, None).await;
        // Emptied after the write, whether or not it succeeded: an answer
        // read before it is not cached after it (the epoch).
        if let Some(cache) = self.cache {
            cache.written();
        }
        written.map_err(|e| AuthError::Storage(e.to_string()))
    }

    /// The principal a presented key stands for.
    pub async fn authenticate(&self, presented: &str, now_ms: u64) -> Result<Principal, AuthError> {
        let (tenant, _) = parse(presented).ok_or(AuthError::Malformed("not an SMCP API key"))?;
        let tenant = &TenantId::parse(tenant).map_err(|_| AuthError::Malformed("not an SMCP API key"))?;
        let hash = self.hash(presented);
        if let Some(principal) = self.cache.and_then(|c| c.get(&hash, now_ms)) {
            return Ok(principal);
        }
        let epoch = self.cache.map(KeyCache::epoch);
        let record = self.stored(tenant, &hash.to_hex()).await?.ok_or(AuthError::UnknownKey)?;
        // blake3::Hash compares in constant time.
        let matches = blake3::Hash::from_hex(&record.hash).is_ok_and(|h| h == hash) && record.tenant == *tenant;
        if !matches {
            return Err(AuthError::UnknownKey);
        }
        if record.revoked_ms.is_some() {
            return Err(AuthError::Revoked);
        }
        if record.expires_ms.is_some_and(|at| now_ms >= at) {
            return Err(AuthError::Expired);
        }
        let principal = Principal { tenant: record.tenant, id: format!("key:{}", record.id), role: record.role };
        if let (Some(cache), Some(epoch)) = (self.cache, epoch) {
            cache.put(&hash, &principal, record.expires_ms, epoch, now_ms);
        }
        Ok(principal)
    }

    /// Notes that key `id` of `tenant` was used at `now_ms`. Best effort;
    /// the engine writes what [`UseNotes`] noted, at most once a minute a key.
    pub async fn note_use(&self, tenant: &TenantId, id: &str, now_ms: u64) {
        let _ = self.kv.set_relaxed(&used_path(tenant, id), now_ms.to_string().into_bytes(), None).await;
    }

    /// Every key record of `tenant`.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<KeyRecord>, AuthError> {
        let prefix = format!("auth/keys/{tenant}/");
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page =
                self.kv.list(&prefix, cursor.as_deref(), 1000).await.map_err(|e| AuthError::Storage(e.to_string()))?;
            for path in &page.keys {
                if let Some(bytes) = self.kv.get(path).await.map_err(|e| AuthError::Storage(e.to_string()))?
                    && let Ok(mut record) = serde_json::from_slice::<KeyRecord>(&bytes)
                {
                    let used = self.kv.get(&used_path(tenant, &record.id)).await.ok().flatten();
                    let used = used.and_then(|b| String::from_utf8(b).ok()?.parse::<u64>().ok());
                    record.last_used_ms = record.last_used_ms.max(used);
                    records.push(record);
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(records),
            }
        }
    }

    /// Revokes key `id` of `tenant`; takes effect on the key's next use.
    /// `false` when the tenant has no such key.
    pub async fn revoke(&self, tenant: &TenantId, id: &str, now_ms: u64) -> Result<bool, AuthError> {
        let Some(mut record) = self.list(tenant).await?.into_iter().find(|r| r.id == id) else { return Ok(false) };
        if record.revoked_ms.is_none() {
            record.revoked_ms = Some(now_ms);
            self.store(&record).await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{ManualClock, MemoryKv, SeededRandom};
    use futures::executor::block_on;
    use std::rc::Rc;

    #[test]
    fn keys_are_shown_once_and_stored_as_hashes() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let keys = ApiKeys::new(&kv, [5; 32]);
        let random = SeededRandom::new(3);
        let (key, record) =
            block_on(keys.create(&TenantId::from_static("acme"), Role::McpUser, "ci", None, 1000, &random)).unwrap();
        assert!(key.starts_with("smcp_acme_") && key.len() == "smcp_acme_".len() + 64, "{key}");
        for path in kv.raw_keys() {
            let stored = String::from_utf8(block_on(kv.get(&path)).unwrap().unwrap()).unwrap();
            assert!(!stored.contains(&key[10..]) && !path.contains(&key[10..]), "the key itself is stored");
        }
        let who = block_on(keys.authenticate(&key, 2000)).unwrap();
        assert_eq!(
            who,
            Principal { tenant: TenantId::from_static("acme"), id: format!("key:{}", record.id), role: Role::McpUser }
        );
        // Another host (another hashing key) does not know it.
        assert_eq!(block_on(ApiKeys::new(&kv, [6; 32]).authenticate(&key, 2000)), Err(AuthError::UnknownKey));
    }

    /// A KV store that revokes key `id` right after the first read of a
    /// key record: the interleaving where a request has read the record
    /// and an admin revokes the key before the request's own writes.
    struct RevokeAfterRead<'a> {
        inner: &'a MemoryKv,
        keys: ApiKeys<'a>,
        tenant: TenantId,
        id: String,
        fired: std::cell::Cell<bool>,
    }

    impl KvStore for RevokeAfterRead<'_> {
        fn get<'a>(
            &'a self,
            key: &'a str,
        ) -> crate::platform::LocalFuture<'a, Result<Option<Vec<u8>>, crate::platform::CapabilityError>> {
            Box::pin(async move {
                let value = self.inner.get(key).await;
                if key.starts_with("auth/keys/") && !self.fired.replace(true) {
                    self.keys.revoke(&self.tenant, &self.id, 5).await.unwrap();
                }
                value
            })
        }
        fn set<'a>(
            &'a self,
            key: &'a str,
            value: Vec<u8>,
            ttl: Option<u32>,
        ) -> crate::platform::LocalFuture<'a, Result<(), crate::platform::CapabilityError>> {
            self.inner.set(key, value, ttl)
        }
        fn delete<'a>(
            &'a self,
            key: &'a str,
        ) -> crate::platform::LocalFuture<'a, Result<(), crate::platform::CapabilityError>> {
            self.inner.delete(key)
        }
        fn list<'a>(
            &'a self,
            prefix: &'a str,
            cursor: Option<&'a str>,
            limit: u32,
        ) -> crate::platform::LocalFuture<'a, Result<crate::platform::kv::KeyPage, crate::platform::CapabilityError>>
        {
            self.inner.list(prefix, cursor, limit)
        }
    }

    #[test]
    fn a_use_racing_a_revocation_never_undoes_it() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let keys = ApiKeys::new(&kv, [5; 32]);
        let (key, record) =
            block_on(keys.create(&TenantId::from_static("acme"), Role::Admin, "", None, 0, &SeededRandom::new(8)))
                .unwrap();
        let racing = RevokeAfterRead {
            inner: &kv,
            keys: ApiKeys::new(&kv, [5; 32]),
            tenant: TenantId::from_static("acme"),
            id: record.id.clone(),
            fired: Default::default(),
        };
        let during = ApiKeys::new(&racing, [5; 32]);
        // The request read the record before the revocation: it is let in,
        // and notes its use.
        assert!(block_on(during.authenticate(&key, 120_000)).is_ok());
        block_on(during.note_use(&TenantId::from_static("acme"), &record.id, 120_000));
        // The revocation stands, and the use is still recorded.
        assert_eq!(block_on(keys.authenticate(&key, 120_001)), Err(AuthError::Revoked));
        let listed = block_on(keys.list(&TenantId::from_static("acme"))).unwrap();
        assert_eq!((listed[0].revoked_ms, listed[0].last_used_ms), (Some(5), Some(120_000)));
        let mut notes = UseNotes::default();
        let acme = TenantId::from_static("acme");
        for at_ms in [0, 59_999, 60_000] {
            notes.note(&acme, "k", at_ms);
        }
        let written: Vec<u64> = notes.take_unwritten().into_iter().map(|(_, _, at)| at).collect();
        assert_eq!(written, [0, 60_000], "at most once a minute");
        assert!(notes.take_unwritten().is_empty(), "taken once");
    }

    #[test]
    fn a_cached_key_reads_nothing_and_any_write_forgets_it() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let cache = KeyCache::new(KeyCaching::UntilWritten);
        let keys = ApiKeys::new(&kv, [5; 32]).cached(Some(&cache));
        let acme = TenantId::from_static("acme");
        let random = SeededRandom::new(4);
        let (key, record) = block_on(keys.create(&acme, Role::McpUser, "", Some(10_000), 0, &random)).unwrap();
        assert!(block_on(keys.authenticate(&key, 1)).is_ok());
        // Answered from the cache: the record is not read again.
        block_on(kv.delete(&record_path(&acme, &record.hash))).unwrap();
        assert_eq!(block_on(keys.authenticate(&key, 2)).map(|p| p.role), Ok(Role::McpUser));
        // The expiry still holds.
        assert_eq!(block_on(keys.authenticate(&key, 10_000)), Err(AuthError::UnknownKey), "not cached once expired");
        // Any key written (here another key made) empties the cache.
        let (other, _) = block_on(keys.create(&acme, Role::Admin, "", None, 3, &random)).unwrap();
        assert_eq!(block_on(keys.authenticate(&key, 4)), Err(AuthError::UnknownKey));
        // A revocation holds from the next request.
        assert!(block_on(keys.authenticate(&other, 5)).is_ok());
        let id = block_on(keys.list(&acme)).unwrap().into_iter().find(|r| r.role == Role::Admin).unwrap().id;
        assert!(block_on(keys.revoke(&acme, &id, 6)).unwrap());
        assert_eq!(block_on(keys.authenticate(&other, 7)), Err(AuthError::Revoked));
    }

    #[test]
    fn a_key_trusted_for_a_while_is_read_again_after_it() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let cache = KeyCache::new(KeyCaching::For { ms: 1_000 });
        let keys = ApiKeys::new(&kv, [5; 32]).cached(Some(&cache));
        let acme = TenantId::from_static("acme");
        let (key, _) = block_on(keys.create(&acme, Role::McpUser, "", None, 0, &SeededRandom::new(6))).unwrap();
        assert!(block_on(keys.authenticate(&key, 100)).is_ok());
        // Another isolate revokes it, behind this one's back.
        let elsewhere = ApiKeys::new(&kv, [5; 32]);
        let id = block_on(elsewhere.list(&acme)).unwrap()[0].id.clone();
        assert!(block_on(elsewhere.revoke(&acme, &id, 200)).unwrap());
        // Trusted within the window, read again (and refused) after it.
        assert!(block_on(keys.authenticate(&key, 1_099)).is_ok());
        assert_eq!(block_on(keys.authenticate(&key, 1_100)), Err(AuthError::Revoked));
        // Off: every request reads the record.
        let off = KeyCache::new(KeyCaching::Off);
        let uncached = ApiKeys::new(&kv, [5; 32]).cached(Some(&off));
        let (other, record) =
            block_on(uncached.create(&acme, Role::Admin, "", None, 0, &SeededRandom::new(7))).unwrap();
        assert!(block_on(uncached.authenticate(&other, 1)).is_ok());
        block_on(kv.delete(&record_path(&acme, &record.hash))).unwrap();
        assert_eq!(block_on(uncached.authenticate(&other, 2)), Err(AuthError::UnknownKey));
    }

    #[test]
    fn an_answer_read_before_a_revocation_is_not_cached_after_it() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let cache = KeyCache::new(KeyCaching::UntilWritten);
        let keys = ApiKeys::new(&kv, [5; 32]).cached(Some(&cache));
        let (key, record) =
            block_on(keys.create(&TenantId::from_static("acme"), Role::Admin, "", None, 0, &SeededRandom::new(8)))
                .unwrap();
        let racing = RevokeAfterRead {
            inner: &kv,
            keys: ApiKeys::new(&kv, [5; 32]).cached(Some(&cache)),
            tenant: TenantId::from_static("acme"),
            id: record.id.clone(),
            fired: Default::default(),
        };
        let during = ApiKeys::new(&racing, [5; 32]).cached(Some(&cache));
        // Read before the revocation: let in this once...
        assert!(block_on(during.authenticate(&key, 1)).is_ok());
        // ...and not again: the answer was not cached across the write.
        assert_eq!(block_on(during.authenticate(&key, 2)), Err(AuthError::Revoked));
    }

    #[test]
    fn every_way_a_key_fails() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let keys = ApiKeys::new(&kv, [5; 32]);
        let random = SeededRandom::new(4);
        let (key, record) =
            block_on(keys.create(&TenantId::from_static("acme"), Role::ReadOnly, "", Some(10_000), 0, &random))
                .unwrap();
        let wrong_tenant = key.replacen("smcp_acme_", "smcp_beta_", 1);
        let mut flipped = key.clone();
        flipped.replace_range(key.len() - 1.., if key.ends_with('0') { "1" } else { "0" });
        for (presented, error) in [
            ("", AuthError::Malformed("not an SMCP API key")),
            ("smcp_acme_short", AuthError::Malformed("not an SMCP API key")),
            (&key.to_uppercase(), AuthError::Malformed("not an SMCP API key")),
            (&wrong_tenant, AuthError::UnknownKey),
            (&flipped, AuthError::UnknownKey),
        ] {
            assert_eq!(block_on(keys.authenticate(presented, 1)), Err(error), "{presented}");
        }
        assert_eq!(block_on(keys.authenticate(&key, 10_000)), Err(AuthError::Expired));
        assert!(block_on(keys.revoke(&TenantId::from_static("acme"), &record.id, 5)).unwrap());
        assert!(
            !block_on(keys.revoke(&TenantId::from_static("beta"), &record.id, 5)).unwrap(),
            "revocation is per tenant"
        );
        assert_eq!(block_on(keys.authenticate(&key, 6)), Err(AuthError::Revoked));
        assert_eq!(block_on(keys.list(&TenantId::from_static("acme"))).unwrap()[0].revoked_ms, Some(5));
    }
}
