//! Outbound HTTP end to end with real parts: the `fetcher` guest built from
//! `guests/`, the core's dispatch (grant, redirects, budgets), the native
//! reqwest backend, and real HTTP servers on 127.0.0.1.
//!
//! The operator opens exactly one address (`ORIGIN`, the test server); a
//! second server (`CANARY`) counts connections to an address that is not
//! opened, so a refusal is seen to happen before anything is sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::http::grant::HttpGrant;
use smcp_core::capabilities::{CallHost, Notification, Notifier};
use smcp_core::guest::{Server, ToolOutcome};
use smcp_core::names::TenantId;
use smcp_core::platform::Scope;
use smcp_core::policy::address::{AddressPolicy, Opening};
use smcp_core::runtime::{Component, Limits, Runtime, RuntimeLimits};
use smcp_native::Storage;
use smcp_native::dev::DevGuests;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What `/hello` answers: multi-byte UTF-8, so a re-encoding would show.
fn hello_body() -> String {
    "héllo, wörld ✓ — 0123456789\n".repeat(300)
}

/// The guests under test: fetcher sends through `smcp:mcp/http`, its
/// wasm32-wasip2 twin through `wasi:http`; both must meet every check.
/// The JavaScript one has a test of its own.
const FETCHERS: [&str; 2] = ["fetcher", "fetcher-wasip2"];

/// The fetcher components, built once per test binary.
fn fetcher_bytes(guest: &str) -> &'static [u8] {
    static BYTES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    let built = BYTES.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("smcp-fetch-build-").tempdir().unwrap();
        let mut dev = DevGuests::only(&["fetcher", "fetcher-wasip2", "fetcher-js"]);
        dev.target_dir = smcp_tests::guest_target_dir();
        dev.build(dir.path()).expect("the fetcher guests build")
    });
    &built.iter().find(|(name, _)| name == guest).unwrap_or_else(|| panic!("{guest} was not built")).1
}

/// A test HTTP server on 127.0.0.1 that counts the requests it gets.
struct TestServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

type Body = BoxBody<Bytes, Infallible>;

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

fn redirect(status: u16, location: &str) -> hyper::Response<Body> {
    hyper::Response::builder().status(status).header("location", location).body(full("moved")).unwrap()
}

/// The routes the tests use; `canary` is the address that is not opened.
async fn route(path: &str, canary: SocketAddr) -> hyper::Response<Body> {
    match path {
        "/hello" => hyper::Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .header("set-cookie", "session=secret")
            .header("x-kept", "yes")
            .body(full(hello_body()))
            .unwrap(),
        "/to-hello" => redirect(302, "/hello"),
        "/to-evil" => redirect(302, "https://evil.example/steal?token=t"),
        "/to-private" => redirect(307, &format!("http://{canary}/")),
        "/to-metadata" => redirect(302, "http://169.254.169.254/latest/meta-data/"),
        "/big" => {
            // 2 MiB in 64 KiB chunks, no content-length: only counting stops it.
            let chunks = (0..32).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'x'; 64 << 10]))));
            hyper::Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed())
        }
        "/big-declared" => hyper::Response::new(full(vec![b'y'; 1 << 20])),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            hyper::Response::new(full("late"))
        }
        _ => match path.strip_prefix("/chain/").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => redirect(302, &format!("/chain/{}", n + 1)),
            None => hyper::Response::builder().status(404).body(full("no such route")).unwrap(),
        },
    }
}

/// `/echo`: the method, the `x-test` header and the body, as received.
async fn echo(request: hyper::Request<hyper::body::Incoming>) -> hyper::Response<Body> {
    let method = request.method().to_string();
    let test = request.headers().get("x-test").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    hyper::Response::new(full(format!("{method} {test} {}", String::from_utf8_lossy(&body))))
}

async fn start_server(canary: Option<SocketAddr>) -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let canary = canary.unwrap_or(addr);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if request.uri().path() == "/echo" {
                        return Ok::<_, Infallible>(echo(request).await);
                    }
                    Ok::<_, Infallible>(route(request.uri().path(), canary).await)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    TestServer { addr, hits }
}

struct Ignore;

impl Notifier for Ignore {
    fn notify(&mut self, _: Notification) {}
}

/// A fetcher, hosted under `grant` with the operator opening `opened`.
struct Fixture {
    guest: &'static str,
    runtime: Runtime,
    component: Arc<Component>,
    storage: Storage,
    grant: Grant,
    _data: tempfile::TempDir,
}

