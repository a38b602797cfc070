//! In-memory backends for tests and examples. Not for production: nothing
//! persists, and the HTTP client answers from a fixed table instead of the
//! network.

use super::kv::{KeyPage, KvStore};
use super::objects::{ObjectMeta, ObjectPage, ObjectStore, StoredObject};
use super::outbound::{HttpClient, HttpRequest, HttpResponse};
use super::{Backends, CapabilityError, Clock, LocalFuture, LogLevel, LogSink, Random, SecretStore};
use crate::names::TenantId;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

type Res<T> = Result<T, CapabilityError>;

/// Keys of `map` under `prefix` after `cursor` whose values `keep`
/// accepts, at most `limit`.
fn page<V>(
    map: &BTreeMap<String, V>,
    prefix: &str,
    cursor: Option<&str>,
    limit: u32,
    keep: impl Fn(&V) -> bool,
) -> (Vec<String>, Option<String>) {
    let start = match cursor {
        // A cursor before the prefix would stop the listing at the first
        // key between the two that lacks the prefix: start at the prefix.
        Some(c) if c >= prefix => Bound::Excluded(c.to_owned()),
        _ => Bound::Included(prefix.to_owned()),
    };
    let mut keys: Vec<String> = map
        .range((start, Bound::Unbounded))
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(_, v)| keep(v))
        .map(|(k, _)| k.clone())
        .take(limit as usize + 1)
        .collect();
    let more = keys.len() > limit as usize;
    keys.truncate(limit as usize);
    let cursor = if more { keys.last().cloned() } else { None };
    (keys, cursor)
}

/// A key-value store in a map; TTLs are measured on `clock`.
/// A value and its expiry (ms since the epoch).
type Entry = (Vec<u8>, Option<u64>);

pub struct MemoryKv {
    entries: RefCell<BTreeMap<String, Entry>>,
    clock: Rc<dyn Clock>,
}

impl MemoryKv {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        MemoryKv { entries: RefCell::default(), clock }
    }

    /// Every stored key, prefix included: what a test checks scoping with.
    pub fn raw_keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    fn live(&self, expiry: Option<u64>) -> bool {
        expiry.is_none_or(|e| e > self.clock.now_ms())
    }
}

impl KvStore for MemoryKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<Vec<u8>>>> {
        let found = self.entries.borrow().get(key).filter(|(_, exp)| self.live(*exp)).map(|(v, _)| v.clone());
        Box::pin(async move { Ok(found) })
    }

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl: Option<u32>) -> LocalFuture<'a, Res<()>> {
        let expiry = ttl.map(|t| self.clock.now_ms() + u64::from(t) * 1000);
        self.entries.borrow_mut().insert(key.to_owned(), (value, expiry));
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<()>> {
        self.entries.borrow_mut().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> LocalFuture<'a, Res<KeyPage>> {
        // Expired entries read as absent, so they are not listed either.
        let (keys, cursor) = page(&self.entries.borrow(), prefix, cursor, limit, |(_, exp)| self.live(*exp));
        Box::pin(async move { Ok(KeyPage { keys, cursor }) })
    }
}

/// An object store in a map.
pub struct MemoryObjects {
    objects: RefCell<BTreeMap<String, StoredObject>>,
    clock: Rc<dyn Clock>,
}

impl MemoryObjects {
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        MemoryObjects { objects: RefCell::default(), clock }
    }

    pub fn raw_keys(&self) -> Vec<String> {
        self.objects.borrow().keys().cloned().collect()
    }
}

impl ObjectStore for MemoryObjects {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<StoredObject>>> {
        let found = self.objects.borrow().get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Res<ObjectMeta>> {
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: body.len() as u64,
            etag: blake3::hash(&body).to_hex()[..32].to_owned(),
            content_type,
            uploaded_ms: self.clock.now_ms(),
        };
        self.objects.borrow_mut().insert(key.to_owned(), (meta.clone(), body));
        Box::pin(async move { Ok(meta) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<()>> {
        self.objects.borrow_mut().remove(key);
        Box::pin(async { Ok(()) })
    }

    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Res<Option<ObjectMeta>>> {
        let found = self.objects.borrow().get(key).map(|(m, _)| m.clone());
        Box::pin(async move { Ok(found) })
    }

    fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> LocalFuture<'a, Res<ObjectPage>> {
        let objects = self.objects.borrow();
        let (keys, cursor) = page(&objects, prefix, cursor, limit, |_| true);
        let objects = keys.iter().filter_map(|k| objects.get(k).map(|(m, _)| m.clone())).collect();
        Box::pin(async move { Ok(ObjectPage { objects, cursor }) })
    }
}

/// Answers requests from a table of URL → response and records what it was
/// asked, so tests can check what a guest sent. Unknown URLs get a 404.
#[derive(Default)]
pub struct TableHttp {
    pub responses: HashMap<String, HttpResponse>,
    pub requests: RefCell<Vec<HttpRequest>>,
}

impl HttpClient for TableHttp {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Res<HttpResponse>> {
        let mut response = self.responses.get(request.url.as_str()).cloned().unwrap_or(HttpResponse {
            status: 404,
            headers: vec![],
            body: b"not found".to_vec(),
        });
        response.body.truncate(request.max_response_bytes);
        self.requests.borrow_mut().push(request);
        Box::pin(async move { Ok(response) })
    }
}

/// Secrets in a map keyed by (tenant, server, name).
#[derive(Default)]
pub struct MemorySecrets {
    pub values: HashMap<(String, String, String), String>,
    /// What `put` stored (the admin API, the host's own signing keys).
    pub written: RefCell<HashMap<(String, String, String), String>>,
}

impl SecretStore for MemorySecrets {
    fn get<'a>(&'a self, tenant: &'a TenantId, server: &'a str, name: &'a str) -> LocalFuture<'a, Res<Option<String>>> {
        let key = (tenant.to_string(), server.to_owned(), name.to_owned());
        let found = self.values.get(&key).cloned().or_else(|| self.written.borrow().get(&key).cloned());
        Box::pin(async move { Ok(found) })
    }

