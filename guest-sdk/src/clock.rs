//! Wall-clock time and waiting (always granted). Guests have no other clock.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    crate::bindings::smcp::mcp::clock::now_ms()
}

/// Waits `ms` milliseconds, or until the call's wall time ends, whichever
/// comes first. Waiting burns no fuel; a long wait belongs in a task (see
/// [`TaskSupport`](crate::TaskSupport)).
pub fn sleep_ms(ms: u32) {
    crate::bindings::smcp::mcp::clock::sleep_ms(ms)
}
