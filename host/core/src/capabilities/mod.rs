//! Capabilities: what a guest can reach, one unit per WIT interface.
//!
//! A unit (`kv/`, `objects/`, `http/`, `secrets/`, `log`, `clock`,
//! `random`, `notify`) owns everything about its interface: its grant
//! section with ceilings and widening rule (`grant.rs`, pure like
//! [`crate::policy`]), its per-call budget, its host implementation (the
//! interface's generated [`bindings`] `Host` trait, implemented for
//! [`CallHost`] over the platform's port it uses) and its tests. [`grant`]
//! composes the sections into a server's [`Grant`]. The host, never the
//! guest, adds the tenant's key prefix.

pub mod bindings;
pub mod clock;
pub mod grant;
pub mod http;
pub mod kv;
pub mod log;
pub mod notify;
pub mod objects;
pub mod random;
pub mod secrets;
mod storage_keys;
#[cfg(test)]
mod testing;
pub mod wasi;

pub use grant::{GRANT_FORMAT_VERSION, Grant, NotGranted};
pub use notify::{Discard, ListKind, Notification, Notifier};

use crate::abi::{AbiError, Val};
use crate::platform::{Backends, CapabilityError, Scope};
use crate::runtime::{CallError, HostCalls};
use crate::world::WorldFunc;
use bindings::Import;

/// Serves one guest call's capability imports under a grant and a scope.
pub struct CallHost<'a> {
    pub backends: Backends<'a>,
    pub grant: &'a Grant,
    pub scope: &'a Scope,
    /// Receives progress and log notifications for the MCP client.
    pub notifier: &'a mut dyn Notifier,
    /// What the call has spent of each capability's per-call budget.
    spent: Spent,
    /// Fuel the guest calls made with this host have burned.
    fuel: u64,
    /// The largest guest memory of the calls made with this host.
    memory_peak: u64,
    /// Capability calls whose backend was unavailable (`kv.set`, …), for
    /// the audit trail; at most [`MAX_FAILURES_KEPT`].
    unavailable: Vec<String>,
    /// When guest calls made with this host must stop (ms on the backends'
    /// clock), and whether one was stopped by it.
    deadline_ms: Option<u64>,
    timed_out: bool,
    wasi: wasi::State,
}

/// The per-call budgets, each owned by its capability.
#[derive(Default)]
struct Spent {
    kv: kv::Budget,
    objects: objects::Budget,
    http: http::Budget,
    log: log::Budget,
}

const MAX_FAILURES_KEPT: usize = 8;

impl<'a> CallHost<'a> {
    pub fn new(backends: Backends<'a>, grant: &'a Grant, scope: &'a Scope, notifier: &'a mut dyn Notifier) -> Self {
        CallHost {
            backends,
            grant,
            scope,
            notifier,
            spent: Spent::default(),
            fuel: 0,
            memory_peak: 0,
            unavailable: Vec::new(),
            deadline_ms: None,
            timed_out: false,
            wasi: wasi::State::default(),
        }
    }

    /// Guest calls made with this host stop at `deadline_ms` on the
    /// backends' clock, checked at every capability call and fuel slice.
    pub fn set_deadline(&mut self, deadline_ms: u64) {
        self.deadline_ms = Some(deadline_ms);
    }

    /// Waits `ms`, or until the call's deadline when that comes first (a
    /// guest's sleep: `clock.sleep-ms`, WASI's pollables).
    async fn sleep_for(&mut self, ms: u64) {
        let now = self.backends.clock.now_ms();
        // A call always has a deadline when served; without one, a guest
        // still cannot wait for longer than this.
        let deadline = self.deadline_ms.unwrap_or(now.saturating_add(MAX_SLEEP_MS));
        let until = deadline.min(now.saturating_add(ms));
        if until > now {
            self.backends.clock.sleep(until - now).await;
        }
    }
}

/// The longest a guest may wait in one sleep when its call has no deadline.
const MAX_SLEEP_MS: u64 = 30_000;

impl CallHost<'_> {
    /// Fuel burned by the guest calls made with this host so far.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    /// The largest guest memory (bytes) of the calls made with this host.
    pub fn memory_peak(&self) -> u64 {
        self.memory_peak
    }

    /// The capability calls that found their backend unavailable.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }

    /// True when a guest call was stopped at the deadline.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

impl CallHost<'_> {
    /// Keeps `call` (`kv.set`, …), whose backend was unavailable, for the
    /// audit trail.
    fn note_unavailable(&mut self, call: String) {
        if self.unavailable.len() < MAX_FAILURES_KEPT {
            self.unavailable.push(call);
        }
    }
}

impl bindings::Outcomes for CallHost<'_> {
    fn failed(&mut self, import: Import, error: &CapabilityError) {
        if matches!(error, CapabilityError::Unavailable(_)) {
            let (_, short, name) = import.names();
            self.note_unavailable(format!("{short}.{name}"));
        }
    }
}

impl HostCalls for CallHost<'_> {
    fn fuel_used(&mut self, fuel: u64) {
        self.fuel = self.fuel.saturating_add(fuel);
    }

    fn memory_used(&mut self, bytes: u64) {
        self.memory_peak = self.memory_peak.max(bytes);
    }

    fn drop_resource(&mut self, resource: &crate::world::ResourceDef, rep: u32) {
        self.wasi_drop(resource, rep);
    }

    async fn pause(&mut self) {
        self.backends.clock.pause().await
    }

    fn out_of_time(&mut self) -> bool {
        let expired = self.deadline_ms.is_some_and(|at| self.backends.clock.now_ms() >= at);
        self.timed_out |= expired;
        expired
    }

    async fn call(&mut self, import: usize, func: &WorldFunc, args: Vec<Val>) -> Result<Option<Val>, CallError> {
        // The world lists the smcp:mcp imports, which have typed bindings,
        // then the WASI subset.
        let Some(&import) = Import::ALL.get(import) else {
            return self.wasi(func, args).await;
        };
        bindings::call(self, import, args).await.map_err(|e| match e {
            AbiError::HostMismatch(what) => {
                let (interface, _, name) = import.names();
                CallError::Internal(format!("{interface}#{name}: {what}"))
            }
            other => CallError::Abi(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::bindings::Import;
    use crate::world::HostWorld;

    /// The runtime names an import by its index in the world it parsed;
    /// the generated bindings must list the same functions in that order.
    #[test]
    fn the_bindings_list_the_worlds_imports_in_its_order() {
        let world = HostWorld::load().unwrap();
        let generated: Vec<_> = Import::ALL.iter().map(|i| i.names()).collect();
        let parsed: Vec<_> =
            world.imports.iter().map(|f| (f.interface.as_str(), f.short.as_str(), f.name.as_str())).collect();
        assert_eq!(generated, parsed[..generated.len()]);
        assert!(parsed[generated.len()..].iter().all(|(interface, ..)| interface.starts_with("wasi:")));
    }
}
