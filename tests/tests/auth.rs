//! Every way the endpoint refuses a caller, each with its exact status,
//! challenge and body, through `Engine::handle` with real guests: API keys
//! (missing, malformed, unknown, revoked, expired, another tenant's, in the
//! query string), bearer JWTs (bad signature, `alg: none`, HS256 signed
//! with the public key, wrong issuer or audience, expired, not yet valid,
//! no scope that grants a role), sessions used by another principal, and
//! read-only callers of mutating tools. Nothing answers 500.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use smcp_core::auth::Role;
use smcp_core::auth::api_keys::ApiKeys;
use smcp_core::auth::jwt::Issuer;
use smcp_core::auth::rate::{Limit, RateLimits};
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::kv::grant::KvGrant;
use smcp_core::engine::{Engine, Hosted, set_issuers};
use smcp_core::http::{Body, Request, Response};
use smcp_core::names::TenantId;
use smcp_core::platform::Clock as _;
use smcp_tests::{Env, block_on, load, runtime};
use std::sync::Arc;

const PRIVATE: &str = include_str!("../../host/core/src/auth/testdata/es256-private.pem");
const OTHER_PRIVATE: &str = include_str!("../../host/core/src/auth/testdata/other-private.pem");
const PUBLIC: &str = include_str!("../../host/core/src/auth/testdata/es256-public.pem");
const JWK: &str = include_str!("../../host/core/src/auth/testdata/es256-jwk.json");
const HASH_KEY: [u8; 32] = smcp_tests::TEST_HASH_KEY;
const ISSUER: &str = "https://auth.example.com";
const NOTES: &str = "/t/acme/s/notes/mcp";
const METADATA: &str = "http://localhost:8080/.well-known/oauth-protected-resource/t/acme/s/notes/mcp";

struct Host {
    engine: Engine,
    env: Env,
}

fn host() -> Host {
    host_with(RateLimits::default())
}

fn host_with(rate: RateLimits) -> Host {
    let rt = Arc::new(runtime());
    let mut config = smcp_tests::engine_config(&[]);
    config.auth.public_url = "http://localhost:8080".into();
    config.auth.rate = rate;
    let engine = Engine::new(rt.clone(), config);
    let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
    for (tenant, server) in [("acme", "notes"), ("beta", "notes")] {
        let hosted = Hosted {
            tenant: TenantId::from_static(tenant),
            server: server.into(),
            component: load(&rt, server),
            grant: grant.clone(),
            tools: None,
        };
        engine.host(hosted).unwrap();
    }
    let env = Env::new("acme", "notes", grant);
    let issuer = Issuer {
        issuer: ISSUER.into(),
        algorithms: vec![Algorithm::ES256],
        keys: JwkSet { keys: vec![serde_json::from_str(JWK).unwrap()] },
        jwks_uri: None,
        scopes: vec![("mcp:read".into(), Role::ReadOnly), ("mcp:use".into(), Role::McpUser)],
        leeway_seconds: smcp_core::auth::jwt::LEEWAY_SECONDS,
    };
    block_on(set_issuers(env.backends(), &TenantId::from_static("acme"), &[issuer])).unwrap();
    Host { engine, env }
}

impl Host {
    fn key(&self, tenant: &str, role: Role, expires_ms: Option<u64>) -> (String, String) {
        let now = self.env.memory.clock.now_ms();
        let (key, record) = block_on(ApiKeys::new(&self.env.memory.kv, HASH_KEY).create(
            &TenantId::parse(tenant).unwrap(),
            role,
            "test",
            expires_ms,
            now,
            &self.env.memory.random,
        ))
        .unwrap();
        (key, record.id)
    }

    fn send(&self, method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &Value) -> Response {
        let mut all = vec![
            ("host".to_string(), "localhost".to_string()),
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json, text/event-stream".into()),
        ];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let body = if body.is_null() { vec![] } else { body.to_string().into_bytes() };
        let request = Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: all,
            body,
            client: None,
            new_session_id: None,
        };
        let response = block_on(self.engine.handle(request, self.env.backends()));
        assert_ne!(response.status, 500, "no path answers 500: {response:?}");
        response
    }

    /// A 2026-07-28 `tools/call` with `credential` as a bearer.
    fn call(&self, credential: &str, tool: &str, arguments: Value) -> Response {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": arguments,
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } });
        let bearer = format!("Bearer {credential}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ];
        self.send("POST", NOTES, "", &headers, &body)
    }

    fn now_s(&self) -> u64 {
        self.env.memory.clock.now_ms() / 1000
    }

    fn token(&self, changes: Value) -> String {
        self.token_with(changes, Algorithm::ES256, &EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap())
    }

    fn token_with(&self, changes: Value, alg: Algorithm, key: &EncodingKey) -> String {
        let mut claims = json!({ "iss": ISSUER, "sub": "alice", "aud": format!("http://localhost:8080{NOTES}"), "exp": self.now_s() + 600, "scope": "mcp:use" });
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let mut header = Header::new(alg);
        header.kid = Some("test-key".into());
        encode(&header, &claims, key).unwrap()
    }
}

