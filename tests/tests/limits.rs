//! Bounds on what clients and guests can make the host hold: compiled
//! modules (by count and by weight, least recently used first) and legacy
//! sessions per principal. (Running calls per tenant: host/native/tests/
//! limits.rs, which needs calls really in flight at once.)

use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::engine::{Engine, Hosted};
use smcp_core::http::{Body, Request};
use smcp_core::names::TenantId;
use smcp_core::runtime::{Runtime, RuntimeLimits};
use smcp_tests::{Env, block_on, component_bytes, load, runtime};
use std::sync::Arc;

#[test]
fn the_module_cache_is_bounded_by_weight_and_keeps_what_is_used() {
    let calc = component_bytes("calc");
    let notes = component_bytes("notes");
    let files = component_bytes("files");
    // Room for two of the three (each counts about three times its size).
    let two = (calc.len() + notes.len()) * 3 + 4096;
    let runtime = Runtime::new(RuntimeLimits { module_cache_bytes: two, ..RuntimeLimits::default() }).unwrap();
    let first = runtime.load(&calc).unwrap();
    runtime.load(&notes).unwrap();
    // calc used again: notes is now the least recently used.
    assert!(Arc::ptr_eq(&first, &runtime.load(&calc).unwrap()), "a cache hit");
    runtime.load(&files).unwrap();
    let (count, bytes) = runtime.cache_usage();
    assert!(bytes <= two, "{bytes} bytes cached, bound {two}");
    assert_eq!(count, 2);
    assert!(Arc::ptr_eq(&first, &runtime.load(&calc).unwrap()), "calc, used recently, stayed");
    // An evicted component loads again, and works.
    let again = runtime.load(&notes).unwrap();
    assert_eq!(again.digest(), smcp_core::component::Digest::of(&notes));
}

fn send(
    engine: &Engine,
    env: &Env,
    method: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut all: Vec<(String, String)> = [
        ("host", "localhost"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ]
    .iter()
    .chain(headers)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    all.dedup_by(|a, b| a.0 == b.0);
    let request = Request {
        method: method.into(),
        path: "/t/acme/s/calc/mcp".into(),
        query: String::new(),
        headers: all,
        body: body.to_string().into_bytes(),
        client: None,
        new_session_id: None,
    };
    let response = block_on(engine.handle(request, env.backends()));
    let session = response.headers.iter().find(|(k, _)| k == "mcp-session-id").map(|(_, v)| v.clone());
    let body = match &response.body {
        Body::Json(bytes) => serde_json::from_slice(bytes).unwrap(),
        _ => Value::Null,
    };
    (response.status, body, session)
}

#[test]
fn a_principal_holds_at_most_its_quota_of_sessions() {
    let rt = Arc::new(runtime());
    let mut config = smcp_tests::engine_config(&[("acme", "calc")]);
    config.quotas.sessions_per_principal = 3;
    let engine = Engine::new(rt.clone(), config);
    engine
        .host(Hosted {
            tenant: TenantId::from_static("acme"),
            server: "calc".into(),
            component: load(&rt, "calc"),
            grant: Grant::default(),
            tools: None,
        })
        .unwrap();
    let env = Env::new("acme", "calc", Grant::default());
    let initialize = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let sessions: Vec<String> =
        (0..3).map(|_| send(&engine, &env, "POST", &[], &initialize).2.expect("a session")).collect();
    let (status, refused, session) = send(&engine, &env, "POST", &[], &initialize);
    assert_eq!((status, session), (429, None), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("3 sessions are open"), "{refused}");
    // Ending one makes room; the others still work.
    let (status, _, _) = send(
        &engine,
        &env,
        "DELETE",
        &[("mcp-session-id", &sessions[0]), ("mcp-protocol-version", "2025-11-25")],
        &Value::Null,
    );
    assert_eq!(status, 200);
    assert!(send(&engine, &env, "POST", &[], &initialize).2.is_some());
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let (status, listed, _) =
        send(&engine, &env, "POST", &[("mcp-session-id", &sessions[1]), ("mcp-protocol-version", "2025-11-25")], &list);
    assert_eq!(status, 200, "{listed}");
}
