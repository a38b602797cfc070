//! The small backends on Workers: the clock, randomness and guests'
//! operator logs.

use smcp_core::capabilities::{Clock, LocalFuture, LogLevel, LogSink, Random, Scope};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// `Date.now()`. Inside a request it moves only across I/O (Workers stop
/// the clock while code runs), which is why guests' CPU is bounded by fuel
/// and not by time.
#[derive(Clone, Copy, Default)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> u64 {
        worker::Date::now().as_millis()
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

/// Lines a server may log in a burst, and per second after it (as on the
/// native host).
const LOG_BURST: f64 = 200.0;
const LOG_RATE: f64 = 50.0;

/// Guests' operator logs as one JSON object per line on the Worker's
/// console (`wrangler tail`, Workers Logs), rate-limited per server within
/// the isolate.
#[derive(Default)]
pub struct ConsoleLog {
    buckets: RefCell<HashMap<(String, String), (f64, u64, u64)>>,
}

impl ConsoleLog {
    /// Takes a token: `Some(lines dropped before)` when the line may go out.
    fn admit(&self, scope: &Scope) -> Option<u64> {
        let now = worker::Date::now().as_millis();
        let mut buckets = self.buckets.borrow_mut();
        let (tokens, at, dropped) =
            buckets.entry((scope.tenant.clone(), scope.server.clone())).or_insert((LOG_BURST, now, 0));
        *tokens = (*tokens + now.saturating_sub(*at) as f64 / 1000.0 * LOG_RATE).min(LOG_BURST);
        *at = now;
        if *tokens < 1.0 {
            *dropped += 1;
            return None;
        }
        *tokens -= 1.0;
        Some(std::mem::take(dropped))
    }
}

impl LogSink for ConsoleLog {
    fn write(&self, scope: &Scope, level: LogLevel, message: &str) {
        let Some(dropped) = self.admit(scope) else { return };
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
