//! The platform-neutral core of SMCP: it runs tenants' MCP servers as
//! WebAssembly components on wasmi and serves their capability calls through
//! traits that each platform implements once.
//!
//! Layers, each using only those above it:
//! - [`abi`]: the canonical ABI (layout, checked lift and lower);
//! - [`world`]: the host's WIT world and its signatures;
//! - [`lru`]: the bounded map behind caches keyed by callers' input;
//! - [`component`]: validating and preparing uploaded components;
//! - [`runtime`]: fuel- and memory-bounded calls, resumable on capability calls;
//! - [`capabilities`]: grants and backend traits, one module per interface;
//! - [`server`]: the MCP server interface as typed calls;
//! - [`mcp`]: the MCP protocol engine over Streamable HTTP, both eras;
//! - [`vault`]: tenants' secrets, encrypted at rest on the KV backend;
//! - [`auth`]: API keys and bearer tokens, roles;
//! - [`oauth`]: the host's own OAuth 2.1 authorization server for people;
//! - [`audit`]: the tamper-evident audit trail;
//! - [`review`]: the auditor's view of a component and its grant;
//! - [`deploy`]: servers, uploaded versions and which one is active;
//! - [`admin`]: the admin HTTP API over all of it;
//! - [`metrics`]: per-server counters for operators.

pub mod abi;
pub mod admin;
pub mod admission;
pub mod audit;
pub mod auth;
pub mod capabilities;
pub mod component;
pub mod deploy;
pub mod engine;
pub mod http;
pub mod lru;
pub mod mcp;
pub mod metrics;
pub mod names;
pub mod oauth;
pub mod review;
pub mod runtime;
pub mod sealing;
pub mod server;
pub mod vault;
pub mod world;
