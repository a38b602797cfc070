//! [`ObjectStore`] on an R2 bucket. R2 lists after a key (`startAfter`),
//! as the core expects, and stamps uploads itself.

use smcp_core::platform::objects::{ObjectMeta, ObjectPage, ObjectStore, StoredObject};
use smcp_core::platform::{CapabilityError, LocalFuture};
use worker::{Bucket, HttpMetadata, Include, Object};

/// R2's largest page.
const MAX_PAGE: u32 = 1000;

pub struct R2Objects(pub Bucket);

fn unavailable(e: impl std::fmt::Display) -> CapabilityError {
    CapabilityError::Unavailable(format!("r2: {e}"))
}

fn meta(object: &Object) -> ObjectMeta {
    ObjectMeta {
        key: object.key(),
        size: object.size(),
        etag: object.etag(),
        content_type: object.http_metadata().content_type,
        uploaded_ms: object.uploaded().as_millis(),
    }
}

impl ObjectStore for R2Objects {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<StoredObject>, CapabilityError>> {
        Box::pin(async move {
            let Some(object) = self.0.get(key).execute().await.map_err(unavailable)? else { return Ok(None) };
            let body = match object.body() {
                Some(body) => body.bytes().await.map_err(unavailable)?,
                None => Vec::new(),
            };
            Ok(Some((meta(&object), body)))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Result<ObjectMeta, CapabilityError>> {
        Box::pin(async move {
            let metadata = HttpMetadata { content_type, ..Default::default() };
            let object = self.0.put(key, body).http_metadata(metadata).execute().await.map_err(unavailable)?;
            object.map(|o| meta(&o)).ok_or_else(|| unavailable("the bucket did not store the object"))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move { self.0.delete(key).await.map_err(unavailable) })
    }

    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<ObjectMeta>, CapabilityError>> {
        Box::pin(async move { Ok(self.0.head(key).await.map_err(unavailable)?.map(|o| meta(&o))) })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<ObjectPage, CapabilityError>> {
        Box::pin(async move {
            let limit = limit.clamp(1, MAX_PAGE);
            // Listings carry the content type only when asked for.
            let mut request = self.0.list().prefix(prefix).limit(limit).include(vec![Include::HttpMetadata]);
            if let Some(after) = cursor {
                request = request.start_after(after);
            }
            let page = request.execute().await.map_err(unavailable)?;
            let objects: Vec<ObjectMeta> = page.objects().iter().map(meta).collect();
            let cursor = if page.truncated() { objects.last().map(|o| o.key.clone()) } else { None };
            Ok(ObjectPage { objects, cursor })
        })
    }
}
