//! `smcp:mcp/random`: bytes from a cryptographically secure source.

use super::CallHost;
use super::bindings::random::Host;

/// Most random bytes one call returns.
pub const MAX_RANDOM_BYTES: u32 = 65536;

impl Host for CallHost<'_> {
    async fn bytes(&mut self, len: u32) -> Vec<u8> {
        let mut buf = vec![0; len.min(MAX_RANDOM_BYTES) as usize];
        self.backends.random.fill(&mut buf);
        buf
    }
}
