//! What one call's store may grow to: its grant's memory limit, and a share
//! of the host-wide budget for guest memory that all running calls draw on,
//! so that many calls at once cannot take the host's memory between them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmi::errors::{MemoryError, TableError};
use wasmi_core::LimiterError;

/// Guest memory in flight across every running call of a runtime.
#[derive(Debug)]
pub struct MemoryBudget {
    capacity: usize,
    in_use: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(capacity: usize) -> MemoryBudget {
        MemoryBudget { capacity, in_use: AtomicUsize::new(0) }
    }

    /// Bytes held by running calls now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.capacity)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.in_use.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Tables and memories one call's instances may define between them: the
/// toolchains' flat components define one memory and two or three tables.
const MAX_TABLES: usize = 16;
const MAX_MEMORIES: usize = 8;

/// Why a store was refused growth: decides the error the call ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// Past the grant's `memory_bytes` (or the memory's own maximum).
    CallLimit,
    /// The host-wide budget is spent by other calls.
    HostBudget,
}

/// The resource limiter of one call. Growth past a limit traps (the call
/// ends with a typed error); a growth that fails for want of fuel is left
/// to the fuel machinery, which resumes it once the next slice is handed.
pub(crate) struct CallLimiter {
    memory_limit: usize,
    table_elements: usize,
    budget: Arc<MemoryBudget>,
    /// Bytes of all the call's memories together.
    used: usize,
    /// Bytes this call holds of the budget.
    reserved: usize,
    pub(crate) denied: Option<Denied>,
}

impl CallLimiter {
    pub(crate) fn new(memory_limit: usize, table_elements: usize, budget: Arc<MemoryBudget>) -> CallLimiter {
        CallLimiter { memory_limit, table_elements, budget, used: 0, reserved: 0, denied: None }
    }

    fn deny(&mut self, why: Denied) -> Result<bool, LimiterError> {
        self.denied = Some(why);
        Err(LimiterError::ResourceLimiterDeniedAllocation)
    }
}

impl Drop for CallLimiter {
    fn drop(&mut self) {
        self.budget.release(self.reserved);
    }
}

impl wasmi::ResourceLimiter for CallLimiter {
    /// The grant's memory limit bounds all of a call's memories together
    /// (a component may have several, one per core module that defines one).
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> Result<bool, LimiterError> {
        let used = self.used.saturating_add(desired.saturating_sub(current));
        if used > self.memory_limit || maximum.is_some_and(|max| desired > max) {
            return self.deny(Denied::CallLimit);
        }
        // Reserved ahead of the growth; a growth that then fails keeps its
        // reservation until the call ends, which errs on the safe side.
        let more = used.saturating_sub(self.reserved);
        if more > 0 {
            if !self.budget.reserve(more) {
                return self.deny(Denied::HostBudget);
            }
            self.reserved += more;
        }
        self.used = used;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: &MemoryError) -> Result<(), LimiterError> {
        match error {
            // Resumable: the call driver hands more fuel and retries.
            MemoryError::OutOfFuel { .. } => Ok(()),
            _ => self.deny(Denied::CallLimit).map(|_| ()),
        }
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> Result<bool, LimiterError> {
        if desired > self.table_elements || maximum.is_some_and(|max| desired > max) {
            return self.deny(Denied::CallLimit);
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, error: &TableError) -> Result<(), LimiterError> {
        match error {
            TableError::OutOfFuel { .. } => Ok(()),
            _ => self.deny(Denied::CallLimit).map(|_| ()),
        }
    }

    fn instances(&self) -> usize {
        crate::component::recipe::MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmi::ResourceLimiter;

    #[test]
    fn calls_share_the_host_budget_and_give_it_back() {
        let budget = Arc::new(MemoryBudget::new(100));
        let mut first = CallLimiter::new(80, 10, budget.clone());
        let mut second = CallLimiter::new(80, 10, budget.clone());
        assert!(matches!(first.memory_growing(0, 60, None), Ok(true)));
        assert_eq!(budget.in_use(), 60);
        assert!(second.memory_growing(0, 60, None).is_err(), "only 40 bytes are left");
        assert_eq!(second.denied, Some(Denied::HostBudget));
        assert!(first.memory_growing(60, 90, None).is_err(), "past the call's own limit");
        assert_eq!(first.denied, Some(Denied::CallLimit));
        drop(first);
        assert_eq!(budget.in_use(), 0, "a finished call releases what it held");
        assert!(matches!(second.memory_growing(0, 60, None), Ok(true)));
    }

    #[test]
    fn growth_short_of_fuel_is_left_to_resume() {
        let budget = Arc::new(MemoryBudget::new(1 << 20));
        let mut limiter = CallLimiter::new(1 << 20, 10, budget);
        assert!(limiter.memory_grow_failed(&MemoryError::OutOfFuel { required_fuel: 5 }).is_ok());
        assert_eq!(limiter.denied, None);
    }
}
