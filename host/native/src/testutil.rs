//! Helpers for the unit tests.

use smcp_core::platform::Clock;
use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

/// A directory removed when dropped, named for the test that made it.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(tempfile::Builder::new().prefix(&format!("smcp-native-{name}-")).tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A clock that moves only when told to.
pub struct TestClock(Cell<u64>);

impl TestClock {
    pub fn at(ms: u64) -> Rc<TestClock> {
        Rc::new(TestClock(Cell::new(ms)))
    }

    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}
