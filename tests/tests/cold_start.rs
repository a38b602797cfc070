//! A new process's first call (a restart, a new Worker isolate) with its
//! storage a round trip away, as Workers KV, a Durable Object and R2 are
//! on Cloudflare: how many round trips it waits for in turn. Counted, not
//! timed: every storage operation completes one tick after it starts, and
//! the clock ticks only when nothing else can run, so the ticks a request
//! takes are its round trips in turn.

use futures::channel::oneshot;
use serde_json::json;
use smcp_core::auth::api_keys::{ApiKeys, KeyCaching};
use smcp_core::auth::rate::{Limit, RateLimits};
use smcp_core::auth::tenants::Directory;
use smcp_core::engine::{Engine, set_issuers};
use smcp_core::http::{Body, Response};
use smcp_core::names::TenantId;
use smcp_core::platform::objects::StoredObject;
use smcp_core::platform::{Backends, CapabilityError, KeyPage, KvStore, LocalFuture};
use smcp_core::platform::{ObjectMeta, ObjectPage, ObjectStore};
use smcp_core::runtime::Runtime;
use smcp_tests::{Env, block_on, runtime};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Round trips a new process's first `tools/call` may wait for in turn:
/// the tenant's keys, the caller's key, its two rate buckets with the
/// server record, then the deployment record with the component.
const FIRST_CALL_ROUND_TRIPS: u64 = 4;

/// Storage one tick away, which keeps the keys read and written.
struct Distant<'a> {
    kv: &'a dyn KvStore,
    objects: &'a dyn ObjectStore,
    tick: &'a Cell<u64>,
    keys: RefCell<Vec<String>>,
}

impl<'s> Distant<'s> {
    fn new(kv: &'s dyn KvStore, objects: &'s dyn ObjectStore, tick: &'s Cell<u64>) -> Self {
        Distant { kv, objects, tick, keys: RefCell::default() }
    }

    /// How many operations reached `key`.
    fn reached(&self, key: &str) -> usize {
        self.keys.borrow().iter().filter(|k| *k == key).count()
    }

    /// `operation` on `key`, answered one tick after it is first polled.
    fn later<'a, T: 'a>(&'a self, key: &str, operation: LocalFuture<'a, T>) -> LocalFuture<'a, T> {
        self.keys.borrow_mut().push(key.to_owned());
        Box::pin(async move {
            let due = self.tick.get() + 1;
            std::future::poll_fn(|_| if self.tick.get() >= due { Poll::Ready(()) } else { Poll::Pending }).await;
            operation.await
        })
    }
}

impl KvStore for Distant<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        self.later(key, self.kv.get(key))
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(key, self.kv.set(key, value, ttl))
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(key, self.kv.delete(key))
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        self.later(prefix, self.kv.list(prefix, cursor, limit))
    }
    fn set_relaxed<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(key, self.kv.set_relaxed(key, value, ttl))
    }
    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        self.later(key, self.kv.insert_new(key, value, ttl))
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        self.later(key, self.kv.compare_and_swap(key, expected, value, ttl))
    }
}

impl ObjectStore for Distant<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<StoredObject>, CapabilityError>> {
        self.later(key, self.objects.get(key))
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> LocalFuture<'a, Result<ObjectMeta, CapabilityError>> {
        self.later(key, self.objects.put(key, body, content_type))
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.later(key, self.objects.delete(key))
    }
    fn head<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<ObjectMeta>, CapabilityError>> {
        self.later(key, self.objects.head(key))
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<ObjectPage, CapabilityError>> {
        self.later(prefix, self.objects.list(prefix, cursor, limit))
    }
}

/// Runs `work` to its end, ticking whenever it cannot go on; its output
/// and the ticks it took.
fn ticks<F: Future>(tick: &Cell<u64>, work: F) -> (F::Output, u64) {
    let start = tick.get();
    let mut work = std::pin::pin!(work);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(output) = work.as_mut().poll(&mut cx) {
            return (output, tick.get() - start);
        }
        assert!(tick.get() - start < 100, "the request waits on something other than storage");
        tick.set(tick.get() + 1);
    }
}

/// calc deployed at acme/app, and an admin key of acme.
fn deployed() -> (Env, Arc<Runtime>, String) {
    let env = Env::new("acme", "app", Default::default());
    let rt = Arc::new(runtime());
    let deployer = Engine::new(rt.clone(), smcp_tests::engine_config(&[]));
    let (key, _) = smcp_tests::deploy_active(&env, &deployer, "calc", "");
    (env, rt, key)
}

/// A process as a Worker isolate is: keys held for SMCP_KEY_RECHECK_MS.
fn isolate(rt: &Arc<Runtime>, rate: Option<RateLimits>) -> Engine {
    let mut config = smcp_tests::engine_config(&[]);
    config.auth.api_key_caching = KeyCaching::For { ms: 60_000 };
    if let Some(rate) = rate {
        config.auth.rate = rate;
    }
    Engine::new(rt.clone(), config)
}

