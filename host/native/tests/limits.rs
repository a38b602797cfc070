//! Running guest calls per tenant are bounded: with a quota of 2 and each
//! outbound fetch slowed to a second (an injected fault), the third call at
//! once gets 429 while the first two finish; afterwards calls run again.

mod support;

use serde_json::json;
use smcp_core::platform::faults::{Fault, Faults, Target};
use std::sync::Arc;
use support::{DevHost, dev_grants};

#[test]
fn a_tenant_runs_at_most_its_quota_of_calls_at_once() {
    let faults = Arc::new(Faults::default());
    let server = DevHost::start(&["fetcher"], |config| {
        dev_grants(config).insert(
            "fetcher".into(),
            "version = 1\n[http]\nallowed_hosts = [\"example.com\"]\n[secrets]\nnames = [\"API_TOKEN\"]\n".into(),
        );
        config.quotas.calls_per_tenant = 2;
        config.faults = Some(faults.clone());
    });
    let key = server.key();
    let call = || {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "fetch", "arguments": { "url": "https://example.com/" },
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
        .to_string();
        let head = format!(
            "POST /t/dev/s/fetcher/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\n\
             accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\nmcp-name: fetch\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        support::http1(server.addr(), head.as_bytes(), body.as_bytes()).unwrap()
    };
    faults.arm(Target::Http, Fault::Slow(1000));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..3)
            .map(|n| {
                let call = &call;
                scope.spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(100 * n));
                    call().0
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    // All three overlap (each holds its slot for a second, and they start
    // within 200 ms), so exactly one is refused: whichever the host saw
    // third, which on a loaded machine need not be the last one started.
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 200, 429], "the third call at once is refused: {statuses:?}");
    // The slots are free again (the fetch itself fails here: no network).
    faults.arm(Target::Http, Fault::Fail);
    let (status, body) = call();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    server.stop();
}
