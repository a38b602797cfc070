//! Bounds on what one call into a guest may use. Every allocation a guest
//! can drive on the host is covered by one of these or by the runtime's
//! engine-wide bounds.

/// Per-call limits, normally taken from the server's grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel for one call: roughly one unit per executed wasm instruction,
    /// including `cabi_realloc` and post-return.
    pub fuel: u64,
    /// Largest linear memory the guest may have, in bytes.
    pub memory_bytes: usize,
    /// Bytes the host lifts out of the guest for the call's result.
    pub output_bytes: u64,
    /// Bytes the host lifts out of the guest as the arguments of capability
    /// calls (KV values, HTTP bodies), all the calls of one guest call
    /// together.
    pub import_bytes: u64,
    /// Capability calls one guest call may make. Each also costs fuel:
    /// [`HOST_CALL_FUEL`](crate::runtime::HOST_CALL_FUEL) plus one per
    /// [`HOST_CALL_BYTES_PER_FUEL`](crate::runtime::HOST_CALL_BYTES_PER_FUEL) bytes
    /// lifted and lowered.
    pub host_calls: u32,
    /// Longest one request may spend in the guest and the capability calls
    /// it waits on, in milliseconds (fuel bounds the computing alone).
    pub wall_time_ms: u64,
}

impl Limits {
    /// Defaults for a trusted-but-bounded guest: 100M fuel (tens of ms to
    /// a second of interpretation), 64 MiB memory, 4 MiB output and 8 MiB per
    /// capability call, 1000 capability calls, 30 s of wall time.
    pub const DEFAULT: Limits = Limits {
        fuel: 100_000_000,
        memory_bytes: 64 << 20,
        output_bytes: 4 << 20,
        import_bytes: 8 << 20,
        host_calls: 1000,
        wall_time_ms: 30_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
