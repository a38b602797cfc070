//! The audit trail as the engine writes it: tool calls and refused
//! requests are recorded without secrets, the chain verifies, and
//! tampering with a record or the order names the first broken record.

use serde_json::{Value, json};
use smcp_core::audit::{self, AuditError};
use smcp_core::auth::Role;
use smcp_core::auth::api_keys::ApiKeys;
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::kv::grant::KvGrant;
use smcp_core::engine::{Engine, Hosted};
use smcp_core::http::Response;
use smcp_core::names::TenantId;
use smcp_core::platform::KvStore;
use smcp_tests::{Env, block_on, load, runtime};
use std::sync::Arc;

const HASH_KEY: [u8; 32] = smcp_tests::TEST_HASH_KEY;

fn setup() -> (Engine, Env) {
    let rt = Arc::new(runtime());
    let config = smcp_tests::engine_config(&[]);
    let engine = Engine::new(rt.clone(), config);
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    engine
        .host(Hosted {
            tenant: TenantId::from_static("acme"),
            server: "notes".into(),
            component: load(&rt, "notes"),
            grant: grant.clone(),
        })
        .unwrap();
    (engine, Env::new("acme", "notes", grant))
}

fn call(engine: &Engine, env: &Env, key: &str, tool: &str, arguments: Value) -> Response {
    let request = smcp_tests::current_request(
        "/t/acme/s/notes/mcp",
        key,
        "tools/call",
        json!({ "name": tool, "arguments": arguments }),
    );
    block_on(engine.handle(request, env.backends()))
}

#[test]
fn tool_calls_and_refusals_are_recorded_and_chained() {
    let (engine, env) = setup();
    let (key, record) = block_on(ApiKeys::new(&env.memory.kv, HASH_KEY).create(
        &TenantId::from_static("acme"),
        Role::McpUser,
        "ci",
        None,
        0,
        &env.memory.random,
    ))
    .unwrap();
    assert_eq!(call(&engine, &env, &key, "put_note", json!({ "id": "a", "text": "secret text" })).status, 200);
    assert_eq!(call(&engine, &env, &key, "get_note", json!({ "id": "missing" })).status, 200);
    let forged = format!("smcp_acme_{}", "dead".repeat(16));
    assert_eq!(call(&engine, &env, &forged, "get_note", json!({ "id": "a" })).status, 401);

    let records = block_on(audit::list(&env.memory.kv, &TenantId::from_static("acme"), 0, 100)).unwrap();
    let summary: Vec<(String, Option<String>, Value)> = records
        .iter()
        .map(|r| {
            (
                r.event.kind.clone(),
                r.event.principal.clone(),
                r.event.detail.get("outcome").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let who = Some(format!("key:{}", record.id));
    assert_eq!(
        summary,
        [
            ("tool.call".to_string(), who.clone(), json!("ok")),
            ("tool.call".to_string(), who, json!("tool_error")),
            ("auth.refused".to_string(), None, Value::Null),
        ]
    );
    assert_eq!(records[0].event.detail["tool"], "put_note");
    assert!(
        records[0].event.detail["fuel"].as_u64().is_some_and(|f| f > 1000),
        "fuel burned is recorded: {}",
        records[0].event.detail
    );
    assert_eq!(records[2].event.detail["reason"], "unknown API key");
    let stored = serde_json::to_string(&records).unwrap();
    for secret in [&key[10..], &forged[10..], "secret text"] {
        assert!(!stored.contains(secret), "the trail holds a secret or an argument");
    }
    assert_eq!(block_on(audit::verify(&env.memory.kv, &TenantId::from_static("acme"))), Ok(3));

    // Changing a record, then swapping two: each time the first broken one is named.
    let path = |seq: u64| format!("audit/acme/r/{seq:020}");
    let original = block_on(env.memory.kv.get(&path(1))).unwrap().unwrap();
    let altered = String::from_utf8(original.clone()).unwrap().replace("tool_error", "ok");
    block_on(env.memory.kv.set(&path(1), altered.into_bytes(), None)).unwrap();
    assert_eq!(
        block_on(audit::verify(&env.memory.kv, &TenantId::from_static("acme"))),
        Err(AuditError::Broken { seq: 1, why: "altered" })
    );
    block_on(env.memory.kv.set(&path(1), original.clone(), None)).unwrap();
    let first = block_on(env.memory.kv.get(&path(0))).unwrap().unwrap();
    block_on(env.memory.kv.set(&path(0), original, None)).unwrap();
    block_on(env.memory.kv.set(&path(1), first, None)).unwrap();
    assert_eq!(
        block_on(audit::verify(&env.memory.kv, &TenantId::from_static("acme"))),
        Err(AuditError::Broken { seq: 0, why: "out of order" })
    );
}
