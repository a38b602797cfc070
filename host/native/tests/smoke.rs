//! End to end: the real server on 127.0.0.1 with an ephemeral port, the
//! calc guest built from `guests/` and hosted, real HTTP over loopback.
//!
//! Only the front end's own behaviour is asserted (body limits, routing of
//! unknown paths, keep-alive, shutdown); MCP itself is the engine's tests'.

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use smcp_native::{Background, Config};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// A data directory removed at the end of the test.
struct DataDir(tempfile::TempDir);

impl DataDir {
    fn new(name: &str) -> DataDir {
        DataDir(tempfile::Builder::new().prefix(&format!("smcp-smoke-{name}-")).tempdir().unwrap())
    }
}

fn start(dir: &DataDir) -> Background {
    // Tenant `other` exists (the operator gave it a key), beside `dev`.
    support::serve(dir.0.path(), &["calc"], |config| support::create_tenant(&config.data_dir, "other", "mcp-user"))
}

/// Sends one request on a fresh connection and returns status and body.
async fn send<B>(addr: SocketAddr, request: hyper::Request<B>) -> (u16, hyper::HeaderMap, Bytes)
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn post(addr: SocketAddr, key: &str, path: &str, body: Vec<u8>) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn limits_routing_keep_alive_and_shutdown() {
    let dir = DataDir::new("main");
    let server = start(&dir);
    let addr = server.addr;
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    assert_eq!(server.endpoints.len(), 1);
    assert_eq!(server.endpoints[0].path, "/t/dev/s/calc/mcp");
    let mcp = server.endpoints[0].path.clone();
    let key = server.dev_key.clone().expect("dev mode makes a key");
    let rt = runtime();

    rt.block_on(async {
        // 5 MiB with a Content-Length: refused without reaching the engine.
        let started = Instant::now();
        let (status, headers, body) = send(addr, post(addr, &key, &mcp, vec![b'x'; 5 * MIB])).await;
        assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers.get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
        eprintln!("5 MiB POST -> 413 in {:?}", started.elapsed());

        // 5 MiB streamed in chunks without a length: the same.
        let chunks = (0..80).map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![b'y'; 64 << 10]))));
        let streamed = hyper::Request::post(mcp.as_str())
            .header("host", addr.to_string())
            .body(StreamBody::new(futures::stream::iter(chunks)))
            .unwrap();
        let (status, _, _) = send(addr, streamed).await;
        assert_eq!(status, 413);

        // Exactly the limit is not too large (what the engine says of it is
        // the engine's business).
        let (status, _, _) = send(addr, post(addr, &key, &mcp, vec![b' '; 4 * MIB])).await;
        assert_ne!(status, 413);

        // Unknown paths are 404, whatever the method, and so are tenants
        // nobody created; another tenant's 403.
        let ping = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let cases = [
            ("/", 404),
            ("/nope", 404),
            ("/t/dev/s/nosuch/mcp", 404),
            ("/t/dev/s/calc", 404),
            ("/t/nobody/s/calc/mcp", 404),
            ("/t/other/s/calc/mcp", 403),
        ];
        for (path, expected) in cases {
            let (status, _, _) = send(addr, post(addr, &key, path, ping.to_vec())).await;
            assert_eq!(status, expected, "POST {path}");
        }
        // Without the key, the real endpoint says who to ask.
        let anonymous = hyper::Request::post(mcp.as_str())
            .header("host", addr.to_string())
            .body(Full::new(Bytes::from(&ping[..])))
            .unwrap();
        let (status, headers, _) = send(addr, anonymous).await;
        assert_eq!(status, 401);
        assert!(headers["www-authenticate"].to_str().unwrap().contains("resource_metadata="));
        let get =
            hyper::Request::get("/unknown").header("host", addr.to_string()).body(Full::<Bytes>::default()).unwrap();
        assert_eq!(send(addr, get).await.0, 404);
    });

    // Keep-alive: several requests on one connection.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for _ in 0..3 {
        write!(stream, "GET /nope HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        let head = read_head(&mut stream);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        let length: usize = header_value(&head, "content-length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; length];
        stream.read_exact(&mut body).unwrap();
    }

    // A client that waits for `100 Continue` gets the 413 instead and never
    // has to send its body.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST {mcp} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        5 * MIB
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Shutdown: an idle keep-alive connection does not hold it up, and
    // nothing is accepted afterwards.
    let idle = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    eprintln!("shutdown with an idle connection open took {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "still accepting after shutdown");
    drop(idle);

    // The data directory holds what the host made.
    assert!(dir.0.path().join("state.key").is_file());
    assert!(dir.0.path().join("kv.redb").is_file());
    assert!(dir.0.path().join("objects").is_dir());
}

