//! The system's clock, as the native host's ports and files read it, and
//! the offloading of the host's CPU-heavy work that the `Clock` port does.

use smcp_core::platform::{Clock, LocalFuture};

/// CPU-heavy jobs of the host (password hashing) running at once, and
/// waiting for a turn; more are refused.
pub const OFFLOAD_RUNNING: usize = 2;
pub const OFFLOAD_WAITING: usize = 64;

/// The clock the stores read expiry times from, shared by the serving
/// threads.
pub type SharedClock = std::sync::Arc<dyn Clock + Send + Sync>;

/// Milliseconds since the Unix epoch by the system clock (0 before it).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        unix_ms()
    }

    fn sleep(&self, ms: u64) -> LocalFuture<'_, ()> {
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(ms)))
    }

    /// tokio's yield lets the runtime poll its sockets before the caller
    /// goes on (a plain self-wake would run it again first, for up to 61
    /// turns of the `LocalSet`).
    fn pause(&self) -> LocalFuture<'_, ()> {
        Box::pin(tokio::task::yield_now())
    }

    /// On tokio's blocking pool, at most [`OFFLOAD_RUNNING`] at once and
    /// [`OFFLOAD_WAITING`] waiting for a turn: a flood of sign-ins costs
    /// the serving threads nothing and the host a bounded amount of CPU.
    fn offload(&self, job: Box<dyn FnOnce() + Send>) -> LocalFuture<'_, bool> {
        Box::pin(async move {
            use std::sync::atomic::Ordering;
            static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(OFFLOAD_RUNNING);
            static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            if WAITING.fetch_add(1, Ordering::AcqRel) >= OFFLOAD_WAITING {
                WAITING.fetch_sub(1, Ordering::AcqRel);
                return false;
            }
            let permit = RUNNING.acquire().await;
            WAITING.fetch_sub(1, Ordering::AcqRel);
            let Ok(_permit) = permit else { return false };
            tokio::task::spawn_blocking(job).await.is_ok()
        })
    }
}
