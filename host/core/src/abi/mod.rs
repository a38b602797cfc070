//! The component model's canonical ABI, for the value types the host's world
//! uses: layout, flattening, and checked lifting and lowering.
//!
//! Everything a guest hands over is lifted with bounds, alignment, UTF-8,
//! discriminant and size checks, and every pointer a guest's `cabi_realloc`
//! returns is checked before the host writes through it. A hostile guest can
//! only get an [`AbiError`], never a panic or a read outside its memory.

pub mod handles;
mod lift;
mod lower;
mod types;
mod val;

pub use lift::{Lifter, lift_flat};
pub use lower::{Allocator, Lowerer, lower_flat};
pub use types::{AbiType, FlatType};
pub use val::Val;

/// Why a value could not cross the boundary. Every variant but
/// [`AbiError::HostMismatch`] is the guest's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("guest pointer out of bounds: {len} bytes at {ptr:#x} in a {memory_size}-byte memory")]
    OutOfBounds { ptr: u32, len: u64, memory_size: usize },
    #[error("guest pointer {ptr:#x} is not aligned to {align}")]
    Misaligned { ptr: u32, align: u32 },
    #[error("guest string is not valid UTF-8")]
    InvalidUtf8,
    #[error("guest char {0:#x} is not a Unicode scalar value")]
    InvalidChar(u32),
    #[error("guest discriminant {value} out of range for {cases} cases")]
    InvalidDiscriminant { value: u32, cases: u32 },
    #[error("guest flags {bits:#x} set bits beyond the {count} defined flags")]
    InvalidFlags { bits: u32, count: u32 },
    #[error("guest output exceeds the limit of {limit} bytes")]
    OutputTooLarge { limit: u64 },
    #[error("guest cabi_realloc returned {ptr:#x} for {size} bytes aligned to {align}: {problem}")]
    BadRealloc { ptr: u32, size: u32, align: u32, problem: &'static str },
    #[error("guest returned a wrong core value type")]
    FlatTypeMismatch,
    #[error("guest passed handle {handle}, which is not a live handle of that resource type")]
    BadHandle { handle: u32 },
    #[error("guest holds more than {limit} resource handles at once")]
    TooManyHandles { limit: usize },
    /// The host built a value that does not fit its own WIT: a host bug.
    #[error("host value does not match its type: {0}")]
    HostMismatch(&'static str),
}

/// Rounds `offset` up to a multiple of `align` (a power of two).
pub(crate) fn align_to(offset: u32, align: u32) -> u32 {
    offset.div_ceil(align) * align
}

#[cfg(test)]
mod tests;
