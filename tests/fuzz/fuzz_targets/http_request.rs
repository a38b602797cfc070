//! Raw HTTP requests, one after another on one engine, as strangers send
//! them: the HTTP checks (Host, Origin, methods, sizes, content types),
//! credentials in headers, JSON-RPC and MCP parsing in both eras, legacy
//! sessions, the OAuth endpoints and the admin API's routing. Seeds are
//! real traffic of the test suites (scripts/fuzz.sh records them), with
//! the recorded key and session ids as placeholders ([`smcp_fuzz::fill`]).
//! The engine must answer every one, with a valid status, and never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_fuzz::{fill, requests, with_host};

fuzz_target!(|data: &[u8]| {
    with_host(|engine, platform| {
        let mut session: Option<String> = None;
        for mut request in requests(data) {
            fill(&mut request, &platform.api_key, session.as_deref());
            let response = futures::executor::block_on(engine.handle(request, platform.backends()));
            assert!((100..600).contains(&response.status), "status {}", response.status);
            if let Some((_, id)) = response.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("mcp-session-id")) {
                session = Some(id.clone());
            }
        }
    });
});
