//! The example guests, built from guests/, listed and called through the
//! runtime with in-memory backends.

use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::Notification;
use smcp_core::capabilities::{http::grant::HttpGrant, kv::grant::KvGrant, objects::grant::ObjectsGrant};
use smcp_core::guest::{
    CallToolResult, CompletionRef, ContentBlock, InputRequest, InputRequired, InputResponse, PromptOutcome,
    ResourceListing, ServerError, ToolOutcome,
};
use smcp_core::platform::HttpResponse;
use smcp_core::platform::LogLevel;
use smcp_tests::{Env, block_on, load, runtime};

/// Calls `tool` and expects a finished result.
fn call(
    env: &mut Env,
    rt: &smcp_core::runtime::Runtime,
    c: &smcp_core::runtime::Component,
    tool: &str,
    args: Value,
) -> CallToolResult {
    smcp_tests::call_tool(env, rt, c, tool, &args)
}

use smcp_tests::first_text as text;

#[test]
fn calc_lists_its_tools_with_schemas() {
    let rt = runtime();
    let calc = load(&rt, "calc");
    assert!(calc.prepared.imports.is_empty(), "calc imports nothing: {:?}", calc.prepared.imports);
    let env = Env::new("acme", "calc", Grant::default());
    let mut env = env;
    let tools = block_on(env.server(&rt, &calc).list_tools(&mut env.host())).unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    for want in ["add", "divide", "fib", "echo", "noop", "greet", "ask_model"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let add = tools.iter().find(|t| t.name == "add").unwrap();
    assert_eq!(add.input_schema["type"], "object");
    assert_eq!(add.input_schema["required"], json!(["a", "b"]));
    assert!(add.output_schema.as_ref().unwrap()["properties"]["sum"].is_object());
    assert_eq!(add.annotations.as_ref().unwrap().read_only_hint, Some(true));
}

#[test]
fn calc_computes() {
    let rt = runtime();
    let calc = load(&rt, "calc");
    let mut env = Env::new("acme", "calc", Grant::default());
    let sum = call(&mut env, &rt, &calc, "add", json!({"a": 2, "b": 40.5}));
    assert_eq!(sum.structured_content, Some(json!({"sum": 42.5})));
    assert_eq!(text(&sum), "42.5");
    assert!(!sum.is_error);
    assert_eq!(text(&call(&mut env, &rt, &calc, "fib", json!({"n": 90}))), "2880067194370816120");
    assert_eq!(text(&call(&mut env, &rt, &calc, "echo", json!({"text": "héllo ☃"}))), "héllo ☃");
    assert_eq!(text(&call(&mut env, &rt, &calc, "noop", json!({}))), "ok");
}

#[test]
fn text_runs_large_libraries_in_the_sandbox() {
    let rt = runtime();
    let text_guest = load(&rt, "text");
    assert!(text_guest.prepared.size > 1 << 20, "the large example is over 1 MiB: {}", text_guest.prepared.size);
    let mut env = Env::new("acme", "text", Grant::default());
    let found = call(&mut env, &rt, &text_guest, "find", json!({"pattern": r"\p{Greek}+", "text": "alpha αβγ beta δ"}));
    assert_eq!(found.structured_content, Some(json!({"matches": ["αβγ", "δ"]})), "Unicode classes work: {found:?}");
    let replaced = call(
        &mut env,
        &rt,
        &text_guest,
        "replace",
        json!({"pattern": r"(\w+)@(\w+)", "text": "ann@example", "replacement": "$2 at $1"}),
    );
    assert_eq!(text(&replaced), "example at ann");
    let html = call(&mut env, &rt, &text_guest, "markdown", json!({"markdown": "# Hi\n\n*there*"}));
    assert_eq!(text(&html), "<h1>Hi</h1>\n<p><em>there</em></p>\n");
    let invalid = call(&mut env, &rt, &text_guest, "find", json!({"pattern": "(", "text": "x"}));
    assert!(invalid.is_error && text(&invalid).contains("invalid pattern"), "{invalid:?}");
    let long = call(&mut env, &rt, &text_guest, "find", json!({"pattern": "a".repeat(2000), "text": "x"}));
    assert!(long.is_error && text(&long).contains("limited to 1024 bytes"), "{long:?}");
}

#[test]
fn tool_errors_are_results_not_failures() {
    let rt = runtime();
    let calc = load(&rt, "calc");
    let mut env = Env::new("acme", "calc", Grant::default());
    let div = call(&mut env, &rt, &calc, "divide", json!({"a": 1, "b": 0}));
    assert!(div.is_error);
    assert!(text(&div).contains("division by zero"));
    let bad = call(&mut env, &rt, &calc, "add", json!({"a": "two"}));
    assert!(bad.is_error, "bad arguments are a tool error: {bad:?}");
    let server = env.server(&rt, &calc);
    let unknown = block_on(server.call_tool(&mut env.host(), "nope", &json!({}), &[], None));
    assert!(matches!(unknown, Err(ServerError::NotFound(_))), "{unknown:?}");
    let not_object = block_on(server.call_tool(&mut env.host(), "add", &json!([1]), &[], None));
    assert!(matches!(not_object, Err(ServerError::InvalidParams(_))));
}

#[test]
fn calc_resources_prompts_and_completion() {
    let rt = runtime();
    let calc = load(&rt, "calc");
    let mut env = Env::new("acme", "calc", Grant::default());
    let server = env.server(&rt, &calc);
    let listing = block_on(server.list_resources(&mut env.host(), None)).unwrap();
    let ResourceListing::Page { resources, next_cursor: None } = listing else {
        panic!("a 0.1.1 server pages its own resources: {listing:?}")
    };
    assert_eq!(resources[0].uri, "calc://about");
    let templates = block_on(server.list_resource_templates(&mut env.host())).unwrap();
    assert_eq!(templates[0].uri_template, "calc://fib/{n}");
    let about = block_on(server.read_resource(&mut env.host(), "calc://about")).unwrap();
    assert_eq!(about[0].text.as_deref(), Some("calc: a pure-compute SMCP test server."));
    let fib = block_on(server.read_resource(&mut env.host(), "calc://fib/10")).unwrap();
    assert_eq!(fib[0].text.as_deref(), Some("55"));
    let missing = block_on(server.read_resource(&mut env.host(), "calc://nothing"));
    assert!(matches!(missing, Err(ServerError::NotFound(_))), "{missing:?}");

    let prompts = block_on(server.list_prompts(&mut env.host())).unwrap();
    assert_eq!(prompts[0].name, "explain");
    assert!(prompts[0].arguments[0].required);
    let prompt =
        block_on(server.get_prompt(&mut env.host(), "explain", &[("topic".into(), "fibonacci".into())], &[], None));
    let Ok(PromptOutcome::Complete(prompt)) = prompt else { panic!("{prompt:?}") };
    assert_eq!(prompt.messages[0].role, "user");
    assert_eq!(prompt.messages[0].content, ContentBlock::text("Explain fibonacci in simple terms."));
    let missing_arg = block_on(server.get_prompt(&mut env.host(), "explain", &[], &[], None));
    assert!(matches!(missing_arg, Err(ServerError::InvalidParams(_))), "{missing_arg:?}");

    let topics =
        block_on(server.complete(&mut env.host(), &CompletionRef::Prompt("explain".into()), ("topic", "fi"), &[]))
            .unwrap();
    assert_eq!(topics.values, ["fibonacci"]);
    let ns = block_on(server.complete(
        &mut env.host(),
        &CompletionRef::ResourceTemplate("calc://fib/{n}".into()),
        ("n", "2"),
        &[],
    ))
    .unwrap();
    assert_eq!(ns.values, ["2", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29"]);
}

#[test]
fn input_required_round_trip() {
    let rt = runtime();
    let calc = load(&rt, "calc");
    let mut env = Env::new("acme", "calc", Grant::default());
    let server = env.server(&rt, &calc);
    let first = block_on(server.call_tool(&mut env.host(), "greet", &json!({}), &[], None)).unwrap();
    let ToolOutcome::InputRequired(InputRequired { requests, state }) = first else {
        panic!("greet asks first: {first:?}")
    };
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0, "name");
    let InputRequest::Elicitation { message, requested_schema } = &requests[0].1 else { panic!() };
    assert_eq!(message, "What is your name?");
    assert_eq!(requested_schema["type"], "object");
    let answer =
        InputResponse { key: "name".into(), response: json!({"action": "accept", "content": {"name": "Ada"}}) };
    let second = block_on(server.call_tool(&mut env.host(), "greet", &json!({}), &[answer], Some(&state))).unwrap();
    let ToolOutcome::Complete(result) = second else { panic!("{second:?}") };
    assert_eq!(text(&result), "Hello, Ada!");

    let first =
        block_on(server.call_tool(&mut env.host(), "ask_model", &json!({"question": "Capital of France?"}), &[], None))
            .unwrap();
    let ToolOutcome::InputRequired(InputRequired { requests, state }) = first else { panic!("{first:?}") };
    let InputRequest::Sampling(params) = &requests[0].1 else { panic!() };
    assert_eq!(params["maxTokens"], 100);
    let sampled = json!({"role": "assistant", "content": {"type": "text", "text": "Paris."}, "model": "m"});
    let answer = InputResponse { key: "answer".into(), response: sampled };
    let second =
        block_on(server.call_tool(&mut env.host(), "ask_model", &json!({"question": "x"}), &[answer], Some(&state)))
            .unwrap();
    let ToolOutcome::Complete(result) = second else { panic!("{second:?}") };
    assert_eq!(text(&result), "model says: Paris.");
}

#[test]
fn notes_store_in_kv_under_the_tenant_prefix() {
    let rt = runtime();
    let notes = load(&rt, "notes");
    assert!(notes.prepared.imports_interface("smcp:mcp/kv@0.1.2"));
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    let mut env = Env::new("acme", "notes", grant);
    call(&mut env, &rt, &notes, "put_note", json!({"id": "a", "text": "first"}));
    call(&mut env, &rt, &notes, "put_note", json!({"id": "b", "text": "second"}));
    assert_eq!(text(&call(&mut env, &rt, &notes, "get_note", json!({"id": "a"}))), "first");
    let list = call(&mut env, &rt, &notes, "list_notes", json!({}));
    assert_eq!(list.structured_content, Some(json!({"ids": ["a", "b"]})));
    assert_eq!(env.memory.kv.raw_keys(), ["t/acme/s/notes/kv/note:a", "t/acme/s/notes/kv/note:b"]);
    call(&mut env, &rt, &notes, "delete_note", json!({"id": "a"}));
    assert!(call(&mut env, &rt, &notes, "get_note", json!({"id": "a"})).is_error);

    // Another tenant's server sees nothing of acme's notes.
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    let mut other = Env::new("globex", "notes", grant);
    other.memory.kv =
        std::mem::replace(&mut env.memory.kv, smcp_core::platform::memory::MemoryKv::new(env.memory.clock.clone()));
    let list = call(&mut other, &rt, &notes, "list_notes", json!({}));
    assert_eq!(list.structured_content, Some(json!({"ids": []})));
    assert!(call(&mut other, &rt, &notes, "get_note", json!({"id": "b"})).is_error);
}

#[test]
fn notes_uses_clock_random_log_and_progress() {
    let rt = runtime();
    let notes = load(&rt, "notes");
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    let mut env = Env::new("acme", "notes", grant);
    let created = call(&mut env, &rt, &notes, "new_note", json!({"text": "hi"}));
    let created = created.structured_content.unwrap();
    assert_eq!(created["created_ms"], 1_700_000_000_000u64);
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);
    assert_eq!(env.memory.kv.raw_keys(), [format!("t/acme/s/notes/kv/note:{id}")]);
    let progress: Vec<f64> = env
        .notes
        .0
        .iter()
        .filter_map(|n| match n {
            Notification::Progress { progress, total, .. } => {
                assert_eq!(*total, Some(2.0));
                Some(*progress)
            }
            _ => None,
        })
        .collect();
    assert_eq!(progress, [0.0, 1.0, 2.0]);
    assert!(
        env.notes.0.iter().any(|n| matches!(n, Notification::Log { level: "info", data, .. } if data["created"] == id))
    );
    let lines = env.memory.log.lines.borrow();
    assert_eq!(lines[0].0, "acme");
    assert_eq!(lines[0].2, LogLevel::Info);
    assert_eq!(lines[0].3, format!("created note {id}"));
}

#[test]
fn capability_without_grant_is_denied() {
    let rt = runtime();
    let notes = load(&rt, "notes");
    let mut env = Env::new("acme", "notes", Grant::default());
    let denied = call(&mut env, &rt, &notes, "put_note", json!({"id": "a", "text": "x"}));
    assert!(denied.is_error);
    assert!(text(&denied).contains("not granted"), "{denied:?}");
    assert!(env.memory.kv.raw_keys().is_empty());
}

#[test]
fn files_round_trip_through_objects() {
    let rt = runtime();
    let files = load(&rt, "files");
    assert!(files.prepared.imports_interface("smcp:mcp/objects@0.1.2"));
    let grant = Grant { objects: Some(ObjectsGrant::default()), ..Grant::default() };
    let mut env = Env::new("acme", "files", grant);
    let wrote = call(&mut env, &rt, &files, "write_file", json!({"path": "docs/a.txt", "content": "hello"}));
    assert_eq!(wrote.structured_content.as_ref().unwrap()["size"], 5);
    call(
        &mut env,
        &rt,
        &files,
        "write_file",
        json!({"path": "docs/b.md", "content": "# b", "content_type": "text/markdown"}),
    );
    assert_eq!(text(&call(&mut env, &rt, &files, "read_file", json!({"path": "docs/a.txt"}))), "hello");
    let stat = call(&mut env, &rt, &files, "stat_file", json!({"path": "docs/b.md"})).structured_content.unwrap();
    assert_eq!((stat["path"].as_str(), stat["content_type"].as_str()), (Some("docs/b.md"), Some("text/markdown")));
    let page =
        call(&mut env, &rt, &files, "list_files", json!({"prefix": "docs/", "limit": 1})).structured_content.unwrap();
    assert_eq!(page["files"][0]["path"], "docs/a.txt");
    assert_eq!(page["cursor"], "docs/a.txt");
    let next = call(&mut env, &rt, &files, "list_files", json!({"prefix": "docs/", "cursor": "docs/a.txt"}))
        .structured_content
        .unwrap();
    assert_eq!(next["files"][0]["path"], "docs/b.md");
    assert_eq!(
        env.memory.objects.raw_keys(),
        ["t/acme/s/files/objects/docs/a.txt", "t/acme/s/files/objects/docs/b.md"]
    );
    call(&mut env, &rt, &files, "delete_file", json!({"path": "docs/a.txt"}));
    assert!(call(&mut env, &rt, &files, "read_file", json!({"path": "docs/a.txt"})).is_error);
}

#[test]
fn oversized_object_is_refused_by_the_grant() {
    let rt = runtime();
    let files = load(&rt, "files");
    let grant =
        Grant { objects: Some(ObjectsGrant { max_object_bytes: 4, ..ObjectsGrant::default() }), ..Grant::default() };
    let mut env = Env::new("acme", "files", grant);
    let refused = call(&mut env, &rt, &files, "write_file", json!({"path": "x", "content": "12345"}));
    assert!(refused.is_error && text(&refused).contains("too large"), "{refused:?}");
    assert!(env.memory.objects.raw_keys().is_empty());
}

fn http_grant() -> Grant {
    let http = HttpGrant {
        allowed_hosts: vec!["api.example.com".into()],
        max_response_bytes: 1 << 20,
        timeout_ms: 5000,
        ..HttpGrant::default()
    };
    Grant { http: Some(http), secrets: vec!["API_TOKEN".into()], ..Grant::default() }
}

#[test]
fn fetcher_fetches_allowed_hosts_only() {
    let rt = runtime();
    let fetcher = load(&rt, "fetcher");
    assert!(fetcher.prepared.imports_interface("smcp:mcp/http@0.1.2"));
    let mut env = Env::new("acme", "fetcher", http_grant());
    env.memory.http.responses.insert(
        "https://api.example.com/hello".into(),
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"hi there".to_vec(),
        },
    );
    let got = call(
        &mut env,
        &rt,
        &fetcher,
        "fetch",
        json!({"url": "https://api.example.com/hello", "headers": {"x-trace": "1"}}),
    );
    let got = got.structured_content.unwrap();
    assert_eq!((got["status"].as_u64(), got["body"].as_str()), (Some(200), Some("hi there")));
    let sent = env.memory.http.requests.borrow();
    assert_eq!(sent[0].method, "GET");
    assert_eq!(sent[0].headers, [("x-trace".to_string(), "1".to_string())]);
    drop(sent);

    for url in [
        "https://evil.example.net/",
        "http://api.example.com/hello",
        "file:///etc/passwd",
        "https://user:pw@api.example.com/",
    ] {
        let refused = call(&mut env, &rt, &fetcher, "fetch", json!({"url": url}));
        assert!(refused.is_error, "{url} must be refused: {refused:?}");
    }
    assert_eq!(env.memory.http.requests.borrow().len(), 1, "refused requests never reach the backend");
    let smuggled = call(
        &mut env,
        &rt,
        &fetcher,
        "fetch",
        json!({"url": "https://api.example.com/hello", "headers": {"Host": "internal"}}),
    );
    assert!(smuggled.is_error);
}

