//! The MCP protocol engine: MCP over Streamable HTTP for every hosted
//! server, in both protocol eras, on one endpoint per server
//! (`/t/{tenant}/s/{server}/mcp`). Guests only answer server-interface
//! calls; everything protocol is here, so every hosted server is as
//! compliant as the host.

mod auth;
mod current;
mod dispatch;
mod engine;
mod exchange;

pub mod jsonrpc;
mod legacy;
mod params;
mod quotas;
mod refusals;
mod state;
mod streams;
mod subscriptions;
pub mod version;

pub use auth::{AuthSettings, set_issuers};
pub(crate) use auth::{admit, authenticate_for as auth_for, rate_limited as rate_limit, turned_away};
pub use engine::{Engine, EngineConfig, Hosted, QuotaSettings, split_joined_headers};
pub use subscriptions::{MAX_URI_BYTES, MAX_URIS_PER_SESSION};
