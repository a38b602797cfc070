//! The host's ports: what each platform implements once (storage, objects,
//! outbound HTTP, secrets, logs, clock, randomness). The host's own records
//! and the guest-facing capabilities ([`crate::capabilities`]) both use
//! them; the native server and the Worker implement them.

#[cfg(any(test, feature = "backend-suite"))]
pub mod backend_suite;
pub mod clock;
mod error;
pub mod faults;
pub mod kv;
pub mod log;
pub mod log_budget;
#[cfg(any(test, feature = "memory-backends"))]
pub mod memory;
pub mod objects;
pub mod outbound;
pub mod random;
pub mod secrets;

pub use clock::Clock;
pub use error::CapabilityError;
pub use kv::{KeyPage, KvStore};
pub use log::{LogLevel, LogSink};
pub use objects::{ObjectMeta, ObjectPage, ObjectStore};
pub use outbound::{HttpClient, HttpRequest, HttpResponse};
pub use random::Random;
pub use secrets::SecretStore;

use crate::names::TenantId;
use core::future::Future;
use core::pin::Pin;

/// A boxed future without a `Send` bound (Workers' futures are not `Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The platform's implementations, shared by every call.
#[derive(Clone, Copy)]
pub struct Backends<'a> {
    pub kv: &'a dyn KvStore,
    pub objects: &'a dyn ObjectStore,
    pub http: &'a dyn HttpClient,
    pub secrets: &'a dyn SecretStore,
    pub clock: &'a dyn Clock,
    pub random: &'a dyn Random,
    pub log: &'a dyn LogSink,
}

/// Who a call runs for: every key is stored under this scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant: TenantId,
    pub server: String,
    /// An id of the MCP request the call serves, for operator logs.
    pub request: String,
}

impl Scope {
    /// The storage prefix of this server, ending in `/`.
    pub fn prefix(&self) -> String {
        format!("t/{}/s/{}/", self.tenant, self.server)
    }
}