fn body(response: &Response) -> Value {
    match &response.body {
        Body::Json(bytes) => serde_json::from_slice(bytes).unwrap(),
        other => panic!("expected JSON, got {other:?}"),
    }
}

fn challenge(response: &Response) -> &str {
    response.headers.iter().find(|(k, _)| k == "www-authenticate").map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Asserts a refusal: status, the message of the JSON-RPC error body, and
/// the `error=` of the challenge (`None`: no error attribute).
fn refused(response: &Response, status: u16, message: &str, oauth_error: Option<&str>) {
    assert_eq!(response.status, status, "{response:?}");
    let got = body(response);
    assert_eq!(got["error"]["message"], message, "{got}");
    assert_eq!(got["error"]["code"], -32000);
    let challenge = challenge(response);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains(", scope=\"mcp:"), "the challenge names the tenant's scopes: {challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA}\"")), "{challenge}");
    match oauth_error {
        Some(error) => assert!(challenge.contains(&format!("error=\"{error}\"")), "{challenge}"),
        None => assert!(!challenge.contains("error="), "{challenge}"),
    }
}

#[test]
fn api_key_rejections() {
    let h = host();
    let (good, good_id) = h.key("acme", Role::McpUser, None);
    assert_eq!(h.call(&good, "get_note", json!({ "id": "x" })).status, 200);
    let missing = h.send("POST", NOTES, "", &[], &json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }));
    // The tenant's issuer's scopes and the host's own authorization server's.
    assert!(challenge(&missing).contains("scope=\"mcp:admin mcp:read mcp:use\""), "{}", challenge(&missing));
    refused(&missing, 401, "Unauthorized: no credentials: send `Authorization: Bearer <key or token>`", None);
    let basic = h.send("POST", NOTES, "", &[("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")], &json!({}));
    refused(
        &basic,
        401,
        "Unauthorized: malformed credentials: expected `Authorization: Bearer <credential>`",
        Some("invalid_request"),
    );
    refused(
        &h.call("smcp_acme_1234", "get_note", json!({})),
        401,
        "Unauthorized: malformed credentials: not an SMCP API key",
        Some("invalid_request"),
    );
    refused(
        &h.call("garbage", "get_note", json!({})),
        401,
        "Unauthorized: malformed credentials: neither an SMCP API key nor a JWT",
        Some("invalid_request"),
    );
    let unknown = format!("smcp_acme_{}", "ab".repeat(32));
    refused(&h.call(&unknown, "get_note", json!({})), 401, "Unauthorized: unknown API key", Some("invalid_token"));
    let (expiring, _) = h.key("acme", Role::McpUser, Some(h.env.memory.clock.now_ms() + 1000));
    h.env.memory.clock.advance(1000);
    refused(
        &h.call(&expiring, "get_note", json!({})),
        401,
        "Unauthorized: this API key has expired",
        Some("invalid_token"),
    );
    assert!(
        block_on(ApiKeys::new(&h.env.memory.kv, HASH_KEY).revoke(
            &TenantId::from_static("acme"),
            &good_id,
            h.env.memory.clock.now_ms()
        ))
        .unwrap()
    );
    refused(
        &h.call(&good, "get_note", json!({})),
        401,
        "Unauthorized: this API key was revoked",
        Some("invalid_token"),
    );
    // Another tenant's valid key.
    let (beta, _) = h.key("beta", Role::Admin, None);
    refused(&h.call(&beta, "get_note", json!({})), 403, "Forbidden: these credentials belong to another tenant", None);
    // Keys in the query string are refused even when valid, and X-API-Key works.
    let (key, _) = h.key("acme", Role::McpUser, None);
    let in_query = h.send("POST", NOTES, &format!("api_key={key}"), &[("x-api-key", key.as_str())], &json!({}));
    refused(&in_query, 401, "Unauthorized: credentials in the query string are not accepted", Some("invalid_request"));
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    assert_eq!(h.send("POST", NOTES, "", &[("x-api-key", key.as_str())], &init).status, 200);
    // No response names a key.
    for response in [&missing, &in_query] {
        assert!(!format!("{response:?}").contains(&key[10..]));
    }
}

