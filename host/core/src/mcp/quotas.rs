//! Bounds on what clients can make one process hold at once, beyond the
//! per-call limits of grants: guest calls running per tenant (each holds
//! an instance and its memory) and legacy sessions open per principal.
//! Counted per process (per isolate on Workers).

use crate::names::TenantId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub(crate) struct Quotas {
    calls: Mutex<HashMap<TenantId, u32>>,
    /// Per principal: its sessions' ids and creation times, oldest first.
    sessions: Mutex<HashMap<String, VecDeque<(u64, String)>>>,
}

/// A running call's place in its tenant's count; freed on drop.
pub(crate) struct CallSlot<'a> {
    quotas: &'a Quotas,
    tenant: TenantId,
}

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        let mut calls = lock(&self.quotas.calls);
        if let Some(n) = calls.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                calls.remove(&self.tenant);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Quotas {
    /// A slot for one more running call of `tenant`, if under `max`.
    pub fn call(&self, tenant: &TenantId, max: u32) -> Option<CallSlot<'_>> {
        let mut calls = lock(&self.calls);
        let n = calls.entry(tenant.to_owned()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(CallSlot { quotas: self, tenant: tenant.to_owned() })
    }

    /// Counts a new session of `principal` unless it already holds `max`
    /// that have not expired (`ttl_ms`).
    pub fn open_session(&self, principal: &str, id: &str, now_ms: u64, ttl_ms: u64, max: u32) -> bool {
        let mut sessions = lock(&self.sessions);
        let open = sessions.entry(principal.to_owned()).or_default();
        while open.front().is_some_and(|(at, _)| now_ms.saturating_sub(*at) > ttl_ms) {
            open.pop_front();
        }
        if open.len() >= max as usize {
            return false;
        }
        open.push_back((now_ms, id.to_owned()));
        true
    }

    /// A session ended (DELETE).
    pub fn close_session(&self, principal: &str, id: &str) {
        let mut sessions = lock(&self.sessions);
        if let Some(open) = sessions.get_mut(principal) {
            open.retain(|(_, s)| s != id);
            if open.is_empty() {
                sessions.remove(principal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_per_tenant_and_freed() {
        let quotas = Quotas::default();
        let a = quotas.call(&TenantId::from_static("a"), 2).unwrap();
        let _b = quotas.call(&TenantId::from_static("a"), 2).unwrap();
        assert!(quotas.call(&TenantId::from_static("a"), 2).is_none());
        assert!(quotas.call(&TenantId::from_static("other"), 2).is_some());
        drop(a);
        assert!(quotas.call(&TenantId::from_static("a"), 2).is_some());
    }

    #[test]
    fn sessions_are_counted_until_they_end_or_expire() {
        let quotas = Quotas::default();
        assert!(quotas.open_session("p", "1", 0, 100, 2));
        assert!(quotas.open_session("p", "2", 10, 100, 2));
        assert!(!quotas.open_session("p", "3", 20, 100, 2));
        quotas.close_session("p", "1");
        assert!(quotas.open_session("p", "3", 20, 100, 2));
        // After the TTL the oldest no longer counts.
        assert!(quotas.open_session("p", "4", 111, 100, 2));
    }
}
