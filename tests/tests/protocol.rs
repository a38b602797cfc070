//! The MCP engine's transport rules, driven through `Engine::handle` with
//! real guests (the socket-level tests live with the native server).

use serde_json::{Value, json};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::kv::grant::KvGrant;
use smcp_core::engine::{Engine, Hosted};
use smcp_core::http::{Body, Request, Response};
use smcp_core::names::TenantId;
use smcp_tests::{Env, block_on, load, runtime};
use std::sync::Arc;

const CALC: &str = "/t/acme/s/calc/mcp";
const META: &str = "io.modelcontextprotocol/protocolVersion";

fn engine() -> Engine {
    let rt = Arc::new(runtime());
    // Transport rules, not credentials, are tested here (see auth.rs).
    let mut config = smcp_tests::engine_config(&[("acme", "calc"), ("acme", "notes")]);
    config.allowed_hosts.push("127.0.0.1".into());
    let engine = Engine::new(rt.clone(), config);
    for name in ["calc", "notes"] {
        let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
        engine
            .host(Hosted {
                tenant: TenantId::from_static("acme"),
                server: name.into(),
                component: load(&rt, name),
                grant,
                tools: None,
            })
            .unwrap();
    }
    engine
}

struct Client {
    engine: Engine,
    env: Env,
}

impl Client {
    fn new() -> Client {
        Client { engine: engine(), env: Env::new("acme", "calc", Grant::default()) }
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut all = vec![("host".to_string(), "localhost:8080".to_string())];
        for (k, v) in headers {
            all.retain(|(name, _)| name != k);
            all.push((k.to_string(), v.to_string()));
        }
        let request = Request {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: all,
            body: body.to_vec(),
            client: None,
            new_session_id: None,
        };
        block_on(self.engine.handle(request, self.env.backends()))
    }

    fn post(&self, headers: &[(&str, &str)], body: &Value) -> Response {
        let mut all = vec![("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
        all.extend_from_slice(headers);
        self.send("POST", CALC, &all, body.to_string().as_bytes())
    }

    /// A 2026-07-28 request with the headers it needs.
    fn current(&self, id: u64, method: &str, mut params: Value, name: Option<&str>) -> Response {
        params["_meta"] =
            json!({ META: "2026-07-28", "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} } });
        let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        self.post(&headers, &json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
    }

    /// Initializes a legacy session and returns its id.
    fn initialize(&self, version: &str) -> String {
        let response = self.post(
            &[],
            &json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } }),
        );
        assert_eq!(response.status, 200);
        assert_eq!(json_of(&response)["result"]["protocolVersion"], version);
        header(&response, "mcp-session-id").expect("a session id").to_owned()
    }
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn json_of(response: &Response) -> Value {
    match &response.body {
        Body::Json(bytes) => serde_json::from_slice(bytes).unwrap(),
        Body::Sse(events) => serde_json::from_str(&events.last().unwrap().data).unwrap(),
        Body::Empty => Value::Null,
        Body::Stream(_) => panic!("Engine::handle never streams"),
        Body::Html(_) => panic!("MCP endpoints never answer HTML"),
        Body::JsonLines(_) => panic!("MCP endpoints never answer JSON lines"),
        Body::Png(_) => panic!("MCP endpoints never answer images"),
    }
}

fn error_code(response: &Response) -> i64 {
    json_of(response)["error"]["code"].as_i64().unwrap_or_else(|| panic!("no error in {response:?}"))
}

#[test]
fn legacy_session_lifecycle() {
    let c = Client::new();
    let session = c.initialize("2025-06-18");
    assert!(session.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let initialized =
        c.post(&[("mcp-session-id", &session)], &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(initialized.status, 202);
    assert!(matches!(initialized.body, Body::Empty));
    let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-06-18")];
    let tools = c.post(&headers, &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    assert_eq!(tools.status, 200);
    assert!(json_of(&tools)["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "add"));
    let sum = c.post(&headers, &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}));
    assert_eq!(json_of(&sum)["result"]["structuredContent"], json!({"sum": 3.0}));
    assert_eq!(json_of(&c.post(&headers, &json!({"jsonrpc": "2.0", "id": 3, "method": "ping"})))["result"], json!({}));
    let set_level = c
        .post(&headers, &json!({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "info"}}));
    assert_eq!(json_of(&set_level)["result"], json!({}));

    assert_eq!(c.send("DELETE", CALC, &headers, b"").status, 200);
    let after = c.post(&headers, &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}));
    assert_eq!((after.status, error_code(&after)), (404, -32001));
}

#[test]
fn legacy_version_rules() {
    let c = Client::new();
    // Unknown versions are never echoed.
    let response = c.post(&[], &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "1999-01-01", "capabilities": {}}}));
    assert_eq!(json_of(&response)["result"]["protocolVersion"], "2025-11-25");
    let session = c.initialize("2025-11-25");
    let bad = c.post(
        &[("mcp-session-id", &session), ("mcp-protocol-version", "1999-01-01")],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    );
    assert_eq!(bad.status, 400);
    let missing = c.post(&[], &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    assert_eq!(missing.status, 400);
    let unknown = c.post(
        &[("mcp-session-id", "0123456789abcdef0123456789abcdef")],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    );
    assert_eq!(unknown.status, 404);
    let hostile_id = c.post(&[("mcp-session-id", "../../kv/x")], &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    assert_eq!(hostile_id.status, 404);
    let method = c.post(&[("mcp-session-id", &session)], &json!({"jsonrpc": "2.0", "id": 9, "method": "no/such"}));
    assert_eq!(error_code(&method), -32601);
}

#[test]
fn batches_only_in_2025_03_26() {
    let c = Client::new();
    let old = c.initialize("2025-03-26");
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, {"jsonrpc": "2.0", "method": "notifications/x"}]);
    let response = c.post(&[("mcp-session-id", &old)], &batch);
    let answers = json_of(&response);
    assert_eq!(answers.as_array().map(Vec::len), Some(2));
    let new = c.initialize("2025-11-25");
    assert_eq!(c.post(&[("mcp-session-id", &new)], &batch).status, 400);
}

