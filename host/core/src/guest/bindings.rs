//! Typed bindings of the server interface, generated from `wit/` by the
//! crate's build script: the records, variants and enums of `types`, and
//! for each export of `server` its name, its arguments as values and its
//! result from a value. [`super::types`] turns these into MCP's shapes.

#![allow(clippy::redundant_closure, clippy::needless_question_mark)]

include!(concat!(env!("OUT_DIR"), "/guest_bindings.rs"));
