//! The native server on several serving threads, over real HTTP: every
//! request below goes out on a fresh connection, so the kernel spreads
//! them over the threads (`/metrics` shows each thread served some), and
//! what one thread changes is what every thread sees: a key revoked
//! through one is refused by all (though each had it in the key cache from
//! the calls before), a legacy session opened on one is served
//! by any, and concurrent calls on all of them leave one verifiable audit
//! trail in order.

mod support;

use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{DevHost, dev_tool_call, http1, smcp};

const THREADS: usize = 2;
/// Fresh connections per phase: with the kernel's hashing over source
/// ports, every thread gets some.
const CONNECTIONS: usize = 40;

fn host() -> DevHost {
    DevHost::start(&["calc"], |config| {
        config.threads = THREADS;
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        // Many calls from one key in a moment: not what this is about.
        let plenty = smcp_core::auth::rate::Limit { burst: 100_000.0, per_second: 100_000.0 };
        config.rate_limits.per_principal = plenty;
        config.rate_limits.per_tenant = plenty;
    })
}

/// Requests each serving thread has answered, from `/metrics`.
fn served_by_thread(host: &DevHost) -> Vec<u64> {
    let metrics = host.server.metrics_addr.expect("metrics are served");
    let head = b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    let (status, body) = http1(metrics, head, b"").unwrap();
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let served: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("smcp_thread_requests_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(served.len(), THREADS, "{text}");
    served
}

/// Asserts every thread answered some of the requests made since `before`.
fn every_thread_served_since(host: &DevHost, before: &[u64]) {
    let after = served_by_thread(host);
    let spread: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert!(spread.iter().all(|n| *n > 0), "requests per thread: {spread:?}");
}

/// The status of a `tools/call` with `key` (the body is not JSON-RPC when
/// the key is refused).
fn call_status(addr: SocketAddr, key: &str) -> u16 {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "add", "arguments": {"a": 1, "b": 2},
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string();
    let head = format!(
        "POST /t/dev/s/calc/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\n\
         mcp-name: add\r\nauthorization: Bearer {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    http1(addr, head.as_bytes(), body.as_bytes()).unwrap().0
}

#[test]
fn a_revocation_is_seen_by_every_thread() {
    let host = host();
    let (made, key, err) = smcp(&host.url(), host.key(), &["keys", "create", "--role", "mcp-user", "--name", "spread"]);
    assert!(made, "{err}");
    let key = key.trim().to_owned();
    let before = served_by_thread(&host);
    for _ in 0..CONNECTIONS {
        assert_eq!(call_status(host.addr(), &key), 200);
    }
    every_thread_served_since(&host, &before);

    let (listed, out, err) = smcp(&host.url(), host.key(), &["keys", "list"]);
    assert!(listed, "{err}");
    let id = out.lines().find(|l| l.ends_with("spread")).and_then(|l| l.split_whitespace().next()).unwrap().to_owned();
    let (revoked, _, err) = smcp(&host.url(), host.key(), &["keys", "revoke", &id]);
    assert!(revoked, "{err}");
    let before = served_by_thread(&host);
    for i in 0..CONNECTIONS {
        assert_eq!(call_status(host.addr(), &key), 401, "request {i} after the revocation");
    }
    every_thread_served_since(&host, &before);
    host.stop();
}

/// The JSON-RPC message of a response: plain JSON, or the first `data:`
/// of an event stream.
fn message(response: reqwest::blocking::Response) -> Value {
    let text = response.text().unwrap();
    let json = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or(&text);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_legacy_session_is_served_from_any_thread() {
    let host = host();
    // No idle connections kept: each request connects anew.
    let http = reqwest::blocking::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let post = |session: Option<&str>, body: Value| {
        let mut request = http
            .post(host.endpoint("calc"))
            .bearer_auth(host.key())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(session) = session {
            request = request.header("mcp-session-id", session).header("mcp-protocol-version", "2025-11-25");
        }
        request.send().unwrap()
    };
    let opened = post(
        None,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "threads", "version": "1"}}}),
    );
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let _ = message(opened);
    let initialized = post(Some(&session), json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(initialized.status(), 202);

    let before = served_by_thread(&host);
    for i in 0..CONNECTIONS {
        let answer = message(post(
            Some(&session),
            json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": i, "b": 1}}}),
        ));
        assert_eq!(answer["result"]["structuredContent"], json!({"sum": (i + 1) as f64}), "{answer}");
    }
    every_thread_served_since(&host, &before);

    // Ended through whichever thread: gone for all.
    let ended = http.delete(host.endpoint("calc")).bearer_auth(host.key()).header("mcp-session-id", &session).send();
    assert!(ended.unwrap().status().is_success());
    for _ in 0..8 {
        let gone = post(
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 1}}}),
        );
        assert_eq!(gone.status(), 404, "an ended session is unknown to every thread");
    }
    host.stop();
}

#[test]
fn concurrent_calls_on_every_thread_leave_one_trail_in_order() {
    let host = host();
    let (addr, key) = (host.addr(), host.key().to_owned());
    let before = served_by_thread(&host);
    let callers: Vec<_> = (0..8)
        .map(|caller| {
            let key = key.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let (status, answer) = dev_tool_call(addr, &key, "calc", "add", json!({"a": caller, "b": i}));
                    assert_eq!(status, 200, "{answer}");
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    every_thread_served_since(&host, &before);
    let (verified, out, err) = smcp(&host.url(), host.key(), &["audit", "verify"]);
    assert!(verified, "the trail verifies: {out}{err}");
    let (status, body) = http1(
        addr,
        format!(
            "GET /admin/v1/tenants/dev/audit?limit=500 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {key}\r\n\r\n"
        )
        .as_bytes(),
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    let records: Value = serde_json::from_slice(&body).unwrap();
    let calls = records["records"].as_array().unwrap().iter().filter(|r| r["kind"] == "tool.call").count();
    assert_eq!(calls, 80, "every call recorded once");
    host.stop();
}

/// A second server on a port one already serves fails to start, rather
/// than joining the first one's sockets and taking some of its connections.
#[test]
fn a_second_server_cannot_share_the_port() {
    let first = host();
    let data = tempfile::tempdir().unwrap();
    let mut config = smcp_native::Config::new(data.path());
    config.listen = first.addr();
    config.threads = THREADS;
    let refused = smcp_native::spawn(config).err().expect("the port is taken");
    assert!(refused.to_string().contains("listening on"), "{refused:#}");
    assert_eq!(call_status(first.addr(), first.key()), 200, "the first server keeps serving");
    first.stop();
}