    fn put<'a>(
        &'a self,
        tenant: &'a TenantId,
        server: &'a str,
        name: &'a str,
        value: &'a str,
    ) -> LocalFuture<'a, Res<()>> {
        self.written.borrow_mut().insert((tenant.to_string(), server.to_owned(), name.to_owned()), value.to_owned());
        Box::pin(async move { Ok(()) })
    }

    fn delete<'a>(&'a self, tenant: &'a TenantId, server: &'a str, name: &'a str) -> LocalFuture<'a, Res<()>> {
        self.written.borrow_mut().remove(&(tenant.to_string(), server.to_owned(), name.to_owned()));
        Box::pin(async move { Ok(()) })
    }
}

/// Log lines kept in memory.
#[derive(Default)]
pub struct MemoryLog {
    pub lines: RefCell<Vec<(String, String, LogLevel, String)>>,
}

impl LogSink for MemoryLog {
    fn write(&self, scope: &super::Scope, level: LogLevel, message: &str) {
        self.lines.borrow_mut().push((scope.tenant.to_string(), scope.server.clone(), level, message.to_owned()));
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `ms`.
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(ms))
    }

    /// A clock standing at `ms`, shared.
    pub fn at(ms: u64) -> Rc<ManualClock> {
        Rc::new(ManualClock::new(ms))
    }

    /// Sets the time to `ms`.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed);
    }

    /// Moves the clock `ms` on.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Deterministic bytes from blake3 in XOF mode: reproducible tests, not
/// secrecy.
pub struct SeededRandom {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom { seed: *blake3::hash(&seed.to_le_bytes()).as_bytes(), counter: AtomicU64::new(0) }
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        blake3::Hasher::new_keyed(&self.seed).update(&n.to_le_bytes()).finalize_xof().fill(buf);
    }
}

/// A store whose every operation first lets other tasks run, as two
/// serving threads' requests interleave on a shared store. Its
/// `insert_new` and `compare_and_swap` still happen in one step, as the
/// native store's and the tenant's Durable Object's do.
pub struct Interleaving<'a>(pub &'a MemoryKv);

impl Interleaving<'_> {
    /// `operation`, after one yield to whatever else is ready to run.
    fn later<'a, T: 'a>(&'a self, operation: LocalFuture<'a, T>) -> LocalFuture<'a, T> {
        Box::pin(async move {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if std::mem::replace(&mut yielded, true) {
                    return std::task::Poll::Ready(());
                }
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            })
            .await;
            operation.await
        })
    }
}

impl KvStore for Interleaving<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        self.later(self.0.get(key))
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(self.0.set(key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(self.0.delete(key))
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        self.later(self.0.list(prefix, cursor, limit))
    }
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        self.later(self.0.insert_new(key, value, ttl))
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        self.later(self.0.compare_and_swap(key, expected, value, ttl))
    }
}

/// Every backend in memory, the clock standing still until a test moves it.
pub struct InMemory {
    pub clock: Rc<ManualClock>,
    pub kv: MemoryKv,
    pub objects: MemoryObjects,
    pub http: TableHttp,
    pub secrets: MemorySecrets,
    pub log: MemoryLog,
    pub random: SeededRandom,
}

impl InMemory {
    pub fn new() -> InMemory {
        let clock = Rc::new(ManualClock::new(0));
        let (kv, objects) = (MemoryKv::new(clock.clone()), MemoryObjects::new(clock.clone()));
        InMemory {
            clock,
            kv,
            objects,
            http: TableHttp::default(),
            secrets: MemorySecrets::default(),
            log: MemoryLog::default(),
            random: SeededRandom::new(1),
        }
    }

    pub fn backends(&self) -> Backends<'_> {
        Backends {
            kv: &self.kv,
            objects: &self.objects,
            http: &self.http,
            secrets: &self.secrets,
            clock: &*self.clock,
            random: &self.random,
            log: &self.log,
        }
    }
}

impl Default for InMemory {
    fn default() -> Self {
        InMemory::new()
    }
}
