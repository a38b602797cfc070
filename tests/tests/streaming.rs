//! Streamed legacy exchanges, driven through `Engine::handle_streaming`
//! with the conformance fixture guest: server-to-client requests on a
//! tool call's SSE stream answered by a later POST, event ids and
//! `Last-Event-ID` resumption, cancellation, and what happens when the
//! client cannot be asked.

use futures::StreamExt;
use futures::channel::oneshot;
use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::kv::grant::KvGrant;
use smcp_core::engine::{Engine, Hosted};
use smcp_core::http::{Body, EventStream, Request, Response, SseEvent};
use smcp_core::names::TenantId;
use smcp_tests::{Env, block_on, load, runtime};
use std::sync::Arc;

const PATH: &str = "/t/acme/s/conformance/mcp";

struct Host {
    engine: Engine,
    env: Env,
}

impl Host {
    fn new() -> Host {
        let rt = Arc::new(runtime());
        let config = smcp_tests::engine_config(&[("acme", "conformance"), ("acme", "notes")]);
        let engine = Engine::new(rt.clone(), config);
        let component = load(&rt, "conformance");
        engine
            .host(Hosted {
                tenant: TenantId::from_static("acme"),
                server: "conformance".into(),
                component,
                grant: Grant::default(),
                tools: None,
            })
            .unwrap();
        let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
        engine
            .host(Hosted {
                tenant: TenantId::from_static("acme"),
                server: "notes".into(),
                component: load(&rt, "notes"),
                grant,
                tools: None,
            })
            .unwrap();
        Host { engine, env: Env::new("acme", "conformance", Grant::default()) }
    }

    fn request(method: &str, headers: &[(&str, &str)], body: &Value) -> Request {
        Host::request_to(PATH, method, headers, body)
    }

    fn request_to(path: &str, method: &str, headers: &[(&str, &str)], body: &Value) -> Request {
        let mut all = vec![
            ("host".to_string(), "localhost".to_string()),
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json, text/event-stream".into()),
        ];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let body = if body.is_null() { vec![] } else { body.to_string().into_bytes() };
        Request {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: all,
            body,
            client: None,
            new_session_id: None,
        }
    }

    async fn send(&self, method: &str, headers: &[(&str, &str)], body: &Value) -> Response {
        self.engine.handle(Host::request(method, headers, body), self.env.backends()).await
    }

    /// A legacy session declaring `capabilities`.
    fn session(&self, version: &str, capabilities: Value) -> String {
        let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": capabilities, "clientInfo": { "name": "t", "version": "1" } } });
        let response = block_on(self.send("POST", &[], &init));
        let id = response.headers.iter().find(|(k, _)| k == "mcp-session-id").map(|(_, v)| v.clone());
        id.unwrap_or_else(|| panic!("no session: {response:?}"))
    }
}

fn call(id: u64, tool: &str, arguments: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": arguments } })
}

fn data(event: &SseEvent) -> Value {
    serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("{e}: {event:?}"))
}

/// The head of a streamed exchange: it must be an SSE stream.
async fn stream_of(head: oneshot::Receiver<Response>) -> EventStream {
    let response = head.await.expect("a response head");
    assert_eq!(response.status, 200);
    match response.body {
        Body::Stream(events) => events,
        other => panic!("expected a stream, got {other:?}"),
    }
}

