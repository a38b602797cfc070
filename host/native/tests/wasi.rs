//! The attacker is an ordinary Rust program built by rustc for
//! `wasm32-wasip2` (guests/hostile-wasip2): its standard library reaches the
//! host through WASI 0.2 as a native program reaches its OS. Over real HTTP
//! against the real server, it finds only the variables its grant lists, no
//! files and an empty stdin; its hour-long sleep ends at the grant's wall
//! time, its stderr flood at the log budget and call limits, its `exit`
//! ends the call with a typed error; and the server serves on.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{DevHost, dev_grants, dev_tool_call};

const GUEST: &str = "hostile-wasip2";

/// `tool`'s result: `isError` and the text.
fn call(host: &DevHost, tool: &str, arguments: Value) -> (bool, String) {
    call_on(host, GUEST, tool, arguments)
}

fn call_on(host: &DevHost, guest: &str, tool: &str, arguments: Value) -> (bool, String) {
    let (status, answer) = dev_tool_call(host.addr(), host.key(), guest, tool, arguments);
    assert_eq!(status, 200, "{tool}: {answer}");
    let result = &answer["result"];
    let text = result["content"][0]["text"].as_str().unwrap_or_default().to_owned();
    (result["isError"] == json!(true), text)
}

#[test]
fn a_wasip2_program_sees_only_what_its_grant_gives() {
    let host = DevHost::start(&[GUEST], |_| {});

    let (failed, found) = call(&host, "probe_environment", json!({}));
    assert!(!failed, "{found}");
    let found: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(found["vars"], json!([["GREETING", "hello"], ["REGION", "eu-west"]]), "the grant's [environment]");
    assert_eq!(found["args"], json!([]));

    for path in ["/etc/passwd", "secret.txt", "../../data/smcp.db"] {
        let (failed, text) = call(&host, "read_file", json!({ "path": path }));
        assert!(failed, "{path}: {text}");
        assert!(text.starts_with(&format!("{path}: ")) && !text.contains("root:"), "{text}");
    }

    assert_eq!(call(&host, "read_stdin", json!({})), (false, "0 bytes".to_owned()));

    let started = Instant::now();
    let (failed, text) = call(&host, "sleep", json!({}));
    assert!(failed && text.contains("2000 ms of wall time"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(30), "the sleep ended with the call: {:?}", started.elapsed());

    let (failed, text) = call(&host, "flood_stderr", json!({}));
    assert!(failed && text.contains("capability calls"), "{text}");

    // `exit(3)`: WASI 0.2's stable `exit` says only success or failure.
    let (failed, text) = call(&host, "exit", json!({}));
    assert!(failed && text.contains("exited with status 1"), "{text}");

    // None of it stopped the server, or this guest.
    assert!(!call(&host, "read_stdin", json!({})).0);
    host.stop();
}

/// Outbound HTTP through wasi:http to a private address is refused before
/// anything is sent, though the grant names the address: the host's
/// address policy holds for wasi:http as for `smcp:mcp/http`.
#[test]
fn wasi_http_cannot_reach_a_private_address() {
    let canary = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    canary.set_nonblocking(true).unwrap();
    let target = canary.local_addr().unwrap();
    let host = DevHost::start(&["fetcher-wasip2"], |config| {
        let grant = format!(
            "version = 1\n[http]\nallowed_hosts = [\"{target}\", \"169.254.169.254\"]\nschemes = [\"https\", \"http\"]\n"
        );
        dev_grants(config).insert("fetcher-wasip2".into(), grant);
    });
    for url in [format!("http://{target}/"), "http://169.254.169.254/latest/meta-data/".to_owned()] {
        let (failed, text) = call_on(&host, "fetcher-wasip2", "fetch", json!({ "url": url }));
        assert!(failed && text.contains("HttpRequestDenied"), "{url}: {text}");
    }
    assert!(canary.accept().is_err(), "nothing connected to the private address");
    host.stop();
}
