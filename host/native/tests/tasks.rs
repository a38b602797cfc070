//! The tasks extension against the real server over HTTP, written as the
//! callers who would abuse it: another principal reaching for a task by
//! its id, one principal piling up tasks, a task that would run forever,
//! and a cancellation that must stop the guest. The conformance suite
//! (conformance.rs) checks the wire; these check the bounds.

mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::{DevHost, dev_grants, http1, request_2026, smcp, with_tasks};

/// The conformance fixture, whose tools include the tasks scenarios', with
/// `grant` and API keys required.
fn host(grant: &str) -> DevHost {
    let grant = grant.to_owned();
    DevHost::start(&["conformance"], move |config| {
        dev_grants(config).insert("conformance".into(), grant);
    })
}

/// A new API key of tenant dev with role mcp-user.
fn key(host: &DevHost, name: &str) -> String {
    let (made, key, err) = smcp(&host.url(), host.key(), &["keys", "create", "--role", "mcp-user", "--name", name]);
    assert!(made, "{err}");
    key.trim().to_owned()
}

/// One 2026-07-28 request to `server`, declaring the tasks extension (and
/// elicitation) when `tasks` is set.
fn rpc(addr: SocketAddr, key: &str, server: &str, method: &str, params: Value, tasks: bool) -> (u16, Value) {
    let capabilities = if tasks { with_tasks() } else { json!({}) };
    request_2026(addr, key, ("dev", server), method, params, &capabilities)
}

/// Starts `slow_compute` for `seconds` as a task: its id.
fn start_task(host: &DevHost, key: &str, seconds: u32) -> String {
    let params = json!({ "name": "slow_compute", "arguments": { "seconds": seconds } });
    let (status, created) = rpc(host.addr(), key, "conformance", "tools/call", params, true);
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    created["result"]["taskId"].as_str().unwrap().to_owned()
}

fn task(host: &DevHost, key: &str, method: &str, id: &str) -> (u16, Value) {
    let params = match method {
        "tasks/update" => json!({ "taskId": id, "inputResponses": { "1.confirm": { "action": "accept" } } }),
        _ => json!({ "taskId": id }),
    };
    rpc(host.addr(), key, "conformance", method, params, true)
}

/// Polls `tasks/get` until the task is terminal, for at most `limit`.
fn settled(host: &DevHost, key: &str, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, got) = task(host, key, "tasks/get", id);
        assert_eq!(status, 200, "{got}");
        let status = got["result"]["status"].as_str().unwrap().to_owned();
        if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
            return got["result"].clone();
        }
        assert!(started.elapsed() < limit, "task {id} still {status} after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const GRANT: &str = "version = 1\n[tasks]\nper_principal = 3\n";

#[test]
fn a_task_is_invisible_to_every_other_principal() {
    let host = host(GRANT);
    let (owner, intruder) = (key(&host, "owner"), key(&host, "intruder"));
    let id = start_task(&host, &owner, 2);
    // The intruder knows the id (a leaked log line, a shared screen):
    // every method answers as for an id that never existed.
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let (status, refused) = task(&host, &intruder, method, &id);
        assert_eq!(status, 200, "{refused}");
        assert_eq!(refused["error"]["code"], -32602, "{method}: {refused}");
        assert_eq!(refused["error"]["message"], "Failed to retrieve task: Task not found", "{method}");
    }
    let (_, unknown) = task(&host, &owner, "tasks/get", "0123456789abcdef0123456789abcdef");
    assert_eq!(unknown["error"]["message"], "Failed to retrieve task: Task not found", "the same answer for no task");
    // Nothing the intruder sent touched the task: it completes.
    let done = settled(&host, &owner, &id, Duration::from_secs(20));
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "computation: done after 2 s");
    host.stop();
}

#[test]
fn one_principal_cannot_pile_up_tasks() {
    let host = host(GRANT);
    let (greedy, other) = (key(&host, "greedy"), key(&host, "other"));
    let ids: Vec<String> = (0..3).map(|_| start_task(&host, &greedy, 60)).collect();
    let params = json!({ "name": "slow_compute", "arguments": { "seconds": 60 } });
    let (status, refused) = rpc(host.addr(), &greedy, "conformance", "tools/call", params.clone(), true);
    assert_eq!(status, 429, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("you hold 3 tasks"), "{refused}");
    // The bound is the greedy principal's alone.
    let theirs = start_task(&host, &other, 60);
    for (key, id) in ids.iter().map(|id| (&greedy, id)).chain([(&other, &theirs)]) {
        let (status, ack) = task(&host, key, "tasks/cancel", id);
        assert_eq!(status, 200, "{ack}");
        assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    }
    host.stop();
}

#[test]
fn a_task_stops_at_its_running_time() {
    // Three seconds of running time for a task that wants a minute.
    let host = host("version = 1\n[tasks]\nwall_time_ms = 3000\n");
    let owner = key(&host, "owner");
    let started = Instant::now();
    let id = start_task(&host, &owner, 60);
    let done = settled(&host, &owner, &id, Duration::from_secs(30));
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], -32603);
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("3000 ms of running time"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped near its budget, not at the guest's minute");
    host.stop();
}