#[test]
fn legacy_elicitation_goes_out_on_the_stream_and_resumes_by_event_id() {
    let host = Host::new();
    let session = host.session("2025-11-25", json!({ "elicitation": {} }));
    let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
    let (head_tx, head_rx) = oneshot::channel();
    let request = Host::request("POST", &headers, &call(7, "test_elicitation", json!({ "message": "Your name?" })));
    let exchange = host.engine.handle_streaming(request, host.env.backends(), head_tx);
    let other = host.session("2025-11-25", json!({ "elicitation": {} }));
    let client = async {
        let mut events = stream_of(head_rx).await;
        // 2025-11-25: a priming event with an id and no data comes first.
        let priming = events.next().await.unwrap();
        assert!(priming.id.is_some() && priming.data.is_empty(), "{priming:?}");
        let asked = events.next().await.unwrap();
        let request = data(&asked);
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["message"], "Your name?");
        assert_eq!(request["params"]["requestedSchema"]["required"], json!(["response"]));
        // Another session cannot answer it...
        let answer = json!({ "jsonrpc": "2.0", "id": request["id"], "result": { "action": "accept", "content": { "response": "Ada" } } });
        let stray = host.send("POST", &[("mcp-session-id", other.as_str())], &answer).await;
        assert_eq!(stray.status, 202);
        // ...its own does, with a POST that gets 202.
        let accepted = host.send("POST", &headers, &answer).await;
        assert_eq!(accepted.status, 202);
        let rest: Vec<SseEvent> = events.collect().await;
        assert_eq!(rest.len(), 1, "{rest:?}");
        let response = data(&rest[0]);
        assert_eq!(response["id"], 7);
        let text = response["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("User response: action=accept") && text.contains("Ada"), "{text}");
        (priming, asked, rest[0].clone())
    };
    let ((), (priming, asked, last)) = block_on(futures::future::join(exchange, client));

    // Every event has its own id; a GET with Last-Event-ID replays what
    // followed it, and only to the same session.
    let ids = [&priming, &asked, &last].map(|e| e.id.clone().expect("an event id"));
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    let resume = |session: &str, last_id: &str| {
        let headers = [("mcp-session-id", session), ("last-event-id", last_id), ("accept", "text/event-stream")];
        block_on(host.send("GET", &headers, &Value::Null))
    };
    let replay = resume(&session, &ids[0]);
    let Body::Stream(replayed) = replay.body else { panic!("{replay:?}") };
    let replayed: Vec<SseEvent> = block_on(replayed.collect());
    assert_eq!(replayed, [asked, last]);
    let other = host.session("2025-11-25", json!({}));
    assert_eq!(resume(&other, &ids[0]).status, 400);
    assert_eq!(resume(&session, "nonsense_1").status, 400);
    assert_eq!(resume("0123456789abcdef0123456789abcdef", &ids[0]).status, 404);
}

#[test]
fn sampling_and_roots_are_asked_in_one_round() {
    let host = Host::new();
    let session = host.session("2025-06-18", json!({ "elicitation": {}, "sampling": {}, "roots": {} }));
    let headers = [("mcp-session-id", session.as_str())];
    let (head_tx, head_rx) = oneshot::channel();
    let request = Host::request("POST", &headers, &call(1, "test_input_required_result_multiple_inputs", json!({})));
    let exchange = host.engine.handle_streaming(request, host.env.backends(), head_tx);
    let client = async {
        let mut events = stream_of(head_rx).await;
        // 2025-06-18: no priming event.
        let mut asked = Vec::new();
        for _ in 0..3 {
            asked.push(data(&events.next().await.unwrap()));
        }
        let methods: Vec<&str> = asked.iter().map(|r| r["method"].as_str().unwrap()).collect();
        assert_eq!(methods, ["elicitation/create", "sampling/createMessage", "roots/list"]);
        // Answered out of order.
        let results = [
            json!({ "roots": [{ "uri": "file:///a" }, { "uri": "file:///b" }, { "uri": "file:///c" }] }),
            json!({ "role": "assistant", "content": { "type": "text", "text": "Hi!" }, "model": "m" }),
            json!({ "action": "accept", "content": { "name": "Ada" } }),
        ];
        for (request, result) in asked.iter().rev().zip(results) {
            let answer = json!({ "jsonrpc": "2.0", "id": request["id"], "result": result });
            assert_eq!(host.send("POST", &headers, &answer).await.status, 202);
        }
        let rest: Vec<SseEvent> = events.collect().await;
        data(&rest[0])["result"]["content"][0]["text"].as_str().unwrap().to_owned()
    };
    let ((), text) = block_on(futures::future::join(exchange, client));
    assert_eq!(text, "Name: Ada; Greeting: Hi!; Roots: 3");
}