#[test]
fn progress_and_logs_stream_as_sse() {
    let c = Client::new();
    let path = "/t/acme/s/notes/mcp";
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "new_note", "arguments": {"text": "x"},
        "_meta": {META: "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/logLevel": "info", "progressToken": "p1"}}});
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "new_note"),
    ];
    let response = c.send("POST", path, &headers, body.to_string().as_bytes());
    let Body::Sse(events) = &response.body else { panic!("expected SSE: {response:?}") };
    let messages: Vec<Value> = events.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    let progress: Vec<&Value> = messages.iter().filter(|m| m["method"] == "notifications/progress").collect();
    assert_eq!(progress.len(), 3);
    assert!(progress.iter().all(|p| p["params"]["progressToken"] == "p1"));
    assert!(messages.iter().any(|m| m["method"] == "notifications/message" && m["params"]["level"] == "info"));
    let last = messages.last().unwrap();
    assert_eq!((last["id"].as_u64(), last["result"]["resultType"].as_str()), (Some(7), Some("complete")));
}

#[test]
fn current_era_requests() {
    let c = Client::new();
    let discover = c.current(1, "server/discover", json!({}), None);
    assert_eq!(discover.status, 200);
    let result = &json_of(&discover)["result"];
    assert_eq!(result["supportedVersions"][0], "2026-07-28");
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "smcp-test");
    let tools = json_of(&c.current(2, "tools/list", json!({}), None));
    assert!(tools["result"]["ttlMs"].as_u64().is_some());
    assert_eq!(tools["result"]["cacheScope"], "public");
    // Resources are stored data, not code: not to be kept, nor shared.
    let resources = json_of(&c.current(6, "resources/list", json!({}), None));
    assert_eq!(
        (resources["result"]["ttlMs"].as_u64(), resources["result"]["cacheScope"].as_str()),
        (Some(0), Some("private"))
    );
    let echo = c.current(3, "tools/call", json!({"name": "echo", "arguments": {"text": "hi"}}), Some("echo"));
    assert_eq!(json_of(&echo)["result"]["content"][0]["text"], "hi");
    let about = json_of(&c.current(4, "resources/read", json!({"uri": "calc://about"}), Some("calc://about")));
    assert_eq!(about["result"]["contents"][0]["text"], "calc: a pure-compute SMCP test server.");
    let missing = c.current(5, "resources/read", json!({"uri": "calc://none"}), Some("calc://none"));
    assert_eq!(error_code(&missing), -32602);
    assert_eq!(json_of(&missing)["error"]["data"]["uri"], "calc://none");
    for removed in ["initialize", "ping", "logging/setLevel", "no/such"] {
        let response = c.current(6, removed, json!({}), None);
        assert_eq!((response.status, error_code(&response)), (404, -32601), "{removed}");
    }
    assert_eq!(c.send("GET", CALC, &[], b"").status, 405);
    assert_eq!(c.send("DELETE", CALC, &[], b"").status, 405);
}

