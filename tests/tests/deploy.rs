//! The deployment registry over the in-memory backends, with storage that
//! fails on demand: a failed write leaves nothing behind and the served
//! version untouched, and engines sharing one registry (a restart, another
//! Worker isolate) serve what it says is active.

use serde_json::{Value, json};
use smcp_core::auth::api_keys::ApiKeys;
use smcp_core::auth::{Principal, Role};
use smcp_core::deploy::{self, DeployError, Upload};
use smcp_core::engine::Engine;
use smcp_core::http::{Body, Request};
use smcp_core::names::TenantId;
use smcp_core::platform::ObjectStore;
use smcp_core::platform::{Backends, CapabilityError, LocalFuture};
use smcp_core::platform::{KeyPage, KvStore};
use smcp_tests::{Env, block_on, component_bytes, runtime};
use std::cell::RefCell;
use std::sync::Arc;

/// The test KV, failing every write under `fail_under` when set.
struct FlakyKv<'a> {
    inner: &'a dyn KvStore,
    fail_under: RefCell<Option<String>>,
}

impl KvStore for FlakyKv<'_> {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        self.inner.get(key)
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        if self.fail_under.borrow().as_deref().is_some_and(|prefix| key.starts_with(prefix)) {
            return Box::pin(async { Err(CapabilityError::Unavailable("injected write failure".into())) });
        }
        self.inner.set(key, value, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        self.inner.delete(key)
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        self.inner.list(prefix, cursor, limit)
    }
}

fn admin() -> Principal {
    Principal { tenant: TenantId::from_static("acme"), id: "key:test".into(), role: Role::Admin }
}

fn upload(guest: &str, grant: &str) -> Upload {
    Upload { component: component_bytes(guest), grant: Some(grant.as_bytes().to_vec()), digest: None }
}

