//! How many operator log lines a server may write across calls: a token
//! bucket per server ([`BURST`] lines, refilled at [`PER_SECOND`]), so a
//! busy guest cannot flood the host's logs. Platforms' [`super::LogSink`]s
//! ask it before writing; what it drops is counted and reported with the
//! next line that passes. (The per-call cap is in [`super::log`].)

use crate::names::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Lines a server may log in a burst, and per second after it.
pub const BURST: f64 = 200.0;
pub const PER_SECOND: f64 = 50.0;

struct Bucket {
    tokens: f64,
    at_ms: u64,
    dropped: u64,
}

/// The buckets of one process (or isolate), by tenant and server, shared
/// by its serving threads.
#[derive(Default)]
pub struct LogBudget {
    buckets: Mutex<HashMap<(TenantId, String), Bucket>>,
}

impl LogBudget {
    /// Takes a token for `tenant`/`server` at `now_ms`: `Some(lines dropped
    /// since the last one that passed)` when this line may go out.
    pub fn admit(&self, tenant: &TenantId, server: &str, now_ms: u64) -> Option<u64> {
        // A poisoned lock still holds whole buckets: keep counting.
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry((tenant.to_owned(), server.to_owned())).or_insert(Bucket {
            tokens: BURST,
            at_ms: now_ms,
            dropped: 0,
        });
        let elapsed_s = now_ms.saturating_sub(bucket.at_ms) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed_s * PER_SECOND).min(BURST);
        bucket.at_ms = bucket.at_ms.max(now_ms);
        if bucket.tokens < 1.0 {
            bucket.dropped += 1;
            return None;
        }
        bucket.tokens -= 1.0;
        Some(std::mem::take(&mut bucket.dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_per_server() {
        let budget = LogBudget::default();
        let admitted =
            (0..1000).filter(|_| budget.admit(&TenantId::from_static("t"), "noisy", 1_000).is_some()).count();
        assert_eq!(admitted, BURST as usize);
        assert_eq!(
            budget.admit(&TenantId::from_static("t"), "quiet", 1_000),
            Some(0),
            "other servers are not affected"
        );
        // A second later, PER_SECOND more, and the drops are reported once.
        assert_eq!(budget.admit(&TenantId::from_static("t"), "noisy", 2_000), Some(1000 - BURST as u64));
        let more = (0..1000).filter(|_| budget.admit(&TenantId::from_static("t"), "noisy", 2_000).is_some()).count();
        assert_eq!(more, PER_SECOND as usize - 1);
    }
}
