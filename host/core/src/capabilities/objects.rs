//! `smcp:mcp/objects`: R2-like object storage under the server's prefix.

use super::keys::{check_key, check_listing};
use super::{CallHost, CapabilityError, LocalFuture, args, to_result};
use crate::abi::{AbiError, Val};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub uploaded_ms: u64,
}

impl ObjectMeta {
    fn to_val(&self, prefix: &str) -> Val {
        Val::Record(vec![
            Val::string(self.key.strip_prefix(prefix).unwrap_or_default()),
            Val::U64(self.size),
            Val::string(&self.etag),
            Val::from_option(self.content_type.clone(), Val::String),
            Val::U64(self.uploaded_ms),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectPage {
    pub objects: Vec<ObjectMeta>,
    pub cursor: Option<String>,
}

/// An object's metadata and body.
pub type StoredObject = (ObjectMeta, Vec<u8>);

/// A platform's object store. Keys arrive fully prefixed; `list` follows the
/// same rules as [`super::kv::KvStore::list`].
pub trait ObjectStore {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<StoredObject>, CapabilityError>>;
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Result<ObjectMeta, CapabilityError>>;
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>>;
    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<ObjectMeta>, CapabilityError>>;
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<ObjectPage, CapabilityError>>;
}

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    let Some(grant) = &host.grant.objects else {
        return Ok(to_result(Err(CapabilityError::Denied("objects is not granted to this server".into()))));
    };
    let store = host.backends.objects;
    let prefix = format!("{}objects/", host.scope.prefix());
    let scoped = |key: &str| -> Result<String, CapabilityError> {
        check_key(key, grant.max_key_bytes)?;
        Ok(format!("{prefix}{key}"))
    };
    let result = match name {
        "get" | "head" | "delete" => {
            let [key] = args(args_in)?;
            match (scoped(&key.into_string()?), name) {
                (Err(e), _) => Err(e),
                (Ok(key), "get") => store.get(&key).await.map(|found| {
                    Some(Val::from_option(found, |(meta, body)| {
                        Val::Record(vec![meta.to_val(&prefix), Val::Bytes(body)])
                    }))
                }),
                (Ok(key), "head") => {
                    store.head(&key).await.map(|found| Some(Val::from_option(found, |m| m.to_val(&prefix))))
                }
                (Ok(key), _) => store.delete(&key).await.map(|()| None),
            }
        }
        "put" => {
            let [key, body, content_type] = args(args_in)?;
            let body = body.into_bytes()?;
            let content_type = content_type.into_opt_string()?;
            match scoped(&key.into_string()?) {
                Ok(_) if body.len() > grant.max_object_bytes => {
                    Err(CapabilityError::TooLarge(format!("objects are limited to {} bytes", grant.max_object_bytes)))
                }
                Ok(_) if host.object_bytes_written.saturating_add(body.len()) > grant.max_bytes_written_per_call => {
                    Err(CapabilityError::QuotaExceeded(format!(
                        "at most {} bytes written per request",
                        grant.max_bytes_written_per_call
                    )))
                }
                Ok(key) => {
                    host.object_bytes_written += body.len();
                    store.put(&key, body, content_type).await.map(|m| Some(m.to_val(&prefix)))
                }
                Err(e) => Err(e),
            }
        }
        "list-objects" => {
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
                let objects = page.objects.iter().map(|m| m.to_val(&prefix)).collect();
                let cursor = page.cursor.map(|c| c.strip_prefix(&prefix).unwrap_or_default().to_owned());
                Some(Val::Record(vec![Val::List(objects), Val::from_option(cursor, Val::String)]))
            })
        }
        _ => return Err(AbiError::HostMismatch("unknown objects function")),
    };
    Ok(to_result(result))
}