/// The names of the tools `engine` serves at acme/app, asked over MCP.
fn served_tools(engine: &Engine, backends: Backends<'_>, key: &str) -> Vec<String> {
    let request = smcp_tests::current_request("/t/acme/s/app/mcp", key, "tools/list", json!({}));
    let response = block_on(engine.handle(request, backends));
    let Body::Json(bytes) = response.body else { panic!("status {}: not JSON", response.status) };
    let message: Value = serde_json::from_slice(&bytes).unwrap();
    let tools = message["result"]["tools"].as_array().unwrap_or_else(|| panic!("{message}"));
    tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

fn components_stored(objects: &dyn ObjectStore) -> usize {
    block_on(objects.list("components/", None, 100)).unwrap().objects.len()
}

#[test]
fn a_failed_write_leaves_nothing_and_the_served_version_untouched() {
    let env = Env::new("acme", "app", Default::default());
    let kv = FlakyKv { inner: &env.memory.kv, fail_under: RefCell::new(None) };
    let backends = Backends { kv: &kv, ..env.backends() };
    let engine = Engine::new(Arc::new(runtime()), smcp_tests::engine_config(&[]));
    let (key, _) = block_on(ApiKeys::new(&kv, smcp_tests::TEST_HASH_KEY).create(
        &TenantId::from_static("acme"),
        Role::Admin,
        "t",
        None,
        1,
        &env.memory.random,
    ))
    .unwrap();
    block_on(deploy::create_server(&engine.deployments, backends, &TenantId::from_static("acme"), "app", &admin()))
        .unwrap();
    let calc = block_on(deploy::upload(
        &engine.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        upload("calc", "version = 1\n"),
        &admin(),
    ))
    .unwrap();
    block_on(deploy::activate(
        &engine.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        &calc.deployment.id,
        false,
        &admin(),
    ))
    .unwrap();
    let calc_tools = served_tools(&engine, backends, &key);
    assert!(calc_tools.contains(&"add".to_owned()));
    assert_eq!(components_stored(&env.memory.objects), 1);

    // The deployment record cannot be written: its component goes too.
    *kv.fail_under.borrow_mut() = Some("deploy/acme/deployments/".into());
    let failed = block_on(deploy::upload(
        &engine.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        upload("notes", "version = 1\n[kv]\n"),
        &admin(),
    ));
    assert!(matches!(failed, Err(DeployError::Storage(_))), "{failed:?}");
    assert_eq!(components_stored(&env.memory.objects), 1, "the failed upload left its component");
    assert_eq!(
        block_on(deploy::records::deployments(backends, &TenantId::from_static("acme"), "app")).unwrap().len(),
        1
    );

    // The server record cannot be written: the old version stays served.
    *kv.fail_under.borrow_mut() = None;
    let notes = block_on(deploy::upload(
        &engine.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        upload("notes", "version = 1\n[kv]\n"),
        &admin(),
    ))
    .unwrap();
    *kv.fail_under.borrow_mut() = Some("deploy/acme/servers/".into());
    let failed = block_on(deploy::activate(
        &engine.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        &notes.deployment.id,
        true,
        &admin(),
    ));
    assert!(matches!(failed, Err(DeployError::Storage(_))), "{failed:?}");
    assert_eq!(served_tools(&engine, backends, &key), calc_tools);
    let record = block_on(deploy::records::server(backends, &TenantId::from_static("acme"), "app")).unwrap().unwrap();
    assert_eq!(record.active.as_deref(), Some(calc.deployment.id.as_str()));
}

#[test]
fn engines_sharing_a_registry_serve_what_it_says_is_active() {
    let env = Env::new("acme", "app", Default::default());
    let backends = env.backends();
    let rt = Arc::new(runtime());
    let writer = Engine::new(rt.clone(), smcp_tests::engine_config(&[]));
    let (key, _) = block_on(ApiKeys::new(&env.memory.kv, smcp_tests::TEST_HASH_KEY).create(
        &TenantId::from_static("acme"),
        Role::Admin,
        "t",
        None,
        1,
        &env.memory.random,
    ))
    .unwrap();
    block_on(deploy::create_server(&writer.deployments, backends, &TenantId::from_static("acme"), "app", &admin()))
        .unwrap();
    let calc = block_on(deploy::upload(
        &writer.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        upload("calc", ""),
        &admin(),
    ))
    .unwrap();
    block_on(deploy::activate(
        &writer.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        &calc.deployment.id,
        false,
        &admin(),
    ))
    .unwrap();

    // Another process (a restart, another isolate) that rechecks every second.
    let mut config = smcp_tests::engine_config(&[]);
    config.deployment_recheck_ms = Some(1000);
    let reader = Engine::new(rt, config);
    let calc_tools = served_tools(&reader, backends, &key);
    assert!(calc_tools.contains(&"add".to_owned()), "{calc_tools:?}");

    let notes = block_on(deploy::upload(
        &writer.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        upload("notes", "version = 1\n[kv]\n"),
        &admin(),
    ))
    .unwrap();
    block_on(deploy::activate(
        &writer.deployments,
        backends,
        &TenantId::from_static("acme"),
        "app",
        &notes.deployment.id,
        true,
        &admin(),
    ))
    .unwrap();
    assert!(
        served_tools(&writer, backends, &key).contains(&"put_note".to_owned()),
        "the writer serves its activation at once"
    );
    assert_eq!(served_tools(&reader, backends, &key), calc_tools, "within its window the reader keeps what it has");
    env.memory.clock.0.set(env.memory.clock.0.get() + 1000);
    assert!(
        served_tools(&reader, backends, &key).contains(&"put_note".to_owned()),
        "after the window it follows the registry"
    );

    // Deleted: neither serves it any more (the reader after its window).
    block_on(deploy::delete_server(&writer.deployments, backends, &TenantId::from_static("acme"), "app", &admin()))
        .unwrap();
    env.memory.clock.0.set(env.memory.clock.0.get() + 1000);
    for engine in [&writer, &reader] {
        let request = Request {
            method: "GET".into(),
            path: "/t/acme/s/app/mcp".into(),
            headers: vec![("host".into(), "localhost".into()), ("authorization".into(), format!("Bearer {key}"))],
            ..Request::default()
        };
        assert_eq!(block_on(engine.handle(request, backends)).status, 404);
    }
    assert_eq!(components_stored(&env.memory.objects), 0, "the deleted server's components are removed");
}
