//! Uploaded components: arbitrary bytes, and (from the seed corpus of
//! every guest in guests/) mutated valid components, through validation,
//! preparation and compilation; what loads is instantiated and asked for
//! its tools with a small fuel budget. Every failure must be a typed
//! error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::guest::Server;
use smcp_core::runtime::{Runtime, RuntimeLimits};

thread_local! {
    static RUNTIME: (Runtime, smcp_fuzz::Platform) = (Runtime::new(RuntimeLimits { module_cache_entries: 0, ..RuntimeLimits::default() }).unwrap(), smcp_fuzz::Platform::new());
}

fuzz_target!(|data: &[u8]| {
    RUNTIME.with(|(runtime, platform)| {
        let Ok(component) = runtime.load(data) else { return };
        let grant = smcp_core::capabilities::Grant::default();
        let limits = smcp_core::runtime::Limits { fuel: 5_000_000, ..grant.limits };
        let server = Server { runtime, component: &component, limits };
        let scope = smcp_core::platform::Scope {
            tenant: smcp_core::names::TenantId::from_static("t"),
            server: "s".into(),
            request: "r".into(),
        };
        let mut notes = smcp_fuzz::Ignore;
        let mut host = smcp_core::capabilities::CallHost::new(platform.backends(), &grant, &scope, &mut notes);
        let _ = futures::executor::block_on(server.list_tools(&mut host));
    });
});
