//! The host's own work on a guest's behalf is charged to the call that
//! caused it, over real HTTP against the native server: the attacker is
//! `hostile-hostcalls`, which loops on capability calls instead of
//! computing. Each capability call costs fuel, one byte budget covers all
//! of a call's capability arguments, the wall time is checked at every
//! capability call, and other tenants' calls are answered while a flood
//! runs.

mod support;

use serde_json::{Value, json};
use support::{DevHost, dev_grants};

fn start(flood_grant: &str) -> DevHost {
    DevHost::start(&["calc", "hostile-hostcalls"], |config| {
        dev_grants(config).insert("hostile-hostcalls".into(), format!("version = 1\n[kv]\n{flood_grant}"));
    })
}

/// Calls `tool` of `server` with a 2026-07-28 request: the JSON-RPC message.
fn call(host: &DevHost, server: &str, tool: &str, arguments: Value) -> Value {
    let (status, message) = support::dev_tool_call(host.addr(), host.key(), server, tool, arguments);
    assert_eq!(status, 200, "{message}");
    message
}

fn text(message: &Value) -> String {
    message["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text in {message}")).to_owned()
}

#[test]
fn each_capability_call_costs_fuel() {
    // 1,000 calls of a one-byte log line cost the guest little computing
    // and the host 1,000 dispatches: at 2,000 fuel each they do not fit in
    // a million, which 100 such calls do.
    let host = start("[limits]\nfuel = 1_000_000\nhost_calls = 100_000\n");
    let few = call(&host, "hostile-hostcalls", "log_flood", json!({ "bytes": 1, "calls": 100 }));
    assert_eq!(text(&few), "100 log lines written", "{few}");
    let many = call(&host, "hostile-hostcalls", "log_flood", json!({ "bytes": 1, "calls": 1000 }));
    assert_eq!(many["result"]["isError"], true, "{many}");
    assert!(text(&many).contains("ran out of fuel (limit 1000000, the grant's [limits] fuel)"), "{many}");
    host.stop();
}

#[test]
fn one_byte_budget_covers_all_capability_arguments_of_a_call() {
    // 64 KiB a call: 8 calls fit in a MiB, 32 do not, though each alone would.
    let host = start("[limits]\nimport_bytes = 1_048_576\n");
    let few = call(&host, "hostile-hostcalls", "log_flood", json!({ "bytes": 65_000, "calls": 8 }));
    assert_eq!(text(&few), "8 log lines written", "{few}");
    let many = call(&host, "hostile-hostcalls", "log_flood", json!({ "bytes": 65_000, "calls": 32 }));
    assert_eq!(many["result"]["isError"], true, "{many}");
    assert!(text(&many).contains("passed more than 1048576 bytes to capability calls"), "{many}");
    // The same holds for arguments the grant refuses (a key over its size).
    let keys = call(&host, "hostile-hostcalls", "kv_flood", json!({ "bytes": 65_000, "calls": 32 }));
    assert!(text(&keys).contains("passed more than 1048576 bytes to capability calls"), "{keys}");
    host.stop();
}

#[test]
fn a_flood_of_capability_calls_stops_at_the_wall_time_and_shares_the_thread() {
    // At the ceilings for calls, fuel and bytes, only the wall time stops
    // the flood: 100,000 calls take longer than 300 ms. Before the host
    // checked it at every capability call, the flood ran to its last call.
    let host =
        start("[limits]\nfuel = 10_000_000_000\nhost_calls = 100_000\nimport_bytes = 67_108_864\nwall_time_ms = 300\n");
    let flood = call(&host, "hostile-hostcalls", "log_flood", json!({ "bytes": 1 }));
    assert_eq!(flood["result"]["isError"], true, "{flood}");
    assert!(text(&flood).contains("300 ms of wall time"), "{flood}");

    // While a longer flood runs on the one serving thread, calc answers.
    let host = start(
        "[limits]\nfuel = 10_000_000_000\nhost_calls = 100_000\nimport_bytes = 67_108_864\nwall_time_ms = 3000\n",
    );
    std::thread::scope(|scope| {
        let flood = scope.spawn(|| call(&host, "hostile-hostcalls", "kv_flood", json!({ "bytes": 200 })));
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut answered_while_flooding = 0;
        // Fifty are enough (and stay under the key's rate limit).
        while !flood.is_finished() && answered_while_flooding < 50 {
            assert_eq!(text(&call(&host, "calc", "add", json!({ "a": 40, "b": 2 }))), "42");
            if !flood.is_finished() {
                answered_while_flooding += 1;
            }
        }
        let flood = flood.join().unwrap();
        assert_eq!(flood["result"]["isError"], true, "{flood}");
        // Served one after the other, at most the call already waiting
        // when the flood ended would count.
        assert!(
            answered_while_flooding >= 5,
            "only {answered_while_flooding} calls were answered during the flood: {flood}"
        );
    });
    host.stop();
}

