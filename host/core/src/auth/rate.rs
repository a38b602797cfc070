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
    /// True when every bucket of `names` is in this process's memory, or
    /// when another request holds them now (it is reading or taking them).
    pub fn holds(&self, names: &[&str]) -> bool {
        self.buckets.try_lock().is_none_or(|held| names.iter().all(|name| held.buckets.contains_key(*name)))
    }

    /// Takes one token from each bucket of `buckets` in turn, stopping at
    /// the first that is empty: `Err(seconds)` to wait then.
    pub async fn take(&self, kv: &dyn KvStore, buckets: &[(&str, Limit)], now_ms: u64) -> Result<(), u64> {
        let mut held = self.buckets.lock().await;
        held.load(kv, buckets, now_ms).await;
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
    /// Reads the buckets of `buckets` not held yet from the KV backend, all
    /// at once: on a Worker isolate's first request each is a round trip.
    /// One never stored, or unreadable, starts full.
    async fn load(&mut self, kv: &dyn KvStore, buckets: &[(&str, Limit)], now_ms: u64) {
        let missing: Vec<(&str, Limit)> =
            buckets.iter().copied().filter(|(name, _)| !self.buckets.contains_key(*name)).collect();
        let stored = futures_util::future::join_all(missing.iter().map(|(name, _)| async move {
            let bytes = kv.get(&format!("rate/{name}")).await.ok().flatten();
            bytes.and_then(|b| serde_json::from_slice::<Bucket>(&b).ok())
        }))
        .await;
        for ((name, limit), stored) in missing.into_iter().zip(stored) {
            let bucket = stored.unwrap_or(Bucket { tokens: limit.burst, at_ms: now_ms, saved_ms: 0 });
            self.buckets.entry(name.to_owned()).or_insert(Bucket { saved_ms: now_ms, ..bucket });
        }
    }

    /// Takes one token from bucket `name` under `limit`; `Err(seconds)` to
    /// wait when it is empty.
    pub async fn take(&mut self, kv: &dyn KvStore, name: &str, limit: Limit, now_ms: u64) -> Result<(), u64> {
        if !self.buckets.contains_key(name) {
            self.load(kv, &[(name, limit)], now_ms).await;
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
                let _ = kv.set_relaxed(&format!("rate/{name}"), bytes, Some(ttl)).await;
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{ManualClock, MemoryKv};
    use crate::platform::{CapabilityError, KeyPage, LocalFuture};
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

    /// A store whose reads answer only once `needed` are outstanding at
    /// the same time, as a round trip each would on a Worker.
    struct Concurrent {
        kv: MemoryKv,
        needed: usize,
        outstanding: std::cell::Cell<usize>,
    }

    impl KvStore for Concurrent {
        fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
            self.outstanding.set(self.outstanding.get() + 1);
            let mut polls = 0;
            Box::pin(async move {
                // Sequential reads would wait here forever: give up after a
                // while, answering nothing, which the assertions below see.
                let together = std::future::poll_fn(|cx| {
                    polls += 1;
                    if self.outstanding.get() >= self.needed {
                        std::task::Poll::Ready(true)
                    } else if polls > 100 {
                        std::task::Poll::Ready(false)
                    } else {
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
                .await;
                let answer = if together { self.kv.get(key).await } else { Ok(None) };
                self.outstanding.set(self.outstanding.get() - 1);
                answer
            })
        }
        fn set<'a>(
            &'a self,
            key: &'a str,
            value: Vec<u8>,
            ttl: Option<u32>,
        ) -> LocalFuture<'a, Result<(), CapabilityError>> {
            self.kv.set(key, value, ttl)
        }
        fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
            self.kv.delete(key)
        }
        fn list<'a>(
            &'a self,
            prefix: &'a str,
            cursor: Option<&'a str>,
            limit: u32,
        ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
            self.kv.list(prefix, cursor, limit)
        }
    }

    #[test]
    fn a_request_reads_its_stored_buckets_together() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let limit = Limit { burst: 2.0, per_second: 0.001 };
        // Another instance drained the tenant's bucket, and a second later
        // saved it.
        let mut elsewhere = Buckets::default();
        for at_ms in [5000, 5000, 6000] {
            let _ = block_on(elsewhere.take(&kv, "t/acme", limit, at_ms));
        }
        let both = [("p/acme/alice", limit), ("t/acme", limit)];
        let store = Concurrent { kv, needed: 2, outstanding: Default::default() };
        // Read one at a time, neither read would answer, and the tenant's
        // bucket would start full.
        let taken = block_on(Limiter::default().take(&store, &both, 6000));
        assert!(taken.is_err(), "the drained tenant bucket was not read: {taken:?}");
    }
}
