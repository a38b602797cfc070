//! Hostile guests: each is stopped with a clear, typed error, and the same
//! runtime then serves a well-behaved guest correctly.

use serde_json::json;
use smcp_core::abi::AbiError;
use smcp_core::capabilities::Grant;
use smcp_core::component::LoadError;
use smcp_core::guest::{CompletionRef, ResourceListing, ServerError, ToolOutcome};
use smcp_core::runtime::{CallError, Limits, Runtime, RuntimeLimits};
use smcp_tests::{Env, block_on, component_bytes, load, runtime};

/// Runs `tool` of guest `name` under `limits` and returns the call error.
fn fails(rt: &Runtime, name: &str, tool: &str, args: serde_json::Value, limits: Limits) -> CallError {
    let component = load(rt, name);
    let mut env = Env::new("acme", name, Grant { limits, ..Grant::default() });
    let server = env.server(rt, &component);
    match block_on(server.call_tool(&mut env.host(), tool, &args, &[], None)) {
        Err(ServerError::Call(error)) => error,
        other => panic!("{name}/{tool} should fail in the sandbox, got {other:?}"),
    }
}

/// The runtime still serves the hostile guest's harmless tool and a
/// well-behaved guest after a failure.
fn still_serves(rt: &Runtime, hostile: &str) {
    let component = load(rt, hostile);
    let mut env = Env::new("acme", hostile, Grant::default());
    let pong = block_on(env.server(rt, &component).call_tool(&mut env.host(), "ping", &json!({}), &[], None));
    assert!(matches!(pong, Ok(ToolOutcome::Complete(ref r)) if !r.is_error), "{pong:?}");
    let calc = load(rt, "calc");
    let mut env = Env::new("acme", "calc", Grant::default());
    let sum = block_on(env.server(rt, &calc).call_tool(&mut env.host(), "add", &json!({"a": 1, "b": 2}), &[], None));
    match sum {
        Ok(ToolOutcome::Complete(result)) => assert_eq!(result.structured_content, Some(json!({"sum": 3.0}))),
        other => panic!("calc after {hostile}: {other:?}"),
    }
}

#[test]
fn infinite_loop_stops_at_the_fuel_limit() {
    let rt = runtime();
    let limits = Limits { fuel: 5_000_000, ..Limits::DEFAULT };
    let error = fails(&rt, "hostile-loop", "spin", json!({}), limits);
    assert_eq!(error, CallError::FuelExhausted { limit: 5_000_000 });
    assert!(error.to_string().contains("ran out of fuel"));
    still_serves(&rt, "hostile-loop");
}

#[test]
fn fuel_handed_out_in_slices_is_counted_exactly() {
    // Long calls get their fuel a slice at a time, yielding in between;
    // what they burn, and where they stop, must not change.
    let whole = Runtime::new(RuntimeLimits { fuel_slice: 0, ..Default::default() }).unwrap();
    let sliced = Runtime::new(RuntimeLimits { fuel_slice: 10_000, ..Default::default() }).unwrap();
    let mut burned = vec![];
    for rt in [&whole, &sliced] {
        let calc = load(rt, "calc");
        let mut env = Env::new("acme", "calc", Grant::default());
        let server = env.server(rt, &calc);
        // The first call translates the functions it runs.
        block_on(server.call_tool(&mut env.host(), "fib", &json!({ "n": 200_000 }), &[], None)).expect("fib runs");
        let mut host = env.host();
        let outcome =
            block_on(server.call_tool(&mut host, "fib", &json!({ "n": 200_000 }), &[], None)).expect("fib runs");
        assert!(matches!(outcome, ToolOutcome::Complete(ref r) if !r.is_error), "{outcome:?}");
        burned.push(host.fuel());
    }
    assert!(burned[0] > 1_000_000, "fib burns many slices: {burned:?}");
    assert_eq!(burned[0], burned[1], "the same fuel whole or sliced");
    let limits = Limits { fuel: 5_000_000, ..Limits::DEFAULT };
    assert_eq!(
        fails(&sliced, "hostile-loop", "spin", json!({}), limits),
        CallError::FuelExhausted { limit: 5_000_000 }
    );
}

#[test]
fn memory_bomb_stops_at_the_memory_limit() {
    let rt = runtime();
    let limits = Limits { memory_bytes: 16 << 20, ..Limits::DEFAULT };
    let error = fails(&rt, "hostile-membomb", "grow", json!({}), limits);
    assert_eq!(error, CallError::MemoryLimit { limit: 16 << 20 });
    assert!(error.to_string().contains("memory limit"));
    still_serves(&rt, "hostile-membomb");
}

#[test]
fn deep_recursion_stops_cleanly() {
    let rt = runtime();
    // Without locals in linear memory: wasmi's own call-depth limit.
    assert_eq!(fails(&rt, "hostile-recursion", "recurse", json!({}), Limits::DEFAULT), CallError::StackOverflow);
    // With 1 KiB frames: the guest's shadow stack runs out first and the
    // guest traps on a store below its memory; either way a clean error.
    let smash = fails(&rt, "hostile-recursion", "smash", json!({}), Limits::DEFAULT);
    assert!(
        matches!(smash, CallError::StackOverflow)
            || matches!(&smash, CallError::Trap(msg) if msg.contains("out of bounds")),
        "{smash:?}"
    );
    still_serves(&rt, "hostile-recursion");
}

#[test]
fn huge_output_is_cut_off() {
    let rt = runtime();
    let limits = Limits { memory_bytes: 512 << 20, output_bytes: 1 << 20, fuel: 2_000_000_000, ..Limits::DEFAULT };
    let error = fails(&rt, "hostile-output", "flood", json!({"mib": 64}), limits);
    assert_eq!(error, CallError::OutputTooLarge { limit: 1 << 20 });
    still_serves(&rt, "hostile-output");
}

