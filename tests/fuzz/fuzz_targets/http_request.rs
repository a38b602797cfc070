//! Raw HTTP requests, one after another on one engine, as strangers send
//! them: the HTTP checks (Host, Origin, methods, sizes, content types),
//! credentials in headers, JSON-RPC and MCP parsing in both eras, legacy
//! sessions, the OAuth endpoints and the admin API's routing. Seeds are
//! real traffic of the test suites (scripts/fuzz.sh records them).
//! The engine must answer every one, with a valid status, and never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_fuzz::{Platform, engine, requests};

thread_local! {
    static HOST: (smcp_core::mcp::Engine, Platform) = (engine(), Platform::new());
}

fuzz_target!(|data: &[u8]| {
    HOST.with(|(engine, platform)| {
        for request in requests(data) {
            let response = futures::executor::block_on(engine.handle(request, platform.backends()));
            assert!((100..600).contains(&response.status), "status {}", response.status);
        }
    });
});
