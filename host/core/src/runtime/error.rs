//! What can go wrong in a call, classified so that a client sees a clear
//! tool error and the operator sees which limit a guest hit.

use crate::abi::AbiError;
use wasmi::TrapCode;

/// A failed call into a guest. None of these harm the host or other calls.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("guest ran out of fuel (limit {limit}, the grant's [limits] fuel): it computed too long")]
    FuelExhausted { limit: u64 },
    #[error("guest exceeded its memory limit of {limit} bytes (the grant's [limits] memory_bytes)")]
    MemoryLimit { limit: usize },
    #[error("guest exhausted its stack (recursion too deep)")]
    StackOverflow,
    #[error("guest exceeded its output limit of {limit} bytes (the grant's [limits] output_bytes)")]
    OutputTooLarge { limit: u64 },
    #[error("guest made more than {limit} capability calls (the grant's [limits] host_calls)")]
    TooManyHostCalls { limit: u32 },
    #[error("guest passed more than {limit} bytes to capability calls (the grant's [limits] import_bytes)")]
    ImportBytes { limit: u64 },
    #[error("the call took longer than its grant's {limit_ms} ms of wall time ([limits] wall_time_ms)")]
    WallTime { limit_ms: u64 },
    #[error("guest's {phase} ran out of fuel: code the host cannot suspend gets one slice of fuel at a time")]
    UnyieldingFuel { phase: &'static str },
    #[error("the host's memory for guests is in use by other calls; retry shortly")]
    HostMemoryBusy,
    #[error("guest broke the canonical ABI: {0}")]
    Abi(AbiError),
    #[error("guest trapped: {0}")]
    Trap(String),
    #[error("guest exited with status {code} (wasi:cli/exit) instead of returning")]
    Exited { code: u8 },
    #[error("guest does not export `{0}`")]
    MissingExport(String),
    #[error("capability call failed: {0}")]
    Host(String),
    /// Something the host did wrong; reported, never a panic.
    #[error("internal host error: {0}")]
    Internal(String),
}

impl From<AbiError> for CallError {
    fn from(e: AbiError) -> Self {
        match e {
            AbiError::OutputTooLarge { limit } => CallError::OutputTooLarge { limit },
            AbiError::HostMismatch(what) => CallError::Internal(what.to_owned()),
            other => CallError::Abi(other),
        }
    }
}

/// A host function's way of stopping the guest: either to suspend it while
/// the driver serves a capability call, or because the guest misbehaved.
#[derive(Debug)]
pub(crate) enum HostStop {
    Suspend,
    Fault(AbiError),
    /// The call's budget of bytes lifted for capability calls is spent.
    ImportBytes,
}

impl core::fmt::Display for HostStop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HostStop::Suspend => f.write_str("guest suspended for a capability call"),
            HostStop::Fault(e) => write!(f, "{e}"),
            HostStop::ImportBytes => f.write_str("guest passed too many bytes to capability calls"),
        }
    }
}

impl wasmi::errors::HostError for HostStop {}

/// Maps a wasmi error raised while running guest code to a [`CallError`].
pub(crate) fn classify(error: wasmi::Error, fuel: u64, memory: usize) -> CallError {
    if let Some(stop) = error.downcast_ref::<HostStop>() {
        return match stop {
            HostStop::Fault(e) => e.clone().into(),
            HostStop::ImportBytes => CallError::ImportBytes { limit: 0 },
            // Only the export call is resumable: an import called from
            // cabi_realloc or post-return cannot be served.
            HostStop::Suspend => CallError::Trap("capability called outside a resumable export".into()),
        };
    }
    match error.as_trap_code() {
        Some(TrapCode::OutOfFuel) => CallError::FuelExhausted { limit: fuel },
        Some(TrapCode::StackOverflow) => CallError::StackOverflow,
        Some(TrapCode::GrowthOperationLimited | TrapCode::OutOfSystemMemory) => {
            CallError::MemoryLimit { limit: memory }
        }
        Some(code) => CallError::Trap(code.to_string()),
        None => match error.kind() {
            wasmi::errors::ErrorKind::Memory(_) => CallError::MemoryLimit { limit: memory },
            _ => CallError::Trap(error.to_string()),
        },
    }
}
