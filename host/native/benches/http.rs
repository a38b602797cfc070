//! The HTTP benchmark: `cargo bench -p smcp-native --bench http`.
//!
//! Many `tools/call noop` requests over loopback HTTP/1.1 with keep-alive,
//! from 1, 16 and 64 concurrent connections (clients), against
//! - SMCP: the native server hosting the calc guest (`noop` runs in the
//!   wasm sandbox, a fresh instance per call), and
//! - rmcp: the official Rust SDK's Streamable HTTP server, in this process
//!   on another port, with the same `noop` tool compiled natively.
//!
//! Both are driven by the same plain hyper client with the same requests
//! (same path, headers and bodies; only the port in `Host` and the session
//! id differ), in both protocol eras:
//! - legacy (2025-11-25): `initialize` once, then `Mcp-Session-Id` and
//!   `MCP-Protocol-Version` on every request;
//! - 2026-07-28: no session; `_meta` carries the version and client
//!   capabilities, with the `Mcp-Method` and `Mcp-Name` headers.
//!
//! Reports requests/s, p50 and p99 latency of each, and SMCP/rmcp ratios.
//! Each run is bounded by a request count and a time budget.
//!
//! Servers and load generator each run on one thread (current-thread
//! tokio runtimes; SMCP with `threads = 1`), so on a 2-core machine they
//! compete for the CPUs the same way for both servers; measuring alternates
//! between the servers in rounds so that other load on the machine falls
//! on both alike. A second table runs SMCP on every core against itself on
//! one thread.
//!
//! Not identical on the wire: rmcp answers legacy requests as SSE (a
//! priming event, then the response; it has no JSON mode for sessions),
//! SMCP as JSON. For 2026-07-28 both answer JSON (rmcp's `json_response`).
//!
//! `cargo test` runs this file too (no `--bench` argument): a smoke run of
//! a few dozen requests per case.

/// The allocator `smcp` runs with, for both servers alike.
#[global_allocator]
static ALLOCATOR: smcp_allocator::HostAllocator = smcp_allocator::HostAllocator;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_router};
use smcp_native::Config;
use smcp_native::dev::DevGuests;
use smcp_tests::report::{Report, Table, num};
use std::cell::Cell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Both servers answer on this path, so the requests are identical.
const PATH: &str = "/t/dev/s/calc/mcp";
const LEGACY: &str = "2025-11-25";
const CURRENT: &str = "2026-07-28";
const CONNECTIONS: [usize; 3] = [1, 16, 64];

/// How much each case runs.
#[derive(Clone, Copy)]
struct Budget {
    /// Unmeasured requests per connection before measuring.
    warmup_per_connection: u64,
    /// Measuring alternates between the servers this many times …
    rounds: u32,
    /// … each round sending at most this many requests …
    requests_per_round: u64,
    /// … for at most this long.
    time_per_round: Duration,
}

const FULL: Budget = Budget {
    warmup_per_connection: 200,
    rounds: 3,
    requests_per_round: 100_000,
    time_per_round: Duration::from_secs(1),
};
const SMOKE: Budget =
    Budget { warmup_per_connection: 2, rounds: 1, requests_per_round: 40, time_per_round: Duration::from_secs(10) };

#[path = "http/external.rs"]
mod external;

