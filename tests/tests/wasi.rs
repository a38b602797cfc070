//! Guests built by standard toolchains: the JavaScript guests
//! (componentize-js), which import WASI, run in the sandbox with the WASI
//! subset served on top of the capabilities, and hostile uses of it end
//! with the errors the capabilities give, after which the runtime serves
//! on; the Python guest (componentize-py, CPython in many core modules
//! sharing one memory) runs too.

use serde_json::json;
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::Notification;
use smcp_core::capabilities::log::MAX_LOG_LINES_PER_CALL;
use smcp_core::guest::ServerError;
use smcp_core::runtime::{CallError, Limits};
use smcp_tests::{Env, block_on, call_tool, load, runtime, shipped_grant};

#[test]
fn a_javascript_guest_reaches_kv_and_its_wasi_maps_onto_capabilities() {
    let rt = runtime();
    let component = load(&rt, "notes-js");
    let wasi: Vec<_> = component.prepared.imports.iter().filter(|i| i.starts_with("wasi:")).collect();
    assert!(wasi.iter().any(|i| i.starts_with("wasi:cli/stdout@0.2.")), "{wasi:?}");
    assert!(!wasi.iter().any(|i| i.starts_with("wasi:sockets") || i.starts_with("wasi:http")), "{wasi:?}");
    // Built against the kv-server world: kv, and none of the other
    // capabilities that need a grant.
    let smcp: Vec<_> = component.prepared.imports.iter().filter(|i| i.starts_with("smcp:")).collect();
    assert!(smcp.iter().any(|i| i.starts_with("smcp:mcp/kv@")), "{smcp:?}");
    assert!(
        !smcp.iter().any(|i| ["objects", "http", "secrets"].iter().any(|c| i.contains(&format!("/{c}@")))),
        "{smcp:?}"
    );

    let mut env = Env::new("acme", "notes-js", shipped_grant("notes-js").expect("notes-js ships a grant"));
    let made = call_tool(&mut env, &rt, &component, "new_note", &json!({"text": "from js"}));
    let created = made.structured_content.expect("new_note returns structured content");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16, "eight random bytes from wasi:random, in hex");
    // Date.now is wasi:clocks/wall-clock on the host's clock.
    assert_eq!(created["created_ms"], json!(1_700_000_000_000u64));
    // console.log went to stdout, which is the operator log.
    let lines = env.memory.log.lines.borrow().clone();
    assert!(
        lines.iter().any(|(tenant, server, _, line)| tenant == "acme"
            && server == "notes-js"
            && *line == format!("created note {id}")),
        "{lines:?}"
    );
    let progress: Vec<f64> = env
        .notes
        .0
        .iter()
        .filter_map(|n| match n {
            Notification::Progress { progress, .. } => Some(*progress),
            _ => None,
        })
        .collect();
    assert_eq!(progress, [0.0, 1.0, 2.0]);
    let got = call_tool(&mut env, &rt, &component, "get_note", &json!({"id": id}));
    assert!(!got.is_error);
    // The note is in kv, where the Rust twin keeps its notes.
    let listed = call_tool(&mut env, &rt, &component, "list_notes", &json!({}));
    assert_eq!(listed.structured_content, Some(json!({"ids": [id]})));
}

/// Runs `tool` of hostile-wasi under its shipped grant with `limits`.
fn attack(tool: &str, limits: impl FnOnce(&mut Limits)) -> (CallError, Env) {
    let rt = runtime();
    let component = load(&rt, "hostile-wasi");
    let mut grant = shipped_grant("hostile-wasi").expect("hostile-wasi ships a grant");
    limits(&mut grant.limits);
    let mut env = Env::new("acme", "hostile-wasi", grant);
    let server = env.server(&rt, &component);
    let error = match block_on(server.call_tool(&mut env.host(), tool, &json!({}), &[], None)) {
        Err(ServerError::Call(error)) => error,
        other => panic!("{tool} should be stopped, got {other:?}"),
    };
    // The same runtime goes on serving.
    let calc = load(&rt, "calc");
    let mut calm = Env::new("acme", "calc", Grant::default());
    let sum = call_tool(&mut calm, &rt, &calc, "add", &json!({"a": 1, "b": 2}));
    assert_eq!(sum.structured_content, Some(json!({"sum": 3.0})));
    (error, env)
}

#[test]
fn a_stdout_flood_is_cut_by_the_log_budget_and_the_call_limits() {
    let (error, env) = attack("flood_stdout", |l| l.host_calls = 300);
    let lines = env.memory.log.lines.borrow();
    assert_eq!(error, CallError::TooManyHostCalls { limit: 300 }, "after {} lines", lines.len());
    assert_eq!(lines.len() as u32, MAX_LOG_LINES_PER_CALL + 1, "the cap, plus one line saying so");
    assert!(lines.last().unwrap().3.contains("log limit"));
}

