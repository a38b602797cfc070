//! The small backends of the native host and [`Storage`], the full set
//! wired for one data directory.

pub use crate::clock::{SharedClock, SystemClock, unix_ms};
use crate::kv::RedbKv;
use crate::objects::FsObjects;
use crate::outbound::OutboundHttp;
use smcp_core::platform::log_budget::LogBudget;
use smcp_core::platform::{Backends, LogLevel, LogSink, Random, Scope};
use smcp_core::policy::address::AddressPolicy;
use smcp_core::vault::{Keyring, Vault};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        let clock: SharedClock = Arc::new(SystemClock);
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
    use smcp_core::platform::Clock as _;

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