impl Fixture {
    fn new(guest: &'static str, http: HttpGrant, opened: &[Opening]) -> Fixture {
        let runtime = Runtime::new(RuntimeLimits::default()).unwrap();
        let component = runtime.load(fetcher_bytes(guest)).expect("the fetcher loads");
        let data = tempfile::Builder::new().prefix("smcp-fetch-").tempdir().unwrap();
        let storage = Storage::open(data.path(), AddressPolicy::with_openings(opened.iter().copied()), None).unwrap();
        // The JavaScript engine is interpreted: a call burns up to a billion fuel.
        let limits = Limits { fuel: 10_000_000_000, ..Limits::default() };
        let grant = Grant { http: Some(http), limits, ..Grant::default() };
        Fixture { guest, runtime, component, storage, grant, _data: data }
    }

    /// Calls the guest's `fetch` tool for `url`; returns the structured
    /// result, or the error's text.
    async fn fetch(&self, url: &str) -> Result<Value, String> {
        self.fetch_with(json!({"url": url, "max_chars": 1_000_000})).await
    }

    /// Calls the guest's `fetch` tool with `args`.
    async fn fetch_with(&self, args: Value) -> Result<Value, String> {
        let url = args["url"].as_str().unwrap_or_default().to_owned();
        let scope = Scope { tenant: TenantId::from_static("acme"), server: self.guest.into(), request: "test".into() };
        let mut notifier = Ignore;
        let mut host = CallHost::new(self.storage.backends(), &self.grant, &scope, &mut notifier);
        let server = Server { runtime: &self.runtime, component: &self.component, limits: self.grant.limits };
        match server.call_tool(&mut host, "fetch", &args, &[], None).await {
            Ok(ToolOutcome::Complete(result)) if result.is_error => {
                Err(serde_json::to_string(&result.content).unwrap())
            }
            Ok(ToolOutcome::Complete(result)) => Ok(result.structured_content.expect("structured content")),
            other => panic!("{}: {url}: {other:?}", self.guest),
        }
    }
}

/// Plain HTTP to the loopback hosts the tests name, on the scheme's port
/// and on `ports` (the test servers'); the opening, not the grant, is what
/// keeps most of them out.
fn grant(ports: &[u16]) -> HttpGrant {
    let hosts = ["127.0.0.1", "localhost", "[::1]", "[::ffff:7f00:1]", "10.0.0.1", "169.254.169.254"];
    let with_ports = hosts.iter().flat_map(|host| ports.iter().map(move |port| format!("{host}:{port}")));
    let allowed_hosts = hosts.iter().map(|h| h.to_string()).chain(with_ports).collect();
    HttpGrant { allowed_hosts, allow_insecure: true, ..HttpGrant::default() }
}

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// `result` is the grant's or the address policy's refusal: with its
/// reason through `smcp:mcp/http`; through `wasi:http`, whose error codes
/// have no room for one, as `HTTP-request-denied`.
fn assert_refused(guest: &str, result: Result<Value, String>, url: &str, want: &str) {
    match result {
        Err(message) if guest == "fetcher-wasip2" => assert!(message.contains("HttpRequestDenied"), "{url}: {message}"),
        Err(message) => assert!(message.contains("denied") && message.contains(want), "{url}: {message}"),
        Ok(got) => panic!("{guest}: {url} must be refused, got {got}"),
    }
}

#[test]
fn the_opened_loopback_address_is_fetched_byte_for_byte() {
    run(async {
        for guest in FETCHERS {
            let origin = start_server(None).await;
            let fixture = Fixture::new(guest, grant(&[origin.addr.port()]), &[Opening::Socket(origin.addr)]);
            for path in ["/hello", "/to-hello"] {
                let got = fixture.fetch(&format!("http://{}{path}", origin.addr)).await.unwrap();
                assert_eq!(got["status"], 200);
                assert_eq!(got["body"].as_str(), Some(hello_body().as_str()), "{guest}: {path}");
                assert_eq!(got["truncated"], false);
                let names: Vec<&str> =
                    got["headers"].as_array().unwrap().iter().map(|h| h[0].as_str().unwrap()).collect();
                assert!(names.contains(&"x-kept") && names.contains(&"content-type"), "{guest}: {names:?}");
                assert!(!names.contains(&"set-cookie"), "{guest}: cookies never reach the guest: {names:?}");
            }
            // TLS to a plain HTTP port fails cleanly (and runs the rustls setup).
            let tls = fixture.fetch(&format!("https://{}/hello", origin.addr)).await.unwrap_err();
            assert!(tls.contains("unavailable: could not connect"), "{guest}: {tls}");
            // The url crate reads 2130706433 as 127.0.0.1: the same opened address.
            let port = origin.addr.port();
            assert_eq!(fixture.fetch(&format!("http://2130706433:{port}/hello")).await.unwrap()["status"], 200);
            assert_eq!(origin.hits.load(Ordering::SeqCst), 4, "{guest}");
        }
    });
}

