//! A capability call suspends the guest until an asynchronous backend
//! answers, then resumes it with the data: the property the Worker needs.

use serde_json::json;
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::kv::grant::KvGrant;
use smcp_core::guest::ToolOutcome;
use smcp_core::platform::memory::MemoryKv;
use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{KeyPage, KvStore};
use smcp_tests::{Env, block_on, load, runtime};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Returns `Pending` once before resolving, like a real network backend.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A key-value store whose every answer arrives after a suspension.
struct SlowKv {
    inner: MemoryKv,
    suspended: Cell<u32>,
}

impl SlowKv {
    fn later<'a, T: 'a>(&'a self, answer: LocalFuture<'a, T>) -> LocalFuture<'a, T> {
        Box::pin(async move {
            YieldOnce(false).await;
            self.suspended.set(self.suspended.get() + 1);
            answer.await
        })
    }
}

impl KvStore for SlowKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        self.later(self.inner.get(key))
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(self.inner.set(key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(self.inner.delete(key))
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        self.later(self.inner.list(prefix, cursor, limit))
    }
}

#[test]
fn guest_resumes_with_data_from_an_async_backend() {
    let rt = runtime();
    let notes = load(&rt, "notes");
    let mut env = Env::new("acme", "notes", Grant { kv: Some(KvGrant::default()), ..Grant::default() });
    let slow = SlowKv { inner: MemoryKv::new(env.memory.clock.clone()), suspended: Cell::new(0) };
    let server = env.server(&rt, &notes);
    let mut call = |tool: &str, args| {
        let mut host = env.host();
        host.backends.kv = &slow;
        match block_on(server.call_tool(&mut host, tool, &args, &[], None)) {
            Ok(ToolOutcome::Complete(result)) => result,
            other => panic!("{tool}: {other:?}"),
        }
    };
    call("put_note", json!({"id": "async", "text": "arrived later"}));
    let got = call("get_note", json!({"id": "async"}));
    assert_eq!(serde_json::to_value(&got.content).unwrap(), json!([{"type": "text", "text": "arrived later"}]));
    assert_eq!(slow.suspended.get(), 2, "each capability call waited on the backend");
}
