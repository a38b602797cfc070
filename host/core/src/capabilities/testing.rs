//! One guest call's capability host over in-memory backends, for the units'
//! tests.

use super::{CallHost, Discard, Grant, Notifier};
use crate::names::TenantId;
use crate::platform::Scope;
use crate::platform::memory::InMemory;

pub(crate) struct Call {
    pub memory: InMemory,
    pub grant: Grant,
    pub scope: Scope,
    discard: Discard,
}

impl Call {
    /// Tenant `t`, server `s`, under `grant`.
    pub fn new(grant: Grant) -> Call {
        Call::of(&TenantId::from_static("t"), "s", grant)
    }

    pub fn of(tenant: &TenantId, server: &str, grant: Grant) -> Call {
        let scope = Scope { tenant: tenant.into(), server: server.into(), request: "r".into() };
        Call { memory: InMemory::new(), grant, scope, discard: Discard }
    }

    /// The host of one guest call; notifications are dropped.
    pub fn host(&mut self) -> CallHost<'_> {
        CallHost::new(self.memory.backends(), &self.grant, &self.scope, &mut self.discard)
    }

    /// The host of one guest call, notifying `notifier`.
    pub fn host_notifying<'a>(&'a self, notifier: &'a mut dyn Notifier) -> CallHost<'a> {
        CallHost::new(self.memory.backends(), &self.grant, &self.scope, notifier)
    }
}

/// Runs a capability call to completion.
pub(crate) fn run<T>(future: impl Future<Output = T>) -> T {
    futures::executor::block_on(future)
}
