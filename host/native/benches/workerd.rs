//! The Worker in workerd (`wrangler dev`, local KV and R2), measured over
//! loopback HTTP with stateless 2026-07-28 requests, one connection each:
//!
//! - per-call latency of a trivial tool (calc `add`) and a KV tool (notes
//!   `put_note`), warm, p50 and p99, beside `/healthz` (the Worker with no
//!   engine work) as the reference measured in the same run;
//! - the first call of a freshly deployed server (component read from R2,
//!   validated and compiled in a warm isolate), and the first call after
//!   the isolate starts (wrangler reloads the Worker: a new isolate);
//! - fuel per millisecond: hostile-loop's `spin` burns exactly its grant's
//!   fuel, so (spin latency - trivial latency) / fuel gives the rate at
//!   which this machine's workerd runs guest code.
//!
//! `cargo bench -p smcp-native --bench workerd` (after scripts/worker.sh).
//! Writes a markdown table to stdout.

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/workerd/mod.rs"]
mod workerd;

use serde_json::{Value, json};
use smcp_tests::report::{Report, Table, num};
use std::time::Instant;
use workerd::workerd;

/// Calls per measure with `--bench`; `cargo test` runs a smoke version.
const CALLS: usize = 200;
const SMOKE_CALLS: usize = 5;
const SPIN_FUEL: u64 = 200_000_000;
/// New isolates started with `--bench`, for the median first call.
const COLD_ISOLATES: usize = 7;

