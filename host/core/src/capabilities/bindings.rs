//! Typed bindings of the world's imports, generated from `wit/` by the
//! crate's build script: per interface, its records and enums and a `Host`
//! trait with one method per function; for the world, [`Import`] and
//! [`call`], which lifts a call's values into those types and lowers the
//! result. Each capability implements its interface's `Host` for
//! [`CallHost`](super::CallHost), so a function added to the WIT does not
//! compile until a capability serves it.

#![allow(clippy::redundant_closure, clippy::needless_question_mark)]

use crate::abi::{AbiError, Val};

include!(concat!(env!("OUT_DIR"), "/capability_bindings.rs"));

/// Exactly `N` lifted arguments.
fn take<const N: usize>(args: Vec<Val>) -> Result<[Val; N], AbiError> {
    args.try_into().map_err(|_| AbiError::HostMismatch("argument count"))
}