#[test]
fn current_era_header_checks() {
    let c = Client::new();
    let body = |version: &str, method: &str| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": {META: version, "io.modelcontextprotocol/clientCapabilities": {}}}});
    let no_header = c.post(&[("mcp-method", "tools/list")], &body("2026-07-28", "tools/list"));
    assert_eq!((no_header.status, error_code(&no_header)), (400, -32020));
    let no_meta = c.post(
        &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
    );
    assert_eq!((no_meta.status, error_code(&no_meta)), (400, -32602));
    let mismatch = c
        .post(&[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")], &body("v999.0.0", "tools/list"));
    assert_eq!((mismatch.status, error_code(&mismatch)), (400, -32020));
    let unsupported = c.post(
        &[("mcp-protocol-version", "2099-01-01"), ("mcp-method", "tools/list")],
        &body("2099-01-01", "tools/list"),
    );
    assert_eq!((unsupported.status, error_code(&unsupported)), (400, -32022));
    assert_eq!(json_of(&unsupported)["error"]["data"]["requested"], "2099-01-01");
    let wrong_method = c.post(
        &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "TOOLS/LIST")],
        &body("2026-07-28", "tools/list"),
    );
    assert_eq!(error_code(&wrong_method), -32020);
    let wrong_name = c.current(1, "tools/call", json!({"name": "echo", "arguments": {"text": "x"}}), Some("add"));
    assert_eq!(error_code(&wrong_name), -32020);
    let no_name = c.current(1, "tools/call", json!({"name": "echo", "arguments": {"text": "x"}}), None);
    assert_eq!(error_code(&no_name), -32020);
    let encoded =
        c.current(1, "tools/call", json!({"name": "echo", "arguments": {"text": "x"}}), Some("=?base64?ZWNobw==?="));
    assert_eq!(encoded.status, 200);
}

#[test]
fn input_required_with_protected_state() {
    let c = Client::new();
    let first = json_of(&c.current(1, "tools/call", json!({"name": "greet", "arguments": {}}), Some("greet")));
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required");
    assert_eq!(result["inputRequests"]["name"]["method"], "elicitation/create");
    let state = result["requestState"].as_str().unwrap().to_owned();
    let retry = |state: &str| {
        json_of(&c.current(
            2,
            "tools/call",
            json!({"name": "greet", "arguments": {}, "requestState": state,
            "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}}}),
            Some("greet"),
        ))
    };
    assert_eq!(retry(&state)["result"]["content"][0]["text"], "Hello, Ada!");
    let mut tampered = state.clone();
    tampered.insert(0, 'x');
    assert_eq!(retry(&tampered)["error"]["code"], -32602);
    // Sampling needs a capability this client did not declare.
    let sampling =
        c.current(3, "tools/call", json!({"name": "ask_model", "arguments": {"question": "q"}}), Some("ask_model"));
    assert_eq!((sampling.status, error_code(&sampling)), (400, -32021));
    assert_eq!(json_of(&sampling)["error"]["data"]["requiredCapabilities"], json!({"sampling": {}}));
}

#[test]
fn bad_input_gets_clear_errors() {
    let c = Client::new();
    let json = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    let send = |body: &[u8]| c.send("POST", CALC, &json, body);
    assert_eq!((send(b"{").status, error_code(&send(b"{"))), (400, -32700));
    assert_eq!(error_code(&send(b"[]")), -32600);
    assert_eq!(error_code(&send(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#)), -32600);
    assert_eq!(send(&vec![b' '; 70 << 10]).status, 413);
    assert_eq!(c.send("POST", CALC, &[("content-type", "text/plain"), json[1]], b"{}").status, 415);
    assert_eq!(c.send("POST", CALC, &[json[0], ("accept", "application/json")], b"{}").status, 406);
    // An unknown server of the tenant: credentials are asked for first, so
    // nothing about the tenant's servers leaks to the unauthenticated.
    assert_eq!(c.send("POST", "/t/acme/s/nope/mcp", &json, b"{}").status, 401);
    assert_eq!(c.send("POST", "/t/acme/s/calc/mcp/x", &json, b"{}").status, 404);
}

#[test]
fn host_origin_and_cors() {
    let c = Client::new();
    let evil_host = c.send("POST", CALC, &[("host", "evil.example.com")], b"{}");
    assert_eq!(evil_host.status, 403);
    let evil_origin = c.send("POST", CALC, &[("origin", "http://evil.example.com")], b"{}");
    assert_eq!(evil_origin.status, 403);
    assert!(header(&evil_origin, "access-control-allow-origin").is_none());
    // Another port of an allowed host is another origin.
    let other_port = c.send("POST", CALC, &[("origin", "http://localhost:1")], b"{}");
    assert_eq!(other_port.status, 403);
    let preflight = c.send("OPTIONS", CALC, &[("origin", "http://localhost:3000")], b"");
    assert_eq!(preflight.status, 204);
    assert!(header(&preflight, "access-control-allow-headers").unwrap().contains("mcp-protocol-version"));
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some("http://localhost:3000"));
    let not_allowed = c.send("GET", CALC, &[("origin", "http://localhost:3000")], b"");
    assert_eq!(not_allowed.status, 405);
    assert!(header(&not_allowed, "access-control-expose-headers").unwrap().contains("mcp-session-id"));
}
