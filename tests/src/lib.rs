//! Test harness: the guests built from `guests/` by build.rs, a runtime, and
//! in-memory backends wired as a platform would wire real ones.

use smcp_core::capabilities::Grant;
use smcp_core::capabilities::{CallHost, Notification, Notifier};
use smcp_core::guest::Server;
use smcp_core::names::TenantId;
use smcp_core::platform::memory::{InMemory, SeededRandom};
use smcp_core::platform::{Backends, Scope};
use smcp_core::runtime::{Component, Runtime, RuntimeLimits};
use std::sync::Arc;

pub mod child;
pub mod report;
pub mod tenant;

/// Paths of the components build.rs made, by guest name.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// Reads a built component by guest name (e.g. `"calc"`).
pub fn component_bytes(name: &str) -> Vec<u8> {
    let path = guests::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no guest named {name}; built: {:?}", guests::ALL))
        .1;
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// `<target>/wasm-guests`, beside the running test or bench binary's own
/// build (`<target>/<profile>/deps/<binary>`), where build.rs builds the
/// guests: dev-mode servers started by tests reuse that warm build.
pub fn guest_target_dir() -> Option<std::path::PathBuf> {
    Some(std::env::current_exe().ok()?.ancestors().nth(3)?.join("wasm-guests"))
}

/// The grant a guest ships with (`guests/<name>/grant.toml`), `None` when
/// it ships none; a grant file that does not parse panics.
pub fn shipped_grant(guest: &str) -> Option<Grant> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests").join(guest).join("grant.toml");
    let text = std::fs::read_to_string(&path).ok()?;
    Some(Grant::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

pub fn runtime() -> Runtime {
    Runtime::new(RuntimeLimits::default()).expect("host world parses")
}

/// Loads a guest into `runtime`, panicking with the load error.
pub fn load(runtime: &Runtime, name: &str) -> Arc<Component> {
    runtime.load(&component_bytes(name)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// Notifications a call sent, in order.
#[derive(Default)]
pub struct Collected(pub Vec<Notification>);

impl Notifier for Collected {
    fn notify(&mut self, notification: Notification) {
        self.0.push(notification);
    }
}

/// In-memory backends, one set per test, with the scope and grant of one
/// server and the notifications its calls sent.
pub struct Env {
    pub memory: InMemory,
    pub scope: Scope,
    pub grant: Grant,
    pub notes: Collected,
}

impl Env {
    pub fn new(tenant: &str, server: &str, grant: Grant) -> Env {
        let mut memory = InMemory::new();
        memory.clock.set(1_700_000_000_000);
        memory.random = SeededRandom::new(7);
        Env {
            memory,
            scope: Scope {
                tenant: TenantId::parse(tenant).expect("a tenant id"),
                server: server.into(),
                request: "test".into(),
            },
            grant,
            notes: Collected::default(),
        }
    }

    /// The capability host for one call.
    pub fn host(&mut self) -> CallHost<'_> {
        CallHost::new(self.memory.backends(), &self.grant, &self.scope, &mut self.notes)
    }

    /// The backends as a platform would hand them to the engine.
    pub fn backends(&self) -> Backends<'_> {
        self.memory.backends()
    }

    pub fn server<'a>(&self, runtime: &'a Runtime, component: &'a Component) -> Server<'a> {
        Server { runtime, component, limits: self.grant.limits }
    }
}

/// An engine's settings for tests: `localhost` only, 64 KiB bodies, and
/// authentication with a fixed hashing key, `http://localhost` as the
/// public URL, `anonymous` servers open to all, default rate limits.
pub fn engine_config(anonymous: &[(&str, &str)]) -> smcp_core::engine::EngineConfig {
    smcp_core::engine::EngineConfig {
        allowed_hosts: vec!["localhost".into()],
        allowed_origins: vec!["http://localhost:3000".into()],
        max_body_bytes: 64 << 10,
        session_ttl_seconds: 600,
        server_name: "smcp-test".into(),
        server_version: "0.0.0".into(),
        state_key: [9; 32],
        deployment_recheck_ms: None,
        sigstore_root: None,
        max_upload_bytes: 20 << 20,
        max_fuel: None,
        task_slice_ms: None,
        quotas: Default::default(),
        auth: smcp_core::engine::AuthSettings {
            key_hash_key: TEST_HASH_KEY,
            public_url: "http://localhost".into(),
            anonymous: anonymous.iter().map(|(t, s)| ((*t).to_owned(), (*s).to_owned())).collect(),
            rate: smcp_core::auth::rate::RateLimits::default(),
            operator_key_hash: None,
            oauth: Default::default(),
            // The tests write key records behind the engine's back (as a
            // second process would), which a key cache must not have.
            api_key_caching: smcp_core::auth::api_keys::KeyCaching::Off,
        },
    }
}

/// The API-key hashing key of [`engine_config`].
pub const TEST_HASH_KEY: [u8; 32] = [4; 32];

/// An admin API key of `env`'s tenant, and `guest` uploaded under `grant`
/// and activated as `env`'s server by `deployer` (a process sharing `env`'s
/// storage): the key and the deployment.
pub fn deploy_active(
    env: &Env,
    deployer: &smcp_core::engine::Engine,
    guest: &str,
    grant: &str,
) -> (String, smcp_core::deploy::Deployment) {
    use smcp_core::auth::{Principal, Role, api_keys::ApiKeys};
    use smcp_core::deploy::{self, Upload};
    let (backends, tenant, server) = (env.backends(), &env.scope.tenant, env.scope.server.as_str());
    let admin = Principal { tenant: tenant.clone(), id: "key:test".into(), role: Role::Admin };
    let keys = ApiKeys::new(&env.memory.kv, TEST_HASH_KEY);
    let (key, _) = block_on(keys.create(tenant, Role::Admin, "t", None, 1, &env.memory.random)).expect("a key");
    block_on(deploy::create_server(&deployer.deployments, backends, tenant, server, &admin)).expect("a server");
    let upload =
        Upload { component: component_bytes(guest), grant: Some(grant.as_bytes().to_vec()), ..Default::default() };
    let uploaded = block_on(deploy::upload(&deployer.deployments, backends, tenant, server, upload, &admin));
    let deployment = uploaded.expect("an upload").deployment;
    block_on(deploy::activate(&deployer.deployments, backends, tenant, server, &deployment.id, false, &admin))
        .expect("an activation");
    (key, deployment)
}

/// Calls `tool` of `component` with `env`'s backends and grant, and
/// expects a finished result (not input-required, not an error).
pub fn call_tool(
    env: &mut Env,
    runtime: &Runtime,
    component: &Component,
    tool: &str,
    args: &serde_json::Value,
) -> smcp_core::guest::CallToolResult {
    let server = env.server(runtime, component);
    match block_on(server.call_tool(&mut env.host(), tool, args, &[], None)) {
        Ok(smcp_core::guest::ToolOutcome::Complete(result)) => result,
        other => panic!("{tool}: {other:?}"),
    }
}

/// The first content block of a result, which must be text.
pub fn first_text(result: &smcp_core::guest::CallToolResult) -> &str {
    match &result.content[0] {
        smcp_core::guest::ContentBlock::Text { text } => text,
        other => panic!("not text: {other:?}"),
    }
}

/// Runs a future to completion on this thread (guest calls are not `Send`).
pub fn block_on<F: core::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// A 2026-07-28 POST of `method` with `params` (plus the era's `_meta`)
/// to `path`, with `credential` as a bearer: headers as a client sends
/// them, `Mcp-Name` from `params.name` when there is one.
pub fn current_request(
    path: &str,
    credential: &str,
    method: &str,
    mut params: serde_json::Value,
) -> smcp_core::http::Request {
    params["_meta"] = serde_json::json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} });
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let mut headers: Vec<(String, String)> = [
        ("host", "localhost".to_string()),
        ("content-type", "application/json".into()),
        ("accept", "application/json, text/event-stream".into()),
        ("authorization", format!("Bearer {credential}")),
        ("mcp-protocol-version", "2026-07-28".into()),
        ("mcp-method", method.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(name) = params["name"].as_str() {
        headers.push(("mcp-name".into(), name.to_owned()));
    }
    smcp_core::http::Request {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers,
        body: body.to_string().into_bytes(),
        client: None,
        new_session_id: None,
    }
}
