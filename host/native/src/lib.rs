//! The native SMCP host: serves the MCP servers it hosts over HTTP with
//! tokio and hyper on [`Config::threads`] serving threads, with storage on
//! local disk.
//!
//! - [`serve`] starts the server from a [`Config`] (inside a
//!   [`tokio::task::LocalSet`]); [`spawn`] runs it on a thread of its own.
//! - [`Storage`] wires the backends: [`RedbKv`] and [`FsObjects`] on disk,
//!   the system clock and random source, guest logs to `tracing`,
//!   [`OutboundHttp`] (public addresses only, unless the operator opens
//!   some), and secrets sealed under the operator's master keys.
//! - [`log_writer`] writes the log to stderr in batches.
//! - [`dev`] builds and hosts the example guests for `smcp serve --dev`.

pub mod audit_export;
mod backends;
mod clock;
pub mod dev;
mod kv;
pub mod log_writer;
pub mod master_keys;
mod objects;
mod outbound;
mod server;
pub mod state_key;
mod store;
#[cfg(test)]
mod testutil;
pub mod wire;

pub use backends::{OsRandom, Storage, SystemClock, TracingLog, unix_ms};
pub use kv::RedbKv;
pub use objects::{FsObjects, etag_of};
pub use outbound::{OutboundHttp, admin_client};
pub use server::{
    Background, Config, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_SHUTDOWN_GRACE,
    Endpoint, Running, Shutdown, default_threads, engine_config, serve, spawn,
};
pub use wire::to_hyper;
