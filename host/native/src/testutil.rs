//! Helpers for the unit tests.

use std::path::Path;

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
