//! The sandbox benchmark: `cargo bench -p smcp-tests --bench sandbox`.
//!
//! Reports, from one run on this machine:
//! - load: validate + prepare + compile of each example component (µs);
//! - per call: fresh store + instance + `noop` tool call, warm (p50, p99);
//! - fuel overhead: a compute-heavy call with fuel metering on vs off;
//! - capability costs: a tool call doing a kv put, a kv get, and an object
//!   put of 1 MiB (in-memory backends: the host's own cost per capability
//!   call), as p50 and as a multiple of the `noop` call measured alongside.
//!
//! `cargo test` runs this file too, as a quick smoke run with few iterations.

use serde_json::json;
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::grant::{KvGrant, ObjectsGrant};
use smcp_core::runtime::{Component, EngineLimits, Limits, Runtime};
use smcp_tests::{Env, block_on, component_bytes};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    // `cargo test` passes no `--bench`: run a tiny smoke version then.
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 1 } else { 100 };

    println!("== load (validate + prepare + compile), cache off");
    let uncached = Runtime::new(EngineLimits { module_cache_entries: 0, ..Default::default() }).unwrap();
    for name in ["calc", "notes", "files", "fetcher"] {
        let bytes = component_bytes(name);
        let runs = 200 / scale + 2;
        let (mut total, mut prepare, mut compile) = (vec![], vec![], vec![]);
        for _ in 0..runs {
            let start = Instant::now();
            let prepared = smcp_core::component::prepare(&bytes, uncached.world(), 16 << 20).expect("prepares");
            let prepared_at = Instant::now();
            uncached.load_prepared(prepared).expect("compiles");
            prepare.push(prepared_at - start);
            compile.push(prepared_at.elapsed());
            total.push(start.elapsed());
        }
        let p50 = |v: &mut Vec<Duration>| {
            v.sort();
            micros(percentile(v, 0.5))
        };
        total.sort();
        println!(
            "{name:>8}: {:>7} bytes  p50 {:>7.1} µs  p99 {:>7.1} µs  (prepare {:.1} + compile {:.1}; {:.2} µs/KiB)",
            bytes.len(),
            micros(percentile(&total, 0.5)),
            micros(percentile(&total, 0.99)),
            p50(&mut prepare),
            p50(&mut compile),
            micros(percentile(&total, 0.5)) / (bytes.len() as f64 / 1024.0)
        );
    }

    println!("== per call: fresh instance + `noop` tool, warm");
    let runtime = Runtime::new(EngineLimits::default()).unwrap();
    let calc = runtime.load(&component_bytes("calc")).unwrap();
    let mut env = Env::new("bench", "calc", Grant::default());
    let args = json!({});
    let calls = 20_000 / scale;
    let one_call = |env: &mut Env| {
        let server = env.server(&runtime, &calc);
        let mut host = env.host();
        let start = Instant::now();
        block_on(server.call_tool(&mut host, "noop", &args, &[], None)).expect("noop runs");
        start.elapsed()
    };
    for _ in 0..calls / 10 {
        one_call(&mut env);
    }
    let mut times: Vec<Duration> = (0..calls).map(|_| one_call(&mut env)).collect();
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!("   calls {calls}: p50 {:.1} µs  p99 {:.1} µs  (target p99 < 15 µs)", micros(p50), micros(p99));

    let n = if full { 1_000_000 } else { 25 };
    println!("== fuel metering overhead: `fib` (n = {n}) with fuel on and off");
    let unmetered = Runtime::new(EngineLimits { metering: false, ..Default::default() }).unwrap();
    let calc_unmetered = unmetered.load(&component_bytes("calc")).unwrap();
    let fib_args = json!({ "n": n });
    let limits = Limits { fuel: u64::MAX / 2, ..Limits::DEFAULT };
    // Alternate metered and unmetered runs so that drift hits both alike.
    let mut env = Env::new("bench", "calc", Grant { limits, ..Grant::default() });
    let metered_server = smcp_core::server::Server { runtime: &runtime, component: &calc, limits };
    let free_server = smcp_core::server::Server { runtime: &unmetered, component: &calc_unmetered, limits };
    let (mut with_fuel, mut without) = (vec![], vec![]);
    for _ in 0..(60 / scale.min(20) + 3) {
        for (server, times) in [(&metered_server, &mut with_fuel), (&free_server, &mut without)] {
            let mut host = env.host();
            let start = Instant::now();
            block_on(server.call_tool(&mut host, "fib", &fib_args, &[], None)).expect("fib runs");
            times.push(start.elapsed());
        }
    }
    with_fuel.sort();
    without.sort();
    let (metered, free) = (percentile(&with_fuel, 0.5), percentile(&without, 0.5));
    println!(
        "   with fuel {:.2} ms, without {:.2} ms: overhead {:+.1}% (target < 10%)",
        metered.as_secs_f64() * 1e3,
        free.as_secs_f64() * 1e3,
        (metered.as_secs_f64() / free.as_secs_f64() - 1.0) * 100.0
    );

    println!("== capability costs per tool call (in-memory backends)");
    let notes = runtime.load(&component_bytes("notes")).unwrap();
    let files = runtime.load(&component_bytes("files")).unwrap();
    let grant = Grant { kv: Some(KvGrant::default()), objects: Some(ObjectsGrant { max_object_bytes: 2 << 20, ..ObjectsGrant::default() }), ..Grant::default() };
    let mut env = Env::new("bench", "cap", grant);
    let mib: String = "x".repeat(1 << 20);
    let cases: [(&str, &Component, &str, serde_json::Value); 4] = [
        ("noop (reference)", &calc, "noop", json!({})),
        ("kv put (put_note)", &notes, "put_note", json!({ "id": "n", "text": "hello" })),
        ("kv get (get_note)", &notes, "get_note", json!({ "id": "n" })),
        ("object put 1 MiB (write_file)", &files, "write_file", json!({ "path": "big", "content": mib })),
    ];
    let calls = 4_000 / scale;
    let mut reference = None;
    for (label, component, tool, args) in cases {
        let n = if tool == "write_file" { calls / 20 + 2 } else { calls };
        let mut times: Vec<Duration> = (0..n)
            .map(|_| {
                let server = env.server(&runtime, component);
                let mut host = env.host();
                let start = Instant::now();
                block_on(server.call_tool(&mut host, tool, &args, &[], None)).expect("the tool runs");
                start.elapsed()
            })
            .collect();
        times.sort();
        let p50 = micros(percentile(&times, 0.5));
        let base = *reference.get_or_insert(p50);
        println!("   {label:<30} p50 {p50:>9.1} µs  p99 {:>9.1} µs  ({:.1}x noop)", micros(percentile(&times, 0.99)), p50 / base);
    }
}
