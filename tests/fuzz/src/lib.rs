//! What the fuzz targets share: an engine on in-memory backends hosting
//! real components from guests/ (their directory is `SMCP_FUZZ_GUESTS`,
//! which scripts/fuzz.sh sets), and the parsing of raw HTTP requests.
//!
//! Recorded traffic carries an API key and session ids of the host it was
//! recorded against; record.py writes them as `{api-key}` and `{session}`,
//! which [`fill`] replaces with a key of this engine's store and the last
//! session id this engine gave in the same input. So seeds reach past
//! authentication and into their sessions, and a mutated placeholder still
//! tests the refusals.

use smcp_core::capabilities::Grant;
use smcp_core::engine::{AuthSettings, Engine, EngineConfig, Hosted};
use smcp_core::http::Request;
use smcp_core::platform::Backends;
use smcp_core::platform::memory::{InMemory, ManualClock};
use smcp_core::runtime::{Runtime, RuntimeLimits};
use std::sync::Arc;

/// A component built from guests/, by name.
pub fn guest(name: &str) -> Vec<u8> {
    let dir = std::env::var("SMCP_FUZZ_GUESTS")
        .expect("SMCP_FUZZ_GUESTS names the built guests' directory (scripts/fuzz.sh sets it)");
    let path = format!("{dir}/{name}.component.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Drops the notifications of a call.
pub struct Ignore;

impl smcp_core::capabilities::Notifier for Ignore {
    fn notify(&mut self, _: smcp_core::capabilities::Notification) {}
}

/// In-memory backends; the clock stands still. Holds an admin API key of
/// tenant `dev`.
pub struct Platform {
    pub api_key: String,
    memory: InMemory,
}

impl Default for Platform {
    fn default() -> Platform {
        Platform::new()
    }
}

impl Platform {
    pub fn new() -> Platform {
        let memory = InMemory::new();
        memory.clock.set(1_800_000_000_000);
        let keys = smcp_core::auth::api_keys::ApiKeys::new(&memory.kv, KEY_HASH_KEY);
        let made = futures::executor::block_on(keys.create(
            &smcp_core::names::TenantId::from_static("dev"),
            smcp_core::auth::Role::Admin,
            "fuzz",
            None,
            0,
            &memory.random,
        ));
        let (api_key, _) = made.expect("an API key is made in memory");
        Platform { api_key, memory }
    }

    pub fn backends(&self) -> Backends<'_> {
        self.memory.backends()
    }

    /// The same backends with `clock` instead (see [`InstantSleep`]).
    pub fn backends_with<'a>(&'a self, clock: &'a dyn smcp_core::platform::Clock) -> Backends<'a> {
        Backends { clock, ..self.backends() }
    }

    pub fn manual_clock(&self) -> &ManualClock {
        &self.memory.clock
    }
}

/// A clock whose sleeps end at once: every deadline passes as soon as the
/// work it bounds waits for anything (a client's answer, a slow backend),
/// so that the streaming target never hangs.
pub struct InstantSleep<'a>(pub &'a ManualClock);

impl smcp_core::platform::Clock for InstantSleep<'_> {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }

    fn sleep(&self, _ms: u64) -> smcp_core::platform::LocalFuture<'_, ()> {
        Box::pin(core::future::ready(()))
    }
}

/// The key API keys are hashed with, in the engine and in [`Platform`].
pub const KEY_HASH_KEY: [u8; 32] = [4; 32];

/// An engine hosting calc, notes and the conformance fixture under tenant
/// `dev`, all open without credentials, so requests reach past
/// authentication into the protocol.
pub fn engine() -> Engine {
    let runtime = Arc::new(Runtime::new(RuntimeLimits::default()).expect("the host world parses"));
    let config = EngineConfig {
        allowed_hosts: vec!["localhost".into(), "127.0.0.1".into()],
        allowed_origins: vec!["http://localhost".into()],
        max_body_bytes: 64 << 10,
        session_ttl_seconds: 600,
        server_name: "smcp-fuzz".into(),
        server_version: "0".into(),
        state_key: [9; 32],
        deployment_recheck_ms: None,
        sigstore_root: None,
        max_upload_bytes: 1 << 20,
        max_fuel: Some(50_000_000),
        task_slice_ms: None,
        quotas: Default::default(),
        auth: AuthSettings {
            key_hash_key: KEY_HASH_KEY,
            public_url: "http://localhost".into(),
            anonymous: ["calc", "notes", "conformance"].iter().map(|s| ("dev".to_owned(), (*s).to_owned())).collect(),
            rate: Default::default(),
            operator_key_hash: None,
            oauth: Default::default(),
            api_key_caching: smcp_core::auth::api_keys::KeyCaching::UntilWritten,
        },
    };
    let engine = Engine::new(runtime.clone(), config);
    let grants = [
        ("calc", include_str!("../../../guests/calc/grant.toml")),
        ("notes", include_str!("../../../guests/notes/grant.toml")),
        ("conformance", include_str!("../../../guests/conformance/grant.toml")),
    ];
    for (name, grant) in grants {
        let component = runtime.load(&guest(name)).expect("a guest loads");
        let grant = Grant::from_toml(grant).expect("the grant parses");
        engine
            .host(Hosted {
                tenant: smcp_core::names::TenantId::from_static("dev"),
                server: name.into(),
                component,
                grant,
                tools: None,
            })
            .expect("the guest is granted what it imports");
    }
    engine
}

/// Raw HTTP/1.1 requests, one after another, as the engine sees them;
/// parsing stops at the first that is not one.
pub fn requests(mut data: &[u8]) -> Vec<Request> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < 16 {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(head)) = parsed.parse(data) else { break };
        let (path, query) = parsed.path.unwrap_or("/").split_once('?').unwrap_or((parsed.path.unwrap_or("/"), ""));
        let headers: Vec<(String, String)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let body_end = (head + length).min(data.len());
        out.push(Request {
            method: parsed.method.unwrap_or("GET").to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: data[head..body_end].to_vec(),
            client: None,
            new_session_id: None,
        });
        data = &data[body_end..];
    }
    out
}

/// Puts this engine's API key and latest session id in place of the
/// recorded ones (`{api-key}`, `{session}`) in `request`'s headers.
pub fn fill(request: &mut Request, api_key: &str, session: Option<&str>) {
    for (_, value) in &mut request.headers {
        if value.contains("{api-key}") {
            *value = value.replace("{api-key}", api_key);
        }
        if let Some(session) = session
            && value.contains("{session}")
        {
            *value = value.replace("{session}", session);
        }
    }
}

/// Inputs one engine and its in-memory stores serve before both are made
/// anew: the stores only grow (their clock stands still, nothing expires),
/// and a principal's session quota would fill.
const INPUTS_PER_ENGINE: u32 = 500;

thread_local! {
    static HOST: std::cell::RefCell<(Engine, Platform, u32)> = std::cell::RefCell::new((engine(), Platform::new(), 0));
}

/// Runs `serve` with this thread's engine and platform, made anew every
/// [`INPUTS_PER_ENGINE`] inputs: what the HTTP targets share.
pub fn with_host(serve: impl FnOnce(&Engine, &Platform)) {
    HOST.with(|host| {
        let mut host = host.borrow_mut();
        if host.2 == INPUTS_PER_ENGINE {
            *host = (engine(), Platform::new(), 0);
        }
        host.2 += 1;
        let (engine, platform, _) = &*host;
        serve(engine, platform);
    });
}
