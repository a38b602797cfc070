//! The small backends on Workers: the clock, randomness and guests'
//! operator logs.

use smcp_core::platform::log_budget::LogBudget;
use smcp_core::platform::{Clock, LocalFuture, LogLevel, LogSink, Random, Scope};
use std::time::Duration;

/// `Date.now()`. Inside a request it moves only across I/O (Workers stop
/// the clock while code runs), which is why guests' CPU is bounded by fuel
/// and not by time.
#[derive(Clone, Copy, Default)]
pub struct WorkerClock;

#[cfg(feature = "backend-suite")]
thread_local! {
    /// How far test deployments moved this isolate's clock on
    /// (`backend-suite/clock/advance`): retention waits for days.
    pub(crate) static SKEW_MS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl Clock for WorkerClock {
    fn now_ms(&self) -> u64 {
        let now = worker::Date::now().as_millis();
        #[cfg(feature = "backend-suite")]
        let now = now.saturating_add(SKEW_MS.with(std::cell::Cell::get));
        now
    }

    fn sleep(&self, ms: u64) -> LocalFuture<'_, ()> {
        Box::pin(worker::Delay::from(Duration::from_millis(ms)))
    }
}

/// `crypto.getRandomValues`.
#[derive(Clone, Copy, Default)]
pub struct WorkerRandom;

impl Random for WorkerRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The trait cannot fail; predictable bytes would be worse than a
        // failed request, so this is fatal for the request.
        if let Err(e) = getrandom::getrandom(buf) {
            panic!("crypto.getRandomValues failed: {e}");
        }
    }
}

impl WorkerRandom {
    /// 32 random hex digits: a legacy session id as the engine makes them.
    pub fn hex_id(&self) -> String {
        let mut raw = [0u8; 16];
        self.fill(&mut raw);
        raw.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Guests' operator logs as one JSON object per line on the Worker's
/// console (`wrangler tail`, Workers Logs), within each server's
/// [`LogBudget`] in this isolate.
#[derive(Default)]
pub struct ConsoleLog {
    budget: LogBudget,
}

impl LogSink for ConsoleLog {
    fn write(&self, scope: &Scope, level: LogLevel, message: &str) {
        let Some(dropped) = self.budget.admit(&scope.tenant, &scope.server, worker::Date::now().as_millis()) else {
            return;
        };
        let level = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        let line = serde_json::json!({
            "target": "smcp::guest",
            "level": level,
            "tenant": scope.tenant,
            "server": scope.server,
            "request": scope.request,
            "message": message,
            "dropped_before": dropped,
        });
        worker::console_log!("{line}");
    }
}
