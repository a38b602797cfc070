//! A map that keeps at most a given number of entries, dropping the least
//! recently used: for the caches keyed by what callers send (which
//! tenants exist, refusal counts, key uses).

use std::collections::{BTreeMap, HashMap};

/// A map of at most a given number of entries, least recently used first out.
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
}
