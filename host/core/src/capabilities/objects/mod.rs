//! `smcp:mcp/objects`: R2-like object storage under the server's prefix,
//! within the grant's `[objects]` section and a per-call write budget.

pub mod grant;
#[cfg(test)]
mod tests;

use super::bindings::objects::{Host, Object, ObjectMeta, ObjectPage};
use super::storage_keys::{Listing, check_key};
use super::{CallHost, CapabilityError};
use crate::platform::objects::ObjectMeta as StoredMeta;
use grant::ObjectsGrant;

/// Object bytes written in the current call.
#[derive(Default)]
pub(super) struct Budget {
    bytes_written: usize,
}

impl<'a> CallHost<'a> {
    fn objects_grant(&self) -> Result<&'a ObjectsGrant, CapabilityError> {
        self.grant
            .objects
            .as_ref()
            .ok_or_else(|| CapabilityError::Denied("objects is not granted to this server".into()))
    }

    /// The key as stored: checked, under the server's objects prefix.
    fn object_key(&self, key: &str) -> Result<String, CapabilityError> {
        check_key(key, self.objects_grant()?.max_key_bytes)?;
        Ok(format!("{}{key}", self.objects_prefix()))
    }

    fn objects_prefix(&self) -> String {
        format!("{}objects/", self.scope.prefix())
    }

    /// Stored metadata as the guest sees it: its key without the prefix.
    fn guest_meta(&self, meta: StoredMeta) -> ObjectMeta {
        let prefix = self.objects_prefix();
        ObjectMeta {
            key: meta.key.strip_prefix(&prefix).unwrap_or_default().to_owned(),
            size: meta.size,
            etag: meta.etag,
            content_type: meta.content_type,
            uploaded_ms: meta.uploaded_ms,
        }
    }
}

impl Host for CallHost<'_> {
    async fn get(&mut self, key: String) -> Result<Option<Object>, CapabilityError> {
        let key = self.object_key(&key)?;
        let found = self.backends.objects.get(&key).await?;
        Ok(found.map(|(meta, body)| Object { meta: self.guest_meta(meta), body }))
    }

    async fn put(
        &mut self,
        key: String,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> Result<ObjectMeta, CapabilityError> {
        let grant = self.objects_grant()?;
        let key = self.object_key(&key)?;
        if body.len() > grant.max_object_bytes {
            return Err(CapabilityError::TooLarge(format!("objects are limited to {} bytes", grant.max_object_bytes)));
        }
        let written = self.spent.objects.bytes_written.saturating_add(body.len());
        if written > grant.max_bytes_written_per_call {
            let quota = format!("at most {} bytes written per request", grant.max_bytes_written_per_call);
            return Err(CapabilityError::QuotaExceeded(quota));
        }
        self.spent.objects.bytes_written = written;
        let meta = self.backends.objects.put(&key, body, content_type).await?;
        Ok(self.guest_meta(meta))
    }

    async fn delete(&mut self, key: String) -> Result<(), CapabilityError> {
        let key = self.object_key(&key)?;
        self.backends.objects.delete(&key).await
    }

    async fn head(&mut self, key: String) -> Result<Option<ObjectMeta>, CapabilityError> {
        let key = self.object_key(&key)?;
        Ok(self.backends.objects.head(&key).await?.map(|meta| self.guest_meta(meta)))
    }

    async fn list_objects(
        &mut self,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<ObjectPage, CapabilityError> {
        let grant = self.objects_grant()?;
        let own = self.objects_prefix();
        let listing = Listing::new(&own, &prefix, cursor.as_deref(), grant.max_key_bytes)?;
        let limit = limit.clamp(1, grant.max_list);
        let page = self.backends.objects.list(&listing.prefix, listing.cursor.as_deref(), limit).await?;
        Ok(ObjectPage {
            objects: page.objects.into_iter().map(|meta| self.guest_meta(meta)).collect(),
            cursor: page.cursor.map(|c| listing.guest_key(&c)),
        })
    }
}
