//! The load test and the soak test, against the native host in a child
//! process (this binary again, in server mode), over loopback HTTP/1.1:
//!
//! - `cargo bench -p smcp-native --bench load` (./scripts/load.sh): 1,000
//!   sessions of 100 requests each (tools/call mostly, with tools/list and
//!   resources/read), half of them legacy sessions (2025-11-25, with
//!   initialize and DELETE), half 2026-07-28, all open at once over 32
//!   connections (each sends one request of each of its sessions in
//!   turn); run
//!   twice: alone, then while a hostile tenant (`evil`, the hostile-loop
//!   guest) keeps 4 calls spinning at their fuel limit. Reports errors,
//!   throughput and p50/p99/p99.9 latency of the well-behaved tenant.
//! - `… --bench load -- --soak MINUTES` (./scripts/load.sh --soak MINUTES): the same mix,
//!   hostile tenant on, for that long, sampling the host's resident memory
//!   every minute.
//!
//! `cargo test` runs this file too (no `--bench`): 20 sessions of 10.

use smcp_native::Config;
use smcp_native::dev::DevGuests;
use smcp_tests::child::ChildHost;
use smcp_tests::report::{Report, Table, num};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: smcp_allocator::HostAllocator = smcp_allocator::HostAllocator;

const SERVE_ENV: &str = "SMCP_LOAD_BENCH_SERVE";
const OPERATOR_KEY: &str = "smcpop_load-bench-operator";
const CONNECTIONS: usize = 32;
const HOSTILE_CLIENTS: usize = 4;
/// How much higher the soak's second-half peak RSS may be than its
/// first-half peak before it counts as growth.
const SOAK_GROWTH_ALLOWED: f64 = 1.15;

