//! The key-value store port: the host's own records (audit, keys, sessions,
//! deployments, authorization state) and, under each server's prefix, the
//! guests' `kv` capability.

use super::{CapabilityError, LocalFuture};

/// A page of keys from [`KvStore::list`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    pub keys: Vec<String>,
    /// The last key of this page when more may follow.
    pub cursor: Option<String>,
}

/// A platform's key-value store. Keys arrive fully prefixed; the store only
/// stores. `list` must return only keys starting with `prefix`, in order,
/// after `cursor` (exclusive) when given.
pub trait KvStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>>;
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>>;
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>>;
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>>;

    /// Like `set`, for host bookkeeping that may be lost in a crash but
    /// never torn (audit records, rate buckets, last-used times): a store
    /// may skip waiting for the disk. By default a plain `set`.
    fn set_relaxed<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.set(key, value, ttl_seconds)
    }

    /// Writes `key` only when it holds nothing live; true when this call
    /// wrote it. Single-use things (authorization codes, refresh tokens)
    /// are claimed with it, so that two redemptions cannot both win. The
    /// default reads, then writes: atomic only for callers already
    /// serialized in one process; a store shared by several processes
    /// (redb's writer, a Durable Object) does it in one step.
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(async move {
            if self.get(key).await?.is_some() {
                return Ok(false);
            }
            self.set(key, value, ttl_seconds).await?;
            Ok(true)
        })
    }

    /// Writes `value` at `key` only when `key` holds exactly `expected`
    /// (`None`: nothing live); true when this call wrote it. Records that
    /// several writers read, change and write back (a server's deployment
    /// record) are written with it, so that no writer's change is lost. The
    /// default reads, then writes: atomic only for callers already
    /// serialized in one process; a store shared by several processes
    /// (redb's writer, a Durable Object) does it in one step.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(async move {
            if self.get(key).await?.as_deref() != expected {
                return Ok(false);
            }
            self.set(key, value, ttl_seconds).await?;
            Ok(true)
        })
    }

    /// Several relaxed writes at once (one transaction where the store has
    /// them). By default one `set_relaxed` after the other.
    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Result<(), CapabilityError>> {
        Box::pin(async move {
            for (key, value) in entries {
                self.set_relaxed(&key, value, None).await?;
            }
            Ok(())
        })
    }
}

/// A shared reference to a store is a store (a vault borrowing the KV
/// backend, for instance).
impl<T: KvStore + ?Sized> KvStore for &T {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        (**self).get(key)
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        (**self).set(key, value, ttl_seconds)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        (**self).delete(key)
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        (**self).list(prefix, cursor, limit)
    }
    fn set_relaxed<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        (**self).set_relaxed(key, value, ttl_seconds)
    }
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        (**self).insert_new(key, value, ttl_seconds)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        (**self).compare_and_swap(key, expected, value, ttl_seconds)
    }
    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Result<(), CapabilityError>> {
        (**self).set_many_relaxed(entries)
    }
}
