//! `smcp:mcp/clock`: wall-clock time, from the platform's clock.

use super::CallHost;
use super::bindings::clock::Host;

impl Host for CallHost<'_> {
    async fn now_ms(&mut self) -> u64 {
        self.backends.clock.now_ms()
    }
}