fn main() {
    if std::env::var_os(external::RMCP_CHILD_ENV).is_some() {
        external::serve_rmcp();
        return;
    }
    // `cargo test` passes no `--bench`: run a tiny smoke version then.
    let full = std::env::args().any(|a| a == "--bench");
    let budget = if full { FULL } else { SMOKE };

    // One serving thread, as rmcp's server has here.
    let data = DataDir::new();
    let smcp = start_smcp(&data, 1);
    let rmcp = RmcpServer::start();

    // SMCP authenticates every request (an API key, as a service would);
    // rmcp's server has no authentication, so it gets none.
    let key = smcp.dev_key.clone().expect("dev mode makes a key");
    let targets =
        [Target { name: "SMCP", addr: smcp.addr, key: Some(key) }, Target { name: "rmcp", addr: rmcp.addr, key: None }];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    println!(
        "== tools/call noop over loopback HTTP/1.1 keep-alive (SMCP on {}, rmcp {RMCP_VERSION} on {})",
        smcp.addr, rmcp.addr
    );
    println!(
        "   each case: {} warm-up requests per connection, then {} alternating round(s) per server of up to {} requests or {:?}",
        budget.warmup_per_connection, budget.rounds, budget.requests_per_round, budget.time_per_round
    );
    let mut rows = Vec::new();
    for era in [Era::Legacy, Era::Current] {
        for connections in CONNECTIONS {
            let [a, b] = runtime.block_on(compare(&targets, era, connections, budget));
            rows.push((era, connections, a, b));
        }
    }

    let mut table = Table::new(
        "End to end: `tools/call noop` over loopback HTTP/1.1 keep-alive",
        &[
            "era",
            "clients",
            "SMCP req/s",
            "SMCP p50 µs",
            "SMCP p99 µs",
            "rmcp req/s",
            "rmcp p50 µs",
            "rmcp p99 µs",
            "SMCP / rmcp req/s",
        ],
    );
    for (era, connections, smcp, rmcp) in &rows {
        let us = |d: Duration| num(d.as_secs_f64() * 1e6, 0);
        table.row(vec![
            era.label().into(),
            (*connections).into(),
            num(smcp.rps(), 0),
            us(smcp.p(0.5)),
            us(smcp.p(0.99)),
            num(rmcp.rps(), 0),
            us(rmcp.p(0.5)),
            us(rmcp.p(0.99)),
            num(smcp.rps() / rmcp.rps(), 2),
        ]);
    }
    table.note(format!(
        "SMCP: the native host, API key checked and a `tool.call` audit record kept per request, `noop` in a fresh wasm instance; rmcp {RMCP_VERSION}: its Streamable HTTP server, no authentication, `noop` compiled natively."
    ));
    table.note("Both servers and the load generator each run on one thread and share the machine's cores; rounds alternate between the servers.");
    if let Some((_, _, smcp, rmcp)) = rows.first() {
        table.note(format!(
            "Responses: SMCP {}, rmcp {} (2025-11-25; rmcp has no JSON mode with sessions).",
            smcp.content_type, rmcp.content_type
        ));
    }
    // The same server on every core, against itself on one thread.
    let threads = smcp_native::default_threads();
    let wide_data = DataDir::new();
    let wide = start_smcp(&wide_data, threads);
    let scaling = [
        Target { name: "SMCP 1 thread", addr: smcp.addr, key: smcp.dev_key.clone() },
        Target { name: "SMCP all threads", addr: wide.addr, key: wide.dev_key.clone() },
    ];
    let [one, all] = runtime.block_on(compare(&scaling, Era::Current, SCALING_CONNECTIONS, budget));
    let mut scaled = Table::new(
        "Serving threads: `tools/call noop` (2026-07-28), SMCP against itself on one thread",
        &["serving threads", "clients", "req/s", "p50 µs", "p99 µs", "req/s / 1 thread"],
    );
    for (threads, stats) in [(1, &one), (threads, &all)] {
        let us = |d: Duration| num(d.as_secs_f64() * 1e6, 0);
        scaled.row(vec![
            threads.into(),
            SCALING_CONNECTIONS.into(),
            num(stats.rps(), 0),
            us(stats.p(0.5)),
            us(stats.p(0.99)),
            num(stats.rps() / one.rps(), 2),
        ]);
    }
    scaled.note(format!(
        "{threads} cores here. The load generator is one thread on the same machine: with as many serving threads as cores it competes with them for the CPUs, so this shows the server's scaling only up to what the machine has left."
    ));
    rmcp.stop();
    smcp.stop();
    wide.stop();

    let mut report = Report::new("http");
    report.add(table);
    report.add(scaled);
    let plan = if full { external::Plan { seconds: 5, rounds: 3 } } else { external::Plan { seconds: 1, rounds: 1 } };
    let (head, tail) = noop_body(Era::Current);
    if let Some(external) = external::compare(plan, PATH, &format!("{head}1{tail}")) {
        report.add(external);
    }
    report.finish();
}

/// Clients of the serving-threads table.
const SCALING_CONNECTIONS: usize = 16;

/// SMCP serving the calc guest from `data` on `threads` serving threads.
fn start_smcp(data: &DataDir, threads: usize) -> smcp_native::Background {
    let mut config = Config::new(&data.0);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.threads = threads;
    let mut dev = DevGuests::only(&["calc"]);
    dev.target_dir = smcp_tests::guest_target_dir();
    config.dev = Some(dev);
    // Throughput is measured, not the rate limiter.
    let unlimited = smcp_core::auth::rate::Limit { burst: 1e12, per_second: 1e12 };
    config.rate_limits = smcp_core::auth::rate::RateLimits { per_principal: unlimited, per_tenant: unlimited };
    let smcp = smcp_native::spawn(config).expect("the SMCP server starts");
    assert!(smcp.endpoints.iter().any(|e| e.path == PATH));
    smcp
}