fn main() {
    if let Ok(fuel) = std::env::var(SERVE_ENV) {
        serve(fuel.parse().expect("the hostile tenant's fuel"));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    // The grants' default fuel; a smoke run's host is an unoptimized build.
    let hostile_fuel: u64 = if full { 100_000_000 } else { 2_000_000 };
    let soak_minutes: Option<u64> =
        args.iter().position(|a| a == "--soak").and_then(|i| args.get(i + 1)).and_then(|m| m.parse().ok());
    let host = Host::start(hostile_fuel);
    let mut report = Report::new(if soak_minutes.is_some() { "soak" } else { "load" });
    match soak_minutes {
        Some(minutes) => report.add(soak(&host, minutes)),
        None => {
            let (sessions, per_session) = if full { (1000, 100) } else { (20, 10) };
            let mut table = Table::new(
                &format!(
                    "Load: {sessions} sessions open at once × {per_session} requests, over {CONNECTIONS} connections, both eras"
                ),
                &[
                    "hostile tenant",
                    "requests",
                    "errors",
                    "requests/s",
                    "p50 ms",
                    "p99 ms",
                    "p99.9 ms",
                    "hostile calls stopped",
                ],
            );
            let mut p99 = Vec::new();
            for hostile in [None, Some(Attack::Spin), Some(Attack::HostCalls)] {
                let stop = Arc::new(AtomicBool::new(false));
                let attacking = hostile.map(|attack| host.hostile(attack, stop.clone()));
                let run = host.run(sessions, per_session, None);
                stop.store(true, Ordering::Relaxed);
                let stopped = attacking.map(|h| h.join().unwrap()).unwrap_or(0);
                table.row(vec![
                    hostile.map_or("off", Attack::describe).into(),
                    num(run.latencies.len() as f64, 0),
                    num(run.errors as f64, 0),
                    num(run.latencies.len() as f64 / run.elapsed.as_secs_f64(), 0),
                    num(run.percentile(0.50), 2),
                    num(run.percentile(0.99), 2),
                    num(run.percentile(0.999), 2),
                    num(stopped as f64, 0),
                ]);
                assert_eq!(run.errors, 0, "requests failed under load: {:?}", run.first_error.lock().unwrap());
                p99.push(run.percentile(0.99));
            }
            table.note(format!(
                "With the hostile tenant spinning, the well-behaved tenant's p99 is {:.2}× what it is with it off; flooding capability calls, {:.2}×.",
                p99[1] / p99[0].max(1e-9),
                p99[2] / p99[0].max(1e-9)
            ));
            table.note("Each session: tools/call (calc add, notes put_note and get_note) for 80%, tools/list 10%, resources/read of a note 10%; legacy sessions open with initialize and end with DELETE.");
            table.note(format!("The spinning guest loops forever; each call ends when its fuel ({hostile_fuel}) runs out, and its clients call again at once."));
            table.note("The flooding guest (hostile-hostcalls) loops on log.write with 16 KiB lines and kv.get with 512-byte keys, at the ceilings for capability calls (100,000), argument bytes (64 MiB) and fuel, with 2 s of wall time; its clients call again at once.");
            report.add(table);
        }
    }
    host.stop();
    report.finish();
}

/// The child: the native host with calc and notes for tenant `dev`, and
/// hostile-loop deployed for tenant `evil`; prints `READY <addr> <dev key>
/// <evil key>` and serves until stdin closes.
fn serve(hostile_fuel: u64) {
    let data = tempfile::Builder::new().prefix("smcp-load-bench-").tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let mut dev = DevGuests::only(&["calc", "notes", "hostile-loop", "hostile-hostcalls"]);
    dev.target_dir = smcp_tests::guest_target_dir();
    config.dev = Some(dev);
    config.operator_key_hash = Some(smcp_core::admin::operator::operator_key_hash(OPERATOR_KEY));
    let unlimited = smcp_core::auth::rate::Limit { burst: 1e12, per_second: 1e12 };
    config.rate_limits = smcp_core::auth::rate::RateLimits { per_principal: unlimited, per_tenant: unlimited };
    let server = smcp_native::spawn(config).expect("the host starts");
    let key = server.dev_key.clone().expect("dev mode makes a key");
    let client = Client { addr: server.addr };
    let (status, made) = client.request(
        "POST",
        "/operator/v1/tenants/evil/keys",
        OPERATOR_KEY,
        &[("content-type", "application/json")],
        br#"{"role":"admin"}"#,
    );
    assert_eq!(status, 201, "{made}");
    let evil: serde_json::Value = serde_json::from_str(&made).unwrap();
    let evil = evil["key"].as_str().unwrap().to_owned();
    let component = std::fs::read(data.path().join("dev-components/hostile-loop.component.wasm")).unwrap();
    client.deploy(&evil, "evil", "spinner", &component, &format!("version = 1\n[limits]\nfuel = {hostile_fuel}\n"));
    let flooder = std::fs::read(data.path().join("dev-components/hostile-hostcalls.component.wasm")).unwrap();
    let ceilings = "fuel = 10_000_000_000\nhost_calls = 100_000\nimport_bytes = 67_108_864\nwall_time_ms = 2_000\n";
    client.deploy(&evil, "evil", "flooder", &flooder, &format!("version = 1\n[kv]\n[limits]\n{ceilings}"));
    println!("READY {} {key} {evil}", server.addr);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

/// One request per connection (the load itself uses keep-alive).
struct Client {
    addr: SocketAddr,
}

impl Client {
    fn request(&self, method: &str, path: &str, key: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(b"\r\n").unwrap();
        stream.write_all(body).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), body.to_owned())
    }

    /// Uploads and activates `component` as `tenant`'s `server`.
    fn deploy(&self, key: &str, tenant: &str, server: &str, component: &[u8], grant: &str) {
        let base = format!("/admin/v1/tenants/{tenant}/servers/{server}");
        assert!(matches!(self.request("PUT", &base, key, &[], b"").0, 200 | 201));
        let boundary = "smcp-load-bench-boundary";
        let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"c.wasm\"\r\ncontent-type: application/wasm\r\n\r\n").into_bytes();
        body.extend_from_slice(component);
        body.extend_from_slice(format!("\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"grant\"; filename=\"grant.toml\"\r\n\r\n{grant}\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let (status, uploaded) =
            self.request("POST", &format!("{base}/deployments"), key, &[("content-type", &content_type)], &body);
        assert!(matches!(status, 200 | 201), "{uploaded}");
        let id = serde_json::from_str::<serde_json::Value>(&uploaded).unwrap()["deployment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, activated) = self.request(
            "POST",
            &format!("{base}/deployments/{id}/activate"),
            key,
            &[("content-type", "application/json")],
            br#"{"approve_widening":true}"#,
        );
        assert_eq!(status, 200, "{activated}");
    }
}

/// What the hostile tenant does to the host.
#[derive(Clone, Copy)]
enum Attack {
    /// Computes until its fuel runs out.
    Spin,
    /// Loops on cheap capability calls with the largest arguments.
    HostCalls,
}

impl Attack {
    fn describe(self) -> &'static str {
        match self {
            Attack::Spin => "on: 4 calls spinning to their fuel limit",
            Attack::HostCalls => "on: 4 calls flooding log.write and kv.get",
        }
    }

    /// The path, tool and arguments of hostile client `client`.
    fn call(self, client: usize) -> (&'static str, &'static str, &'static str) {
        match (self, client % 2) {
            (Attack::Spin, _) => ("/t/evil/s/spinner/mcp", "spin", "{}"),
            (Attack::HostCalls, 0) => ("/t/evil/s/flooder/mcp", "log_flood", r#"{"bytes":16384}"#),
            (Attack::HostCalls, _) => ("/t/evil/s/flooder/mcp", "kv_flood", r#"{"bytes":512}"#),
        }
    }
}

struct Host {
    child: ChildHost,
    addr: SocketAddr,
    key: String,
    evil: String,
}

/// What one run measured.
struct Run {
    latencies: Vec<f64>,
    errors: u64,
    first_error: Mutex<Option<String>>,
    elapsed: Duration,
}

impl Run {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0)
    }
}

