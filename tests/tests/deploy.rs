//! The deployment registry over the in-memory backends: refused uploads are
//! typed and store nothing, widening needs an approval the audit trail
//! names, rollbacks return; with storage that fails on demand, a failed
//! write leaves nothing behind and the served version untouched; engines
//! sharing one registry (a restart, another Worker isolate) serve what it
//! says is active.

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
use smcp_core::policy::GrantFileError;
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

fn acme() -> TenantId {
    TenantId::from_static("acme")
}

fn admin() -> Principal {
    Principal { tenant: acme(), id: "key:test".into(), role: Role::Admin }
}

fn upload(guest: &str, grant: &str) -> Upload {
    Upload { component: component_bytes(guest), grant: Some(grant.as_bytes().to_vec()), ..Default::default() }
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

/// notes, which imports kv, uploaded to acme/app under a grant that gives
/// it kv (not activated).
fn upload_notes(engine: &Engine, backends: Backends<'_>) -> Result<deploy::Uploaded, DeployError> {
    block_on(deploy::upload(
        &engine.deployments,
        backends,
        &acme(),
        "app",
        upload("notes", "version = 1\n[kv]\n"),
        &admin(),
    ))
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
        &acme(),
        Role::Admin,
        "t",
        None,
        1,
        &env.memory.random,
    ))
    .unwrap();
    block_on(deploy::create_server(&engine.deployments, backends, &acme(), "app", &admin())).unwrap();
    let calc = block_on(deploy::upload(
        &engine.deployments,
        backends,
        &acme(),
        "app",
        upload("calc", "version = 1\n"),
        &admin(),
    ))
    .unwrap();
    block_on(deploy::activate(&engine.deployments, backends, &acme(), "app", &calc.deployment.id, false, &admin()))
        .unwrap();
    let calc_tools = served_tools(&engine, backends, &key);
    assert!(calc_tools.contains(&"add".to_owned()));
    assert_eq!(components_stored(&env.memory.objects), 1);

    // The deployment record cannot be written: its component goes too.
    *kv.fail_under.borrow_mut() = Some("deploy/acme/deployments/".into());
    let failed = upload_notes(&engine, backends);
    assert!(matches!(failed, Err(DeployError::Storage(_))), "{failed:?}");
    assert_eq!(components_stored(&env.memory.objects), 1, "the failed upload left its component");
    assert_eq!(block_on(deploy::records::deployments(backends, &acme(), "app")).unwrap().len(), 1);

    // The server record cannot be written: the old version stays served.
    *kv.fail_under.borrow_mut() = None;
    let notes = upload_notes(&engine, backends).unwrap();
    *kv.fail_under.borrow_mut() = Some("deploy/acme/servers/".into());
    let failed =
        block_on(deploy::activate(&engine.deployments, backends, &acme(), "app", &notes.deployment.id, true, &admin()));
    assert!(matches!(failed, Err(DeployError::Storage(_))), "{failed:?}");
    assert_eq!(served_tools(&engine, backends, &key), calc_tools);
    let record = block_on(deploy::records::server(backends, &acme(), "app")).unwrap().unwrap();
    assert_eq!(record.active.as_deref(), Some(calc.deployment.id.as_str()));
}

