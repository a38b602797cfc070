//! Object storage (needs an `objects` grant), scoped like [`kv`](crate::kv)
//! to the tenant and server.

use crate::bindings::smcp::mcp::objects as host;
use crate::error::CapabilityError;

/// What the store knows about an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Backend-chosen content hash; changes when the body changes.
    pub etag: String,
    pub content_type: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub uploaded_ms: u64,
}

/// An object with its body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object {
    pub meta: ObjectMeta,
    pub body: Vec<u8>,
}

/// One page of [`list`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectPage {
    pub objects: Vec<ObjectMeta>,
    /// Pass to the next [`list`] call; `None` at the end.
    pub cursor: Option<String>,
}

impl From<host::ObjectMeta> for ObjectMeta {
    fn from(m: host::ObjectMeta) -> Self {
        Self { key: m.key, size: m.size, etag: m.etag, content_type: m.content_type, uploaded_ms: m.uploaded_ms }
    }
}

/// The object at `key`, or `None`.
pub fn get(key: &str) -> Result<Option<Object>, CapabilityError> {
    Ok(host::get(key)?.map(|o| Object { meta: o.meta.into(), body: o.body }))
}

/// Stores `body` at `key`, replacing any object there.
pub fn put(key: &str, body: &[u8], content_type: Option<&str>) -> Result<ObjectMeta, CapabilityError> {
    Ok(host::put(key, body, content_type)?.into())
}

/// Removes `key`; removing a missing object succeeds.
pub fn delete(key: &str) -> Result<(), CapabilityError> {
    Ok(host::delete(key)?)
}

/// The metadata of the object at `key`, without its body.
pub fn head(key: &str) -> Result<Option<ObjectMeta>, CapabilityError> {
    Ok(host::head(key)?.map(Into::into))
}

/// Objects whose keys start with `prefix`, in key order, at most `limit`,
/// continuing after `cursor`.
pub fn list(prefix: &str, cursor: Option<&str>, limit: u32) -> Result<ObjectPage, CapabilityError> {
    let page = host::list_objects(prefix, cursor, limit)?;
    Ok(ObjectPage { objects: page.objects.into_iter().map(Into::into).collect(), cursor: page.cursor })
}