#[test]
fn every_method_asks_for_credentials() {
    let h = host();
    for (method, body) in [
        ("GET", Value::Null),
        ("DELETE", Value::Null),
        ("POST", json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })),
    ] {
        let response = h.send(method, NOTES, "", &[("mcp-session-id", "0123456789abcdef0123456789abcdef")], &body);
        refused(&response, 401, "Unauthorized: no credentials: send `Authorization: Bearer <key or token>`", None);
    }
    // Preflight needs none (browsers send no credentials with it).
    assert_eq!(h.send("OPTIONS", NOTES, "", &[], &Value::Null).status, 204);
}

#[test]
fn bearer_token_rejections() {
    let h = host();
    let good = h.token(json!({}));
    assert_eq!(h.call(&good, "put_note", json!({ "id": "a", "text": "b" })).status, 200);
    let other_key = EncodingKey::from_ec_pem(OTHER_PRIVATE.as_bytes()).unwrap();
    let unsigned = {
        let b64 = |v: &Value| base64url(v.to_string().as_bytes());
        format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "typ": "JWT", "kid": "test-key" })),
            b64(&json!({ "iss": ISSUER, "sub": "x", "aud": "a", "exp": 9_999_999_999u64 }))
        )
    };
    let cases = [
        (h.token_with(json!({}), Algorithm::ES256, &other_key), "bad signature"),
        (unsigned, "malformed JWT header"),
        (
            h.token_with(json!({}), Algorithm::HS256, &EncodingKey::from_secret(PUBLIC.as_bytes())),
            "algorithm HS256 not accepted from this issuer",
        ),
        (h.token(json!({ "iss": "https://evil.example.com" })), "issuer not trusted by this tenant"),
        (h.token(json!({ "aud": "http://localhost:8080/t/beta/s/notes/mcp" })), "wrong audience"),
        (h.token(json!({ "exp": h.now_s() - 120 })), "expired"),
        (h.token(json!({ "nbf": h.now_s() + 600 })), "not valid yet"),
    ];
    for (token, why) in cases {
        let response = h.call(&token, "get_note", json!({}));
        refused(&response, 401, &format!("Unauthorized: invalid token: {why}"), Some("invalid_token"));
        assert!(!format!("{response:?}").contains(&token), "the token is echoed");
    }
    let no_scope = h.call(&h.token(json!({ "scope": "openid profile" })), "get_note", json!({}));
    refused(
        &no_scope,
        403,
        "Forbidden: the token grants no role: none of its scopes is mapped to one",
        Some("insufficient_scope"),
    );
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn read_only_callers_call_only_read_only_tools() {
    let h = host();
    let (reader, _) = h.key("acme", Role::ReadOnly, None);
    assert_eq!(h.call(&reader, "get_note", json!({ "id": "x" })).status, 200, "get_note is annotated read-only");
    let response = h.call(&reader, "put_note", json!({ "id": "x", "text": "y" }));
    assert_eq!(response.status, 403);
    assert_eq!(
        body(&response)["error"]["message"],
        "Forbidden: calling tool `put_note`, which is not annotated read-only, needs role mcp-user"
    );
    assert!(challenge(&response).contains("error=\"insufficient_scope\""));
    // A read-only token alike.
    let token = h.token(json!({ "scope": "mcp:read" }));
    assert_eq!(h.call(&token, "delete_note", json!({ "id": "x" })).status, 403);
    assert!(h.env.memory.kv.raw_keys().iter().all(|k| !k.contains("/kv/")), "nothing was written");
}

#[test]
fn sessions_belong_to_whoever_opened_them() {
    let h = host();
    let (alice, _) = h.key("acme", Role::McpUser, None);
    let (bob, _) = h.key("acme", Role::McpUser, None);
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": { "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let opened = h.send("POST", NOTES, "", &[("authorization", &format!("Bearer {alice}"))], &init);
    let session = opened.headers.iter().find(|(k, _)| k == "mcp-session-id").unwrap().1.clone();
    let ping = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });
    let as_alice = h.send(
        "POST",
        NOTES,
        "",
        &[("authorization", &format!("Bearer {alice}")), ("mcp-session-id", &session)],
        &ping,
    );
    assert_eq!(as_alice.status, 200);
    for method in ["POST", "GET", "DELETE"] {
        let body = if method == "POST" { ping.clone() } else { Value::Null };
        let as_bob = h.send(
            method,
            NOTES,
            "",
            &[("authorization", &format!("Bearer {bob}")), ("mcp-session-id", &session)],
            &body,
        );
        assert_eq!(
            (as_bob.status, body_of(&as_bob)["error"]["message"].clone()),
            (404, json!("Session not found")),
            "{method}"
        );
    }
    // Bob's DELETE did not end Alice's session.
    assert_eq!(
        h.send(
            "POST",
            NOTES,
            "",
            &[("authorization", &format!("Bearer {alice}")), ("mcp-session-id", &session)],
            &ping
        )
        .status,
        200
    );
}

