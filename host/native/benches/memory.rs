//! The memory benchmark: `cargo bench -p smcp-native --bench memory`.
//!
//! The host's resident memory (VmRSS of its own process) when idle, with
//! 1,000 open sessions, with each of them subscribed to 256 resource URIs,
//! after they ended, and with 64 tool calls in flight at once. The host
//! runs in a child process (this binary again, in server mode) so that the
//! load generator's memory is not counted.
//!
//! In-flight calls are real instances held open: each call is the fetcher
//! guest fetching from a local origin that answers after half a second, so
//! all 64 guest instances are alive together, waiting on their fetch.
//!
//! Then requests without credentials naming random tenants (100,000; the
//! host must store nothing for them): RSS and the data directory's size
//! before and after. Last, idle and in-flight memory again on one serving
//! thread and on every core (the host above runs on every core, as
//! `smcp serve` does by default).
//!
//! `cargo test` runs this file too (no `--bench` argument): 20 sessions,
//! 4 calls in flight and 500 unauthenticated requests.

use smcp_native::Config;
use smcp_native::dev::DevGuests;
use smcp_tests::child::ChildHost;
use smcp_tests::report::{Report, Table, num};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: smcp_allocator::HostAllocator = smcp_allocator::HostAllocator;

/// Set in the child: the slow origin's port, the sessions' lifetime in
/// seconds and the serving threads, `:`-separated.
const SERVE_ENV: &str = "SMCP_MEMORY_BENCH_ORIGIN";
/// How long the origin takes to answer.
const ORIGIN_DELAY: Duration = Duration::from_millis(500);