#[test]
fn cancellation_ends_the_stream_without_an_answer() {
    let host = Host::new();
    let session = host.session("2025-11-25", json!({ "sampling": {} }));
    let headers = [("mcp-session-id", session.as_str())];
    let (head_tx, head_rx) = oneshot::channel();
    let request = Host::request("POST", &headers, &call(42, "test_sampling", json!({ "prompt": "hi" })));
    let exchange = host.engine.handle_streaming(request, host.env.backends(), head_tx);
    let client = async {
        let mut events = stream_of(head_rx).await;
        let _priming = events.next().await.unwrap();
        assert_eq!(data(&events.next().await.unwrap())["method"], "sampling/createMessage");
        let cancel = json!({ "jsonrpc": "2.0", "method": "notifications/cancelled", "params": { "requestId": 42, "reason": "user" } });
        assert_eq!(host.send("POST", &headers, &cancel).await.status, 202);
        events.collect::<Vec<_>>().await
    };
    let ((), rest) = block_on(futures::future::join(exchange, client));
    assert!(rest.is_empty(), "no answer after cancellation: {rest:?}");
}

#[test]
fn a_client_that_cannot_be_asked_gets_a_tool_error() {
    let host = Host::new();
    // No elicitation capability declared.
    let session = host.session("2025-11-25", json!({}));
    let headers = [("mcp-session-id", session.as_str())];
    let response = block_on(host.send("POST", &headers, &call(1, "test_elicitation", json!({ "message": "?" }))));
    let Body::Json(body) = &response.body else { panic!("{response:?}") };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["result"]["isError"], true);
    assert!(body["result"]["content"][0]["text"].as_str().unwrap().contains("elicitation"), "{body}");
    // Declared, but on a buffered exchange (no stream to ask on).
    let session = host.session("2025-11-25", json!({ "elicitation": {} }));
    let headers = [("mcp-session-id", session.as_str())];
    let response = block_on(host.send("POST", &headers, &call(2, "test_elicitation", json!({ "message": "?" }))));
    let Body::Json(body) = &response.body else { panic!("{response:?}") };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["result"]["isError"], true, "{body}");
}

#[test]
fn input_required_prompts_in_the_current_era() {
    let host = Host::new();
    let get = |responses: Value| {
        let params = json!({ "name": "test_input_required_result_prompt", "inputResponses": responses, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} } } });
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": params });
        let headers = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "prompts/get"),
            ("mcp-name", "test_input_required_result_prompt"),
        ];
        let response = block_on(host.send("POST", &headers, &body));
        let Body::Json(bytes) = &response.body else { panic!("{response:?}") };
        serde_json::from_slice::<Value>(bytes).unwrap()["result"].clone()
    };
    let first = get(Value::Null);
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(first["inputRequests"]["user_context"]["method"], "elicitation/create");
    let done = get(json!({ "user_context": { "action": "accept", "content": { "context": "tests" } } }));
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["messages"][0]["content"]["text"], "Prompt with context: tests");
}

fn current_meta() -> Value {
    json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} })
}

fn current_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    headers.extend(name.map(|n| ("mcp-name", n)));
    headers
}