#[test]
fn engines_sharing_a_registry_serve_what_it_says_is_active() {
    let env = Env::new("acme", "app", Default::default());
    let backends = env.backends();
    let rt = Arc::new(runtime());
    let writer = Engine::new(rt.clone(), smcp_tests::engine_config(&[]));
    let (key, _) = smcp_tests::deploy_active(&env, &writer, "calc", "");

    // Another process (a restart, another isolate) that rechecks every second.
    let mut config = smcp_tests::engine_config(&[]);
    config.deployment_recheck_ms = Some(1000);
    let reader = Engine::new(rt, config);
    let calc_tools = served_tools(&reader, backends, &key);
    assert!(calc_tools.contains(&"add".to_owned()), "{calc_tools:?}");

    let notes = upload_notes(&writer, backends).unwrap();
    block_on(deploy::activate(&writer.deployments, backends, &acme(), "app", &notes.deployment.id, true, &admin()))
        .unwrap();
    assert!(
        served_tools(&writer, backends, &key).contains(&"put_note".to_owned()),
        "the writer serves its activation at once"
    );
    assert_eq!(served_tools(&reader, backends, &key), calc_tools, "within its window the reader keeps what it has");
    env.memory.clock.advance(1000);
    assert!(
        served_tools(&reader, backends, &key).contains(&"put_note".to_owned()),
        "after the window it follows the registry"
    );

    // Deleted: neither serves it any more (the reader after its window).
    block_on(deploy::delete_server(&writer.deployments, backends, &acme(), "app", &admin())).unwrap();
    env.memory.clock.advance(1000);
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

#[test]
fn refused_uploads_are_typed_and_store_nothing() {
    let env = Env::new("acme", "app", Default::default());
    let backends = env.backends();
    let engine = Engine::new(Arc::new(runtime()), smcp_tests::engine_config(&[]));
    block_on(deploy::create_server(&engine.deployments, backends, &acme(), "app", &admin())).unwrap();
    let stored = || (env.memory.kv.raw_keys(), components_stored(&env.memory.objects));
    let before = stored();
    let notes = component_bytes("notes");
    let with = |grant: &[u8], digest: Option<&str>| Upload {
        component: notes.clone(),
        grant: Some(grant.to_vec()),
        digest: digest.map(str::to_owned),
        signature: None,
    };
    type Expect = fn(&DeployError) -> bool;
    let cases: [(&str, Upload, Expect); 6] = [
        ("kv imported, not granted", with(b"version = 1\n", None), |e| matches!(e, DeployError::NotGranted(_))),
        ("a future grant format", with(b"version = 2\n", None), |e| {
            matches!(e, DeployError::InvalidGrant(GrantFileError::Version { found: 2, reads: 1 }))
        }),
        ("a grant above the ceilings", with(b"version = 1\n[kv]\nmax_value_bytes = 999999999999\n", None), |e| {
            matches!(e, DeployError::InvalidGrant(GrantFileError::AboveCeiling { field: "kv.max_value_bytes", .. }))
        }),
        ("a grant that is not text", with(&[0xff, 0xfe], None), |e| matches!(e, DeployError::GrantNotText)),
        ("the wrong digest", with(b"version = 1\n[kv]\n", Some(&"0".repeat(64))), |e| {
            matches!(e, DeployError::DigestMismatch { .. })
        }),
        ("not a component", Upload { component: b"not wasm".to_vec(), ..Default::default() }, |e| {
            matches!(e, DeployError::InvalidComponent(_))
        }),
    ];
    for (what, upload, expected) in cases {
        let refused = block_on(deploy::upload(&engine.deployments, backends, &acme(), "app", upload, &admin()));
        match refused {
            Err(error) => assert!(expected(&error), "{what}: {error:?}"),
            Ok(_) => panic!("{what}: accepted"),
        }
        assert_eq!(stored(), before, "{what} stored something");
    }
}

#[test]
fn widening_needs_an_approval_the_trail_names_and_rollback_returns() {
    let env = Env::new("acme", "app", Default::default());
    let backends = env.backends();
    let engine = Engine::new(Arc::new(runtime()), smcp_tests::engine_config(&[]));
    let deployments = &engine.deployments;
    block_on(deploy::create_server(deployments, backends, &acme(), "app", &admin())).unwrap();
    let put = |guest: &str, grant: &str| {
        block_on(deploy::upload(deployments, backends, &acme(), "app", upload(guest, grant), &admin())).unwrap()
    };
    let active = || block_on(deploy::records::server(backends, &acme(), "app")).unwrap().unwrap().active;

    let calc = put("calc", "version = 1\n");
    assert!(calc.created && !calc.changes.requires_approval(), "{:?}", calc.changes);
    block_on(deploy::activate(deployments, backends, &acme(), "app", &calc.deployment.id, false, &admin())).unwrap();
    let again = put("calc", "version = 1\n");
    assert!(!again.created && again.deployment.id == calc.deployment.id, "the same bytes and grant");

    // notes imports kv and its grant gives it: wider than calc.
    let notes = put("notes", "version = 1\n[kv]\n");
    assert!(notes.changes.widened.iter().any(|w| w == "kv: granted"), "{:?}", notes.changes.widened);
    let refused =
        block_on(deploy::activate(deployments, backends, &acme(), "app", &notes.deployment.id, false, &admin()));
    assert!(
        matches!(&refused, Err(DeployError::ApprovalRequired(changes)) if changes.requires_approval()),
        "{refused:?}"
    );
    assert_eq!(active(), Some(calc.deployment.id.clone()), "a refused activation changes nothing");
    let approver = Principal { id: "key:approver".into(), ..admin() };
    let (record, _) =
        block_on(deploy::activate(deployments, backends, &acme(), "app", &notes.deployment.id, true, &approver))
            .unwrap();
    let last = record.history.last().unwrap();
    assert_eq!((last.by.as_str(), last.kind.as_str()), ("key:approver", "activate"));
    assert!(last.approved.iter().any(|w| w == "kv: granted"), "{:?}", last.approved);

    // Back to calc narrows: no approval. Forward again widens: it needs one.
    block_on(deploy::rollback(deployments, backends, &acme(), "app", None, false, &admin())).unwrap();
    assert_eq!(active(), Some(calc.deployment.id.clone()));
    let forward = block_on(deploy::rollback(deployments, backends, &acme(), "app", None, false, &admin()));
    assert!(matches!(forward, Err(DeployError::ApprovalRequired(_))), "{forward:?}");

    block_on(engine.flush_audit(backends)).unwrap();
    let trail = block_on(smcp_core::audit::list(&env.memory.kv, &acme(), 0, 100)).unwrap();
    let kinds: Vec<(&str, Option<&str>)> =
        trail.iter().map(|r| (r.event.kind.as_str(), r.event.principal.as_deref())).collect();
    for expected in [
        ("deploy.refused", Some("key:test")),
        ("deploy.activate", Some("key:approver")),
        ("deploy.rollback", Some("key:test")),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} missing from {kinds:?}");
    }
    let approved = trail.iter().find(|r| r.event.principal.as_deref() == Some("key:approver")).unwrap();
    assert_eq!(approved.event.detail["approved_widening"], true);
}

