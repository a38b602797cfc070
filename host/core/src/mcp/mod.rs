//! The MCP protocol over Streamable HTTP for every hosted server, in both
//! protocol eras, on one endpoint per server (`/t/{tenant}/s/{server}/mcp`):
//! JSON-RPC, sessions, streams, subscriptions and dispatch to the guest.
//! Guests only answer server-interface calls; everything protocol is here,
//! so every hosted server is as compliant as the host. Requests reach it
//! authenticated, from the engine.

mod call;
mod dispatch;
mod endpoint;
mod exchange;
pub mod jsonrpc;
mod params;
mod protocol;
mod quotas;
mod schemas;
mod sessions;
mod state;
mod stateless;
mod streams;
mod subscriptions;
mod tasks;
pub mod version;

pub use endpoint::opens_session;
pub(crate) use endpoint::serve;
pub(crate) use exchange::{Answer, Exchange};
pub use protocol::{ALLOW_HEADERS, ALLOWED_METHODS, Protocol, ProtocolConfig, QuotaSettings, error};
pub use sessions::is_session_id;
pub(crate) use subscriptions::Change;
pub use subscriptions::{MAX_URI_BYTES, MAX_URIS_PER_SESSION};
