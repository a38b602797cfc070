//! Bounds fixed when the runtime is built, over all calls together (a
//! call's own bounds are [`crate::policy::Limits`]).

/// Limits fixed when the runtime is built (engine-wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeLimits {
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

/// What an upload carries besides its component: the multipart framing and
/// the grant file.
pub const UPLOAD_HEADROOM: usize = 256 << 10;

impl RuntimeLimits {
    /// The largest component an upload of `max_upload_bytes` may carry: the
    /// component limit follows the operator's upload setting.
    pub fn component_bytes_for_upload(max_upload_bytes: usize) -> usize {
        max_upload_bytes.saturating_sub(UPLOAD_HEADROOM)
    }
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
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