const RMCP_VERSION: &str = "3.11";

#[derive(Clone, Copy, PartialEq)]
enum Era {
    Legacy,
    Current,
}

impl Era {
    fn label(self) -> &'static str {
        match self {
            Era::Legacy => LEGACY,
            Era::Current => CURRENT,
        }
    }
}

struct Target {
    name: &'static str,
    addr: SocketAddr,
    /// Sent as `Authorization: Bearer`.
    key: Option<String>,
}

/// One case's measurements for one server.
#[derive(Default)]
struct Stats {
    /// Summed over the rounds.
    elapsed: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
    content_type: String,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn p(&self, p: f64) -> Duration {
        self.latencies[((self.latencies.len() - 1) as f64 * p).round() as usize]
    }
}

/// Runs one case against both servers: connections opened and warmed up
/// on both, then measuring rounds alternating between them, so that
/// whatever else the machine does falls on both alike.
async fn compare(targets: &[Target; 2], era: Era, connections: usize, budget: Budget) -> [Stats; 2] {
    let mut drivers = Vec::new();
    for target in targets {
        drivers.push(Driver::open(target, era, connections, budget.warmup_per_connection).await);
    }
    let mut stats = [Stats::default(), Stats::default()];
    for _ in 0..budget.rounds {
        for (driver, stats) in drivers.iter_mut().zip(&mut stats) {
            let (latencies, elapsed) = driver.measure(budget.requests_per_round, budget.time_per_round).await;
            stats.latencies.extend(latencies);
            stats.elapsed += elapsed;
        }
    }
    for (driver, stats) in drivers.into_iter().zip(&mut stats) {
        stats.latencies.sort();
        stats.content_type = driver.content_type.clone();
        eprintln!(
            "   {} {} x{connections}: {} requests, {:.0} req/s",
            driver.target.name,
            era.label(),
            stats.latencies.len(),
            stats.rps()
        );
        driver.close().await;
    }
    stats
}

/// Keep-alive connections to one server, with a session in the legacy era.
struct Driver<'a> {
    target: &'a Target,
    session: Option<String>,
    noop: NoopRequest,
    connections: Vec<Connection>,
    next_id: Cell<u64>,
    content_type: String,
}

impl<'a> Driver<'a> {
    /// Opens the session (legacy) and the connections, and warms each
    /// connection up, checking the answers.
    async fn open(target: &'a Target, era: Era, connections: usize, warmup: u64) -> Driver<'a> {
        let session = match era {
            Era::Legacy => Some(open_session(target).await),
            Era::Current => None,
        };
        let noop = NoopRequest::new(target, era, session.as_deref());
        let mut driver = Driver {
            target,
            session,
            noop,
            connections: Vec::new(),
            next_id: Cell::new(1000),
            content_type: String::new(),
        };
        for _ in 0..connections {
            driver.connections.push(Connection::open(target.addr).await);
        }
        for index in 0..connections {
            for _ in 0..warmup {
                let (kind, body) =
                    call_noop(&mut driver.connections[index], target, &driver.noop, &driver.next_id).await;
                check_noop(target, &body);
                driver.content_type = String::from_utf8_lossy(kind.as_bytes()).into_owned();
            }
        }
        driver
    }

    /// Sends `noop` calls back to back on every connection until `requests`
    /// were sent or `time` is up; returns the latencies and the time taken.
    async fn measure(&mut self, requests: u64, time: Duration) -> (Vec<Duration>, Duration) {
        let (target, noop, next_id) = (self.target, &self.noop, &self.next_id);
        let issued = Cell::new(0u64);
        let started = Instant::now();
        let workers = self.connections.iter_mut().map(|connection| {
            let issued = &issued;
            async move {
                let mut latencies = Vec::new();
                while issued.get() < requests && started.elapsed() < time {
                    issued.set(issued.get() + 1);
                    let sent = Instant::now();
                    let (_, body) = call_noop(connection, target, noop, next_id).await;
                    latencies.push(sent.elapsed());
                    quick_check_noop(target, &body);
                }
                latencies
            }
        });
        let latencies = futures::future::join_all(workers).await.into_iter().flatten().collect();
        (latencies, started.elapsed())
    }

    /// Ends the legacy session.
    async fn close(mut self) {
        if let Some(session) = &self.session {
            let request = base_request(self.target, "DELETE")
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", LEGACY);
            let (status, _, _) = self.connections[0].send(request.body(Full::default()).unwrap()).await;
            assert!(status.is_success(), "{}: DELETE session -> {status}", self.target.name);
        }
    }
}

/// Legacy lifecycle: `initialize`, then `notifications/initialized` with
/// the session it returned. Returns the session id.
async fn open_session(target: &Target) -> String {
    let mut sender = connect(target.addr).await;
    let initialize = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{LEGACY}","capabilities":{{}},"clientInfo":{{"name":"smcp-bench","version":"0"}}}}}}"#
    );
    let request = base_request(target, "POST").header("content-type", "application/json");
    let (status, headers, body) = send(&mut sender, request.body(Full::new(Bytes::from(initialize))).unwrap()).await;
    assert_eq!(status, 200, "{}: initialize: {}", target.name, String::from_utf8_lossy(&body));
    assert!(
        result_of(&body).get("protocolVersion").is_some(),
        "{}: initialize: {}",
        target.name,
        String::from_utf8_lossy(&body)
    );
    let session = headers
        .get("mcp-session-id")
        .unwrap_or_else(|| panic!("{}: no session id", target.name))
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let request = base_request(target, "POST")
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", LEGACY);
    let (status, _, _) =
        send(&mut sender, request.body(Full::new(Bytes::from_static(initialized.as_bytes()))).unwrap()).await;
    assert_eq!(status, 202, "{}: notifications/initialized", target.name);
    session
}

