//! Bounds on what one call into a guest may use. Every allocation a guest
//! can drive on the host is covered by one of these.

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
    /// [`HOST_CALL_FUEL`](super::HOST_CALL_FUEL) plus one per
    /// [`HOST_CALL_BYTES_PER_FUEL`](super::HOST_CALL_BYTES_PER_FUEL) bytes
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

/// Limits fixed when the runtime is built (engine-wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Nested wasm calls before a stack-overflow trap.
    pub max_recursion_depth: usize,
    /// Value-stack cells of one call before a stack-overflow trap.
    pub max_stack_height: usize,
    /// Largest component accepted at load, in bytes.
    pub max_component_bytes: usize,
    /// Compiled modules kept in the cache (least recently used go first).
    pub module_cache_entries: usize,
    /// What the cached modules may weigh together, counted as three times
    /// each core module's size (its bytes plus the interpreter's code).
    pub module_cache_bytes: usize,
    /// Fuel a guest burns before it yields to the executor (then it goes
    /// on, within its call's fuel): one long call cannot hold the thread
    /// that serves every other request.
    pub fuel_slice: u64,
    /// Guest memory all running calls together may hold; a call whose
    /// growth would pass it fails with [`CallError::HostMemoryBusy`](super::CallError::HostMemoryBusy)
    /// (the client may retry), whatever its grant allows.
    pub guest_memory_bytes: usize,
    /// Meter fuel. Only benchmarks turn this off, to measure its cost:
    /// without it an endless loop never stops.
    pub metering: bool,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_recursion_depth: 1024,
            max_stack_height: 1 << 20,
            max_component_bytes: 16 << 20,
            module_cache_entries: 256,
            module_cache_bytes: 256 << 20,
            // About a millisecond of interpretation (docs/benchmarks.md).
            fuel_slice: 2_000_000,
            // Sixteen calls at the default grant's 64 MiB.
            guest_memory_bytes: 1 << 30,
            metering: true,
        }
    }
}
