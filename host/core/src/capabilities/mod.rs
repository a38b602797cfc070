//! Capabilities: what a guest can reach, one module per WIT interface.
//!
//! Each module holds the grant checks, the per-call budgets and the
//! dispatch from lifted WIT values to the platform's port it uses
//! ([`crate::platform`]). The host, never the guest, adds the tenant's key
//! prefix.

pub mod clock;
mod error;
pub mod http;
pub mod kv;
pub mod log;
pub mod notify;
pub mod objects;
pub mod random;
pub mod secrets;
mod storage_keys;

use crate::platform::Scope;
use crate::platform::{Backends, CapabilityError};
use crate::policy::Grant;
pub use notify::{Discard, ListKind, Notification, Notifier};

use crate::abi::{AbiError, Val};
use crate::runtime::{CallError, HostCalls};
use crate::world::WorldFunc;

/// Serves one guest call's capability imports under a grant and a scope.
pub struct CallHost<'a> {
    pub backends: Backends<'a>,
    pub grant: &'a Grant,
    pub scope: &'a Scope,
    /// Receives progress and log notifications for the MCP client.
    pub notifier: &'a mut dyn Notifier,
    /// Outbound HTTP requests sent so far in this call.
    http_requests: u32,
    /// Operator log lines written (or dropped) so far in this call.
    log_lines: u32,
    /// Fuel the guest calls made with this host have burned.
    fuel: u64,
    /// The largest guest memory of the calls made with this host.
    memory_peak: u64,
    /// kv operations and object bytes written so far (grant quotas).
    kv_ops: u32,
    object_bytes_written: usize,
    /// Capability calls whose backend was unavailable (`kv.set`, …), for
    /// the audit trail; at most [`MAX_FAILURES_KEPT`].
    unavailable: Vec<String>,
    /// When guest calls made with this host must stop (ms on the backends'
    /// clock), and whether one was stopped by it.
    deadline_ms: Option<u64>,
    timed_out: bool,
}

const MAX_FAILURES_KEPT: usize = 8;

impl<'a> CallHost<'a> {
    pub fn new(backends: Backends<'a>, grant: &'a Grant, scope: &'a Scope, notifier: &'a mut dyn Notifier) -> Self {
        CallHost {
            backends,
            grant,
            scope,
            notifier,
            http_requests: 0,
            log_lines: 0,
            fuel: 0,
            memory_peak: 0,
            kv_ops: 0,
            object_bytes_written: 0,
            unavailable: Vec::new(),
            deadline_ms: None,
            timed_out: false,
        }
    }

    /// Guest calls made with this host stop at `deadline_ms` on the
    /// backends' clock, checked at every capability call and fuel slice.
    pub fn set_deadline(&mut self, deadline_ms: u64) {
        self.deadline_ms = Some(deadline_ms);
    }
}

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

impl HostCalls for CallHost<'_> {
    fn fuel_used(&mut self, fuel: u64) {
        self.fuel = self.fuel.saturating_add(fuel);
    }

    fn memory_used(&mut self, bytes: u64) {
        self.memory_peak = self.memory_peak.max(bytes);
    }

    async fn pause(&mut self) {
        self.backends.clock.pause().await
    }

    fn out_of_time(&mut self) -> bool {
        let expired = self.deadline_ms.is_some_and(|at| self.backends.clock.now_ms() >= at);
        self.timed_out |= expired;
        expired
    }

    async fn call(&mut self, func: &WorldFunc, args: Vec<Val>) -> Result<Option<Val>, CallError> {
        let result = match func.short.as_str() {
            "kv" => kv::dispatch(self, &func.name, args).await,
            "objects" => objects::dispatch(self, &func.name, args).await,
            "http" => http::dispatch(self, &func.name, args).await,
            "secrets" => secrets::dispatch(self, &func.name, args).await,
            "log" => log::dispatch(self, &func.name, args).await,
            "clock" => clock::dispatch(self, &func.name, args).await,
            "random" => random::dispatch(self, &func.name, args).await,
            "notify" => notify::dispatch(self, &func.name, args).await,
            _ => Err(AbiError::HostMismatch("unknown capability")),
        };
        // `result<_, capability-error>` whose error is `unavailable` (case 4).
        if let Ok(Some(Val::Variant(1, Some(error)))) = &result
            && matches!(**error, Val::Variant(4, _))
            && self.unavailable.len() < MAX_FAILURES_KEPT
        {
            self.unavailable.push(format!("{}.{}", func.short, func.name));
        }
        result.map_err(|e| match e {
            AbiError::HostMismatch(what) => CallError::Internal(format!("{}#{}: {what}", func.interface, func.name)),
            other => CallError::Abi(other),
        })
    }
}

/// `result<T, capability-error>` as a value.
pub(crate) fn to_result(result: Result<Option<Val>, CapabilityError>) -> Option<Val> {
    Some(match result {
        Ok(v) => Val::ok(v),
        Err(e) => Val::err(Some(error::error_val(&e))),
    })
}

/// Takes exactly `N` lifted arguments.
pub(crate) fn args<const N: usize>(args: Vec<Val>) -> Result<[Val; N], AbiError> {
    args.try_into().map_err(|_| AbiError::HostMismatch("argument count"))
}