#[test]
fn a_server_loads_from_its_deployment_whatever_its_record_says_of_the_component() {
    let env = Env::new("acme", "app", Default::default());
    let backends = env.backends();
    let rt = Arc::new(runtime());
    let writer = Engine::new(rt.clone(), smcp_tests::engine_config(&[]));
    let (key, calc) = smcp_tests::deploy_active(&env, &writer, "calc", "");
    // Stored, never activated.
    let notes = upload_notes(&writer, backends).unwrap();
    let record = block_on(deploy::records::server(backends, &acme(), "app")).unwrap().unwrap();
    assert_eq!(record.active_digest.as_deref(), Some(calc.digest.as_str()), "activation names the component");

    // A record from before the digest was kept, and one naming another
    // stored component: a new process (a restart, another isolate) serves
    // the active deployment's own component either way.
    for active_digest in [None, Some(notes.deployment.digest.clone())] {
        let mut changed = record.clone();
        changed.active_digest = active_digest;
        let json = serde_json::to_vec(&changed).unwrap();
        block_on(env.memory.kv.set("deploy/acme/servers/app", json, None)).unwrap();
        let fresh = Engine::new(rt.clone(), smcp_tests::engine_config(&[]));
        let tools = served_tools(&fresh, backends, &key);
        assert!(tools.contains(&"add".to_owned()) && !tools.contains(&"put_note".to_owned()), "{tools:?}");
    }
}