impl Host {
    fn start(hostile_fuel: u64) -> Host {
        let child = ChildHost::start(SERVE_ENV, &hostile_fuel.to_string());
        let (addr, key, evil) = (child.ready[0].parse().unwrap(), child.ready[1].clone(), child.ready[2].clone());
        Host { child, addr, key, evil }
    }

    fn stop(self) {
        self.child.stop();
    }

    fn rss_kib(&self) -> u64 {
        self.child.rss_kib()
    }

    /// The hostile tenant's clients, attacking until `stop`; the handle
    /// answers how many calls the host stopped.
    fn hostile(&self, attack: Attack, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
        let (addr, key) = (self.addr, self.evil.clone());
        std::thread::spawn(move || {
            let stopped = AtomicU64::new(0);
            std::thread::scope(|scope| {
                for client in 0..HOSTILE_CLIENTS {
                    let (path, tool, arguments) = attack.call(client);
                    let (stop, stopped, key) = (&stop, &stopped, &key);
                    scope.spawn(move || {
                        let mut connection = Connection::open(addr);
                        let params = format!(r#"{{"name":"{tool}","arguments":{arguments}}}"#);
                        while !stop.load(Ordering::Relaxed) {
                            let (status, body) =
                                connection.post(path, key, &current("tools/call", Some(tool), &params), &[]);
                            assert_eq!(status, 200, "{body}");
                            let ended =
                                ["fuel", "wall time", "capability calls"].iter().any(|limit| body.contains(limit));
                            assert!(ended, "the host ends the hostile call at a limit: {body}");
                            stopped.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            });
            stopped.into_inner()
        })
    }

    /// `sessions` sessions of `per_session` requests over [`CONNECTIONS`]
    /// connections, all open at once: each connection opens its share,
    /// then sends one request of each in turn until all have sent theirs,
    /// then closes them. With `until`, waves of such sessions follow each
    /// other until then.
    fn run(&self, sessions: u64, per_session: u64, until: Option<Instant>) -> Run {
        let latencies = Mutex::new(Vec::new());
        let errors = AtomicU64::new(0);
        let first_error = Mutex::new(None);
        let started = Instant::now();
        let past = |deadline: Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
        std::thread::scope(|scope| {
            for c in 0..CONNECTIONS as u64 {
                let (latencies, errors, first_error) = (&latencies, &errors, &first_error);
                scope.spawn(move || {
                    let mut connection = Connection::open(self.addr);
                    let mut mine = Vec::new();
                    let failed = |connection: &mut Connection, e: String| {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(e);
                        *connection = Connection::open(self.addr);
                    };
                    for wave in 0.. {
                        let share: Vec<u64> = (c..sessions).step_by(CONNECTIONS).map(|i| i + wave * sessions).collect();
                        let mut open = Vec::new();
                        for i in share {
                            match self.open(&mut connection, i, &mut mine) {
                                Ok(id) => open.push((i, id)),
                                Err(e) => failed(&mut connection, e),
                            }
                        }
                        for r in 0..per_session {
                            if past(until) {
                                break;
                            }
                            let mut still = Vec::with_capacity(open.len());
                            for (i, id) in open {
                                match self.request(&mut connection, i, r, id.as_deref(), &mut mine) {
                                    Ok(()) => still.push((i, id)),
                                    Err(e) => failed(&mut connection, e),
                                }
                            }
                            open = still;
                        }
                        for (_, id) in open {
                            if let Some(id) = id {
                                connection.delete("/t/dev/s/notes/mcp", &self.key, &id);
                            }
                        }
                        if until.is_none() || past(until) {
                            break;
                        }
                    }
                    latencies.lock().unwrap().extend(mine);
                });
            }
        });
        Run {
            latencies: latencies.into_inner().unwrap(),
            errors: errors.into_inner(),
            first_error: Mutex::new(first_error.into_inner().unwrap()),
            elapsed: started.elapsed(),
        }
    }

    /// POSTs `body` to `path` (in legacy session `session`, if any), timed
    /// (ms) into `latencies`; the answer must contain `expect`.
    fn timed(
        &self,
        connection: &mut Connection,
        path: &str,
        body: &str,
        session: Option<&str>,
        expect: &str,
        latencies: &mut Vec<f64>,
    ) -> Result<String, String> {
        let started = Instant::now();
        let headers: Vec<(&str, &str)> = match session {
            Some(id) => vec![("mcp-session-id", id), ("mcp-protocol-version", "2025-11-25")],
            None => Vec::new(),
        };
        let (status, answer) = connection.post(path, &self.key, body, &headers);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if !matches!(status, 200 | 202 | 204) || !answer.contains(expect) || answer.contains(r#""isError":true"#) {
            return Err(format!("{status} {path} {body}: {answer}"));
        }
        Ok(answer)
    }

    /// Opens session `i`: even ones are legacy sessions (initialize, then
    /// initialized), whose id comes back; odd ones are 2026-07-28 and
    /// need no opening.
    fn open(&self, connection: &mut Connection, i: u64, latencies: &mut Vec<f64>) -> Result<Option<String>, String> {
        if i % 2 == 1 {
            return Ok(None);
        }
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}"#;
        let answer = self.timed(connection, "/t/dev/s/notes/mcp", init, None, "", latencies)?;
        let id = answer
            .lines()
            .find_map(|l| l.strip_prefix("mcp-session-id: "))
            .map(str::to_owned)
            .ok_or("no session id")?;
        self.timed(
            connection,
            "/t/dev/s/notes/mcp",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            Some(&id),
            "",
            latencies,
        )?;
        Ok(Some(id))
    }

    /// Request `r` of session `i`.
    fn request(
        &self,
        connection: &mut Connection,
        i: u64,
        r: u64,
        session: Option<&str>,
        latencies: &mut Vec<f64>,
    ) -> Result<(), String> {
        let note = format!("n{}", i % 64);
        let (path, method, name, params, expect) = match r % 10 {
            0 => ("/t/dev/s/calc/mcp", "tools/list", None, "{}".to_owned(), "\"add\""),
            1 | 3 => (
                "/t/dev/s/notes/mcp",
                "tools/call",
                Some("put_note".to_owned()),
                format!(r#"{{"name":"put_note","arguments":{{"id":"{note}","text":"session {i} request {r}"}}}}"#),
                "\"result\"",
            ),
            2 => (
                "/t/dev/s/notes/mcp",
                "resources/read",
                Some(format!("note://{note}")),
                format!(r#"{{"uri":"note://{note}"}}"#),
                "note://",
            ),
            4 => (
                "/t/dev/s/notes/mcp",
                "tools/call",
                Some("get_note".to_owned()),
                format!(r#"{{"name":"get_note","arguments":{{"id":"{note}"}}}}"#),
                "session",
            ),
            _ => (
                "/t/dev/s/calc/mcp",
                "tools/call",
                Some("add".to_owned()),
                r#"{"name":"add","arguments":{"a":2,"b":40}}"#.to_owned(),
                "42",
            ),
        };
        // Legacy sessions live on notes; their calc requests are 2026-07-28.
        match session {
            Some(id) if path.contains("notes") => {
                let body = format!(r#"{{"jsonrpc":"2.0","id":{r},"method":"{method}","params":{params}}}"#);
                self.timed(connection, path, &body, Some(id), expect, latencies)?;
            }
            _ => {
                self.timed(connection, path, &current(method, name.as_deref(), &params), None, expect, latencies)?;
            }
        }
        Ok(())
    }
}

/// A 2026-07-28 request body: `params` with the era's `_meta`.
fn current(method: &str, _name: Option<&str>, params: &str) -> String {
    let mut params: serde_json::Value = serde_json::from_str(params).expect("params are JSON");
    params["_meta"] = serde_json::json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} });
    serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string()
}

/// A keep-alive HTTP/1.1 connection: head and body of each answer.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Connection {
    fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        Connection {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            host: format!("localhost:{}", addr.port()),
        }
    }

    /// POSTs `body`; the status and, for convenience, the session header
    /// line (when there is one) followed by the body.
    fn post(&mut self, path: &str, key: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let method =
            body.split(r#""method":""#).nth(1).and_then(|m| m.split('"').next()).unwrap_or_default().to_owned();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n",
            self.host,
            body.len()
        );
        // 2026-07-28 requests carry the version in `_meta` and these headers.
        if body.contains("io.modelcontextprotocol/protocolVersion") {
            head += &format!("mcp-protocol-version: 2026-07-28\r\nmcp-method: {method}\r\n");
            if let Some(name) =
                body.split(r#""name":""#).nth(1).and_then(|n| n.split('"').next()).filter(|_| method == "tools/call")
            {
                head += &format!("mcp-name: {name}\r\n");
            }
            if let Some(uri) = body.split(r#""uri":""#).nth(1).and_then(|n| n.split('"').next()) {
                head += &format!("mcp-name: {uri}\r\n");
            }
        }
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        self.writer.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        self.read()
    }

    fn delete(&mut self, path: &str, key: &str, session: &str) {
        let head = format!(
            "DELETE {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {key}\r\nmcp-session-id: {session}\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: 0\r\n\r\n",
            self.host
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        let _ = self.read();
    }

    fn read(&mut self) -> (u16, String) {
        let mut status = 0;
        let mut length = 0usize;
        let mut session = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return (0, "connection closed".into());
            }
            let lower = line.to_ascii_lowercase();
            if status == 0 {
                status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("mcp-session-id:") {
                session = format!("mcp-session-id: {}\n", line[15..].trim());
            } else if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        (status, session + &String::from_utf8_lossy(&body))
    }
}

/// The soak: the load mix with the hostile tenant on for `minutes`, the
/// host's resident memory sampled each minute.
fn soak(host: &Host, minutes: u64) -> Table {
    let mut table = Table::new(
        &format!("Soak: {minutes} minutes of mixed load, hostile tenant on"),
        &["minute", "host RSS MiB", "requests", "errors", "p99 ms"],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let spinning = host.hostile(Attack::Spin, stop.clone());
    table.row(vec![
        num(0.0, 0),
        num(host.rss_kib() as f64 / 1024.0, 1),
        num(0.0, 0),
        num(0.0, 0),
        serde_json::Value::Null,
    ]);
    let mut samples = Vec::new();
    for minute in 1..=minutes {
        let run = host.run(1000, 20, Some(Instant::now() + Duration::from_secs(60)));
        let rss = host.rss_kib() as f64 / 1024.0;
        samples.push(rss);
        eprintln!("soak minute {minute}: RSS {rss:.1} MiB, {} requests, {} errors", run.latencies.len(), run.errors);
        table.row(vec![
            num(minute as f64, 0),
            num(rss, 1),
            num(run.latencies.len() as f64, 0),
            num(run.errors as f64, 0),
            num(run.percentile(0.99), 2),
        ]);
        assert_eq!(run.errors, 0, "requests failed in the soak: {:?}", run.first_error.lock().unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let _ = spinning.join();
    if samples.len() >= 6 {
        // Memory that levels off peaks no higher in the second half than in
        // the first (within what the allocator's timing moves it by); a
        // leak keeps climbing.
        let half = samples.len() / 2;
        let (first, second) =
            (samples[..half].iter().cloned().fold(0.0, f64::max), samples[half..].iter().cloned().fold(0.0, f64::max));
        let levels_off = second <= first * SOAK_GROWTH_ALLOWED;
        table.note(format!(
            "Peak RSS in the first half {first:.1} MiB, in the second half {second:.1} MiB: {}.",
            if levels_off { "it levels off" } else { "IT KEEPS GROWING" }
        ));
        assert!(
            levels_off,
            "host memory grew through the soak: first-half peak {first:.1} MiB, second-half peak {second:.1} MiB"
        );
    }
    table
}