fn main() {
    if let Ok(port) = std::env::var(SERVE_ENV) {
        let mut fields = port.split(':').map(|f| f.parse::<u32>().expect("PORT:TTL:THREADS"));
        let (port, ttl, threads) = (fields.next(), fields.next(), fields.next());
        serve(port.expect("a port") as u16, ttl.expect("seconds"), threads.expect("threads") as usize);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (sessions, in_flight, strangers) = if full { (1000, 64, 100_000) } else { (20, 4, 500) };
    // Subscriptions: every session subscribes to the most URIs it may.
    let uris = if full { smcp_core::mcp::MAX_URIS_PER_SESSION } else { 10 };
    // Long enough to open the sessions and subscribe: the second round
    // waits for it to pass.
    let session_ttl = if full { Duration::from_secs(120) } else { Duration::from_secs(4) };

    let origin = slow_origin();
    let host = Host::start(origin, session_ttl, smcp_native::default_threads());
    let mut table = Table::new(
        "Host resident memory (VmRSS of the smcp process)",
        &["state", "RSS MiB", "over idle MiB", "per item KiB"],
    );
    // Warm: every guest loaded and called once.
    host.call("calc", "noop", "{}");
    host.call("fetcher", "fetch", &fetch_args(origin));
    let idle = host.rss_kib();
    table.row(vec![
        "idle (calc and fetcher loaded, called once)".into(),
        num(idle as f64 / 1024.0, 1),
        num(0.0, 1),
        serde_json::Value::Null,
    ]);

    let ids: Vec<String> = (0..sessions).map(|_| host.open_session()).collect();
    let with_sessions = host.rss_kib();
    // Signed: the allocator may hand memory back meanwhile.
    let over = with_sessions as f64 - idle as f64;
    table.row(vec![
        format!("{sessions} open sessions (2025-11-25)").into(),
        num(with_sessions as f64 / 1024.0, 1),
        num(over / 1024.0, 1),
        num(over / sessions as f64, 1),
    ]);

    // Subscriptions, with the count of URIs the host says it holds
    // (its /metrics gauge): RSS alone does not show memory handed back.
    let mut subscriptions = Table::new(
        "Resource subscriptions of legacy sessions",
        &["state", "RSS MiB", "over idle MiB", "per URI bytes", "URIs held"],
    );
    let count = ids.len() * uris;
    let row = |table: &mut Table, state: String, rss: u64, per_uri: serde_json::Value| {
        let held = host.subscribed_uris();
        table.row(vec![
            state.into(),
            num(rss as f64 / 1024.0, 1),
            num((rss as f64 - idle as f64) / 1024.0, 1),
            per_uri,
            num(held as f64, 0),
        ]);
        held
    };
    host.subscribe_all(&ids, uris);
    let subscribed = host.rss_kib();
    let per_uri = num((subscribed as f64 - with_sessions as f64) * 1024.0 / count as f64, 0);
    let held =
        row(&mut subscriptions, format!("{sessions} sessions × {uris} URIs ({count} in all)"), subscribed, per_uri);
    assert_eq!(held, count as u64);
    for id in &ids {
        host.end_session(id);
    }
    let held =
        row(&mut subscriptions, "… those sessions ended (DELETE)".into(), host.rss_kib(), serde_json::Value::Null);
    assert_eq!(held, 0, "ended sessions' subscriptions are let go");
    // The same again, left to expire instead of ended.
    let opened = Instant::now();
    let ids: Vec<String> = (0..sessions).map(|_| host.open_session()).collect();
    host.subscribe_all(&ids, uris);
    let state = format!("{sessions} new sessions × {uris} URIs");
    let held = row(&mut subscriptions, state, host.rss_kib(), serde_json::Value::Null);
    assert_eq!(held, count as u64);
    // The host's upkeep forgets expired sessions' subscriptions within
    // a few tens of milliseconds of the expiry.
    std::thread::sleep((opened + session_ttl + Duration::from_secs(1)).saturating_duration_since(Instant::now()));
    let state = format!("… those sessions expired ({} s after they opened; no DELETE)", session_ttl.as_secs());
    let held = row(&mut subscriptions, state, host.rss_kib(), serde_json::Value::Null);
    assert_eq!(held, 0, "expired sessions' subscriptions are let go");
    subscriptions.note("URIs held: the host's `smcp_session_subscribed_uris` gauge. Freed memory stays with the allocator, which the second round reuses.");
    let (status, _, answer) = host.post(
        "/t/dev/s/calc/mcp",
        &[("mcp-session-id", &ids[0]), ("mcp-protocol-version", "2025-11-25")],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(status, 404, "an expired session is gone: {answer}");

    let before = host.rss_kib();
    let peak = host.calls_in_flight(in_flight, origin);
    let over = peak as f64 - before as f64;
    table.row(vec![
        format!("{in_flight} fetcher calls in flight (peak)").into(),
        num(peak as f64 / 1024.0, 1),
        num(over / 1024.0, 1),
        num(over / in_flight as f64, 1),
    ]);
    // Strangers: no credentials, a random tenant each, on keep-alive
    // connections (one per thousand requests).
    // What the calls above recorded is written first (every 50 ms).
    std::thread::sleep(Duration::from_millis(500));
    let (rss_before, stored_before) = (host.rss_kib(), host.stored_bytes());
    host.strangers(strangers);
    let (rss_after, stored_after) = (host.rss_kib(), host.stored_bytes());
    let over = rss_after as f64 - rss_before as f64;
    table.row(vec![
        format!("after {strangers} unauthenticated requests naming random tenants").into(),
        num(rss_after as f64 / 1024.0, 1),
        num(over / 1024.0, 1),
        num(over / strangers as f64, 3),
    ]);
    table.note(format!(
        "The data directory held {stored_before} bytes before the unauthenticated requests and {stored_after} after."
    ));
    assert_eq!(stored_after, stored_before, "the host stored something for requests naming tenants that do not exist");
    table.note("RSS sampled every 5 ms while the calls are in flight; each call holds a fresh guest instance and its memory until the origin answers.");
    table.note("Sessions are records in the host's redb store; their cost is the store's page cache, not per-session state in memory.");
    host.stop();

    let mut report = Report::new("memory");
    report.add(table);
    report.add(subscriptions);
    report.add(by_threads(origin, in_flight));
    report.finish();
}

/// Idle and with `in_flight` calls held open, on one serving thread and on
/// every core: what each thread adds (its runtime, buffers and allocator
/// arenas).
fn by_threads(origin: u16, in_flight: usize) -> Table {
    let cores = smcp_native::default_threads();
    let mut table = Table::new(
        "Resident memory by serving threads (VmRSS of the smcp process)",
        &["serving threads", "idle MiB", "in flight", "peak MiB", "over idle MiB"],
    );
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for threads in counts {
        let host = Host::start(origin, Duration::from_secs(60), threads);
        // Every thread serves calc at least once: connections are spread
        // over the threads by the kernel, so make several.
        for _ in 0..threads * 8 {
            host.call("calc", "noop", "{}");
        }
        host.call("fetcher", "fetch", &fetch_args(origin));
        let idle = host.rss_kib();
        let peak = host.calls_in_flight(in_flight, origin);
        table.row(vec![
            threads.into(),
            num(idle as f64 / 1024.0, 1),
            in_flight.into(),
            num(peak as f64 / 1024.0, 1),
            num((peak as f64 - idle as f64) / 1024.0, 1),
        ]);
        host.stop();
    }
    table.note("A fresh host per row, idle after calc and the fetcher have each been called; then the fetcher calls held open by a slow origin (each a fresh guest instance), RSS sampled every 5 ms.");
    table
}

fn fetch_args(origin: u16) -> String {
    serde_json::json!({ "url": format!("http://127.0.0.1:{origin}/slow") }).to_string()
}

/// The child: the native host with calc and the fetcher (allowed to reach
/// the origin), printing `READY <addr> <key> <data dir> <metrics addr>`,
/// until stdin closes.
fn serve(origin: u16, session_ttl_seconds: u32, threads: usize) {
    let data = tempfile::Builder::new().prefix("smcp-memory-bench-").tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.session_ttl_seconds = session_ttl_seconds;
    config.threads = threads;
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let mut dev = DevGuests::only(&["calc", "fetcher"]);
    dev.target_dir = smcp_tests::guest_target_dir();
    let grant = format!(
        "version = 1\n[http]\nallowed_hosts = [\"127.0.0.1:{origin}\"]\nschemes = [\"http\"]\ntimeout_ms = 10000\n[secrets]\nnames = [\"API_TOKEN\"]\n"
    );
    dev.grants.insert("fetcher".into(), grant);
    config.dev = Some(dev);
    config.open_addresses = vec![format!("127.0.0.1:{origin}").parse().unwrap()];
    let unlimited = smcp_core::auth::rate::Limit { burst: 1e12, per_second: 1e12 };
    config.rate_limits = smcp_core::auth::rate::RateLimits { per_principal: unlimited, per_tenant: unlimited };
    let server = smcp_native::spawn(config).expect("the host starts");
    println!(
        "READY {} {} {} {}",
        server.addr,
        server.dev_key.clone().expect("dev mode makes a key"),
        data.path().display(),
        server.metrics_addr.expect("a metrics listener")
    );
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

/// One response on a keep-alive connection: its status line and its body
/// (of `Content-Length` bytes).
fn read_response(reader: &mut impl BufRead) -> (String, Vec<u8>) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, body)
}

/// An origin that answers every request after [`ORIGIN_DELAY`].
fn slow_origin() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                std::thread::sleep(ORIGIN_DELAY);
                let body = "slow hello";
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

struct Host {
    child: ChildHost,
    addr: SocketAddr,
    key: String,
    data: std::path::PathBuf,
    metrics: SocketAddr,
}

impl Host {
    fn start(origin: u16, session_ttl: Duration, threads: usize) -> Host {
        let child = ChildHost::start(SERVE_ENV, &format!("{origin}:{}:{threads}", session_ttl.as_secs()));
        let ready = &child.ready;
        let (addr, key, data, metrics) =
            (ready[0].parse().unwrap(), ready[1].clone(), ready[2].clone().into(), ready[3].parse().unwrap());
        Host { child, addr, key, data, metrics }
    }

    /// The host's `smcp_session_subscribed_uris` gauge.
    fn subscribed_uris(&self) -> u64 {
        let mut stream = TcpStream::connect(self.metrics).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let line = text.lines().find_map(|l| l.strip_prefix("smcp_session_subscribed_uris "));
        line.and_then(|v| v.trim().parse().ok()).expect("the gauge in /metrics")
    }

    /// Bytes in the host's data directory (files, recursively).
    fn stored_bytes(&self) -> u64 {
        fn size(path: &std::path::Path) -> u64 {
            match std::fs::read_dir(path) {
                Ok(entries) => entries.map_while(Result::ok).map(|e| size(&e.path())).sum(),
                Err(_) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            }
        }
        size(&self.data)
    }

    /// `count` requests without credentials, each naming a random tenant,
    /// 1,000 to a keep-alive connection; each must get 404.
    fn strangers(&self, count: u64) {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut sent = 0;
        while sent < count {
            let mut stream = TcpStream::connect(self.addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            for _ in 0..1000.min(count - sent) {
                let tenant: String = (0..63)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        b"abcdefghijklmnopqrstuvwxyz0123456789"[(seed % 36) as usize] as char
                    })
                    .collect();
                let head = format!(
                    "POST /t/{tenant}/s/x/mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    self.addr,
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                let (status, answer) = read_response(&mut reader);
                assert!(status.contains(" 404 "), "{status}: {}", String::from_utf8_lossy(&answer));
                sent += 1;
            }
        }
    }

    fn rss_kib(&self) -> u64 {
        self.child.rss_kib()
    }

    /// One request on a fresh connection; the status, headers and body.
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            self.key,
            body.len()
        );
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        stream.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head.to_owned(), body.to_owned())
    }

    /// A 2026-07-28 `tools/call`, checked to succeed.
    fn call(&self, server: &str, tool: &str, arguments: &str) {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        );
        let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", tool)];
        let (status, _, answer) = self.post(&format!("/t/dev/s/{server}/mcp"), &headers, &body);
        assert_eq!(status, 200, "{server}/{tool}: {answer}");
        assert!(answer.contains(r#""isError":false"#), "{server}/{tool}: {answer}");
    }

    /// A 2025-11-25 session: `initialize` then `notifications/initialized`.
    /// `uris` `resources/subscribe` requests in each session of `ids`, on
    /// keep-alive connections; each must succeed.
    fn subscribe_all(&self, ids: &[String], uris: usize) {
        for id in ids {
            let mut stream = TcpStream::connect(self.addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            for n in 0..uris {
                let body = format!(
                    r#"{{"jsonrpc":"2.0","id":{n},"method":"resources/subscribe","params":{{"uri":"calc://subscribed/{id}/{n:04}"}}}}"#
                );
                let head = format!(
                    "POST /t/dev/s/calc/mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-session-id: {id}\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n\r\n{body}",
                    self.addr,
                    self.key,
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                let (status, answer) = read_response(&mut reader);
                assert!(status.contains(" 200 "), "{status}");
                assert!(
                    String::from_utf8_lossy(&answer).contains("\"result\""),
                    "{}",
                    String::from_utf8_lossy(&answer)
                );
            }
        }
    }

    /// Ends legacy session `id` (DELETE).
    fn end_session(&self, id: &str) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        let head = format!(
            "DELETE /t/dev/s/calc/mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\nmcp-session-id: {id}\r\nmcp-protocol-version: 2025-11-25\r\nconnection: close\r\n\r\n",
            self.addr, self.key
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 20"), "{response}");
    }

    /// Opens a 2025-11-25 session; its id.
    fn open_session(&self) -> String {
        let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"memory-bench","version":"1"}}}"#;
        let (status, head, body) = self.post("/t/dev/s/calc/mcp", &[], initialize);
        assert_eq!(status, 200, "initialize: {body}");
        let session = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id:").map(|v| v.trim().to_owned()))
            .expect("a session id");
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
        let (status, _, body) = self.post("/t/dev/s/calc/mcp", &headers, initialized);
        assert_eq!(status, 202, "initialized: {body}");
        session
    }

    /// `count` fetcher calls at once; the peak RSS while they run.
    fn calls_in_flight(&self, count: usize, origin: u16) -> u64 {
        let args = fetch_args(origin);
        std::thread::scope(|scope| {
            let calls: Vec<_> = (0..count).map(|_| scope.spawn(|| self.call("fetcher", "fetch", &args))).collect();
            let mut peak = 0;
            let started = Instant::now();
            while calls.iter().any(|c| !c.is_finished()) && started.elapsed() < Duration::from_secs(60) {
                peak = peak.max(self.rss_kib());
                std::thread::sleep(Duration::from_millis(5));
            }
            for call in calls {
                call.join().expect("every call succeeds");
            }
            peak
        })
    }

    fn stop(self) {
        self.child.stop();
    }
}
