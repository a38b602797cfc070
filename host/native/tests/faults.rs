//! Faults injected behind the native host's real backends (redb, the file
//! object store, outbound HTTP to a local origin) while real guests run,
//! over real HTTP: each capability × each fault (fails, hangs until the
//! request's wall time ends it, answers slowly). Every client must get a
//! clear answer, stored values must be the old ones or the new ones and
//! never anything else, a legacy session opened before must still work
//! after, and the audit trail must record the failed calls. Also a guest
//! that runs out of fuel at every point of a write.
//!
//! Prints the fault matrix it observed.

mod support;

use serde_json::{Value, json};
use smcp_core::platform::faults::{Fault, Faults, Target};
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{DevHost, dev_grants};

const WALL_MS: u64 = 1500;

struct Host {
    server: DevHost,
    faults: Arc<Faults>,
    origin: u16,
}

/// An origin answering every request with `hello from origin`.
fn origin() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ =
                write!(&stream, "HTTP/1.1 200 OK\r\ncontent-length: 17\r\nconnection: close\r\n\r\nhello from origin");
        }
    });
    port
}

impl Host {
    fn start() -> Host {
        let origin = origin();
        let faults = Arc::new(Faults::default());
        let limits = format!("[limits]\nwall_time_ms = {WALL_MS}\n");
        let host = DevHost::start(&["notes", "files", "fetcher"], |config| {
            let grants = dev_grants(config);
            grants.insert("notes".into(), format!("version = 1\n{limits}[kv]\n"));
            grants.insert("files".into(), format!("version = 1\n{limits}[objects]\n"));
            grants.insert("fetcher".into(), format!("version = 1\n{limits}[http]\nallowed_hosts = [\"127.0.0.1:{origin}\"]\nschemes = [\"http\"]\n[secrets]\nnames = [\"API_TOKEN\"]\n"));
            config.open_addresses = vec![format!("127.0.0.1:{origin}").parse().unwrap()];
            config.faults = Some(faults.clone());
        });
        Host { server: host, faults, origin }
    }

