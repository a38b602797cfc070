//! A guest trying to leave its tenant's space: another tenant's keys and
//! objects, keys crafted to climb out of the prefix, oversized values.
//! Each attempt is refused with a clear error or finds nothing, and leaves
//! the other tenant's data untouched.

use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::{kv::grant::KvGrant, objects::grant::ObjectsGrant};
use smcp_core::guest::CallToolResult;
use smcp_core::names::TenantId;
use smcp_core::platform::Scope;
use smcp_tests::{Env, load, runtime};

fn grant() -> Grant {
    Grant {
        kv: Some(KvGrant { max_value_bytes: 1024, ..KvGrant::default() }),
        objects: Some(ObjectsGrant { max_object_bytes: 2048, ..ObjectsGrant::default() }),
        ..Grant::default()
    }
}

fn call(env: &mut Env, guest: &str, tool: &str, args: Value) -> CallToolResult {
    let rt = runtime();
    smcp_tests::call_tool(env, &rt, &load(&rt, guest), tool, &args)
}

fn text(result: &CallToolResult) -> String {
    smcp_tests::first_text(result).to_owned()
}

fn act_as(env: &mut Env, tenant: &str, server: &str) {
    env.scope = Scope { tenant: TenantId::parse(tenant).unwrap(), server: server.into(), request: "test".into() };
}

#[test]
fn one_tenant_cannot_see_anothers_keys_or_objects() {
    let mut env = Env::new("alice", "notes", grant());
    assert!(!call(&mut env, "notes", "put_note", json!({ "id": "diary", "text": "alice's secret" })).is_error);
    act_as(&mut env, "alice", "files");
    assert!(
        !call(&mut env, "files", "write_file", json!({ "path": "plans.txt", "content": "alice's plans" })).is_error
    );

    // Bob runs the same components: same key names, other tenant.
    act_as(&mut env, "bob", "notes");
    let read = call(&mut env, "notes", "get_note", json!({ "id": "diary" }));
    assert!(read.is_error && text(&read).contains("no note"), "{read:?}");
    assert_eq!(text(&call(&mut env, "notes", "list_notes", json!({}))), "no notes");
    act_as(&mut env, "bob", "files");
    assert!(call(&mut env, "files", "read_file", json!({ "path": "plans.txt" })).is_error);
    // Climbing out of the prefix with the names of alice's keys.
    for path in [
        "../../../alice/s/files/objects/plans.txt",
        "..%2f..%2falice/plans.txt",
        "/t/alice/s/files/objects/plans.txt",
        "a//b",
        "x/./y",
    ] {
        let escape = call(&mut env, "files", "read_file", json!({ "path": path }));
        assert!(escape.is_error && text(&escape).contains("invalid input"), "{path}: {}", text(&escape));
        let write = call(&mut env, "files", "write_file", json!({ "path": path, "content": "overwrite" }));
        assert!(write.is_error, "{path}");
    }
    act_as(&mut env, "bob", "notes");
    for id in ["../../../alice/s/notes/kv/note:diary", "a\\..\\b", "%2e%2e/x"] {
        let escape = call(&mut env, "notes", "put_note", json!({ "id": id, "text": "overwrite" }));
        assert!(escape.is_error && text(&escape).contains("invalid input"), "{id}: {}", text(&escape));
    }

    // Alice's data is untouched, and every stored key is under its owner's prefix.
    act_as(&mut env, "alice", "notes");
    assert_eq!(text(&call(&mut env, "notes", "get_note", json!({ "id": "diary" }))), "alice's secret");
    assert_eq!(env.memory.kv.raw_keys(), ["t/alice/s/notes/kv/note:diary"]);
    assert_eq!(env.memory.objects.raw_keys(), ["t/alice/s/files/objects/plans.txt"]);
}

#[test]
fn oversized_values_are_refused_whole() {
    let mut env = Env::new("alice", "notes", grant());
    let big = call(&mut env, "notes", "put_note", json!({ "id": "big", "text": "x".repeat(2000) }));
    assert!(big.is_error && text(&big).contains("too large"), "{}", text(&big));
    act_as(&mut env, "alice", "files");
    let big = call(&mut env, "files", "write_file", json!({ "path": "big", "content": "y".repeat(4000) }));
    assert!(big.is_error && text(&big).contains("too large"), "{}", text(&big));
    assert!(
        env.memory.kv.raw_keys().is_empty() && env.memory.objects.raw_keys().is_empty(),
        "nothing partial was stored"
    );
}