#[test]
fn undeclared_import_is_refused_at_load_with_its_name() {
    let rt = runtime();
    let error = rt.load(&component_bytes("hostile-import")).unwrap_err();
    match &error {
        LoadError::ForbiddenImport(name) => assert!(name.starts_with("evil:fs/files"), "{name}"),
        other => panic!("expected a forbidden import, got {other:?}"),
    }
    assert!(error.to_string().contains("evil:fs/files"));
    still_serves(&rt, "hostile-loop");
}

#[test]
fn a_core_feature_the_engine_leaves_out_is_refused_at_load() {
    // Valid WebAssembly with a tail call, which the engine is built without.
    let error = runtime().load(&component_bytes("tail-call")).unwrap_err();
    assert!(matches!(error, LoadError::Compile(_)), "{error:?}");
}

#[test]
fn core_imports_the_component_type_does_not_declare_are_refused() {
    // The attack: a core module importing `kv` functions while the
    // component's type, which review and the grant check read, declares no
    // kv. Made here from notes (which does import kv) by taking kv out of
    // what its type declares.
    let rt = runtime();
    let bytes = component_bytes("notes");
    let mut prepared = smcp_core::component::prepare(&bytes, rt.world(), 16 << 20).unwrap();
    assert!(prepared.imports.iter().any(|i| i.starts_with("smcp:mcp/kv@")), "{:?}", prepared.imports);
    prepared.imports.retain(|i| !i.starts_with("smcp:mcp/kv@"));
    match rt.load_prepared(prepared).unwrap_err() {
        LoadError::UndeclaredImport { module, .. } => assert!(module.starts_with("smcp:mcp/kv@"), "{module}"),
        other => panic!("expected an undeclared import, got {other:?}"),
    }
    // As declared, notes loads.
    assert!(runtime().load(&bytes).is_ok());
}

#[test]
fn lying_realloc_is_an_error() {
    let rt = runtime();
    let component = load(&rt, "lying-realloc");
    let mut env = Env::new("acme", "lying-realloc", Grant::default());
    let server = env.server(&rt, &component);
    let bad_realloc = |result: Result<_, ServerError>, problem: &str| match result {
        Err(ServerError::Call(CallError::Abi(AbiError::BadRealloc { problem: p, .. }))) => assert_eq!(p, problem),
        other => panic!("expected a lying realloc ({problem}), got {other:?}"),
    };
    // The arguments string gets a range that ends past memory.
    bad_realloc(block_on(server.call_tool(&mut env.host(), "x", &json!({}), &[], None)).map(drop), "out of bounds");
    // The prompt's argument list gets a misaligned pointer.
    let args = [("a".to_string(), "b".to_string())];
    bad_realloc(block_on(server.get_prompt(&mut env.host(), "p", &args, &[], None)).map(drop), "misaligned");
    still_serves(&rt, "hostile-loop");
}

#[test]
fn invalid_utf8_is_an_error() {
    let rt = runtime();
    let component = load(&rt, "bad-utf8");
    let mut env = Env::new("acme", "bad-utf8", Grant::default());
    let server = env.server(&rt, &component);
    let invalid = |what: &str, result: Result<(), ServerError>| {
        assert_eq!(result, Err(ServerError::Call(CallError::Abi(AbiError::InvalidUtf8))), "{what}");
    };
    invalid("list-tools", block_on(server.list_tools(&mut env.host())).map(drop));
    invalid("call-tool", block_on(server.call_tool(&mut env.host(), "x", &json!({}), &[], None)).map(drop));
    invalid("list-prompts", block_on(server.list_prompts(&mut env.host())).map(drop));
    invalid("read-resource", block_on(server.read_resource(&mut env.host(), "bad://utf8")).map(drop));
    invalid("get-prompt", block_on(server.get_prompt(&mut env.host(), "p", &[], &[], None)).map(drop));
    let reference = CompletionRef::Prompt("p".into());
    invalid("complete", block_on(server.complete(&mut env.host(), &reference, ("a", ""), &[])).map(drop));
    // A 0.1.0 server: its whole list, for the host to page.
    assert_eq!(block_on(server.list_resources(&mut env.host(), None)), Ok(ResourceListing::All(vec![])));
    still_serves(&rt, "hostile-loop");
}

#[test]
fn bytes_that_are_not_components_are_refused() {
    let rt = runtime();
    assert_eq!(rt.load(b"hello").unwrap_err(), LoadError::NotAComponent);
    let core_module = b"\0asm\x01\0\0\0";
    assert_eq!(rt.load(core_module).unwrap_err(), LoadError::NotAComponent);
    let mut truncated = component_bytes("calc");
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(rt.load(&truncated).unwrap_err(), LoadError::Invalid(_)));
    let mut flipped = component_bytes("calc");
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    // A flipped byte may still validate; it must never panic.
    let _ = rt.load(&flipped);
}

#[test]
fn components_are_keyed_by_digest() {
    let rt = runtime();
    let a = load(&rt, "calc");
    let b = load(&rt, "calc");
    assert!(std::sync::Arc::ptr_eq(&a, &b), "second load comes from the cache");
    assert_eq!(a.digest().to_hex(), blake3_hex(&component_bytes("calc")));
    assert_ne!(a.digest(), load(&rt, "notes").digest());
    assert!(a.prepared.modules.iter().all(|m| m.starts_with(b"\0asm")));
    let lift = &a.prepared.recipe.lifts["smcp:mcp/server@0.1.2#list-tools"];
    assert!(lift.post_return.is_some() && lift.memory.is_some(), "{lift:?}");
}

fn blake3_hex(bytes: &[u8]) -> String {
    smcp_core::component::Digest::of(bytes).to_hex()
}