#[test]
fn cancelling_stops_the_guest_and_is_audited() {
    let host = host(GRANT);
    let owner = key(&host, "owner");
    let id = start_task(&host, &owner, 60);
    std::thread::sleep(Duration::from_millis(300));
    let (status, ack) = task(&host, &owner, "tasks/cancel", &id);
    assert_eq!(status, 200, "{ack}");
    let cancelled = settled(&host, &owner, &id, Duration::from_secs(5));
    assert_eq!(cancelled["status"], "cancelled");
    // A terminal task stays as it ended: no late result overwrites it.
    std::thread::sleep(Duration::from_secs(6));
    let (_, later) = task(&host, &owner, "tasks/get", &id);
    assert_eq!(later["result"]["status"], "cancelled", "{later}");

    let (status, body) = http1(
        host.addr(),
        format!(
            "GET /admin/v1/tenants/dev/audit?limit=500 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {}\r\n\r\n",
            host.key()
        )
        .as_bytes(),
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    let records: Value = serde_json::from_slice(&body).unwrap();
    let of_task: Vec<&Value> =
        records["records"].as_array().unwrap().iter().filter(|r| r["detail"]["task"] == id.as_str()).collect();
    let kinds: Vec<&str> = of_task.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["task.start", "task.end"], "{of_task:#?}");
    assert_eq!(of_task[1]["detail"]["status"], "cancelled");
    let (verified, out, err) = smcp(&host.url(), host.key(), &["audit", "verify"]);
    assert!(verified, "the trail verifies: {out}{err}");
    host.stop();
}

#[test]
fn without_a_tasks_grant_every_tool_answers_within_its_request() {
    let host = host("version = 1\n");
    let owner = key(&host, "owner");
    let params = json!({ "name": "slow_compute", "arguments": { "seconds": 1 } });
    let (status, answered) = rpc(host.addr(), &owner, "conformance", "tools/call", params, true);
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["result"]["resultType"], "complete", "{answered}");
    assert_eq!(answered["result"]["content"][0]["text"], "computation: done after 1 s");
    // A "required" tool is an ordinary one too, then.
    let (_, failed) = rpc(host.addr(), &owner, "conformance", "tools/call", json!({ "name": "failing_job" }), false);
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    host.stop();
}

/// A `subscriptions/listen` stream following `task_ids`: its reader, after
/// the acknowledgment (returned).
fn listen(host: &DevHost, key: &str, task_ids: &[&str]) -> (BufReader<TcpStream>, Value) {
    let body = json!({ "jsonrpc": "2.0", "id": "listen-1", "method": "subscriptions/listen", "params": {
        "notifications": { "taskIds": task_ids },
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": { "extensions": { "io.modelcontextprotocol/tasks": {} } },
        } } })
    .to_string();
    let mut stream = TcpStream::connect(host.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /t/dev/s/conformance/mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\n\
         mcp-method: subscriptions/listen\r\nauthorization: Bearer {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let acknowledgment = next_event(&mut reader);
    (reader, acknowledgment)
}

/// The next SSE event's JSON on a listen stream.
fn next_event(reader: &mut BufReader<TcpStream>) -> Value {
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            return serde_json::from_str(data).unwrap();
        }
    }
}

#[test]
fn status_notifications_reach_only_the_owner() {
    let host = host(GRANT);
    let (owner, other) = (key(&host, "owner"), key(&host, "other"));
    let mine = start_task(&host, &owner, 60);
    let theirs = start_task(&host, &other, 60);
    // Following someone else's task is following nothing.
    let (mut stream, acknowledgment) = listen(&host, &owner, &[&mine, &theirs, "made-up"]);
    assert_eq!(acknowledgment["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(acknowledgment["params"]["notifications"]["taskIds"], json!([mine]), "{acknowledgment}");
    for (key, id) in [(&other, &theirs), (&owner, &mine)] {
        let (status, ack) = task(&host, key, "tasks/cancel", id);
        assert_eq!(status, 200, "{ack}");
    }
    let notification = next_event(&mut stream);
    assert_eq!(notification["method"], "notifications/tasks", "{notification}");
    assert_eq!(notification["params"]["taskId"], mine.as_str(), "only the owner's task: {notification}");
    assert_eq!(notification["params"]["status"], "cancelled");
    assert_eq!(notification["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "listen-1");

    // Without the extension declared, asking for tasks is refused.
    let (status, refused) = rpc(
        host.addr(),
        &owner,
        "conformance",
        "subscriptions/listen",
        json!({ "notifications": { "taskIds": [mine] } }),
        false,
    );
    assert_eq!((status, &refused["error"]["code"]), (400, &json!(-32021)), "{refused}");
    host.stop();
}

#[test]
fn answers_sent_at_once_are_all_kept() {
    let host = host(GRANT);
    let owner = key(&host, "owner");
    for round in 0..3 {
        let (status, created) =
            rpc(host.addr(), &owner, "conformance", "tools/call", json!({ "name": "multi_input" }), true);
        assert_eq!(status, 200, "{created}");
        let id = created["result"]["taskId"].as_str().unwrap().to_owned();
        let started = Instant::now();
        let keys: Vec<String> = loop {
            let (_, got) = task(&host, &owner, "tasks/get", &id);
            if got["result"]["status"] == "input_required" {
                break got["result"]["inputRequests"].as_object().unwrap().keys().cloned().collect();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "never asked: {got}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(keys.len(), 2, "{keys:?}");
        // Each answer in a request of its own, at the same moment.
        std::thread::scope(|scope| {
            for (key, name) in keys.iter().zip(["ada", "grace"]) {
                let (owner, id, addr) = (&owner, &id, host.addr());
                scope.spawn(move || {
                    let answer =
                        json!({ key.as_str(): { "action": "accept", "content": { "name": name, "confirm": true } } });
                    let params = json!({ "taskId": id, "inputResponses": answer });
                    let (status, ack) = rpc(addr, owner, "conformance", "tasks/update", params, true);
                    assert_eq!(status, 200, "{ack}");
                });
            }
        });
        let done = settled(&host, &owner, &id, Duration::from_secs(10));
        assert_eq!(done["result"]["content"][0]["text"], "Got ada and grace", "round {round}: {done}");
    }
    host.stop();
}
