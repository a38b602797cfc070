//! The audit trails shipped as OpenTelemetry logs (`smcp serve
//! --otlp-logs-endpoint`) to a receiver that parses every request with the
//! OTLP protobuf definitions: every record arrives, in order and as the
//! trail holds it, although the collector refuses the first requests; the
//! collector's credentials go with each request; and after a restart the
//! export goes on from where the collector acknowledged, sending nothing
//! twice.

mod support;

use serde_json::{Value, json};
use smcp_native::audit_export::OtlpLogs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};
use support::{DevHost, clients_dir, dev_tool_call, http1};

/// The receiver (tests/clients/otlp_receiver.py) and the records it printed.
struct Collector {
    child: Child,
    port: u16,
    lines: Receiver<Value>,
}

impl Collector {
    fn start(fail_first: u32) -> Collector {
        let python = clients_dir().join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: run scripts/test.sh", python.display());
        let mut child = Command::new(python)
            .arg(clients_dir().join("otlp_receiver.py"))
            .args(["--fail-first", &fail_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = stdout.next().unwrap().unwrap();
        let port = ready.strip_prefix("READY ").expect("READY <port>").parse().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str::<Value>(&line).unwrap());
            }
        });
        Collector { child, port, lines }
    }

    fn target(&self) -> OtlpLogs {
        OtlpLogs {
            endpoint: format!("http://127.0.0.1:{}/v1/logs", self.port).parse().unwrap(),
            headers: vec![("x-collector-key".into(), "collector-secret".into())],
        }
    }

    /// Log records received until `done` holds of all of them (60 s at most).
    fn until(&self, received: &mut Vec<Value>, done: impl Fn(&[Value]) -> bool) {
        let started = Instant::now();
        while !done(received) {
            let left = Duration::from_secs(60).checked_sub(started.elapsed()).expect("the records did not all arrive");
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    assert!(line.get("invalid").is_none(), "not valid OTLP: {line}");
                    received.push(line);
                }
                Err(RecvTimeoutError::Timeout) => panic!("the records did not all arrive: {received:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("the receiver stopped"),
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Tenant dev's trail as the host exports it (JSON lines).
fn trail(host: &DevHost) -> Vec<Value> {
    let head = format!(
        "GET /admin/v1/tenants/dev/audit/export HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {}\r\n\r\n",
        host.key()
    );
    let (status, body) = http1(host.addr(), head.as_bytes(), b"").unwrap();
    assert_eq!(status, 200);
    String::from_utf8(body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn seqs(received: &[Value]) -> Vec<u64> {
    received.iter().map(|r| r["attributes"]["smcp.audit.seq"].as_u64().unwrap()).collect()
}

#[test]
fn every_record_reaches_the_collector_once_across_refusals_and_a_restart() {
    let collector = Collector::start(2);
    let data = tempfile::Builder::new().prefix("smcp-test-").tempdir().unwrap();
    let start = || {
        let target = collector.target();
        support::serve(data.path(), &["calc"], move |config| config.otlp_logs = Some(target))
    };
    let host = DevHost { server: start(), data: tempfile::tempdir().unwrap() };
    for a in 0..3 {
        let (status, answer) = dev_tool_call(host.addr(), host.key(), "calc", "add", json!({ "a": a, "b": 1 }));
        assert_eq!(status, 200, "{answer}");
    }
    let mut received = Vec::new();
    // The collector refused the first two requests: the records come later.
    collector
        .until(&mut received, |r| r.iter().filter(|l| l["attributes"]["smcp.audit.kind"] == "tool.call").count() >= 3);
    let kept = trail(&host);
    collector.until(&mut received, |r| r.len() >= kept.len());
    assert_eq!(seqs(&received), (0..kept.len() as u64).collect::<Vec<_>>(), "in order, none twice");
    for (line, record) in received.iter().zip(&kept) {
        // The body is the record as the trail holds it: the chain can be
        // checked from what the collector kept.
        assert_eq!(serde_json::from_str::<Value>(line["body"].as_str().unwrap()).unwrap(), *record);
        assert_eq!(line["resource"]["smcp.tenant"], "dev");
        assert_eq!(line["attributes"]["smcp.audit.kind"], record["kind"]);
        assert_eq!(line["event_name"], format!("smcp.audit.{}", record["kind"].as_str().unwrap()));
        assert_eq!(line["time_unix_nano"].as_u64(), record["at_ms"].as_u64().map(|ms| ms * 1_000_000));
        assert_eq!(line["collector_key"], "collector-secret");
    }
    let shipped = received.len();
    host.server.stop();

    // Restarted on the same data: what was acknowledged is not sent again.
    let host = DevHost { server: start(), data: tempfile::tempdir().unwrap() };
    let (status, answer) = dev_tool_call(host.addr(), host.key(), "calc", "add", json!({ "a": 7, "b": 1 }));
    assert_eq!(status, 200, "{answer}");
    let kept = trail(&host);
    collector.until(&mut received, |r| r.len() >= kept.len());
    assert_eq!(seqs(&received), (0..kept.len() as u64).collect::<Vec<_>>(), "in order, none twice");
    assert!(kept.len() > shipped, "the restart and the call were recorded and shipped");
    // Nothing more arrives: no record is sent twice.
    std::thread::sleep(Duration::from_secs(3));
    assert!(collector.lines.try_recv().is_err(), "a record was shipped twice");
    host.server.stop();
}