#[test]
fn spinning_on_the_clock_is_a_capability_call_per_reading() {
    // The test clock stands still: only the call's limits end the loop.
    let (error, _) = attack("spin_on_clock", |_| {});
    assert_eq!(error, CallError::TooManyHostCalls { limit: Limits::DEFAULT.host_calls });
}

#[test]
fn guest_memory_is_bounded_by_the_grant() {
    let (error, _) = attack("grow_memory", |l| l.memory_bytes = 128 << 20);
    assert_eq!(error, CallError::MemoryLimit { limit: 128 << 20 });
}

#[test]
fn the_environment_is_empty() {
    let rt = runtime();
    let component = load(&rt, "hostile-wasi");
    let mut env = Env::new("acme", "hostile-wasi", shipped_grant("hostile-wasi").expect("hostile-wasi ships a grant"));
    let found = call_tool(&mut env, &rt, &component, "probe_environment", &json!({}));
    assert!(
        matches!(found.content.first(), Some(smcp_core::guest::ContentBlock::Text { text }) if text == "{}"),
        "{found:?}"
    );
}

#[test]
fn a_python_guest_of_many_core_modules_runs() {
    let rt = smcp_core::runtime::Runtime::new(smcp_core::runtime::RuntimeLimits {
        max_component_bytes: 32 << 20,
        ..Default::default()
    })
    .unwrap();
    let component = load(&rt, "calc-py");
    assert!(component.prepared.modules.len() > 10, "CPython's libraries are modules of their own");
    assert!(!component.prepared.imports.iter().any(|i| i.starts_with("wasi:")), "built with WASI stubbed out");
    let mut env = Env::new("acme", "calc-py", shipped_grant("calc-py").unwrap_or_default());
    let sum = call_tool(&mut env, &rt, &component, "add", &json!({"a": 2, "b": 40}));
    assert_eq!(sum.structured_content, Some(json!({"sum": 42.0})));
    let quotient = call_tool(&mut env, &rt, &component, "divide", &json!({"a": 1, "b": 0}));
    assert!(quotient.is_error);
    let bad = call_tool(&mut env, &rt, &component, "add", &json!({"a": "two", "b": 2}));
    assert!(bad.is_error, "{bad:?}");
    // The default runtime takes at most 16 MiB; CPython is over it.
    assert!(matches!(
        runtime().load(&smcp_tests::component_bytes("calc-py")),
        Err(smcp_core::component::LoadError::TooLarge { .. })
    ));
}

/// wasi:http is the http capability: importing `outgoing-handler` needs the
/// grant's `[http]` (a grant without it is refused, as for `smcp:mcp/http`),
/// and a refusal, which reaches the guest only as `HTTP-request-denied`,
/// is logged with the capability's reason.
#[test]
fn wasi_http_needs_the_http_grant_and_logs_why_a_request_was_denied() {
    let rt = runtime();
    let component = load(&rt, "fetcher-wasip2");
    let outgoing = component.prepared.imports.iter().find(|i| i.starts_with("wasi:http/outgoing-handler@"));
    let outgoing = outgoing.expect("it imports wasi:http/outgoing-handler").clone();
    let refused = Grant::default().check_imports(&component.prepared.imports).unwrap_err();
    assert_eq!((refused.interface.as_str(), refused.section), (outgoing.as_str(), "[http] section"));

    let grant = shipped_grant("fetcher-wasip2").expect("fetcher-wasip2 ships a grant");
    assert!(grant.check_imports(&component.prepared.imports).is_ok());
    let mut env = Env::new("acme", "fetcher-wasip2", grant);
    for (url, why) in [
        ("https://10.0.0.1/", "host `10.0.0.1` is not in the grant's allowed hosts"),
        ("http://example.com/", "scheme `http` is not allowed"),
    ] {
        let refused = call_tool(&mut env, &rt, &component, "fetch", &json!({ "url": url }));
        assert!(refused.is_error && smcp_tests::first_text(&refused).contains("HttpRequestDenied"), "{refused:?}");
        let lines = env.memory.log.lines.borrow();
        assert!(lines.iter().any(|l| l.3 == format!("wasi:http: request denied: {why}")), "{url}: {lines:?}");
    }
    // Methods outside the grant's, and ones the capability cannot send.
    let post = call_tool(&mut env, &rt, &component, "fetch", &json!({"url": "https://example.com/", "method": "POST"}));
    assert!(smcp_tests::first_text(&post).contains("HttpRequestDenied"), "{post:?}");
    let trace =
        call_tool(&mut env, &rt, &component, "fetch", &json!({"url": "https://example.com/", "method": "TRACE"}));
    assert!(smcp_tests::first_text(&trace).contains("HttpRequestMethodInvalid"), "{trace:?}");
}