/// A `tools/call noop` request of one era, prepared once: the headers and
/// the body around the JSON-RPC id, so the measured loop does little more
/// than hyper's own work.
struct NoopRequest {
    headers: hyper::HeaderMap,
    /// The body up to the id, and after it.
    body: (String, String),
}

/// A `tools/call noop` body of `era`, split around the JSON-RPC id.
fn noop_body(era: Era) -> (String, String) {
    let head = r#"{"jsonrpc":"2.0","id":"#.to_owned();
    match era {
        Era::Legacy => (head, r#","method":"tools/call","params":{"name":"noop","arguments":{}}}"#.to_owned()),
        Era::Current => (
            head,
            format!(
                r#","method":"tools/call","params":{{"name":"noop","arguments":{{}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"{CURRENT}","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"smcp-bench","version":"0"}}}}}}}}"#
            ),
        ),
    }
}

impl NoopRequest {
    fn new(target: &Target, era: Era, session: Option<&str>) -> NoopRequest {
        let mut request = base_request(target, "POST").header("content-type", "application/json");
        request = match era {
            Era::Legacy => {
                request.header("mcp-session-id", session.expect("a session")).header("mcp-protocol-version", LEGACY)
            }
            Era::Current => request
                .header("mcp-protocol-version", CURRENT)
                .header("mcp-method", "tools/call")
                .header("mcp-name", "noop"),
        };
        let body = noop_body(era);
        let headers = request.body(()).unwrap().into_parts().0.headers;
        NoopRequest { headers, body }
    }

    fn build(&self, id: u64) -> hyper::Request<Full<Bytes>> {
        use std::fmt::Write;
        let mut body = String::with_capacity(self.body.0.len() + 20 + self.body.1.len());
        body.push_str(&self.body.0);
        write!(body, "{id}").unwrap();
        body.push_str(&self.body.1);
        let mut request = hyper::Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = hyper::Uri::from_static(PATH);
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One `tools/call noop`; returns the response's content type and body.
async fn call_noop(
    connection: &mut Connection,
    target: &Target,
    noop: &NoopRequest,
    next_id: &Cell<u64>,
) -> (hyper::header::HeaderValue, Bytes) {
    let id = next_id.get();
    next_id.set(id + 1);
    let (status, mut headers, body) = connection.send(noop.build(id)).await;
    assert_eq!(status, 200, "{}: tools/call: {}", target.name, String::from_utf8_lossy(&body));
    let kind = headers.remove("content-type").unwrap_or(hyper::header::HeaderValue::from_static(""));
    (kind, body)
}

/// Checks a `noop` answer thoroughly (parsed).
fn check_noop(target: &Target, body: &[u8]) {
    let result = result_of(body);
    let text = result.pointer("/content/0/text").and_then(|t| t.as_str());
    assert!(
        text == Some("ok") && result.get("isError") != Some(&serde_json::Value::Bool(true)),
        "{}: {result}",
        target.name
    );
}

/// Checks a `noop` answer cheaply, for the measured loop: both servers
/// write compact JSON.
fn quick_check_noop(target: &Target, body: &[u8]) {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(br#""text":"ok""#) && !has(br#""isError":true"#), "{}: {}", target.name, String::from_utf8_lossy(body));
}

/// The JSON-RPC result of a response body, `application/json` or SSE (the
/// last `data:` line holding a message).
fn result_of(body: &[u8]) -> serde_json::Value {
    let text = std::str::from_utf8(body).expect("UTF-8");
    let json = if text.trim_start().starts_with('{') {
        text.to_owned()
    } else {
        text.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim)
            .rfind(|data| !data.is_empty())
            .unwrap_or_else(|| panic!("no message in {text:?}"))
            .to_owned()
    };
    let mut message: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    message.get_mut("result").map(serde_json::Value::take).unwrap_or_else(|| panic!("not a result: {json}"))
}

fn base_request(target: &Target, method: &str) -> hyper::http::request::Builder {
    let request = hyper::Request::builder()
        .method(method)
        .uri(PATH)
        .header("host", format!("127.0.0.1:{}", target.addr.port()))
        .header("accept", "application/json, text/event-stream");
    match &target.key {
        Some(key) => request.header("authorization", format!("Bearer {key}")),
        None => request,
    }
}

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// A keep-alive client connection driven inside the task that uses it
/// (no connection task of its own: fewer wake-ups per request, so that the
/// load generator stays light).
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    connection: Pin<Box<hyper::client::conn::http1::Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>>>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        Connection { sender, connection: Box::pin(connection) }
    }

    async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> (hyper::StatusCode, hyper::HeaderMap, Bytes) {
        tokio::select! {
            biased;
            exchange = send(&mut self.sender, request) => exchange,
            ended = &mut self.connection => panic!("the connection ended: {ended:?}"),
        }
    }
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> (hyper::StatusCode, hyper::HeaderMap, Bytes) {
    sender.ready().await.expect("the connection is usable");
    let response = sender.send_request(request).await.expect("a response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the whole body").to_bytes();
    (parts.status, parts.headers, body)
}

/// The comparison server: rmcp's own `noop`, no sandbox.
#[derive(Clone)]
struct Noop;

#[tool_router(server_handler)]
impl Noop {
    #[tool(description = "Does nothing; returns \"ok\".")]
    fn noop(&self) -> String {
        "ok".into()
    }
}

/// rmcp's Streamable HTTP service behind hyper, on a thread of its own
/// with a current-thread runtime (as the native server runs).
struct RmcpServer {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl RmcpServer {
    fn start() -> RmcpServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("rmcp-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    // Defaults (legacy sessions, Host allow-list of loopback
                    // names), except that stateless requests may answer
                    // plain JSON, as SMCP does.
                    let config = StreamableHttpServerConfig::default().with_json_response(true);
                    let service = Arc::new(StreamableHttpService::new(
                        || Ok(Noop),
                        LocalSessionManager::default().into(),
                        config,
                    ));
                    let mut http = hyper::server::conn::http1::Builder::new();
                    http.keep_alive(true).timer(TokioTimer::new());
                    loop {
                        let (stream, _) = tokio::select! {
                            _ = stopped.wait_for(|s| *s) => break,
                            accepted = listener.accept() => accepted.unwrap(),
                        };
                        stream.set_nodelay(true).unwrap();
                        let service = service.clone();
                        let handler =
                            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                                let service = service.clone();
                                async move {
                                    if request.uri().path() != PATH {
                                        let mut missing = hyper::Response::new(Full::default().boxed());
                                        *missing.status_mut() = hyper::StatusCode::NOT_FOUND;
                                        return Ok::<_, std::convert::Infallible>(missing);
                                    }
                                    Ok(service.handle(request).await)
                                }
                            });
                        let connection = http.serve_connection(TokioIo::new(stream), handler);
                        tokio::spawn(async move {
                            let _ = connection.await;
                        });
                    }
                });
            })
            .unwrap();
        RmcpServer { addr, stop, thread }
    }

    fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.thread.join();
    }
}

/// A data directory removed at the end of the run.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        DataDir(std::env::temp_dir().join(format!("smcp-bench-http-{}-{nanos}", std::process::id())))
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
