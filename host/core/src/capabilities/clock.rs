//! `smcp:mcp/clock`: wall-clock time and waiting, from the platform's clock.

use super::CallHost;
use super::bindings::clock::Host;

impl Host for CallHost<'_> {
    async fn now_ms(&mut self) -> u64 {
        self.backends.clock.now_ms()
    }

    async fn sleep_ms(&mut self, ms: u32) {
        self.sleep_for(u64::from(ms)).await
    }
}
