//! Which tenants exist: those with an API key (revoked ones count) or a
//! configured token issuer. Asked before any authentication work, so that a
//! request naming a tenant nobody created costs a bounded lookup and stores
//! nothing: no audit record, no rate bucket, no authorization-server state.
//!
//! Answers are cached in a bounded map (known tenants for good, unknown ones
//! for a few seconds so that a tenant's first key takes effect quickly).

use super::AuthError;
use crate::capabilities::kv::KvStore;
use std::collections::{BTreeMap, HashMap};

/// How long "no such tenant" is believed.
const UNKNOWN_FOR_MS: u64 = 5_000;
/// Answers kept at most.
const CAPACITY: usize = 10_000;

/// Cached answers of [`exists`], least recently used dropped first.
#[derive(Default)]
pub struct TenantCache {
    entries: Lru<String, Known>,
}

#[derive(Clone, Copy)]
enum Known {
    Exists,
    Missing { until_ms: u64 },
}

impl TenantCache {
    /// Remembers that `tenant` exists (its first key was just created).
    pub fn created(&mut self, tenant: &str) {
        self.entries.insert(tenant.to_owned(), Known::Exists, CAPACITY);
    }

}

/// True when `tenant` exists. Reads at most one key list and one issuer
/// record; writes nothing.
pub async fn exists(cache: &std::sync::Mutex<TenantCache>, kv: &dyn KvStore, tenant: &str, now_ms: u64) -> Result<bool, AuthError> {
    let cached = cache.lock().ok().and_then(|mut c| c.entries.get(tenant).copied());
    match cached {
        Some(Known::Exists) => return Ok(true),
        Some(Known::Missing { until_ms }) if now_ms < until_ms => return Ok(false),
        _ => {}
    }
    let storage = |e: crate::capabilities::CapabilityError| AuthError::Storage(e.to_string());
    let has_key = !kv.list(&format!("auth/keys/{tenant}/"), None, 1).await.map_err(storage)?.keys.is_empty();
    let found = has_key || kv.get(&super::issuers_path(tenant)).await.map_err(storage)?.is_some();
    if let Ok(mut cache) = cache.lock() {
        let known = if found { Known::Exists } else { Known::Missing { until_ms: now_ms + UNKNOWN_FOR_MS } };
        cache.entries.insert(tenant.to_owned(), known, CAPACITY);
    }
    Ok(found)
}

/// A map that keeps at most a given number of entries, dropping the least
/// recently used: for caches keyed by what callers send.
pub struct Lru<K, V> {
    map: HashMap<K, (V, u64)>,
    order: BTreeMap<u64, K>,
    tick: u64,
}

impl<K, V> Default for Lru<K, V> {
    fn default() -> Self {
        Lru { map: HashMap::new(), order: BTreeMap::new(), tick: 0 }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> Lru<K, V> {
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.tick += 1;
        let (value, used) = self.map.get_mut(key)?;
        let k = self.order.remove(used)?;
        *used = self.tick;
        self.order.insert(self.tick, k);
        Some(value)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.get(key)?;
        self.map.get_mut(key).map(|(value, _)| value)
    }

    /// Inserts or replaces `key`; past `capacity`, drops the least
    /// recently used entry and returns it.
    pub fn insert(&mut self, key: K, value: V, capacity: usize) -> Option<(K, V)> {
        self.tick += 1;
        if let Some((_, used)) = self.map.insert(key.clone(), (value, self.tick)) {
            self.order.remove(&used);
        }
        self.order.insert(self.tick, key);
        if self.map.len() <= capacity.max(1) {
            return None;
        }
        let (_, oldest) = self.order.pop_first()?;
        let (value, _) = self.map.remove(&oldest)?;
        Some((oldest, value))
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, (v, _))| (k, v))
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let (value, used) = self.map.remove(key)?;
        self.order.remove(&used);
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;
    use std::rc::Rc;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::default();
        lru.insert("a", 1, 2);
        lru.insert("b", 2, 2);
        assert_eq!(lru.get("a"), Some(&1));
        lru.insert("c", 3, 2);
        assert_eq!((lru.get("a").copied(), lru.get("b").copied(), lru.get("c").copied()), (Some(1), None, Some(3)));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn tenants_exist_once_they_have_a_key_or_an_issuer() {
        let kv = MemoryKv::new(Rc::new(ManualClock(0.into())));
        let cache = std::sync::Mutex::new(TenantCache::default());
        assert_eq!(block_on(exists(&cache, &kv, "acme", 0)), Ok(false));
        block_on(kv.set("auth/keys/acme/00", b"{}".to_vec(), None)).unwrap();
        assert_eq!(block_on(exists(&cache, &kv, "acme", 1)), Ok(false), "a missing tenant is believed for a while");
        assert_eq!(block_on(exists(&cache, &kv, "acme", UNKNOWN_FOR_MS)), Ok(true));
        block_on(kv.set(&crate::auth::issuers_path("beta"), b"[]".to_vec(), None)).unwrap();
        assert_eq!(block_on(exists(&cache, &kv, "beta", 0)), Ok(true));
        assert_eq!(block_on(exists(&cache, &kv, "acmex", 0)), Ok(false), "prefixes of keys are not tenants");
        assert!(block_on(kv.list("", None, 100)).unwrap().keys.len() == 2, "asking stores nothing");
    }
}
