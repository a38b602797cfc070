//! Wall-clock time (always granted). Guests have no other clock.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    crate::bindings::smcp::mcp::clock::now_ms()
}
