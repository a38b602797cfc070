//! Requests the host refuses, over real HTTP against the native server.
//! Callers without credentials cannot make it store anything: requests
//! naming tenants that do not exist (or names no tenant could have) get 404
//! before any authentication work and leave no record; refusals for a
//! tenant that exists are counted into a bounded number of audit records,
//! not one each. Ambiguous requests (two credentials, two session ids, two
//! hosts) are refused with 400 instead of served by whichever part reads
//! first.

mod support;

use serde_json::Value;
use smcp_core::platform::KvStore;
use smcp_native::{Background, RedbKv, SystemClock};
use std::path::Path;

fn start(data: &Path) -> Background {
    support::serve(data, &["calc"], |_| {})
}

/// POSTs an unauthenticated `tools/list` to `path`: status and body.
fn post(host: &Background, path: &str) -> (u16, Value) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let (status, body) = support::http1(host.addr, head.as_bytes(), body.as_bytes()).unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Every key in the server's KV store (read after it stopped).
fn stored_keys(data: &Path) -> Vec<String> {
    let kv = RedbKv::open(&data.join("kv.redb"), std::sync::Arc::new(SystemClock)).unwrap();
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = futures::executor::block_on(kv.list("", cursor.as_deref(), 1000)).unwrap();
        keys.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return keys,
        }
    }
}

/// A name that passes the tenant rules: 63 of [a-z0-9], from `seed`.
fn random_tenant(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..63)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char
        })
        .collect()
}

#[test]
fn requests_for_tenants_nobody_created_store_nothing() {
    let data = tempfile::Builder::new().prefix("smcp-unknown-tenants-").tempdir().unwrap();
    let host = start(data.path());
    // The dev tenant's key, its deployment, and the trail of both.
    let (status, _) = post(&host, "/t/dev/s/calc/mcp");
    assert_eq!(status, 401, "a tenant that exists asks for credentials");
    host.stop();
    let before = stored_keys(data.path());

    let host = start(data.path());
    for n in 0..500 {
        let (status, body) = post(&host, &format!("/t/{}/s/x/mcp", random_tenant(n)));
        assert_eq!(status, 404, "{body}");
    }
    // Names no tenant or server could have: too long, other characters.
    for path in [
        format!("/t/{}/s/x/mcp", "a".repeat(4000)),
        "/t/Dev/s/calc/mcp".into(),
        "/t/dev/s/calc_/mcp".into(),
        "/t/-x/s/calc/mcp".into(),
    ] {
        let (status, body) = post(&host, &path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.to_string().len() < 300, "the error does not echo the name: {body}");
    }
    // The authorization server and the admin API of a tenant nobody created.
    let (status, _) = post(&host, &format!("/oauth/{}/register", random_tenant(1)));
    assert_eq!(status, 404);
    let (status, _) = post(&host, &format!("/admin/v1/tenants/{}/keys", random_tenant(2)));
    assert_eq!(status, 404);
    host.stop();
    let after = stored_keys(data.path());
    // A restart may record itself; nothing names another tenant.
    let foreign: Vec<&String> = after.iter().filter(|k| !before.contains(k) && !k.contains("/dev/")).collect();
    assert!(foreign.is_empty(), "stored for tenants nobody created: {:?}", &foreign[..foreign.len().min(5)]);
}

#[test]
fn refusals_for_a_tenant_are_counted_not_recorded_one_by_one() {
    let data = tempfile::Builder::new().prefix("smcp-refusals-").tempdir().unwrap();
    let host = start(data.path());
    // One address may be refused 100 times at once (then 10 a second);
    // past that it is turned away before any authentication work.
    let statuses: Vec<u16> = (0..300).map(|_| post(&host, "/t/dev/s/calc/mcp").0).collect();
    assert!(statuses[..100].iter().all(|s| *s == 401), "{statuses:?}");
    let turned_away = statuses[100..].iter().filter(|s| **s == 429).count();
    assert!(turned_away >= 150, "only {turned_away} of the last 200 were turned away: {statuses:?}");
    let refused = statuses.iter().filter(|s| **s == 401).count() as u64;
    host.stop();
    let records: Vec<String> = stored_keys(data.path()).into_iter().filter(|k| k.starts_with("audit/dev/r/")).collect();
    let kv = RedbKv::open(&data.path().join("kv.redb"), std::sync::Arc::new(SystemClock)).unwrap();
    let refused_count = refused;
    let mut refused = Vec::new();
    for key in &records {
        let bytes = futures::executor::block_on(kv.get(key)).unwrap().unwrap();
        let record: Value = serde_json::from_slice(&bytes).unwrap();
        if record["kind"] == "auth.refused" {
            refused.push(record["detail"]["count"].as_u64().unwrap_or(0));
        }
    }
    // The first at once, the others in one record written at shutdown.
    assert_eq!(refused, [1, refused_count - 1], "refusal records and their counts");
}

/// Sends `head` (request line and headers, without the blank line) with an
/// empty JSON body: the status and body.
fn raw(host: &Background, head: &str) -> (u16, String) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let head = format!(
        "{head}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let (status, body) = support::http1(host.addr, head.as_bytes(), body.as_bytes()).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn ambiguous_credential_and_routing_headers_are_refused() {
    let data = tempfile::Builder::new().prefix("smcp-headers-").tempdir().unwrap();
    let host = start(data.path());
    let key = host.dev_key.clone().unwrap();
    let post = "POST /t/dev/s/calc/mcp HTTP/1.1\r\naccept: application/json, text/event-stream";
    let cases = [
        (
            format!("{post}\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nauthorization: Bearer smcp_dev_x"),
            400,
            "more than one authorization header",
        ),
        (
            format!("{post}\r\nhost: localhost\r\nhost: evil.example\r\nauthorization: Bearer {key}"),
            400,
            "more than one host header",
        ),
        (
            format!(
                "{post}\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nmcp-session-id: a\r\nmcp-session-id: b"
            ),
            400,
            "more than one mcp-session-id header",
        ),
        (format!("{post}\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nx-api-key: {key}"), 401, "one header"),
        (format!("{post}\r\nhost: localhost\r\nx-api-key: eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), 401, "X-API-Key"),
    ];
    for (head, status, says) in cases {
        let (got, body) = raw(&host, &head);
        assert_eq!(got, status, "{head}: {body}");
        assert!(body.contains(says), "{head}: {body}");
    }
    // The same request once, with one of each, is served.
    let (got, body) = raw(
        &host,
        &format!(
            "{post}\r\nhost: localhost\r\nauthorization: Bearer {key}\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/list"
        ),
    );
    assert!(got != 401 && !body.contains("more than one"), "{got}: {body}");
    host.stop();
}