/// POSTs `body` to calc in 2025-03-26 session `session` (or opens one
/// when `None`): status, session id, body.
fn legacy_post(host: &DevHost, session: Option<&str>, body: &str) -> (u16, Option<String>, Value) {
    let key = host.key();
    let session_header =
        session.map(|s| format!("mcp-session-id: {s}\r\nmcp-protocol-version: 2025-03-26\r\n")).unwrap_or_default();
    let head = format!(
        "POST /t/dev/s/calc/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nauthorization: Bearer {key}\r\n{session_header}content-length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(host.addr()).unwrap();
    use std::io::{Read, Write};
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let id = head.lines().find_map(|l| l.strip_prefix("mcp-session-id: ").map(str::to_owned));
    (status, id, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn batches_are_capped_and_each_request_in_them_is_rate_limited() {
    let host = DevHost::start(&["calc"], |config| {
        config.rate_limits.per_principal = smcp_core::auth::rate::Limit { burst: 20.0, per_second: 0.01 };
    });
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": { "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": { "name": "attacker", "version": "1" } } });
    let (status, session, _) = legacy_post(&host, None, &init.to_string());
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let batch = |n: usize| {
        let calls: Vec<Value> =
            (1..=n).map(|i| json!({ "jsonrpc": "2.0", "id": i, "method": "tools/call", "params": { "name": "add", "arguments": { "a": i, "b": 1 } } })).collect();
        Value::Array(calls).to_string()
    };
    // Ten thousand calls in one POST: refused whole, before any runs.
    let (status, _, body) = legacy_post(&host, Some(&session), &batch(10_000));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 32 messages"), "{body}");
    // 30 in one POST against a burst of 20: initialize, the refused batch
    // and this POST took one each (the POST's is its first request's), so
    // the first 18 run and 12 are refused.
    let (status, _, body) = legacy_post(&host, Some(&session), &batch(30));
    assert_eq!(status, 200, "{body}");
    let answers = body.as_array().expect("a batch answer");
    assert_eq!(answers.len(), 30);
    let ran = answers.iter().filter(|a| a["result"]["content"][0]["text"].is_string()).count();
    let limited = answers
        .iter()
        .filter(|a| a["error"]["message"].as_str().is_some_and(|m| m.starts_with("Too Many Requests")))
        .count();
    assert_eq!((ran, limited), (18, 12), "{body}");
    host.stop();
}

#[test]
fn a_client_that_does_not_read_its_stream_is_cut_off() {
    // 64 MiB of progress messages (the argument budget's ceiling) to a
    // client that reads nothing until the guest is done: the host keeps at
    // most 8 MiB unread, then ends the stream.
    let host = start(
        "[limits]\nfuel = 10_000_000_000\nhost_calls = 100_000\nimport_bytes = 67_108_864\nwall_time_ms = 5_000\n",
    );
    let key = host.key().to_owned();
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "progress_flood", "arguments": { "bytes": 16_000 },
        "_meta": { "progressToken": "p", "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string();
    let head = format!(
        "POST /t/dev/s/hostile-hostcalls/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\n\
         mcp-name: progress_flood\r\nauthorization: Bearer {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host.addr()).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // The guest runs to its limit meanwhile; others are served.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(text(&call(&host, "calc", "add", json!({ "a": 1, "b": 2 }))), "3");
    std::thread::sleep(std::time::Duration::from_secs(6));
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    let text = String::from_utf8_lossy(&received);
    assert!(received.len() > 1 << 20, "the stream started: {} bytes", received.len());
    assert!(received.len() < 32 << 20, "the host kept {} bytes for a client that did not read", received.len());
    assert!(!text.contains("\"result\""), "the cut stream carries no result");
    host.stop();
}