    /// A 2026-07-28 tools/call: HTTP status, the result or error, time taken.
    fn call(&self, server: &str, tool: &str, arguments: Value) -> (u16, Value, Duration) {
        let params = json!({ "name": tool, "arguments": arguments,
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } });
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params }).to_string();
        let started = Instant::now();
        let (status, answer) = self.post(
            server,
            &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", tool)],
            &body,
        );
        (status, serde_json::from_str(&answer).unwrap_or(Value::Null), started.elapsed())
    }

    fn post(&self, server: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut head = format!(
            "POST /t/dev/s/{server}/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n",
            self.server.key(),
            body.len()
        );
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n";
        let (status, bytes) = support::http1(self.server.addr(), head.as_bytes(), body.as_bytes()).unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn text(&self, server: &str, tool: &str, arguments: Value) -> String {
        let (status, answer, _) = self.call(server, tool, arguments);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        answer["result"]["content"][0]["text"].as_str().unwrap().to_owned()
    }

    fn audit(&self) -> Vec<Value> {
        std::thread::sleep(Duration::from_millis(100));
        let (ok, out, err) = support::smcp(
            &format!("http://127.0.0.1:{}", self.server.addr().port()),
            self.server.key(),
            &["audit", "list"],
        );
        assert!(ok, "{err}");
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

/// What a client saw: a tool error (isError) or a JSON-RPC error, and its message.
fn failure(answer: &Value) -> Option<String> {
    if answer["result"]["isError"] == true {
        return Some(answer["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned());
    }
    answer["error"]["message"].as_str().map(str::to_owned)
}

#[test]
fn every_capability_under_every_fault_gives_clear_errors_and_loses_nothing() {
    let host = Host::start();
    // A legacy session opened before any fault.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"faults","version":"1"}}}"#;
    let session = {
        let mut stream = std::net::TcpStream::connect(host.server.addr()).unwrap();
        let key = host.server.key();
        write!(stream, "POST /t/dev/s/notes/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{init}", init.len()).unwrap();
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
        response
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id:").map(|v| v.trim().to_owned()))
            .expect("a session")
    };
    let fetch_url = format!("http://127.0.0.1:{}/x", host.origin);
    // Per capability: the write under test, how to read the value back,
    // and the value stored before.
    type Step = Box<dyn Fn(&Host, &str) -> (u16, Value, Duration)>;
    type Check = Box<dyn Fn(&Host) -> String>;
    let cases: Vec<(Target, &str, Step, Check)> = vec![
        (
            Target::GuestKv,
            "notes put_note",
            Box::new(|h: &Host, v: &str| h.call("notes", "put_note", json!({ "id": "k", "text": v }))),
            Box::new(|h: &Host| h.text("notes", "get_note", json!({ "id": "k" }))),
        ),
        (
            Target::Objects,
            "files write_file",
            Box::new(|h: &Host, v: &str| h.call("files", "write_file", json!({ "path": "a.txt", "content": v }))),
            Box::new(|h: &Host| h.text("files", "read_file", json!({ "path": "a.txt" }))),
        ),
        (
            Target::Http,
            "fetcher fetch",
            Box::new(move |h: &Host, _: &str| h.call("fetcher", "fetch", json!({ "url": fetch_url }))),
            Box::new(|_: &Host| "hello from origin".to_owned()),
        ),
    ];
    let mut matrix =
        vec!["| capability | fault | client saw | stored value after |".to_owned(), "|---|---|---|---|".to_owned()];
    for (target, what, write, read) in &cases {
        let (status, answer, _) = write(&host, "v0");
        assert_eq!((status, failure(&answer)), (200, None), "{what} without faults: {answer}");
        for (n, fault) in [Fault::Fail, Fault::Hang, Fault::Slow(300)].into_iter().enumerate() {
            let value = format!("v{}", n + 1);
            let before = read(&host);
            host.faults.arm(*target, fault);
            let (status, answer, took) = write(&host, &value);
            host.faults.clear();
            let after = read(&host);
            let seen = match fault {
                Fault::Fail => {
                    let message = failure(&answer).unwrap_or_else(|| panic!("{what} {fault:?}: no error: {answer}"));
                    assert!(message.contains("unavailable"), "{what} {fault:?}: {message}");
                    assert_eq!(after, before, "{what} {fault:?}: a failed write changed the value");
                    message
                }
                Fault::Hang => {
                    let message = failure(&answer).unwrap_or_else(|| panic!("{what} {fault:?}: no error: {answer}"));
                    assert!(message.contains("wall time"), "{what} {fault:?}: {message}");
                    assert!(took < Duration::from_millis(WALL_MS + 2000), "{what} {fault:?}: took {took:?}");
                    assert_eq!(after, before, "{what} {fault:?}: a hung write changed the value");
                    message
                }
                Fault::Slow(ms) => {
                    assert_eq!(failure(&answer), None, "{what} {fault:?}: {answer}");
                    assert!(took >= Duration::from_millis(ms), "{what} {fault:?}: took {took:?}");
                    if *target != Target::Http {
                        assert_eq!(after, value, "{what} {fault:?}: the slow write was lost");
                    }
                    format!("success after {} ms", took.as_millis())
                }
            };
            assert_eq!(status, 200, "{what} {fault:?}");
            matrix.push(format!(
                "| {what} | {fault:?} | {} | {} |",
                seen.replace('|', "/"),
                if after == before { "unchanged" } else { "the new value" }
            ));
        }
    }
    eprintln!("fault matrix:\n{}", matrix.join("\n"));

    // The session opened before still answers.
    let (status, answer) = host.post(
        "notes",
        &[("mcp-session-id", &session), ("mcp-protocol-version", "2025-11-25")],
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("put_note"), "{answer}");

    // Every failed call is in the trail, with what failed under it.
    let records = host.audit();
    let failed: Vec<&Value> =
        records.iter().filter(|r| r["kind"] == "tool.call" && r["detail"]["outcome"] != "ok").collect();
    assert_eq!(failed.len(), 6, "failed calls recorded: {failed:#?}");
    let failures: Vec<String> = failed.iter().map(|r| r["detail"]["failures"].to_string()).collect();
    for expected in ["kv.", "objects.", "http.", "wall_time"] {
        assert!(failures.iter().any(|f| f.contains(expected)), "{expected} in {failures:?}");
    }
    host.server.stop();
}

/// A guest that runs out of fuel at every point of `put_note` (before,
/// during and after its KV write): the note is then either the old text or
/// the new one, never a mix, never corrupt.
#[test]
fn a_guest_stopped_at_any_point_of_a_write_leaves_old_or_new_value() {
    let host = Host { server: DevHost::start(&["notes"], |_| {}), faults: Arc::new(Faults::default()), origin: 0 };
    let old = "o".repeat(20_000);
    assert_eq!(host.call("notes", "put_note", json!({ "id": "n", "text": old })).0, 200);
    // The fuel a whole put_note burns, then every budget below it in steps.
    let grant = |fuel: u64| format!("version = 1\n[limits]\nfuel = {fuel}\n[kv]\n");
    let mut stopped = 0;
    let mut finished = 0;
    // Budgets growing by a quarter from 50k: some stop the guest before
    // its write, some after it, until one lets it finish.
    let budgets = std::iter::successors(Some(50_000u64), |f| Some(f + f / 4)).take_while(|f| *f < 100_000_000);
    for fuel in budgets {
        let (ok, _, err) = support::smcp(
            &format!("http://127.0.0.1:{}", host.server.addr().port()),
            host.server.key(),
            &[
                "deploy",
                host.server.data.path().join("dev-components/notes.component.wasm").to_str().unwrap(),
                "--server",
                "notes",
                "--grant",
                &write_grant(&host, &grant(fuel)),
                "--approve-widening",
            ],
        );
        assert!(ok, "{err}");
        let new = format!("{fuel}").repeat(4000);
        let (status, answer, _) = host.call("notes", "put_note", json!({ "id": "n", "text": new }));
        assert_eq!(status, 200, "{answer}");
        match failure(&answer) {
            Some(message) => {
                assert!(message.contains("fuel"), "{message}");
                stopped += 1;
            }
            None => finished += 1,
        }
        // Read with plenty of fuel.
        let (ok, _, err) = support::smcp(
            &format!("http://127.0.0.1:{}", host.server.addr().port()),
            host.server.key(),
            &[
                "deploy",
                host.server.data.path().join("dev-components/notes.component.wasm").to_str().unwrap(),
                "--server",
                "notes",
                "--grant",
                &write_grant(&host, &grant(100_000_000)),
                "--approve-widening",
            ],
        );
        assert!(ok, "{err}");
        let stored = host.text("notes", "get_note", json!({ "id": "n" }));
        assert!(
            stored == old || stored == new,
            "fuel {fuel}: the note is neither old nor new ({} bytes)",
            stored.len()
        );
        if stored == new {
            // From here on the new text is the old one.
            return assert!(stopped > 0, "no budget stopped the write before it landed");
        }
    }
    panic!("no budget up to 100M fuel let put_note finish ({stopped} stopped, {finished} finished)");
}

fn write_grant(host: &Host, text: &str) -> String {
    let path = host.server.data.path().join(format!("grant-{}.toml", blake3::hash(text.as_bytes()).to_hex()));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}