#[test]
fn non_public_addresses_are_refused_before_connecting() {
    run(async {
        for guest in FETCHERS {
            let canary = start_server(None).await;
            let origin = start_server(Some(canary.addr)).await;
            let ports = [canary.addr.port(), origin.addr.port(), origin.addr.port() + 1];
            let fixture = Fixture::new(guest, grant(&ports), &[Opening::Socket(origin.addr)]);
            let port = canary.addr.port();
            let cases = [
                (format!("http://127.0.0.1:{port}/"), "127.0.0.1 is a loopback address"),
                (format!("http://[::1]:{port}/"), "::1 is a loopback address"),
                ("http://10.0.0.1/".into(), "10.0.0.1 is a private address"),
                ("http://169.254.169.254/latest/meta-data/".into(), "169.254.169.254 is a cloud metadata address"),
                (format!("http://[::ffff:127.0.0.1]:{port}/"), "embeds 127.0.0.1, a loopback address"),
                (format!("http://2130706433:{port}/"), "127.0.0.1 is a loopback address"),
                (format!("http://0177.0.0.1:{port}/"), "127.0.0.1 is a loopback address"),
                (format!("http://localhost:{port}/"), "host localhost resolves only to private addresses"),
                // Opened is 127.0.0.1 on the origin's port, not localhost's other addresses or other ports.
                (format!("http://localhost:{}/", origin.addr.port() + 1), "resolves only to private addresses"),
            ];
            for (url, want) in cases {
                assert_refused(guest, fixture.fetch(&url).await, &url, want);
            }
            assert_eq!(
                canary.hits.load(Ordering::SeqCst),
                0,
                "{guest}: nothing reached the address that is not opened"
            );
            assert_eq!(origin.hits.load(Ordering::SeqCst), 0, "{guest}");
        }
    });
}

#[test]
fn redirects_are_checked_hop_by_hop() {
    run(async {
        for guest in FETCHERS {
            let canary = start_server(None).await;
            let origin = start_server(Some(canary.addr)).await;
            let ports = [canary.addr.port(), origin.addr.port()];
            let fixture = Fixture::new(guest, grant(&ports), &[Opening::Socket(origin.addr)]);
            let url = |path: &str| format!("http://{}{path}", origin.addr);
            let evil = fixture.fetch(&url("/to-evil")).await;
            assert_refused(guest, evil.clone(), "/to-evil", "redirect to `https://evil.example/steal` refused");
            if guest == "fetcher" {
                assert!(evil.unwrap_err().contains("host `evil.example` is not in the grant's allowed hosts"));
            }
            let want = format!("redirect to `http://{}/` refused: 127.0.0.1 is a loopback address", canary.addr);
            assert_refused(guest, fixture.fetch(&url("/to-private")).await, "/to-private", &want);
            assert_refused(
                guest,
                fixture.fetch(&url("/to-metadata")).await,
                "/to-metadata",
                "redirect to `http://169.254.169.254/latest/meta-data/` refused: 169.254.169.254 is a cloud metadata address",
            );
            assert_eq!(canary.hits.load(Ordering::SeqCst), 0, "{guest}");
            assert_eq!(origin.hits.load(Ordering::SeqCst), 3, "{guest}: one request each, the redirect hop never sent");
        }
    });
}

#[test]
fn responses_over_the_limit_are_cut_off() {
    run(async {
        for guest in FETCHERS {
            let origin = start_server(None).await;
            let http = HttpGrant { max_response_bytes: 64 << 10, ..grant(&[origin.addr.port()]) };
            let fixture = Fixture::new(guest, http, &[Opening::Socket(origin.addr)]);
            for path in ["/big", "/big-declared"] {
                let got = fixture.fetch(&format!("http://{}{path}", origin.addr)).await;
                let message = got.expect_err(path);
                assert!(
                    message.contains("too large") && message.contains("response body over 65536 bytes"),
                    "{guest}: {path}: {message}"
                );
            }
        }
    });
}

#[test]
fn requests_per_call_and_time_are_bounded() {
    run(async {
        for guest in FETCHERS {
            let origin = start_server(None).await;
            let http = HttpGrant { max_requests: 3, timeout_ms: 500, ..grant(&[origin.addr.port()]) };
            let fixture = Fixture::new(guest, http, &[Opening::Socket(origin.addr)]);
            let message = fixture.fetch(&format!("http://{}/chain/0", origin.addr)).await.unwrap_err();
            assert!(message.contains("at most 3 HTTP requests per call"), "{guest}: {message}");
            assert_eq!(origin.hits.load(Ordering::SeqCst), 3, "{guest}");
            let message = fixture.fetch(&format!("http://{}/slow", origin.addr)).await.unwrap_err();
            assert!(message.contains("timed out after 500 ms"), "{guest}: {message}");
        }
    });
}

