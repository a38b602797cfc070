//! Tool arguments are checked against the tool's `inputSchema` by the host,
//! before any guest runs: over real HTTP, a call with arguments that do not
//! fit comes back as a tool error naming the path, and the audit trail shows
//! that no guest instruction ran for it (no fuel), for a Rust guest, a
//! Python one and a JavaScript one whose schemas name draft-07 alike. A
//! result that breaks the tool's `outputSchema` never reaches the client.

mod support;

use serde_json::{Value, json};
use support::{DevHost, dev_tool_call, http1};

/// Tenant dev's audit records, oldest first.
fn audit(host: &DevHost) -> Vec<Value> {
    let head = format!(
        "GET /admin/v1/tenants/dev/audit?limit=500 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {}\r\n\r\n",
        host.key()
    );
    let (status, body) = http1(host.addr(), head.as_bytes(), b"").unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: Value = serde_json::from_slice(&body).unwrap();
    answer["records"].as_array().cloned().unwrap_or_default()
}

#[test]
fn arguments_that_do_not_fit_the_schema_never_reach_the_guest() {
    let host = DevHost::start(&["calc", "calc-py", "notes-js"], |_| {});
    let add = |a: Value, b: Value| json!({"a": a, "b": b});
    // notes-js's schemas name draft-07, as JavaScript generators write them.
    let cases = [
        ("calc", "add", add(json!(2), json!(40))),
        ("calc-py", "add", add(json!(2), json!(40))),
        ("notes-js", "put_note", json!({"id": "n1", "text": "hello"})),
    ];
    for (server, tool, fine_arguments) in cases {
        let (status, fine) = dev_tool_call(host.addr(), host.key(), server, tool, fine_arguments);
        assert_eq!(status, 200, "{fine}");
        assert_eq!(fine["result"]["isError"], json!(false), "{server}: {fine}");
        if tool == "add" {
            assert_eq!(fine["result"]["structuredContent"], json!({"sum": 42.0}), "{server}: {fine}");
        }
        let refusals = if tool == "add" {
            [
                (add(json!("two"), json!(2)), "`/a`: \"two\" is not of type \"number\""),
                (json!({"a": 2}), "\"b\" is a required property"),
            ]
        } else {
            [
                (json!({"id": 5, "text": "hello"}), "`/id`: 5 is not of type \"string\""),
                (json!({"id": "n2"}), "\"text\" is a required property"),
            ]
        };
        for (arguments, wanted) in refusals {
            let (status, refused) = dev_tool_call(host.addr(), host.key(), server, tool, arguments);
            assert_eq!(status, 200, "{refused}");
            let result = &refused["result"];
            assert_eq!(result["isError"], json!(true), "{server}: {refused}");
            let text = result["content"][0]["text"].as_str().unwrap_or_default();
            assert!(text.starts_with(&format!("invalid arguments for tool `{tool}`: ")), "{server}: {text}");
            assert!(text.contains(wanted), "{server}: {text}");
        }
    }
    let calls: Vec<Value> =
        audit(&host).into_iter().filter(|r| r["kind"] == "tool.call").map(|r| r["detail"].clone()).collect();
    let refused: Vec<&Value> = calls.iter().filter(|d| d["outcome"] == "tool_error").collect();
    assert_eq!(refused.len(), 6, "{calls:#?}");
    assert!(refused.iter().all(|d| d["fuel"] == json!(0)), "no guest ran for a refused call: {refused:#?}");
    assert!(calls.iter().filter(|d| d["outcome"] == "ok").all(|d| d["fuel"].as_u64() > Some(0)), "{calls:#?}");
    host.stop();
}

#[test]
fn a_result_that_breaks_its_output_schema_never_reaches_the_client() {
    let host = DevHost::start(&["hostile-output"], |_| {});
    // `mislabelled` declares `{"sum": number}` and gives `{"sum": "five"}`.
    let (status, answer) = dev_tool_call(host.addr(), host.key(), "hostile-output", "mislabelled", json!({}));
    assert_eq!(status, 200, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["isError"], json!(true), "{answer}");
    assert!(result.get("structuredContent").is_none(), "the guest's structured content is withheld: {answer}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("tool `mislabelled` returned a result the host withheld: "), "{text}");
    assert!(text.contains("`/sum`: \"five\" is not of type \"number\""), "{text}");
    // The guest's other tools still answer.
    let (_, pong) = dev_tool_call(host.addr(), host.key(), "hostile-output", "ping", json!({}));
    assert_eq!(pong["result"]["content"][0]["text"], json!("pong"), "{pong}");
    let calls: Vec<Value> =
        audit(&host).into_iter().filter(|r| r["kind"] == "tool.call").map(|r| r["detail"].clone()).collect();
    assert!(calls.iter().any(|d| d["tool"] == "mislabelled" && d["outcome"] == "tool_error"), "{calls:#?}");
    host.stop();
}
