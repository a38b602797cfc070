//! The example guests doing real work through the native server, over
//! real HTTP on loopback: notes kept in KV survive a restart, files come
//! back byte for byte, and the fetcher calls a local HTTP server its grant
//! allows with a secret set by `smcp secrets set`, which the guest uses
//! but the MCP client never sees.

mod support;

use serde_json::{Value, json};
use smcp_core::policy::address::Opening;
use smcp_native::{Background, Config};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

const MASTER_KEYS: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

fn start(data: &Path, guests: &[&str], configure: impl FnOnce(&mut Config)) -> Background {
    support::serve(data, guests, configure)
}

/// Calls `tool` of `server` with a 2026-07-28 request; returns the result.
fn call(host: &Background, server: &str, tool: &str, arguments: Value) -> Value {
    call_message(host, server, tool, arguments)["result"].clone()
}

/// Calls `tool` of `server` with a 2026-07-28 request; returns the whole
/// JSON-RPC message.
fn call_message(host: &Background, server: &str, tool: &str, arguments: Value) -> Value {
    let key = host.dev_key.as_deref().expect("dev mode makes a key");
    support::dev_tool_call(host.addr, key, server, tool, arguments).1
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text in {result}"))
}

#[test]
fn notes_survive_a_restart() {
    let data = tempfile::Builder::new().prefix("smcp-restart-").tempdir().unwrap();
    let host = start(data.path(), &["notes"], |_| {});
    let saved = call(&host, "notes", "put_note", json!({ "id": "keep", "text": "written before the restart ✓" }));
    assert_eq!(saved["isError"], false, "{saved}");
    host.stop();
    let host = start(data.path(), &["notes"], |_| {});
    let read = call(&host, "notes", "get_note", json!({ "id": "keep" }));
    assert_eq!(text(&read), "written before the restart ✓");
    host.stop();
}

#[test]
fn files_come_back_byte_for_byte() {
    let data = tempfile::Builder::new().prefix("smcp-files-").tempdir().unwrap();
    let host = start(data.path(), &["files"], |_| {});
    // Every kind of character, 300 KB: more than any single buffer.
    let content: String =
        (0..20_000).map(|i| char::from_u32(0x20 + (i * 7919) % 0x2f00).unwrap_or('x')).collect::<String>() + "\n\0end";
    let written = call(&host, "files", "write_file", json!({ "path": "docs/big.txt", "content": content }));
    assert_eq!(written["isError"], false, "{written}");
    let read = call(&host, "files", "read_file", json!({ "path": "docs/big.txt" }));
    assert!(text(&read) == content, "the file changed on the way");
    let escape = call(&host, "files", "read_file", json!({ "path": "../../etc/passwd" }));
    assert_eq!(escape["isError"], true, "{escape}");
    host.stop();
}

/// A one-request HTTP server on 127.0.0.1 that sends back what it got.
fn echo_server() -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        let body = "hello from the test server";
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tx.send(lines);
    });
    (port, rx)
}

#[test]
fn the_fetcher_uses_a_secret_the_client_never_sees() {
    let data = tempfile::Builder::new().prefix("smcp-secret-").tempdir().unwrap();
    let secret = "tok-4242-do-not-leak";
    // The operator stores the secret with the CLI, server stopped.
    let mut set = Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["secrets", "set", "--tenant", "dev", "--server", "fetcher", "API_TOKEN", "--data-dir"])
        .arg(data.path())
        .env("SMCP_MASTER_KEYS", MASTER_KEYS)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    let done = set.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(!String::from_utf8_lossy(&done.stderr).contains(secret));
    let stored = std::fs::read(data.path().join("kv.redb")).unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is stored encrypted");

    let (port, requests) = echo_server();
    let grant = format!(
        "version = 1\n[http]\nallowed_hosts = [\"127.0.0.1:{port}\"]\nschemes = [\"http\"]\n[secrets]\nnames = [\"API_TOKEN\"]"
    );
    let host = start(data.path(), &["fetcher"], |config| {
        config.master_keys = Some(MASTER_KEYS.into());
        config.open_addresses = vec![format!("127.0.0.1:{port}").parse::<Opening>().unwrap()];
        config.dev.as_mut().unwrap().grants.insert("fetcher".into(), grant);
    });
    let result = call(&host, "fetcher", "fetch_with_secret", json!({ "url": format!("http://127.0.0.1:{port}/echo") }));
    assert_eq!(result["structuredContent"]["status"], 200, "{result}");
    assert!(result["structuredContent"]["body"].as_str().unwrap().contains("hello from the test server"));
    assert!(!result.to_string().contains(secret), "the client saw the secret: {result}");
    let seen = requests.recv().unwrap();
    assert!(seen.iter().any(|h| h.eq_ignore_ascii_case(&format!("authorization: Bearer {secret}"))), "{seen:?}");
    host.stop();
}