#[test]
fn listen_streams_get_the_changes_they_asked_for_and_end_gracefully() {
    let host = Host::new();
    let open = |id: u64, notifications: Value| {
        let (head_tx, head_rx) = oneshot::channel();
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
            "params": { "_meta": current_meta(), "notifications": notifications } });
        let request = Host::request("POST", &current_headers("subscriptions/listen", None), &body);
        (host.engine.handle_streaming(request, host.env.backends(), head_tx), head_rx)
    };
    let (tools_listener, tools_head) = open(1, json!({ "toolsListChanged": true }));
    let (prompts_listener, prompts_head) = open(2, json!({ "promptsListChanged": true }));
    let client = async {
        let mut tools = stream_of(tools_head).await;
        let mut prompts = stream_of(prompts_head).await;
        let ack = data(&tools.next().await.unwrap());
        assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
        assert_eq!(
            ack["params"],
            json!({ "_meta": { "io.modelcontextprotocol/subscriptionId": 1 }, "notifications": { "toolsListChanged": true } })
        );
        assert_eq!(
            data(&prompts.next().await.unwrap())["params"]["notifications"],
            json!({ "promptsListChanged": true })
        );
        // A guest announces a tools change: only the tools listener hears it.
        let trigger = json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": { "name": "test_trigger_tool_change", "arguments": {}, "_meta": current_meta() } });
        let answer =
            host.send("POST", &current_headers("tools/call", Some("test_trigger_tool_change")), &trigger).await;
        assert_eq!(answer.status, 200);
        let changed = data(&tools.next().await.unwrap());
        assert_eq!(changed["method"], "notifications/tools/list_changed");
        assert_eq!(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 1);
        // Shutdown ends both with the listen request's answer.
        host.engine.shutdown();
        let rest: Vec<Value> = tools.map(|e| data(&e)).collect().await;
        assert_eq!(rest.len(), 1, "{rest:?}");
        assert_eq!(rest[0]["id"], 1);
        assert_eq!(rest[0]["result"]["resultType"], "complete");
        let rest: Vec<Value> = prompts.map(|e| data(&e)).collect().await;
        assert_eq!(
            rest.iter().map(|m| m["id"].clone()).collect::<Vec<_>>(),
            [json!(2)],
            "no tools change leaked: {rest:?}"
        );
    };
    block_on(futures::future::join3(tools_listener, prompts_listener, client));
}

#[test]
fn legacy_sessions_hear_about_their_subscribed_resources_on_the_get_stream() {
    let host = Host::new();
    let notes = "/t/acme/s/notes/mcp";
    let post = |session: &str, body: Value| {
        let request = Host::request_to(notes, "POST", &[("mcp-session-id", session)], &body);
        block_on(host.engine.handle(request, host.env.backends()))
    };
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let response = block_on(host.engine.handle(Host::request_to(notes, "POST", &[], &init), host.env.backends()));
    let session = response.headers.iter().find(|(k, _)| k == "mcp-session-id").unwrap().1.clone();
    let get =
        || {
            block_on(host.engine.handle(
                Host::request_to(notes, "GET", &[("mcp-session-id", &session)], &Value::Null),
                host.env.backends(),
            ))
        };
    let stream = get();
    assert_eq!(stream.status, 200);
    assert_eq!(get().status, 409, "one standalone stream per session");
    let Body::Stream(events) = stream.body else { panic!("{stream:?}") };
    let subscribe =
        json!({ "jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": { "uri": "note://a" } });
    assert_eq!(post(&session, subscribe).status, 200);
    for (id, note) in [("a", "first"), ("b", "other"), ("a", "second")] {
        let call = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "put_note", "arguments": { "id": id, "text": note } } });
        assert_eq!(post(&session, call).status, 200);
    }
    let read = json!({ "jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": { "uri": "note://a" } });
    let Body::Json(bytes) = post(&session, read).body else { panic!() };
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap()["result"]["contents"][0]["text"], "second");
    // Ending the session ends its stream.
    let deleted =
        block_on(host.engine.handle(
            Host::request_to(notes, "DELETE", &[("mcp-session-id", &session)], &Value::Null),
            host.env.backends(),
        ));
    assert_eq!(deleted.status, 200);
    let got: Vec<Value> = block_on(events.map(|e| data(&e)).collect());
    let updated =
        json!({ "jsonrpc": "2.0", "method": "notifications/resources/updated", "params": { "uri": "note://a" } });
    assert_eq!(got, vec![updated; 2]);
}
