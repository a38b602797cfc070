//! [`KvStore`] on a Workers KV namespace.
//!
//! Workers KV differs from the core's contract in three ways, bridged here:
//! - its list cursor is opaque, while the core resumes after a key: a
//!   listing after a key pages through the prefix and skips up to it;
//! - its shortest TTL is 60 s: shorter ones are raised to 60 s;
//! - it is eventually consistent across locations (up to about 60 s);
//!   within one location a write is read back at once.

use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{KeyPage, KvStore};

/// Workers KV's shortest expiration.
const MIN_TTL_SECONDS: u64 = 60;
/// Workers KV's longest key, in bytes.
const MAX_KEY_BYTES: usize = 512;
/// Workers KV's largest page.
const MAX_PAGE: u32 = 1000;

#[derive(Clone)]
pub struct WorkersKv(pub worker::kv::KvStore);

fn unavailable(e: impl std::fmt::Display) -> CapabilityError {
    CapabilityError::Unavailable(format!("workers kv: {e}"))
}

fn check_key(key: &str) -> Result<(), CapabilityError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(CapabilityError::TooLarge(format!("a key may have at most {MAX_KEY_BYTES} bytes on this host")));
    }
    Ok(())
}

impl KvStore for WorkersKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        Box::pin(async move {
            check_key(key)?;
            self.0.get(key).bytes().await.map_err(unavailable)
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            check_key(key)?;
            let mut put = self.0.put_bytes(key, &value).map_err(unavailable)?;
            if let Some(ttl) = ttl_seconds {
                put = put.expiration_ttl(u64::from(ttl).max(MIN_TTL_SECONDS));
            }
            put.execute().await.map_err(unavailable)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            check_key(key)?;
            self.0.delete(key).await.map_err(unavailable)
        })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        Box::pin(async move {
            let limit = limit.clamp(1, MAX_PAGE) as usize;
            let mut keys = Vec::new();
            let mut kv_cursor: Option<String> = None;
            loop {
                let mut request = self.0.list().prefix(prefix.to_owned()).limit(u64::from(MAX_PAGE));
                if let Some(c) = kv_cursor.take() {
                    request = request.cursor(c);
                }
                let page = request.execute().await.map_err(unavailable)?;
                for key in page.keys {
                    if cursor.is_some_and(|after| key.name.as_str() <= after) {
                        continue;
                    }
                    if keys.len() == limit {
                        // One more exists: the page ends at its last key.
                        let last = keys.last().cloned();
                        return Ok(KeyPage { keys, cursor: last });
                    }
                    keys.push(key.name);
                }
                match page.cursor.filter(|c| !page.list_complete && !c.is_empty()) {
                    Some(next) => kv_cursor = Some(next),
                    None => return Ok(KeyPage { keys, cursor: None }),
                }
            }
        })
    }
}
