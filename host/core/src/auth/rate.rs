//! Rate limits: a token bucket per principal and one per tenant. Buckets
//! live in this process's memory and are written to the KV backend at most
//! once a second each (and read from it when first seen), so instances
//! sharing a KV converge without a write per request; a burst spread over
//! many instances can exceed the limit by what each allows between writes.

use crate::platform::kv::KvStore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests allowed in a burst.
    pub burst: f64,
    /// Requests per second after it.
    pub per_second: f64,
}

/// The host's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub per_principal: Limit,
    pub per_tenant: Limit,
}

impl Default for RateLimits {
    /// 200 in a burst then 50/s per principal; 1000 then 250/s per tenant.
    fn default() -> Self {
        RateLimits {
            per_principal: Limit { burst: 200.0, per_second: 50.0 },
            per_tenant: Limit { burst: 1000.0, per_second: 250.0 },
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
    #[serde(skip)]
    saved_ms: u64,
}

/// How often a bucket is written to the KV backend at most.
const SAVE_EVERY_MS: u64 = 1000;

/// This process's buckets, shared by everything that limits a rate.
#[derive(Default)]
pub struct Limiter {
    buckets: futures_util::lock::Mutex<Buckets>,
}

impl Limiter {
    /// Takes one token from each bucket of `buckets` in turn, stopping at
    /// the first that is empty: `Err(seconds)` to wait then.
    pub async fn take(&self, kv: &dyn KvStore, buckets: &[(&str, Limit)], now_ms: u64) -> Result<(), u64> {
        let mut held = self.buckets.lock().await;
        for (name, limit) in buckets {
            held.take(kv, name, *limit, now_ms).await?;
        }
        Ok(())
    }
}

/// Token buckets by name, cached from the KV backend.
#[derive(Default)]
pub struct Buckets {
    buckets: HashMap<String, Bucket>,
}

impl Buckets {
    /// Takes one token from bucket `name` under `limit`; `Err(seconds)` to
    /// wait when it is empty.
    pub async fn take(&mut self, kv: &dyn KvStore, name: &str, limit: Limit, now_ms: u64) -> Result<(), u64> {
        let path = format!("rate/{name}");
        if !self.buckets.contains_key(name) {
            let stored = kv.get(&path).await.ok().flatten().and_then(|b| serde_json::from_slice::<Bucket>(&b).ok());
            let bucket = stored.unwrap_or(Bucket { tokens: limit.burst, at_ms: now_ms, saved_ms: 0 });
            self.buckets.insert(name.to_owned(), Bucket { saved_ms: now_ms, ..bucket });
        }
        let Some(bucket) = self.buckets.get_mut(name) else { return Ok(()) };
        let elapsed = now_ms.saturating_sub(bucket.at_ms) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.at_ms = now_ms;
        let verdict = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - bucket.tokens) / limit.per_second).ceil() as u64).max(1))
        };
        if now_ms.saturating_sub(bucket.saved_ms) >= SAVE_EVERY_MS {
            bucket.saved_ms = now_ms;
            if let Ok(bytes) = serde_json::to_vec(bucket) {
                // Best effort, and expiring: an idle bucket is a full one.
                let ttl = (limit.burst / limit.per_second).ceil() as u32 + 60;
                let _ = kv.set_relaxed(&path, bytes, Some(ttl)).await;
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;
    use std::rc::Rc;

    #[test]
    fn a_bucket_empties_refills_and_persists() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let limit = Limit { burst: 3.0, per_second: 2.0 };
        let mut buckets = Buckets::default();
        for _ in 0..3 {
            assert_eq!(block_on(buckets.take(&kv, "k", limit, 1000)), Ok(()));
        }
        assert_eq!(block_on(buckets.take(&kv, "k", limit, 1000)), Err(1));
        assert_eq!(block_on(buckets.take(&kv, "other", limit, 1000)), Ok(()), "buckets are separate");
        assert_eq!(block_on(buckets.take(&kv, "k", limit, 1500)), Ok(()), "half a second refills one");
        // Another instance sharing the KV sees the drained bucket.
        assert_eq!(block_on(buckets.take(&kv, "k", limit, 2600)), Ok(()));
        let mut elsewhere = Buckets::default();
        let first = block_on(elsewhere.take(&kv, "k", limit, 2600));
        let second = block_on(elsewhere.take(&kv, "k", limit, 2600));
        assert!(first.is_ok() && second.is_err(), "{first:?} {second:?}");
    }
}
