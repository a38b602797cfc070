//! Bounds on what one call into a guest may use, and the `[limits]` section
//! of a grant that sets them. Every allocation a guest can drive on the host
//! is covered by one of these or by the runtime's engine-wide bounds.

use super::section::{GrantFileError, bounded, bounded_count, bounded_size, raised, raised_size};
use serde::Deserialize;

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
    /// The `[limits]` section as the grant file names its fields, every
    /// default filled in (the review's machine-readable form).
    pub fn to_json(&self) -> serde_json::Value {
        let Limits { fuel, memory_bytes, output_bytes, import_bytes, host_calls, wall_time_ms } = self;
        serde_json::json!({
            "fuel": fuel,
            "memory_bytes": memory_bytes,
            "output_bytes": output_bytes,
            "import_bytes": import_bytes,
            "host_calls": host_calls,
            "wall_time_ms": wall_time_ms,
        })
    }
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

/// The most any grant's `[limits]` may ask for, whatever the tenant writes.
pub mod ceilings {
    pub const FUEL: u64 = 10_000_000_000;
    pub const MEMORY_BYTES: u64 = 1 << 30;
    pub const OUTPUT_BYTES: u64 = 64 << 20;
    pub const IMPORT_BYTES: u64 = 64 << 20;
    pub const HOST_CALLS: u64 = 100_000;
    pub const WALL_TIME_MS: u64 = 10 * 60 * 1000;
}

/// `[limits]` as a grant file writes it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    fuel: Option<u64>,
    memory_bytes: Option<u64>,
    output_bytes: Option<u64>,
    import_bytes: Option<u64>,
    host_calls: Option<u64>,
    wall_time_ms: Option<u64>,
}

impl LimitsSection {
    /// The limits this section sets: the defaults where it is silent.
    pub fn limits(self) -> Result<Limits, GrantFileError> {
        let d = Limits::DEFAULT;
        let fuel = bounded("limits.fuel", self.fuel, d.fuel, ceilings::FUEL)?;
        if fuel == 0 {
            return Err(GrantFileError::Invalid { field: "limits.fuel", why: "must be above 0".into() });
        }
        Ok(Limits {
            fuel,
            memory_bytes: bounded_size(
                "limits.memory_bytes",
                self.memory_bytes,
                d.memory_bytes,
                ceilings::MEMORY_BYTES,
            )?,
            output_bytes: bounded("limits.output_bytes", self.output_bytes, d.output_bytes, ceilings::OUTPUT_BYTES)?,
            import_bytes: bounded("limits.import_bytes", self.import_bytes, d.import_bytes, ceilings::IMPORT_BYTES)?,
            host_calls: bounded_count("limits.host_calls", self.host_calls, d.host_calls, ceilings::HOST_CALLS)?,
            wall_time_ms: bounded("limits.wall_time_ms", self.wall_time_ms, d.wall_time_ms, ceilings::WALL_TIME_MS)?,
        })
    }
}

impl Limits {
    /// Adds to `out` every limit `self` raises over `old`. Taken apart
    /// without `..`: a new limit does not compile without a rule here.
    pub fn widenings_from(&self, old: &Limits, out: &mut Vec<String>) {
        let Limits { fuel, memory_bytes, output_bytes, import_bytes, host_calls, wall_time_ms } = *self;
        raised(out, "limits: fuel", fuel, old.fuel);
        raised_size(out, "limits: memory_bytes", memory_bytes, old.memory_bytes);
        raised(out, "limits: output_bytes", output_bytes, old.output_bytes);
        raised(out, "limits: import_bytes", import_bytes, old.import_bytes);
        raised(out, "limits: host_calls", host_calls, old.host_calls);
        raised(out, "limits: wall_time_ms", wall_time_ms, old.wall_time_ms);
    }
}
