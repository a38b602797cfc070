//! The randomness port.

pub trait Random {
    /// Fills `buf` from a cryptographically secure source.
    fn fill(&self, buf: &mut [u8]);
}
