//! The small backends of the native host and [`Storage`], the full set
//! wired for one data directory.

use crate::kv::RedbKv;
use crate::objects::FsObjects;
use crate::outbound::OutboundHttp;
use smcp_core::platform::log_budget::LogBudget;
use smcp_core::platform::{Backends, Clock, LocalFuture, LogLevel, LogSink, Random, Scope};
use smcp_core::policy::address::AddressPolicy;
use smcp_core::vault::{Keyring, Vault};
use std::path::{Path, PathBuf};
use std::rc::Rc;

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

/// CPU-heavy jobs of the host (password hashing) running at once, and
/// waiting for a turn; more are refused.
pub const OFFLOAD_RUNNING: usize = 2;
pub const OFFLOAD_WAITING: usize = 64;

/// The operating system's cryptographically secure random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The trait cannot fail; a host whose OS source fails must not hand
        // out predictable bytes, so this is fatal.
        if let Err(e) = getrandom::fill(buf) {
            panic!("the operating system's random source failed: {e}");
        }
    }
}

/// Guests' operator logs as tracing events (target `smcp::guest`) with
/// `tenant`, `server` and `request` fields, within each server's
/// [`LogBudget`] besides the core's per-call cap.
#[derive(Default)]
pub struct TracingLog {
    budget: LogBudget,
}

impl LogSink for TracingLog {
    fn write(&self, scope: &Scope, level: LogLevel, message: &str) {
        let Some(dropped) = self.budget.admit(&scope.tenant, &scope.server, unix_ms()) else { return };
        let (tenant, server, request) = (scope.tenant.as_str(), scope.server.as_str(), scope.request.as_str());
        if dropped > 0 {
            tracing::warn!(target: "smcp::guest", tenant, server, dropped, "guest log lines dropped by the rate limit");
        }
        // Escaped: a newline or escape sequence in a guest's message must
        // not forge operator log lines or drive the operator's terminal.
        let message = message.escape_debug();
        match level {
            LogLevel::Debug => tracing::debug!(target: "smcp::guest", tenant, server, request, "{message}"),
            LogLevel::Info => tracing::info!(target: "smcp::guest", tenant, server, request, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "smcp::guest", tenant, server, request, "{message}"),
            LogLevel::Error => tracing::error!(target: "smcp::guest", tenant, server, request, "{message}"),
        }
    }
}

/// Every backend of the native host, on one data directory
/// (`<dir>/kv.redb` and `<dir>/objects/`), and outbound HTTP under the
/// operator's address policy.
pub struct Storage {
    pub kv: RedbKv,
    pub objects: FsObjects,
    pub http: OutboundHttp,
    /// Secrets encrypted in `kv.redb` under `vault/`.
    pub secrets: Vault<RedbKv>,
    pub clock: SystemClock,
    pub random: OsRandom,
    pub log: TracingLog,
    pub data_dir: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) the stores under `data_dir`. Fails if
    /// another process has them open. Without `master_keys`, guests'
    /// secret reads fail as unavailable.
    pub fn open(data_dir: &Path, outbound: AddressPolicy, master_keys: Option<Keyring>) -> anyhow::Result<Storage> {
        crate::store::create_private_dir(data_dir)?;
        let clock: Rc<dyn Clock> = Rc::new(SystemClock);
        let kv = RedbKv::open(&data_dir.join("kv.redb"), clock.clone())
            .map_err(|e| anyhow::anyhow!("{e:#} (is another smcp process using {}?)", data_dir.display()))?;
        Ok(Storage {
            secrets: Vault::new(kv.clone(), master_keys, Box::new(OsRandom)),
            kv,
            objects: FsObjects::open(&data_dir.join("objects"), clock)?,
            http: OutboundHttp::new(outbound)?,
            clock: SystemClock,
            random: OsRandom,
            log: TracingLog::default(),
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The backends as the engine takes them.
    pub fn backends(&self) -> Backends<'_> {
        Backends {
            kv: &self.kv,
            objects: &self.objects,
            http: &self.http,
            secrets: &self.secrets,
            clock: &self.clock,
            random: &self.random,
            log: &self.log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_answer_as_documented() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        OsRandom.fill(&mut a);
        OsRandom.fill(&mut b);
        assert_ne!(a, b);
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
    }

    #[test]
    fn storage_opens_once_per_directory() {
        let dir = crate::testutil::TempDir::new("storage-lock");
        let storage = Storage::open(dir.path(), AddressPolicy::public_only(), None).unwrap();
        assert!(
            Storage::open(dir.path(), AddressPolicy::public_only(), None).is_err(),
            "redb's lock keeps a second opener out"
        );
        drop(storage);
        Storage::open(dir.path(), AddressPolicy::public_only(), None).unwrap();
    }
}
