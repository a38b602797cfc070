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
            tools: None,
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

/// Retention runs by itself: the engine's upkeep prunes records older than
/// the tenant's retention (30 days unless set), a bounded batch a pass,
/// and signs a checkpoint whose anchor is where the kept chain starts.
#[test]
fn old_records_are_pruned_automatically_and_the_rest_checks_against_a_signed_anchor() {
    let (engine, env) = setup();
    let tenant = TenantId::from_static("acme");
    let (key, _) = block_on(ApiKeys::new(&env.memory.kv, HASH_KEY).create(
        &tenant,
        Role::McpUser,
        "ci",
        None,
        0,
        &env.memory.random,
    ))
    .unwrap();
    let day = 86_400_000;
    // Three calls now, two after 20 days.
    for i in 0..3 {
        assert_eq!(call(&engine, &env, &key, "put_note", json!({ "id": format!("a{i}"), "text": "x" })).status, 200);
    }
    block_on(engine.upkeep(env.backends())).unwrap();
    env.memory.clock.advance(20 * day);
    for i in 0..2 {
        assert_eq!(call(&engine, &env, &key, "put_note", json!({ "id": format!("b{i}"), "text": "x" })).status, 200);
    }
    block_on(engine.upkeep(env.backends())).unwrap();
    let kept = |env: &Env| block_on(audit::list(&env.memory.kv, &tenant, 0, 100)).unwrap();
    assert_eq!(kept(&env).len(), 5, "nothing is 30 days old yet");
    // Eleven days on, the first three are past 30 days: the next pass
    // (hourly) removes them and no others.
    env.memory.clock.advance(11 * day);
    block_on(engine.upkeep(env.backends())).unwrap();
    let records = kept(&env);
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4], "{records:?}");
    assert_eq!(block_on(audit::verify(&env.memory.kv, &tenant)), Ok(2));
    let token =
        block_on(audit::checkpoint::latest(&env.memory.kv, &tenant)).unwrap().expect("a checkpoint after pruning");
    let jwks = block_on(smcp_core::oauth::signing_keys::jwks(env.backends(), &tenant)).unwrap();
    let signed = audit::checkpoint::verify_token(&token, &jwks).unwrap();
    assert_eq!((signed.first, signed.seq), (3, 4));
    assert_eq!(signed.anchor, records[0].prev, "the signed anchor is where the kept chain starts");
    assert_eq!(audit::checkpoint::check(&signed, &records), Ok(2));

    // A shorter retention set by the tenant applies on the next pass.
    let settings = smcp_core::deploy::TenantSettings { audit_retention_days: Some(1), ..Default::default() };
    block_on(smcp_core::deploy::records::put_settings(env.backends(), &tenant, &settings)).unwrap();
    env.memory.clock.advance(2 * day);
    block_on(engine.upkeep(env.backends())).unwrap();
    assert!(kept(&env).is_empty(), "{:?}", kept(&env));
    assert_eq!(block_on(audit::verify(&env.memory.kv, &tenant)), Ok(0));
}
