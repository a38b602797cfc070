//! Grants: the files shipped beside the example guests, and the rule that
//! a capability is usable only when the component imports it AND the grant
//! gives it, checked when a server is hosted and again on every call.

use serde_json::json;
use smcp_core::capabilities::Grant;
use smcp_core::engine::{Engine, Hosted};
use smcp_core::guest::{CallToolResult, ToolOutcome};
use smcp_core::names::TenantId;
use smcp_core::platform::HttpResponse;
use smcp_tests::{Env, block_on, load, runtime, shipped_grant};
use std::sync::Arc;

fn engine() -> (Engine, Arc<smcp_core::runtime::Runtime>) {
    let rt = Arc::new(runtime());
    let config = smcp_tests::engine_config(&[]);
    (Engine::new(rt.clone(), config), rt)
}

#[test]
fn shipped_grants_parse_and_cover_their_components() {
    let (engine, rt) = engine();
    for guest in ["calc", "notes", "files", "fetcher", "conformance"] {
        let grant = shipped_grant(guest).unwrap_or_else(|| panic!("{guest} ships no grant.toml"));
        let hosted = Hosted {
            tenant: TenantId::from_static("acme"),
            server: guest.into(),
            component: load(&rt, guest),
            grant,
            tools: None,
        };
        engine.host(hosted).unwrap_or_else(|e| panic!("{guest}: {e}"));
    }
}

#[test]
fn a_component_importing_what_its_grant_omits_is_refused_at_load() {
    let (engine, rt) = engine();
    let cases = [
        ("notes", "version = 1", "smcp:mcp/kv@0.1.2", "[kv] section"),
        ("files", "version = 1\n[kv]", "smcp:mcp/objects@0.1.2", "[objects] section"),
        ("fetcher", "version = 1\n[secrets]\nnames = [\"API_TOKEN\"]", "smcp:mcp/http@0.1.2", "[http] section"),
        (
            "fetcher",
            "version = 1\n[http]\nallowed_hosts = [\"example.com\"]",
            "smcp:mcp/secrets@0.1.2",
            "[secrets] names",
        ),
    ];
    for (guest, grant, interface, section) in cases {
        let hosted = Hosted {
            tenant: TenantId::from_static("acme"),
            server: guest.into(),
            component: load(&rt, guest),
            grant: Grant::from_toml(grant).unwrap(),
            tools: None,
        };
        let error = engine.host(hosted).expect_err(guest).to_string();
        assert!(error.contains(interface) && error.contains(section), "{guest}: {error}");
    }
}

/// Calls a tool of the fetcher guest.
fn call(env: &mut Env, tool: &str, args: serde_json::Value) -> CallToolResult {
    let rt = runtime();
    smcp_tests::call_tool(env, &rt, &load(&rt, "fetcher"), tool, &args)
}

use smcp_tests::first_text as text;

#[test]
fn every_call_is_held_to_the_grant() {
    let grant = Grant::from_toml(
        "version = 1\n[http]\nallowed_hosts = [\"api.example.com\"]\nmethods = [\"GET\"]\nmax_request_bytes = 16\n[secrets]\nnames = [\"API_TOKEN\"]",
    )
    .unwrap();
    let mut env = Env::new("acme", "fetcher", grant);
    env.memory.http.responses.insert(
        "https://api.example.com/x".into(),
        HttpResponse { status: 200, headers: vec![], body: b"ok".to_vec() },
    );
    env.memory.secrets.values.insert(("acme".into(), "fetcher".into(), "OTHER".into()), "nope".into());

    assert!(!call(&mut env, "fetch", json!({ "url": "https://api.example.com/x" })).is_error);
    let refusals = [
        (json!({ "url": "https://api.example.com/x", "method": "POST" }), "method POST is not in the grant's methods"),
        (json!({ "url": "https://other.example.com/x" }), "not in the grant's allowed hosts"),
        (json!({ "url": "http://api.example.com/x" }), "scheme `http` is not allowed"),
    ];
    for (args, expected) in refusals {
        let result = call(&mut env, "fetch", args.clone());
        assert!(result.is_error && text(&result).contains(expected), "{args}: {}", text(&result));
    }
    // Allowed method but a body over the grant's request limit (a GET with a body is still bounded).
    let big = call(&mut env, "fetch", json!({ "url": "https://api.example.com/x", "body": "x".repeat(17) }));
    assert!(big.is_error && text(&big).contains("limited to 16 bytes"), "{}", text(&big));
    // A secret the grant does not name, though the store has it.
    let secret = call(&mut env, "fetch_with_secret", json!({ "url": "https://api.example.com/x", "secret": "OTHER" }));
    assert!(secret.is_error && text(&secret).contains("not granted"), "{}", text(&secret));
    assert_eq!(env.memory.http.requests.borrow().len(), 1, "refused requests never reach the backend");
}

#[test]
fn per_request_quotas_of_kv_and_objects() {
    let grant = Grant::from_toml("version = 1\n[kv]\nmax_ops_per_call = 0\n[objects]\nmax_object_bytes = 4096\nmax_bytes_written_per_call = 2048").unwrap();
    let rt = runtime();
    let mut env = Env::new("acme", "notes", grant);
    let notes = load(&rt, "notes");
    let server = env.server(&rt, &notes);
    let Ok(ToolOutcome::Complete(put)) =
        block_on(server.call_tool(&mut env.host(), "put_note", &json!({ "id": "a", "text": "b" }), &[], None))
    else {
        panic!()
    };
    assert!(put.is_error && text(&put).contains("at most 0 kv operations per request"), "{}", text(&put));
    let files = load(&rt, "files");
    let server = env.server(&rt, &files);
    let args = json!({ "path": "big", "content": "x".repeat(3000) });
    let Ok(ToolOutcome::Complete(write)) = block_on(server.call_tool(&mut env.host(), "write_file", &args, &[], None))
    else {
        panic!()
    };
    assert!(write.is_error && text(&write).contains("at most 2048 bytes written per request"), "{}", text(&write));
    assert!(env.memory.kv.raw_keys().is_empty() && env.memory.objects.raw_keys().is_empty());
}