#[test]
fn the_default_policy_opens_nothing() {
    run(async {
        for guest in FETCHERS {
            let origin = start_server(None).await;
            let fixture = Fixture::new(guest, grant(&[origin.addr.port()]), &[]);
            let url = format!("http://{}/hello", origin.addr);
            assert_refused(guest, fixture.fetch(&url).await, &url, "127.0.0.1 is a loopback address");
            assert_eq!(origin.hits.load(Ordering::SeqCst), 0, "{guest}");
        }
    });
}

#[test]
fn request_bodies_and_headers_arrive_and_are_bounded() {
    run(async {
        for guest in FETCHERS {
            let origin = start_server(None).await;
            let http = HttpGrant { max_request_bytes: 32 << 10, ..grant(&[origin.addr.port()]) };
            let fixture = Fixture::new(guest, http, &[Opening::Socket(origin.addr)]);
            let url = format!("http://{}/echo", origin.addr);
            // Larger than one write, so the body takes several.
            let text = "é-body ".repeat(2000);
            let args =
                json!({"url": url, "method": "POST", "headers": {"x-test": "1"}, "body": text, "max_chars": 1_000_000});
            let got = fixture.fetch_with(args).await.unwrap();
            assert_eq!(got["body"].as_str(), Some(format!("POST 1 {text}").as_str()), "{guest}");

            let big = "x".repeat((32 << 10) + 1);
            let message = fixture.fetch_with(json!({"url": url, "method": "PUT", "body": big})).await.unwrap_err();
            let wanted = if guest == "fetcher" {
                "request bodies are limited to 32768 bytes"
            } else {
                "HttpRequestBodySize(Some(32768))"
            };
            assert!(message.contains(wanted), "{guest}: {message}");
            let message =
                fixture.fetch_with(json!({"url": url, "headers": {"host": "evil.example"}})).await.unwrap_err();
            let wanted = if guest == "fetcher" { "header `host` is set by the host" } else { "HeaderError::Forbidden" };
            assert!(message.contains(wanted), "{guest}: {message}");
            if guest == "fetcher-wasip2" {
                // Trailers the host cannot send: the request is refused, not sent without them.
                let args = json!({"url": url, "method": "POST", "body": "b", "trailers": {"x-checksum": "1"}});
                let message = fixture.fetch_with(args).await.unwrap_err();
                assert!(message.contains("request trailers are not sent by this host"), "{message}");
            }
            assert_eq!(origin.hits.load(Ordering::SeqCst), 1, "{guest}: only the first request was sent");
        }
    });
}

/// StarlingMonkey's fetch() (guests/fetcher-js) goes through the same
/// checks: refusals before anything is sent (the engine reports them as a
/// `NetworkError`), request bodies written in several pieces, headers, and
/// the response limit. Its answers are kept short: the interpreted engine
/// spends about 3 million fuel per character of a tool result.
#[test]
fn javascript_fetch_goes_through_the_same_checks() {
    run(async {
        let canary = start_server(None).await;
        let origin = start_server(Some(canary.addr)).await;
        let ports = [canary.addr.port(), origin.addr.port()];
        let http = HttpGrant { max_response_bytes: 64 << 10, ..grant(&ports) };
        let fixture = Fixture::new("fetcher-js", http, &[Opening::Socket(origin.addr)]);
        let short = |url: String| json!({"url": url, "max_chars": 100});
        let echo = format!("http://{}/echo", origin.addr);
        let args = json!({"url": echo, "method": "POST", "headers": {"x-test": "js"}, "body": "x".repeat(20_000), "max_chars": 12});
        let got = fixture.fetch_with(args).await.unwrap();
        assert_eq!((got["status"].as_u64(), got["body"].as_str()), (Some(200), Some("POST js xxxx")), "{got}");
        assert_eq!(got["truncated"], true);
        let refused = [
            format!("http://127.0.0.1:{}/", canary.addr.port()),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            format!("http://{}/to-private", origin.addr),
            format!("http://{}/big", origin.addr),
        ];
        for url in refused {
            let message = fixture.fetch_with(short(url.clone())).await.unwrap_err();
            assert!(message.contains("fetch failed: NetworkError"), "{url}: {message}");
        }
        assert_eq!(canary.hits.load(Ordering::SeqCst), 0, "nothing reached the address that is not opened");
        assert_eq!(origin.hits.load(Ordering::SeqCst), 3, "the echo, the redirect and the big response");
    });
}
