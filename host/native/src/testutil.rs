//! Helpers for the unit tests.

use smcp_core::capabilities::Clock;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).unwrap();
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("smcp-native-{name}-{}-{hex}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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
