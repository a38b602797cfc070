//! The platform-neutral core of SMCP: it runs tenants' MCP servers as
//! WebAssembly components on wasmi and serves their capability calls through
//! traits that each platform implements once.
//!
//! Its modules stand in layers, each importing only those below it; the
//! list, top first, is in docs/architecture.md, and `tests/architecture.rs`
//! holds the imports to it. From the top: [`engine`] composes the host and
//! routes requests; [`admin`], [`admission`], [`oauth`], [`deploy`] and
//! [`review`] serve the APIs around it; [`mcp`] is the protocol; [`audit`],
//! [`vault`] and [`auth`] keep the records; [`guest`], [`capabilities`],
//! [`runtime`], [`component`] and [`world`] run guests; [`policy`] says
//! what may happen; [`abi`], [`lru`], [`http`], [`names`], [`sealing`],
//! [`signing`] and [`metrics`] are the ground floor.

pub mod abi;
pub mod admin;
pub mod admission;
pub mod audit;
pub mod auth;
pub mod capabilities;
pub mod component;
pub mod deploy;
pub mod engine;
pub mod guest;
pub mod http;
pub mod lru;
pub mod mcp;
pub mod metrics;
pub mod names;
pub mod oauth;
pub mod platform;
pub mod policy;
pub mod review;
pub mod runtime;
pub mod sealing;
pub mod signing;
pub mod vault;
pub mod world;
