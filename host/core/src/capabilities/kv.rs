//! `smcp:mcp/kv`: key-value storage under the server's own prefix.

use super::keys::{check_key, check_listing};
use super::{CallHost, CapabilityError, LocalFuture, args, to_result};
use crate::abi::{AbiError, Val};

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
    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Result<(), CapabilityError>> {
        (**self).set_many_relaxed(entries)
    }
}

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let Some(grant) = &host.grant.kv else {
        return Ok(to_result(Err(CapabilityError::Denied("kv is not granted to this server".into()))));
    };
    host.kv_ops = host.kv_ops.saturating_add(1);
    if host.kv_ops > grant.max_ops_per_call {
        let quota = format!("at most {} kv operations per request", grant.max_ops_per_call);
        return Ok(to_result(Err(CapabilityError::QuotaExceeded(quota))));
    }
    let store = host.backends.kv;
    let prefix = format!("{}kv/", host.scope.prefix());
    let scoped = |key: &str| -> Result<String, CapabilityError> {
        check_key(key, grant.max_key_bytes)?;
        Ok(format!("{prefix}{key}"))
    };
    let result = match name {
        "get" => {
            let [key] = args(args_in)?;
            match scoped(&key.into_string()?) {
                Ok(key) => store.get(&key).await.map(|v| Some(Val::from_option(v, Val::Bytes))),
                Err(e) => Err(e),
            }
        }
        "set" => {
            let [key, value, ttl] = args(args_in)?;
            let value = value.into_bytes()?;
            let ttl = ttl.into_option()?.map(|t| t.as_u32()).transpose()?;
            match scoped(&key.into_string()?) {
                Ok(_) if value.len() > grant.max_value_bytes => {
                    Err(CapabilityError::TooLarge(format!("values are limited to {} bytes", grant.max_value_bytes)))
                }
                Ok(key) => store.set(&key, value, ttl).await.map(|()| None),
                Err(e) => Err(e),
            }
        }
        "delete" => {
            let [key] = args(args_in)?;
            match scoped(&key.into_string()?) {
                Ok(key) => store.delete(&key).await.map(|()| None),
                Err(e) => Err(e),
            }
        }
        "list-keys" => {
            let [list_prefix, cursor, limit] = args(args_in)?;
            let list_prefix = list_prefix.into_string()?;
            let cursor = cursor.into_opt_string()?;
            let limit = limit.as_u32()?.clamp(1, grant.max_list);
            if let Err(e) = check_listing(&list_prefix, cursor.as_deref(), grant.max_key_bytes) {
                return Ok(to_result(Err(e)));
            }
            let full_prefix = format!("{prefix}{list_prefix}");
            let cursor = cursor.map(|c| format!("{prefix}{c}"));
            store.list(&full_prefix, cursor.as_deref(), limit).await.map(|page| {
                let strip = |k: String| k.strip_prefix(&prefix).map(str::to_owned).unwrap_or_default();
                let keys = page.keys.into_iter().map(strip).map(Val::String).collect();
                let cursor = page.cursor.map(strip);
                Some(Val::Record(vec![Val::List(keys), Val::from_option(cursor, Val::String)]))
            })
        }
        _ => return Err(AbiError::HostMismatch("unknown kv function")),
    };
    Ok(to_result(result))
}