/// wasi:keyvalue (both drafts) is the kv capability: it needs the grant's
/// `[kv]`, keeps its keys under the server's prefix where `smcp:mcp/kv`
/// keeps them (so the Rust `notes` guest reads what `notes-keyvalue`
/// wrote), pages lists with each draft's cursors, and spends the same
/// per-call budget, a batch over it writing nothing.
#[test]
fn wasi_keyvalue_is_the_kv_capability_under_the_kv_grant() {
    let rt = runtime();
    let component = load(&rt, "notes-keyvalue");
    let imports = &component.prepared.imports;
    for interface in ["store@0.2.0-draft", "batch@0.2.0-draft", "store@0.2.0-draft2", "batch@0.2.0-draft2"] {
        assert!(imports.contains(&format!("wasi:keyvalue/{interface}")), "{interface}: {imports:?}");
    }
    assert!(!imports.iter().any(|i| i.starts_with("wasi:keyvalue/atomics")), "{imports:?}");
    let refused = Grant::default().check_imports(imports).unwrap_err();
    assert!(refused.interface.starts_with("wasi:keyvalue/") && refused.section == "[kv] section", "{refused:?}");

    let mut grant = shipped_grant("notes-keyvalue").expect("notes-keyvalue ships a grant");
    grant.kv.as_mut().unwrap().max_list = 2;
    let mut env = Env::new("acme", "notes", grant);
    let text = |r: &smcp_core::guest::CallToolResult| smcp_tests::first_text(r).to_owned();
    call_tool(&mut env, &rt, &component, "put_note", &json!({"id": "a", "text": "first"}));
    call_tool(&mut env, &rt, &component, "put_notes", &json!({"notes": {"b": "second", "c": "third", "d": "fourth"}}));
    assert_eq!(text(&call_tool(&mut env, &rt, &component, "get_note", &json!({"id": "b"}))), "second");
    let many = call_tool(&mut env, &rt, &component, "get_notes", &json!({"ids": ["a", "x", "c"]}));
    assert_eq!(many.structured_content, Some(json!({"texts": ["first", null, "third"]})));
    let exists = call_tool(&mut env, &rt, &component, "has_note", &json!({"id": "x"}));
    assert_eq!(exists.structured_content, Some(json!({"exists": false})));
    // Two keys a page: both drafts' cursors walk the same four keys.
    let listed = call_tool(&mut env, &rt, &component, "list_notes", &json!({}));
    assert_eq!(listed.structured_content, Some(json!({"ids": ["a", "b", "c", "d"]})), "{listed:?}");
    let mut stored = env.memory.kv.raw_keys();
    stored.sort();
    assert_eq!(stored, ["a", "b", "c", "d"].map(|id| format!("t/acme/s/notes/kv/note:{id}")));
    // The Rust twin, through smcp:mcp/kv, reads the same notes.
    let twin = load(&rt, "notes");
    assert_eq!(text(&call_tool(&mut env, &rt, &twin, "get_note", &json!({"id": "d"}))), "fourth");
    call_tool(&mut env, &rt, &component, "delete_notes", &json!({"ids": ["a", "b"]}));
    call_tool(&mut env, &rt, &component, "delete_note", &json!({"id": "c"}));
    let listed = call_tool(&mut env, &rt, &component, "list_notes", &json!({}));
    assert_eq!(listed.structured_content, Some(json!({"ids": ["d"]})));

    // One store per server: `""` and `"default"` name it, nothing else does.
    let other = call_tool(&mut env, &rt, &component, "open_store", &json!({"name": "billing"}));
    assert_eq!(other.structured_content, Some(json!({"opened": false, "error": "Error::NoSuchStore"})));
    // The grant's limits, with the capability's own reasons.
    let long = "k".repeat(2048);
    let refused = call_tool(&mut env, &rt, &component, "put_note", &json!({"id": long, "text": "x"}));
    assert!(refused.is_error && text(&refused).contains("Other(\"invalid input"), "{refused:?}");
    let big = "x".repeat(70_000);
    let refused = call_tool(&mut env, &rt, &component, "put_note", &json!({"id": "big", "text": big}));
    assert!(refused.is_error && text(&refused).contains("too large"), "{refused:?}");
    env.grant.kv.as_mut().unwrap().max_ops_per_call = 3;
    let notes: serde_json::Map<_, _> = (0..5).map(|i| (format!("n{i}"), json!("x"))).collect();
    let refused = call_tool(&mut env, &rt, &component, "put_notes", &json!({ "notes": notes }));
    assert!(refused.is_error && text(&refused).contains("quota exceeded"), "{refused:?}");
    assert_eq!(env.memory.kv.raw_keys(), ["t/acme/s/notes/kv/note:d"], "a batch over the budget writes nothing");
    // Without [kv] (a grant the upload check would refuse), access is denied.
    env.grant.kv = None;
    let denied = call_tool(&mut env, &rt, &component, "get_note", &json!({"id": "d"}));
    assert!(denied.is_error && text(&denied).contains("AccessDenied"), "{denied:?}");
}