#[test]
fn a_guest_burning_its_fuel_does_not_hold_up_other_calls() {
    let data = tempfile::Builder::new().prefix("smcp-slices-").tempdir().unwrap();
    // One serving thread: the calls below must get their turns between
    // the spin's slices, not on another thread.
    let host = start(data.path(), &["calc", "hostile-loop"], |config| config.threads = 1);
    assert_eq!(text(&call(&host, "calc", "add", json!({ "a": 1, "b": 2 }))), "3");
    std::thread::scope(|scope| {
        // The spin burns its whole fuel (seconds in a debug build), one
        // slice at a time, on the thread that serves every request.
        let spin = scope.spawn(|| call_message(&host, "hostile-loop", "spin", json!({})));
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut answered_while_spinning = 0;
        while !spin.is_finished() {
            assert_eq!(text(&call(&host, "calc", "add", json!({ "a": 40, "b": 2 }))), "42");
            if !spin.is_finished() {
                answered_while_spinning += 1;
            }
        }
        let spun = spin.join().unwrap();
        assert!(spun.to_string().contains("fuel"), "the spin ends out of fuel: {spun}");
        // Served one after the other, at most the call already waiting
        // when the spin ended would count.
        assert!(answered_while_spinning >= 10, "only {answered_while_spinning} calls were answered while the spin ran");
    });
    host.stop();
}

#[test]
fn outbound_requests_keep_to_the_granted_port_and_headers() {
    let data = tempfile::Builder::new().prefix("smcp-outbound-rules-").tempdir().unwrap();
    let (port, requests) = echo_server();
    // Another service on the same host, which the grant does not name.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let grant = format!(
        "version = 1\n[http]\nallowed_hosts = [\"127.0.0.1:{port}\"]\nschemes = [\"http\"]\n[secrets]\nnames = [\"API_TOKEN\"]"
    );
    let host = start(data.path(), &["fetcher"], |config| {
        config.open_addresses = vec![
            format!("127.0.0.1:{port}").parse::<Opening>().unwrap(),
            format!("127.0.0.1:{other_port}").parse::<Opening>().unwrap(),
        ];
        config.dev.as_mut().unwrap().grants.insert("fetcher".into(), grant);
    });
    let fetch =
        |url: String, headers: Value| call(&host, "fetcher", "fetch", json!({ "url": url, "headers": headers }));
    for url in [
        format!("http://127.0.0.1:{other_port}/"),
        "http://127.0.0.1:6379/".into(),
        "http://127.0.0.1:0/".into(),
        "http://127.0.0.1/".into(),
    ] {
        let refused = fetch(url.clone(), json!({}));
        assert_eq!(refused["isError"], true, "{url}: {refused}");
        assert!(
            text(&refused).contains("not in the grant's allowed hosts") || text(&refused).contains("invalid"),
            "{url}: {refused}"
        );
    }
    for (name, value) in [
        ("X-Forwarded-For", "10.0.0.1"),
        ("Forwarded", "for=10.0.0.1"),
        ("X-Forwarded-Host", "admin.internal"),
        ("Via", "1.1 proxy"),
    ] {
        let refused = fetch(format!("http://127.0.0.1:{port}/"), json!({ name: value }));
        assert!(text(&refused).contains("is set by the host"), "{name}: {refused}");
    }
    let many: serde_json::Map<String, Value> = (0..65).map(|i| (format!("x-h{i}"), json!("v"))).collect();
    assert!(text(&fetch(format!("http://127.0.0.1:{port}/"), Value::Object(many))).contains("at most 64 headers"));
    let big = fetch(format!("http://127.0.0.1:{port}/"), json!({ "x-big": "v".repeat(40_000) }));
    assert!(text(&big).contains("32768 bytes"), "{big}");
    // What the grant names still works, and nothing refused was sent.
    let fine = fetch(format!("http://127.0.0.1:{port}/ok"), json!({ "x-fine": "yes" }));
    assert_eq!(fine["structuredContent"]["status"], 200, "{fine}");
    let seen = requests.recv().unwrap();
    assert!(seen.iter().any(|h| h.eq_ignore_ascii_case("x-fine: yes")), "{seen:?}");
    assert!(
        !seen
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("x-forwarded")
                || h.to_ascii_lowercase().starts_with("forwarded"))
    );
    other.set_nonblocking(true).unwrap();
    assert!(other.accept().is_err(), "the service on the other port was never called");
    host.stop();
}
