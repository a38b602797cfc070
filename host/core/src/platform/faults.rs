//! Fault injection behind the backend traits, for testing how the host
//! holds up when its storage or the network does not: a guest's KV, the
//! object store and outbound HTTP can be made to fail, hang (until the
//! request's wall time ends it) or answer slowly. A front end wraps its
//! backends per request with [`Faults::wrap`]; nothing is injected until a
//! test arms a fault.

use super::kv::{KeyPage, KvStore};
use super::objects::{ObjectMeta, ObjectPage, ObjectStore, StoredObject};
use super::outbound::{HttpClient, HttpRequest, HttpResponse};
use super::{Backends, CapabilityError, LocalFuture};
use core::future::Future;
use std::sync::Mutex;

/// Which backend a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Guests' KV data (keys under `t/`); the host's own records are spared.
    GuestKv,
    Objects,
    Http,
}

/// What a hit operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails at once, as an unreachable store does.
    Fail,
    /// Never answers: the request's wall-time limit must end it.
    Hang,
    /// Answers after this many milliseconds.
    Slow(u64),
}

/// The faults armed now, shared by the test and the front end.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Mutex<Vec<(Target, Fault)>>,
}

impl Faults {
    /// From now on, every operation on `target` suffers `fault`.
    pub fn arm(&self, target: Target, fault: Fault) {
        let mut armed = self.armed.lock().unwrap_or_else(|e| e.into_inner());
        armed.retain(|(t, _)| *t != target);
        armed.push((target, fault));
    }

    pub fn clear(&self) {
        self.armed.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn hit(&self, target: Target) -> Option<Fault> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|(t, _)| *t == target).map(|(_, f)| *f)
    }

    /// `backends` with faults injected (see [`Faulty::backends`]).
    pub fn wrap<'a>(&'a self, backends: Backends<'a>) -> Faulty<'a> {
        Faulty { faults: self, inner: backends }
    }
}

/// Backends with faults injected where armed.
pub struct Faulty<'a> {
    faults: &'a Faults,
    inner: Backends<'a>,
}

impl Faulty<'_> {
    pub fn backends(&self) -> Backends<'_> {
        Backends { kv: self, objects: self, http: self, ..self.inner }
    }

    async fn apply<T>(
        &self,
        target: Target,
        op: impl Future<Output = Result<T, CapabilityError>>,
    ) -> Result<T, CapabilityError> {
        match self.faults.hit(target) {
            None => op.await,
            Some(Fault::Fail) => {
                Err(CapabilityError::Unavailable(format!("{target:?} is unavailable (injected fault)")))
            }
            Some(Fault::Hang) => {
                self.inner.clock.sleep(u64::MAX).await;
                Err(CapabilityError::Unavailable(format!("{target:?} never answered (injected fault)")))
            }
            Some(Fault::Slow(ms)) => {
                self.inner.clock.sleep(ms).await;
                op.await
            }
        }
    }
}

fn kv_target(key: &str) -> Option<Target> {
    key.starts_with("t/").then_some(Target::GuestKv)
}

impl Faulty<'_> {
    async fn kv<T>(
        &self,
        key: &str,
        op: impl Future<Output = Result<T, CapabilityError>>,
    ) -> Result<T, CapabilityError> {
        match kv_target(key) {
            Some(target) => self.apply(target, op).await,
            None => op.await,
        }
    }
}

impl KvStore for Faulty<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.get(key)))
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.set(key, value, ttl_seconds)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.delete(key)))
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        Box::pin(self.kv(prefix, self.inner.kv.list(prefix, cursor, limit)))
    }

    fn set_relaxed<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.set_relaxed(key, value, ttl_seconds)))
    }

    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.insert_new(key, value, ttl_seconds)))
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(self.kv(key, self.inner.kv.compare_and_swap(key, expected, value, ttl_seconds)))
    }

    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Result<(), CapabilityError>> {
        // Only the host batches writes (audit records): never a guest's.
        self.inner.kv.set_many_relaxed(entries)
    }
}

impl ObjectStore for Faulty<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<StoredObject>, CapabilityError>> {
        Box::pin(self.apply(Target::Objects, self.inner.objects.get(key)))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Result<ObjectMeta, CapabilityError>> {
        Box::pin(self.apply(Target::Objects, self.inner.objects.put(key, body, content_type)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(self.apply(Target::Objects, self.inner.objects.delete(key)))
    }

    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<ObjectMeta>, CapabilityError>> {
        Box::pin(self.apply(Target::Objects, self.inner.objects.head(key)))
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<ObjectPage, CapabilityError>> {
        Box::pin(self.apply(Target::Objects, self.inner.objects.list(prefix, cursor, limit)))
    }
}

impl HttpClient for Faulty<'_> {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Result<HttpResponse, CapabilityError>> {
        Box::pin(self.apply(Target::Http, self.inner.http.fetch(request)))
    }
}
