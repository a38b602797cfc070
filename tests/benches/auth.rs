//! The per-request cost of authentication: `cargo bench -p smcp-tests --bench auth`.
//!
//! The same `tools/call noop` request (calc guest, 2026-07-28, in-memory
//! backends) through `Engine::handle`, in one run: without credentials
//! (an anonymous server: the reference), with an API key read from the
//! store on every request (the Worker) and answered from the key cache
//! (the native host), and with an ES256 bearer JWT. Reports p50/p99 and the cost over the reference.
//! `cargo test` runs it as a quick smoke run.
//!
//! Every case also appends to the audit trail, which the in-memory KV
//! keeps: the growing heap makes glibc's malloc return and re-fault the
//! guest's linear memory on each call (about +130 µs for every case alike;
//! `MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=268435456`
//! removes it). The differences between the cases are what this measures.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use smcp_core::auth::Role;
use smcp_core::auth::api_keys::{ApiKeys, KeyCaching};
use smcp_core::auth::jwt::Issuer;
use smcp_core::auth::rate::{Limit, RateLimits};
use smcp_core::capabilities::Grant;
use smcp_core::engine::{AuthSettings, Engine, EngineConfig, Hosted, set_issuers};
use smcp_core::http::Request;
use smcp_core::names::TenantId;
use smcp_core::platform::Clock as _;
use smcp_tests::{Env, block_on, load, runtime};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRIVATE: &str = include_str!("../../host/core/src/auth/testdata/es256-private.pem");
const JWK: &str = include_str!("../../host/core/src/auth/testdata/es256-jwk.json");

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let calls = if full { 20_000 } else { 200 };
    let rt = Arc::new(runtime());
    let engines = [engine(&rt, KeyCaching::Off), engine(&rt, KeyCaching::UntilWritten)];
    let env = Env::new("acme", "calc", Grant::default());
    let now = env.memory.clock.now_ms();
    let (key, _) = block_on(ApiKeys::new(&env.memory.kv, [3; 32]).create(
        &TenantId::from_static("acme"),
        Role::McpUser,
        "bench",
        None,
        now,
        &env.memory.random,
    ))
    .unwrap();
    let issuer = Issuer {
        issuer: "https://auth.example.com".into(),
        algorithms: vec![Algorithm::ES256],
        keys: JwkSet { keys: vec![serde_json::from_str(JWK).unwrap()] },
        jwks_uri: None,
        scopes: vec![("mcp:use".into(), Role::McpUser)],
        leeway_seconds: smcp_core::auth::jwt::LEEWAY_SECONDS,
    };
    block_on(set_issuers(env.backends(), &TenantId::from_static("acme"), &[issuer])).unwrap();
    let claims = json!({ "iss": "https://auth.example.com", "sub": "bench", "aud": "http://localhost/t/acme/s/calc/mcp", "exp": now / 1000 + 3600, "scope": "mcp:use" });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-key".into());
    let signing = EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap();
    let token = encode(&header, &claims, &signing).unwrap();
    // A token of its own for every round: each one's first use, its signature checked.
    let rounds = calls + calls / 10;
    let fresh: Vec<String> = (0..rounds)
        .map(|i| {
            let mut claims = claims.clone();
            claims["jti"] = json!(i);
            encode(&header, &claims, &signing).unwrap()
        })
        .collect();

    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "noop", "arguments": {},
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string()
    .into_bytes();
    let request = |tenant: &str, credential: Option<&str>| {
        let mut headers: Vec<(String, String)> = [
            ("host", "localhost"),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "noop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(credential) = credential {
            headers.push(("authorization".into(), format!("Bearer {credential}")));
        }
        Request {
            method: "POST".into(),
            path: format!("/t/{tenant}/s/calc/mcp"),
            query: String::new(),
            headers,
            body: body.clone(),
            client: None,
            new_session_id: None,
        }
    };
    let cases = [
        ("no credentials (reference)", 0, request("open", None)),
        ("API key, from the store", 0, request("acme", Some(&key))),
        ("API key, cached", 1, request("acme", Some(&key))),
        ("ES256 JWT, verified before", 0, request("acme", Some(&token))),
        ("ES256 JWT, first use", 0, request("acme", None)),
    ];
    println!("== per request: tools/call noop through Engine::handle, in-memory backends (cases alternate)");
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(calls); cases.len()];
    for (round, fresh) in fresh.iter().enumerate() {
        for ((label, engine, request), times) in cases.iter().zip(times.iter_mut()) {
            let request = match label.ends_with("first use") {
                true => request_with(request, fresh),
                false => request.clone(),
            };
            let start = Instant::now();
            let response = block_on(engines[*engine].handle(request, env.backends()));
            let took = start.elapsed();
            assert_eq!(response.status, 200, "{label}: {response:?}");
            if round >= calls / 10 {
                times.push(took);
            }
        }
    }
    let mut reference = None;
    for ((label, _, _), mut times) in cases.iter().zip(times) {
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        let base = *reference.get_or_insert(p(0.5));
        println!(
            "   {label:<28} p50 {:>8.1} µs  p99 {:>8.1} µs  ({:+.1} µs over the reference)",
            p(0.5),
            p(0.99),
            p(0.5) - base
        );
    }
}

/// An engine serving calc to tenants `open` (anonymously) and `acme`,
/// keeping accepted API keys in memory as `api_key_caching` says.
fn engine(rt: &Arc<smcp_core::runtime::Runtime>, api_key_caching: KeyCaching) -> Engine {
    let unlimited = Limit { burst: 1e12, per_second: 1e12 };
    let config = EngineConfig {
        allowed_hosts: vec!["localhost".into()],
        allowed_origins: vec![],
        max_body_bytes: 1 << 16,
        session_ttl_seconds: 600,
        server_name: "bench".into(),
        server_version: "0".into(),
        state_key: [1; 32],
        deployment_recheck_ms: None,
        sigstore_root: None,
        max_upload_bytes: 20 << 20,
        max_fuel: None,
        task_slice_ms: None,
        quotas: Default::default(),
        auth: AuthSettings {
            key_hash_key: [3; 32],
            public_url: "http://localhost".into(),
            anonymous: vec![("open".into(), "calc".into())],
            rate: RateLimits { per_principal: unlimited, per_tenant: unlimited },
            operator_key_hash: None,
            oauth: Default::default(),
            api_key_caching,
        },
    };
    let engine = Engine::new(rt.clone(), config);
    for tenant in ["open", "acme"] {
        engine
            .host(Hosted {
                tenant: TenantId::from_static(tenant),
                server: "calc".into(),
                component: load(rt, "calc"),
                grant: Grant::default(),
                tools: None,
            })
            .unwrap();
    }
    engine
}

/// `request` with `token` as its bearer credential.
fn request_with(request: &Request, token: &str) -> Request {
    let mut request = request.clone();
    request.headers.push(("authorization".into(), format!("Bearer {token}")));
    request
}