fn body_of(response: &Response) -> Value {
    body(response)
}

#[test]
fn protected_resource_metadata() {
    let h = host();
    let at = |path: &str| h.send("GET", path, "", &[], &Value::Null);
    let endpoint = at("/.well-known/oauth-protected-resource/t/acme/s/notes/mcp");
    assert_eq!(endpoint.status, 200);
    assert_eq!(
        body(&endpoint),
        // The tenant's trusted issuer first, then the host's own.
        json!({ "resource": "http://localhost:8080/t/acme/s/notes/mcp", "authorization_servers": [ISSUER, "http://localhost:8080/oauth/acme"],
                "bearer_methods_supported": ["header"], "scopes_supported": ["mcp:admin", "mcp:read", "mcp:use"], "resource_name": "SMCP hosted MCP server" })
    );
    let root = at("/.well-known/oauth-protected-resource");
    assert_eq!((root.status, body(&root)["resource"].clone()), (200, json!("http://localhost:8080")));
    assert_eq!(at("/.well-known/oauth-protected-resource/elsewhere").status, 404);
}

#[test]
fn rate_limits_per_key_and_per_tenant() {
    let h = host_with(RateLimits {
        per_principal: Limit { burst: 3.0, per_second: 1.0 },
        per_tenant: Limit { burst: 5.0, per_second: 1.0 },
    });
    let (a, _) = h.key("acme", Role::McpUser, None);
    let (b, _) = h.key("acme", Role::McpUser, None);
    for _ in 0..3 {
        assert_eq!(h.call(&a, "get_note", json!({ "id": "x" })).status, 200);
    }
    let limited = h.call(&a, "get_note", json!({ "id": "x" }));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers.iter().find(|(k, _)| k == "retry-after").map(|(_, v)| v.as_str()), Some("1"));
    assert_eq!(body(&limited)["error"]["message"], "Too Many Requests: retry in 1 s");
    // Another key of the tenant has its own bucket, until the tenant's runs dry.
    // (A refused request takes nothing from the tenant.)
    assert_eq!(h.call(&b, "get_note", json!({ "id": "x" })).status, 200);
    assert_eq!(h.call(&b, "get_note", json!({ "id": "x" })).status, 200);
    assert_eq!(h.call(&b, "get_note", json!({ "id": "x" })).status, 429, "the tenant's five are spent");
    // A second later both refill.
    h.env.memory.clock.advance(1000);
    assert_eq!(h.call(&a, "get_note", json!({ "id": "x" })).status, 200);
}

#[test]
fn rotated_issuer_keys_are_fetched_from_the_jwks_uri() {
    use smcp_core::platform::HttpResponse;
    let mut h = host();
    // The tenant knows only an old key; the issuer now signs with test-key.
    let mut old: serde_json::Value = serde_json::from_str(JWK).unwrap();
    old["kid"] = json!("old-key");
    let issuer = Issuer {
        issuer: ISSUER.into(),
        algorithms: vec![Algorithm::ES256],
        keys: JwkSet { keys: vec![serde_json::from_value(old).unwrap()] },
        jwks_uri: Some("https://auth.example.com/jwks".into()),
        scopes: vec![("mcp:use".into(), Role::McpUser)],
        leeway_seconds: smcp_core::auth::jwt::LEEWAY_SECONDS,
    };
    block_on(set_issuers(h.env.backends(), &TenantId::from_static("acme"), &[issuer])).unwrap();
    let jwks = format!("{{\"keys\":[{}]}}", JWK.trim());
    h.env.memory.http.responses.insert(
        "https://auth.example.com/jwks".into(),
        HttpResponse { status: 200, headers: vec![], body: jwks.into_bytes() },
    );
    assert_eq!(h.call(&h.token(json!({})), "get_note", json!({ "id": "x" })).status, 200, "the new key was fetched");
    assert_eq!(h.env.memory.http.requests.borrow().len(), 1);
    // A token naming a key the issuer does not publish: one fetch a minute at most.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("nobody".into());
    let claims = json!({ "iss": ISSUER, "sub": "x", "aud": format!("http://localhost:8080{NOTES}"), "exp": h.now_s() + 60, "scope": "mcp:use" });
    let stranger = encode(&header, &claims, &EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap()).unwrap();
    refused(
        &h.call(&stranger, "get_note", json!({})),
        401,
        "Unauthorized: invalid token: signed with a key this issuer does not have",
        Some("invalid_token"),
    );
    assert_eq!(h.env.memory.http.requests.borrow().len(), 1, "no refetch within the minute");
}
