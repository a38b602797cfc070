//! The object store port (R2 on the Worker, files natively): uploaded
//! components and the guests' `objects` capability.

use super::{CapabilityError, LocalFuture};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub uploaded_ms: u64,
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