#[test]
fn secrets_reach_the_backend_but_not_the_result() {
    let rt = runtime();
    let fetcher = load(&rt, "fetcher");
    let mut env = Env::new("acme", "fetcher", http_grant());
    let secret = "s3cr3t-token-value";
    env.memory.secrets.values.insert(("acme".into(), "fetcher".into(), "API_TOKEN".into()), secret.into());
    env.memory.http.responses.insert(
        "https://api.example.com/echo".into(),
        HttpResponse { status: 200, headers: vec![], body: format!("you sent {secret}").into_bytes() },
    );
    let got = call(&mut env, &rt, &fetcher, "fetch_with_secret", json!({"url": "https://api.example.com/echo"}));
    let rendered = serde_json::to_string(&got).unwrap();
    assert!(!rendered.contains(secret), "secret leaked: {rendered}");
    let auth = env.memory.http.requests.borrow()[0]
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .cloned();
    assert_eq!(auth.map(|(_, v)| v), Some(format!("Bearer {secret}")));

    let ungranted = call(
        &mut env,
        &rt,
        &fetcher,
        "fetch_with_secret",
        json!({"url": "https://api.example.com/echo", "secret": "OTHER"}),
    );
    assert!(ungranted.is_error && text(&ungranted).contains("not granted"), "{ungranted:?}");
}
