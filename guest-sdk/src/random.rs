//! Cryptographically secure randomness from the host (always granted).

/// Most bytes one call of [`bytes`] returns.
pub const MAX_LEN: u32 = 65536;

/// `len` random bytes; the host caps `len` at [`MAX_LEN`].
pub fn bytes(len: u32) -> Vec<u8> {
    crate::bindings::smcp::mcp::random::bytes(len)
}

/// A random `u64`.
pub fn u64() -> u64 {
    let b = bytes(8);
    let mut word = [0u8; 8];
    word[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    u64::from_le_bytes(word)
}