fn call(tenant: &str, server: &str, key: &str, tool: &str, arguments: Value) -> (f64, Value) {
    let w = workerd();
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } });
    let bearer = format!("Bearer {key}");
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("authorization", bearer.as_str()),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", tool),
    ];
    let started = Instant::now();
    let (status, bytes) =
        w.try_request("POST", &format!("/t/{tenant}/s/{server}/mcp"), &headers, body.to_string().as_bytes()).unwrap();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    (ms, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Gives the Worker's script `text` and waits until wrangler has reloaded
/// it: a new isolate serves the next request.
fn reload(shim: &std::path::Path, text: &str) {
    let w = workerd();
    let marker = "Local server updated and ready";
    let before = w.log().matches(marker).count();
    std::fs::write(shim, text).unwrap();
    let waited = Instant::now();
    while w.log().matches(marker).count() == before {
        assert!(waited.elapsed().as_secs() < 60, "wrangler did not reload the Worker:\n{}", w.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // One change can reload twice: return once the reloads settle.
    let mut reloaded = w.log().matches(marker).count();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let now = w.log().matches(marker).count();
        if now == reloaded {
            return;
        }
        reloaded = now;
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// The built bundle's size in bytes, raw and gzipped as Cloudflare counts it
/// (scripts/lib.sh's check_worker_size measures the same).
fn bundle_size() -> (usize, usize) {
    let build = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/build");
    let mut bytes = std::fs::read(build.join("index_bg.wasm")).unwrap();
    bytes.extend(std::fs::read(build.join("worker/shim.mjs")).unwrap());
    let mut gzip = std::process::Command::new("gzip")
        .arg("-9c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = gzip.stdin.take().unwrap();
    let input = bytes.clone();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input).unwrap());
    let output = gzip.wait_with_output().unwrap();
    writer.join().unwrap();
    (bytes.len(), output.stdout.len())
}

fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let calls = if full { CALLS } else { SMOKE_CALLS };
    // Latency is measured, not the rate limiter.
    unsafe {
        std::env::set_var(
            "SMCP_WORKERD_EXTRA_VARS",
            "SMCP_RATE_LIMIT_PRINCIPAL:1000000/1000000 SMCP_RATE_LIMIT_TENANT:1000000/1000000",
        )
    };
    let w = workerd();
    let key = w.key("bench", "admin");
    w.deploy(&key, "calc", "calc", None);
    w.deploy(&key, "notes", "notes", None);
    let spin_grant = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spin_grant.path(), format!("version = 1\n[limits]\nfuel = {SPIN_FUEL}\nwall_time_ms = 60000\n"))
        .unwrap();
    w.deploy(&key, "hostile-loop", "spin", Some(spin_grant.path()));

    // Warm up the isolate, the components and V8's tiers.
    for i in 0..calls.min(50) {
        call("bench", "calc", &key, "add", json!({ "a": i, "b": 1 }));
        call("bench", "notes", &key, "put_note", json!({ "id": format!("w{i}"), "text": "x" }));
    }
    let healthz: Vec<f64> = (0..calls)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(w.try_request("GET", "/healthz", &[], b"").unwrap().0, 200);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let trivial: Vec<f64> =
        (0..calls).map(|i| call("bench", "calc", &key, "add", json!({ "a": i, "b": 2 })).0).collect();
    let kv: Vec<f64> = (0..calls)
        .map(|i| call("bench", "notes", &key, "put_note", json!({ "id": format!("n{i}"), "text": "bench" })).0)
        .collect();

    // A server deployed now: its first call loads and compiles it.
    w.deploy(&key, "calc", "fresh-calc", None);
    let (first_call, _) = call("bench", "fresh-calc", &key, "add", json!({ "a": 1, "b": 2 }));
    let (second_call, _) = call("bench", "fresh-calc", &key, "add", json!({ "a": 1, "b": 2 }));

    // A new isolate: wrangler reloads the Worker when its script changes.
    // Its first call builds the engine, reads the registry and the
    // component, compiles it and runs it. One reload is one noisy sample:
    // the median of several is reported.
    let reloads = if full { COLD_ISOLATES } else { 1 };
    let shim = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/build/worker/shim.mjs");
    let shim_text = std::fs::read_to_string(&shim).unwrap();
    // Beside each, a new isolate whose first request is `/healthz`: what
    // starting the isolate and its wasm costs before any engine work.
    let mut cold_isolates: Vec<(f64, f64)> = Vec::new();
    let mut cold_healthz: Vec<f64> = Vec::new();
    for i in 0..reloads {
        // wrangler reloads on a change of content, not of time.
        reload(&shim, &format!("{shim_text}// reload {i}\n"));
        let started = Instant::now();
        assert_eq!(w.try_request("GET", "/healthz", &[], b"").unwrap().0, 200);
        cold_healthz.push(started.elapsed().as_secs_f64() * 1000.0);
        reload(&shim, &format!("{shim_text}// reload {i} for a call\n"));
        let (first, _) = call("bench", "calc", &key, "add", json!({ "a": 1, "b": 2 }));
        let (second, _) = call("bench", "calc", &key, "add", json!({ "a": 1, "b": 2 }));
        eprintln!(
            "   new isolate {i}: first call {first:.1} ms, second {second:.1} ms; first /healthz {:.1} ms",
            cold_healthz[i]
        );
        cold_isolates.push((first, second));
    }
    reload(&shim, &shim_text);
    // The spins below measure guest code, not a new isolate's start.
    call("bench", "calc", &key, "add", json!({ "a": 1, "b": 2 }));
    cold_isolates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let cold_isolate = cold_isolates[cold_isolates.len() / 2];
    cold_healthz.sort_by(f64::total_cmp);
    let cold_healthz = cold_healthz[cold_healthz.len() / 2];

    // Fuel per ms: the first spins run while V8 still tiers up wasmi.
    let mut spins = Vec::new();
    for _ in 0..if full { 5 } else { 1 } {
        let (ms, result) = call("bench", "spin", &key, "spin", json!({}));
        assert!(result.to_string().contains("fuel"), "spin must end out of fuel: {result}");
        spins.push(ms);
    }
    let (trivial_p50, trivial_p99) = percentiles(trivial);
    let (kv_p50, kv_p99) = percentiles(kv);
    let (healthz_p50, healthz_p99) = percentiles(healthz);
    let fuel_per_ms = |ms: f64| SPIN_FUEL as f64 / (ms - trivial_p50).max(0.001);
    let best_spin = spins.iter().copied().fold(f64::INFINITY, f64::min);

    let ms = |v: f64| num(v, 2);
    let mut per_call = Table::new(
        "The Worker in workerd (wrangler dev, local KV and R2): per call, one connection per call",
        &["measure", "p50 ms", "p99 ms", "p50 / healthz p50"],
    );
    per_call.row(vec!["`/healthz` (no engine work; reference)".into(), ms(healthz_p50), ms(healthz_p99), num(1.0, 2)]);
    per_call.row(vec![
        "trivial tool (calc `add`)".into(),
        ms(trivial_p50),
        ms(trivial_p99),
        num(trivial_p50 / healthz_p50, 2),
    ]);
    per_call.row(vec!["kv tool (notes `put_note`)".into(), ms(kv_p50), ms(kv_p99), num(kv_p50 / healthz_p50, 2)]);
    per_call.note(format!("{calls} calls each, after warm-up; workerd, the client and wrangler share the machine."));
    let mut cold = Table::new("The Worker in workerd: cold paths", &["measure", "ms"]);
    cold.row(vec!["first call of a just-deployed server (R2 read, validate, compile, call)".into(), ms(first_call)]);
    cold.row(vec!["its second call".into(), ms(second_call)]);
    cold.row(vec![
        format!(
            "first call after the isolate starts (engine, registry, component, compile, call; median of {reloads})"
        )
        .into(),
        ms(cold_isolate.0),
    ]);
    cold.row(vec!["the isolate's second call".into(), ms(cold_isolate.1)]);
    cold.row(vec![
        format!("first `/healthz` after the isolate starts (no engine work; reference, median of {reloads})").into(),
        ms(cold_healthz),
    ]);
    let mut fuel = Table::new(
        "The Worker in workerd: fuel per millisecond (wasmi compiled to wasm, in V8)",
        &["measure", "ms", "fuel per ms"],
    );
    fuel.row(vec![
        format!("spin of {SPIN_FUEL} fuel, first (the isolate's first heavy call)").into(),
        num(spins[0], 1),
        num(fuel_per_ms(spins[0]), 0),
    ]);
    fuel.row(vec![format!("spin, best of {}", spins.len()).into(), num(best_spin, 1), num(fuel_per_ms(best_spin), 0)]);
    fuel.note("Cloudflare's free plan allows 10 ms of CPU per request: set SMCP_MAX_FUEL from the first row.");
    let (raw, gzipped) = bundle_size();
    let mut bundle = Table::new("The Worker's bundle (what a deployment uploads)", &["measure", "MiB"]);
    bundle.row(vec!["wasm and JS shim".into(), num(raw as f64 / MIB, 2)]);
    bundle
        .row(vec!["gzipped (Cloudflare's free plan allows 3 MiB, paid plans 10)".into(), num(gzipped as f64 / MIB, 2)]);
    let mut report = Report::new("workerd");
    report.add(bundle);
    report.add(per_call);
    report.add(cold);
    report.add(fuel);
    report.finish();
    println!("\nA Worker CPU limit of L ms allows about L × (fuel/ms) fuel; budget with the first-call rate.");
}
