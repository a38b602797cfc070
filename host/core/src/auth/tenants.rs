//! Which tenants exist: those with an API key (revoked ones count) or a
//! configured token issuer. Asked before any authentication work, so that a
//! request naming a tenant nobody created costs a bounded lookup and stores
//! nothing: no audit record, no rate bucket, no authorization-server state.
//!
//! Answers are cached in a bounded map (known tenants for good, unknown ones
//! for a few seconds so that a tenant's first key takes effect quickly).

use super::AuthError;
use crate::lru::Lru;
use crate::names::TenantId;
use crate::platform::kv::KvStore;

/// How long "no such tenant" is believed.
const UNKNOWN_FOR_MS: u64 = 5_000;
/// Answers kept at most.
const CAPACITY: usize = 10_000;

/// Cached answers of [`exists`], least recently used dropped first.
#[derive(Default)]
pub struct TenantCache {
    entries: Lru<TenantId, Known>,
}

#[derive(Clone, Copy)]
enum Known {
    Exists,
    Missing { until_ms: u64 },
}

impl TenantCache {
    /// Remembers that `tenant` exists (its first key was just created).
    pub fn created(&mut self, tenant: &TenantId) {
        self.entries.insert(tenant.to_owned(), Known::Exists, CAPACITY);
    }
}

/// Which tenants exist, as this process last looked them up.
#[derive(Default)]
pub struct Directory {
    cache: std::sync::Mutex<TenantCache>,
    /// Tenants served to anonymous callers exist without keys.
    anonymous: Vec<TenantId>,
}

impl Directory {
    /// A directory in which the tenants of `anonymous` servers exist too.
    pub fn new(anonymous: &[(String, String)]) -> Directory {
        Directory {
            cache: Default::default(),
            anonymous: anonymous.iter().filter_map(|(t, _)| TenantId::parse(t).ok()).collect(),
        }
    }

    /// True when `tenant` exists (has an API key or a token issuer, or is
    /// served to anonymous callers); looked up before any authentication
    /// work, so that requests naming other tenants store nothing.
    pub async fn exists(&self, kv: &dyn KvStore, tenant: &TenantId, now_ms: u64) -> Result<bool, AuthError> {
        if self.anonymous.iter().any(|t| t == tenant) {
            return Ok(true);
        }
        exists(&self.cache, kv, tenant, now_ms).await
    }

    /// Remembers that `tenant` exists (it was just given a key or an issuer).
    pub fn created(&self, tenant: &TenantId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.created(tenant);
        }
    }
}

/// True when `tenant` exists. Reads one key list and one issuer record,
/// together (a tenant whose callers bring tokens has no keys: read in
/// turn, a new Worker isolate would wait for both); writes nothing.
async fn exists(
    cache: &std::sync::Mutex<TenantCache>,
    kv: &dyn KvStore,
    tenant: &TenantId,
    now_ms: u64,
) -> Result<bool, AuthError> {
    let cached = cache.lock().ok().and_then(|mut c| c.entries.get(tenant).copied());
    match cached {
        Some(Known::Exists) => return Ok(true),
        Some(Known::Missing { until_ms }) if now_ms < until_ms => return Ok(false),
        _ => {}
    }
    let storage = |e: crate::platform::CapabilityError| AuthError::Storage(e.to_string());
    let (keys_path, issuers_path) = (format!("auth/keys/{tenant}/"), super::issuers_path(tenant));
    let (keys, issuers) = futures_util::future::join(kv.list(&keys_path, None, 1), kv.get(&issuers_path)).await;
    let found = !keys.map_err(storage)?.keys.is_empty() || issuers.map_err(storage)?.is_some();
    if let Ok(mut cache) = cache.lock() {
        let known = if found { Known::Exists } else { Known::Missing { until_ms: now_ms + UNKNOWN_FOR_MS } };
        cache.entries.insert(tenant.to_owned(), known, CAPACITY);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;
    use std::rc::Rc;

    #[test]
    fn tenants_exist_once_they_have_a_key_or_an_issuer() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let cache = std::sync::Mutex::new(TenantCache::default());
        assert_eq!(block_on(exists(&cache, &kv, &TenantId::from_static("acme"), 0)), Ok(false));
        block_on(kv.set("auth/keys/acme/00", b"{}".to_vec(), None)).unwrap();
        assert_eq!(
            block_on(exists(&cache, &kv, &TenantId::from_static("acme"), 1)),
            Ok(false),
            "a missing tenant is believed for a while"
        );
        assert_eq!(block_on(exists(&cache, &kv, &TenantId::from_static("acme"), UNKNOWN_FOR_MS)), Ok(true));
        block_on(kv.set(&crate::auth::issuers_path(&TenantId::from_static("beta")), b"[]".to_vec(), None)).unwrap();
        assert_eq!(block_on(exists(&cache, &kv, &TenantId::from_static("beta"), 0)), Ok(true));
        assert_eq!(
            block_on(exists(&cache, &kv, &TenantId::from_static("acmex"), 0)),
            Ok(false),
            "prefixes of keys are not tenants"
        );
        assert!(block_on(kv.list("", None, 100)).unwrap().keys.len() == 2, "asking stores nothing");
    }
}
