//! The suite against the in-memory backends.

use super::{KvTarget, ObjectTarget, run_kv, run_objects};
use crate::platform::memory::{ManualClock, MemoryKv, MemoryObjects};
use futures::executor::block_on;
use std::rc::Rc;

fn clock() -> Rc<ManualClock> {
    Rc::new(ManualClock::new(1_700_000_000_000))
}

#[test]
fn memory_kv_passes_the_suite() {
    let clock = clock();
    let kv = MemoryKv::new(clock.clone());
    let time = |ms: u64| clock.advance(ms);
    let target = KvTarget { store: &kv, time: &time, root: "t/suite/s/mem/kv/".into() };
    if let Err(failures) = block_on(run_kv(&target)) {
        panic!("MemoryKv fails the backend suite:\n{failures}");
    }
}

#[test]
fn memory_objects_pass_the_suite() {
    let clock = clock();
    let objects = MemoryObjects::new(clock.clone());
    let time = |ms: u64| clock.advance(ms);
    let target = ObjectTarget { store: &objects, time: &time, root: "t/suite/s/mem/objects/".into() };
    if let Err(failures) = block_on(run_objects(&target)) {
        panic!("MemoryObjects fail the backend suite:\n{failures}");
    }
}