/// `add` on acme/app as the front ends serve it: the response head goes
/// out when it is known; what the engine writes after (audit records, key
/// uses) waits for its upkeep. The head, and the ticks until it.
fn add(engine: &Engine, backends: Backends<'_>, tick: &Cell<u64>, key: &str) -> (Response, u64) {
    add_on(engine, backends, tick, key, "app")
}

/// [`add`] on acme's server `server`.
fn add_on(engine: &Engine, backends: Backends<'_>, tick: &Cell<u64>, key: &str, server: &str) -> (Response, u64) {
    let (head_tx, head_rx) = oneshot::channel();
    let arguments = json!({"name": "add", "arguments": {"a": 2, "b": 3}});
    let path = format!("/t/acme/s/{server}/mcp");
    let request = smcp_tests::current_request(&path, key, "tools/call", arguments);
    let exchange = engine.handle_streaming(request, backends, head_tx);
    ticks(tick, async { futures::future::join(exchange, head_rx).await.1.expect("a response head") })
}

#[test]
fn a_new_process_waits_for_few_storage_round_trips_on_its_first_call() {
    let (env, rt, key) = deployed();
    let tick = Cell::new(0);
    let distant = Distant::new(&env.memory.kv, &env.memory.objects, &tick);
    let far = Backends { kv: &distant, objects: &distant, ..env.backends() };
    let new_process = isolate(&rt, None);
    let (first, round_trips) = add(&new_process, far, &tick, &key);
    let Body::Json(body) = first.body else { panic!("status {}: not JSON", first.status) };
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains(r#""sum":5"#), "{body}");
    assert!(
        round_trips <= FIRST_CALL_ROUND_TRIPS,
        "the first call waited for {round_trips} storage round trips in turn, more than {FIRST_CALL_ROUND_TRIPS}"
    );
    // Everything it read is now this process's: the next call waits for none.
    assert_eq!(add(&new_process, far, &tick, &key).1, 0, "the second call waited for storage");
    // The upkeep writes what the calls left: the key's use among it.
    let (flushed, _) = ticks(&tick, new_process.upkeep(far));
    assert!(flushed.is_ok_and(|records| records >= 2), "the calls' audit records were written");
    let listed = block_on(ApiKeys::new(&env.memory.kv, smcp_tests::TEST_HASH_KEY).list(&TenantId::from_static("acme")));
    assert!(listed.unwrap()[0].last_used_ms.is_some(), "the key's use was written");
}

#[test]
fn a_principal_over_its_limit_looks_the_server_up_once_per_process() {
    let (env, rt, key) = deployed();
    let strict = Limit { burst: 2.0, per_second: 0.001 };
    let rate = RateLimits { per_principal: strict, per_tenant: RateLimits::default().per_tenant };
    // Another process used the key up, and a second later saved its bucket.
    let tick = Cell::new(0);
    let other = isolate(&rt, Some(rate));
    let statuses: Vec<u16> = (0..3).map(|_| add(&other, env.backends(), &tick, &key).0.status).collect();
    assert_eq!(statuses, [200, 200, 429]);
    env.memory.clock.advance(1000);
    assert_eq!(add(&other, env.backends(), &tick, &key).0.status, 429);

    let distant = Distant::new(&env.memory.kv, &env.memory.objects, &tick);
    let far = Backends { kv: &distant, objects: &distant, ..env.backends() };
    // A server that does not exist: nothing to cache, so only the rate
    // limit bounds how often it is looked up.
    let new_process = isolate(&rt, Some(rate));
    for _ in 0..5 {
        let (answer, _) = add_on(&new_process, far, &tick, &key, "missing");
        assert_eq!(answer.status, 429, "the stored bucket holds here too");
    }
    let lookups = distant.reached("deploy/acme/servers/missing");
    assert!(lookups <= 1, "{lookups} lookups: only the first request's, beside its bucket reads, may look up");
}

#[test]
fn a_tenant_whose_callers_bring_tokens_is_found_in_one_round_trip() {
    let env = Env::new("oidc", "app", Default::default());
    let oidc = TenantId::from_static("oidc");
    // Trusted issuers and no API keys: callers bring tokens.
    block_on(set_issuers(env.backends(), &oidc, &[])).unwrap();
    let tick = Cell::new(0);
    let distant = Distant::new(&env.memory.kv, &env.memory.objects, &tick);
    let (found, round_trips) = ticks(&tick, Directory::new(&[]).exists(&distant, &oidc, 0));
    assert_eq!((found, round_trips), (Ok(true), 1), "its key list and issuer record are read together");
}
