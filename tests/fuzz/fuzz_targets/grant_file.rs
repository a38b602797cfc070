//! Grant files as tenants write them (TOML): parsed, checked against
//! every capability's rules, and when accepted, their limits must be sane.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::capabilities::Grant;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(grant) = Grant::from_toml(text) {
        // What the auditor's view shows must be derivable from any grant.
        let _ = format!("{grant:?}");
        assert!(grant.limits.fuel > 0, "an accepted grant has fuel");
    }
});