#[test]
fn restarts_on_the_same_data_dir_keep_the_state_key() {
    let dir = DataDir::new("restart");
    let mut config = Config::new(dir.0.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = smcp_native::spawn(config.clone()).unwrap();
    assert!(server.endpoints.is_empty(), "without dev guests nothing is hosted");
    let key = std::fs::read(dir.0.path().join("state.key")).unwrap();
    // A second server on the same directory is refused while the first runs.
    assert!(smcp_native::spawn(config.clone()).is_err());
    server.stop();
    let server = smcp_native::spawn(config).unwrap();
    assert_eq!(std::fs::read(dir.0.path().join("state.key")).unwrap(), key);
    server.stop();
}

/// Client configurations keep working across `serve --dev` restarts: the
/// banner's admin key is the same on one data directory, and still lets in.
#[test]
fn dev_mode_keeps_its_admin_key_across_restarts() {
    let dir = DataDir::new("dev-key");
    let first = support::serve(dir.0.path(), &["calc"], |_| {});
    let key = first.dev_key.clone().expect("dev mode makes a key");
    first.stop();
    let second = support::serve(dir.0.path(), &["calc"], |_| {});
    assert_eq!(second.dev_key.as_deref(), Some(key.as_str()), "a new key at restart");
    let (status, message) =
        support::dev_tool_call(second.addr, &key, "calc", "add", serde_json::json!({ "a": 2, "b": 3 }));
    assert_eq!((status, message["result"]["content"][0]["text"].as_str()), (200, Some("5")), "{message}");
    let (listed, out, err) =
        support::smcp(&format!("http://127.0.0.1:{}", second.addr.port()), &key, &["keys", "list"]);
    assert!(listed, "{err}");
    assert_eq!(out.matches("dev-mode").count(), 1, "one dev-mode key, not one per start: {out}");
    // Revoked, it does not come back: the next start derives the next one.
    let id = out.lines().find(|l| l.contains("dev-mode")).and_then(|l| l.split_whitespace().next()).unwrap().to_owned();
    let (revoked, _, err) =
        support::smcp(&format!("http://127.0.0.1:{}", second.addr.port()), &key, &["keys", "revoke", &id]);
    assert!(revoked, "{err}");
    second.stop();
    let again = support::serve(dir.0.path(), &["calc"], |_| {});
    let next = again.dev_key.clone().unwrap();
    assert_ne!(next, key, "a revoked dev key came back");
    let (status, _) = support::dev_tool_call(again.addr, &key, "calc", "add", serde_json::json!({ "a": 1, "b": 1 }));
    assert_eq!(status, 401, "the revoked key still lets in");
    again.stop();
    let fourth = support::serve(dir.0.path(), &["calc"], |_| {});
    assert_eq!(fourth.dev_key.as_deref(), Some(next.as_str()), "the next key is stable too");
    fourth.stop();
    // Another data directory has a key of its own.
    let other = DataDir::new("dev-key-other");
    let third = support::serve(other.0.path(), &["calc"], |_| {});
    assert_ne!(third.dev_key.as_deref(), Some(key.as_str()));
    third.stop();
}

#[test]
fn shutdown_lets_requests_in_flight_finish_within_the_grace() {
    let dir = DataDir::new("grace");
    let mut config = Config::new(dir.0.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.shutdown_grace = Duration::from_secs(2);
    let server = smcp_native::spawn(config.clone()).unwrap();
    let addr = server.addr;

    // A request whose body is half sent when shutdown starts.
    let mut in_flight = TcpStream::connect(addr).unwrap();
    in_flight.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        in_flight,
        "POST /nope HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n12345"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let stopping = std::thread::spawn(move || server.stop());
    std::thread::sleep(Duration::from_millis(200));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "no new connections once stopping");
    // The request still completes, and the connection closes after it.
    in_flight.write_all(b"67890").unwrap();
    let head = read_head(&mut in_flight);
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(header_value(&head, "connection"), Some("close"));
    stopping.join().unwrap();
    let took = started.elapsed();
    eprintln!("shutdown with a request in flight took {took:?}");
    assert!(took < Duration::from_secs(2), "it waited for the grace instead of the request: {took:?}");

    // A request that never completes is cut off when the grace runs out.
    let server = smcp_native::spawn(config).unwrap();
    let mut stuck = TcpStream::connect(server.addr).unwrap();
    write!(stuck, "POST /nope HTTP/1.1\r\nHost: {}\r\nContent-Length: 10\r\n\r\n123", server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    server.stop();
    let took = started.elapsed();
    eprintln!("shutdown with a stuck request took {took:?}");
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(4), "{took:?}");
}

/// Reads a response's status line and headers.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "connection closed mid-response: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}
