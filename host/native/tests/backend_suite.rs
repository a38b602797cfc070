//! The core's backend suite against the native stores: [`RedbKv`] and
//! [`FsObjects`] on a temporary directory, driven from a tokio runtime as
//! the server drives them (storage work on the blocking pool).

use smcp_core::platform::backend_suite::{KvTarget, ObjectTarget, run_kv, run_objects};
use smcp_core::platform::memory::ManualClock;
use smcp_native::{FsObjects, RedbKv};
use std::sync::Arc;

fn setup(name: &str) -> (tempfile::TempDir, Arc<ManualClock>, tokio::runtime::Runtime) {
    let dir = tempfile::Builder::new().prefix(&format!("smcp-suite-{name}-")).tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    (dir, clock, rt)
}

#[test]
fn redb_kv_passes_the_suite() {
    let (dir, clock, rt) = setup("kv");
    let kv = RedbKv::open(&dir.path().join("kv.redb"), clock.clone()).unwrap();
    let time = |ms: u64| clock.advance(ms);
    let target = KvTarget { store: &kv, time: &time, root: "t/suite/s/native/kv/".into() };
    if let Err(failures) = rt.block_on(run_kv(&target)) {
        panic!("RedbKv fails the backend suite:\n{failures}");
    }
}

#[test]
fn fs_objects_pass_the_suite() {
    let (dir, clock, rt) = setup("objects");
    let objects = FsObjects::open(&dir.path().join("objects"), clock.clone()).unwrap();
    let time = |ms: u64| clock.advance(ms);
    let target = ObjectTarget { store: &objects, time: &time, root: "t/suite/s/native/objects/".into() };
    if let Err(failures) = rt.block_on(run_objects(&target)) {
        panic!("FsObjects fail the backend suite:\n{failures}");
    }
}
