//! Per-server counters for operators: tool calls, errors, calls that ran
//! out of fuel, fuel burned, and a latency histogram. Kept in memory per
//! process (a Worker isolate or a native server) and read as JSON (admin
//! API, both platforms) or Prometheus text (the native server).

use crate::names::TenantId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in milliseconds.
pub const LATENCY_BUCKETS_MS: [u64; 14] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/// One server's counters since this process started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerMetrics {
    /// `tools/call` requests answered.
    pub calls: u64,
    /// Calls that ended in a tool error or a JSON-RPC error.
    pub errors: u64,
    /// Calls stopped by their fuel limit.
    pub out_of_fuel: u64,
    pub fuel_used: u64,
    /// Calls per latency bucket: `latency_ms[i]` counts calls that took at
    /// most [`LATENCY_BUCKETS_MS`]`[i]` (not cumulative); the last entry
    /// counts the slower ones.
    pub latency_ms: Vec<u64>,
    pub latency_ms_sum: u64,
}

impl ServerMetrics {
    /// No calls yet.
    pub fn empty() -> ServerMetrics {
        ServerMetrics { latency_ms: vec![0; LATENCY_BUCKETS_MS.len() + 1], ..ServerMetrics::default() }
    }
}

/// What one call did.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord {
    pub error: bool,
    pub out_of_fuel: bool,
    pub fuel: u64,
    pub ms: u64,
}

/// The counters of every server this process has served.
#[derive(Debug, Default)]
pub struct Metrics {
    servers: Mutex<BTreeMap<(TenantId, String), ServerMetrics>>,
}

impl Metrics {
    pub fn record(&self, tenant: &TenantId, server: &str, call: CallRecord) {
        let Ok(mut servers) = self.servers.lock() else { return };
        let m = servers.entry((tenant.to_owned(), server.to_owned())).or_insert_with(ServerMetrics::empty);
        m.calls += 1;
        m.errors += u64::from(call.error);
        m.out_of_fuel += u64::from(call.out_of_fuel);
        m.fuel_used = m.fuel_used.saturating_add(call.fuel);
        let bucket = LATENCY_BUCKETS_MS.iter().position(|&le| call.ms <= le).unwrap_or(LATENCY_BUCKETS_MS.len());
        m.latency_ms[bucket] += 1;
        m.latency_ms_sum = m.latency_ms_sum.saturating_add(call.ms);
    }

    /// One server's counters (zeros before its first call).
    pub fn server(&self, tenant: &TenantId, server: &str) -> ServerMetrics {
        let key = (tenant.to_owned(), server.to_owned());
        self.servers.lock().ok().and_then(|servers| servers.get(&key).cloned()).unwrap_or_else(ServerMetrics::empty)
    }

    /// The counters of `tenant`'s servers, by server name.
    pub fn tenant(&self, tenant: &TenantId) -> BTreeMap<String, ServerMetrics> {
        let Ok(servers) = self.servers.lock() else { return BTreeMap::new() };
        servers.iter().filter(|((t, _), _)| t == tenant).map(|((_, s), m)| (s.clone(), m.clone())).collect()
    }

    /// Every server's counters in the Prometheus text format (0.0.4).
    pub fn prometheus(&self) -> String {
        let Ok(servers) = self.servers.lock() else { return String::new() };
        let mut out = String::new();
        type Counter = (&'static str, &'static str, fn(&ServerMetrics) -> u64);
        let counters: [Counter; 4] = [
            ("smcp_tool_calls_total", "Tool calls answered.", |m| m.calls),
            ("smcp_tool_errors_total", "Tool calls that ended in an error.", |m| m.errors),
            ("smcp_tool_out_of_fuel_total", "Tool calls stopped by their fuel limit.", |m| m.out_of_fuel),
            ("smcp_fuel_used_total", "Fuel burned by tool calls.", |m| m.fuel_used),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((tenant, server), m) in servers.iter() {
                let _ = writeln!(out, "{name}{{tenant=\"{tenant}\",server=\"{server}\"}} {}", value(m));
            }
        }
        let name = "smcp_tool_call_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Tool call latency.\n# TYPE {name} histogram");
        for ((tenant, server), m) in servers.iter() {
            let labels = format!("tenant=\"{tenant}\",server=\"{server}\"");
            let mut cumulative = 0;
            for (i, le) in LATENCY_BUCKETS_MS.iter().enumerate() {
                cumulative += m.latency_ms.get(i).copied().unwrap_or(0);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{}\"}} {cumulative}", *le as f64 / 1000.0);
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", m.calls);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", m.latency_ms_sum as f64 / 1000.0);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", m.calls);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let metrics = Metrics::default();
        metrics.record(
            &TenantId::from_static("acme"),
            "calc",
            CallRecord { error: false, out_of_fuel: false, fuel: 100, ms: 0 },
        );
        metrics.record(
            &TenantId::from_static("acme"),
            "calc",
            CallRecord { error: true, out_of_fuel: true, fuel: 50, ms: 40 },
        );
        metrics.record(
            &TenantId::from_static("other"),
            "x",
            CallRecord { error: false, out_of_fuel: false, fuel: 1, ms: 99_999 },
        );
        let acme = metrics.tenant(&TenantId::from_static("acme"));
        let calc = &acme["calc"];
        assert_eq!((calc.calls, calc.errors, calc.out_of_fuel, calc.fuel_used), (2, 1, 1, 150));
        assert_eq!(calc.latency_ms[0], 1);
        assert_eq!(calc.latency_ms[5], 1, "40 ms falls in the 50 ms bucket");
        assert!(!acme.contains_key("x"), "another tenant's servers are not listed");
        let text = metrics.prometheus();
        assert!(text.contains("smcp_tool_calls_total{tenant=\"acme\",server=\"calc\"} 2"), "{text}");
        assert!(
            text.contains("smcp_tool_call_duration_seconds_bucket{tenant=\"acme\",server=\"calc\",le=\"0.05\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("smcp_tool_call_duration_seconds_bucket{tenant=\"other\",server=\"x\",le=\"+Inf\"} 1"),
            "{text}"
        );
    }
}
