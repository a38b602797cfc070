//! The host's own OAuth 2.1 authorization server for people: one issuer
//! per tenant, `{public_url}/oauth/{tenant}`, whose access tokens are
//! bound to one hosted server's URL (RFC 8707) and accepted by the
//! resource side like any trusted issuer's.
//!
//! - [`metadata`]: RFC 8414 and OpenID discovery documents, the JWKS;
//! - [`authorize`] with [`page`]: the login and consent page (PKCE S256
//!   only, exact redirect URIs, `iss` in the response, RFC 9207);
//! - [`token`]: codes and rotated refresh tokens for tokens; revocation;
//! - [`clients`]: client ID metadata documents and dynamic registration;
//! - [`accounts`]: a tenant's local users, argon2id, throttled logins;
//! - [`grants`]: codes, refresh tokens and grants, kept as hashes and
//!   encrypted records;
//! - [`signing_keys`]: ES256 signing keys in the secrets store, rotated by id;
//! - [`upstream`]: signing in through a tenant's OpenID Connect provider.
//!
//! Everything is kept in the KV backend under `oauth/{tenant}/`, a prefix
//! guests cannot reach, so both front ends serve it alike.

mod account;
pub mod accounts;
mod authorize;
pub mod clients;
pub mod face;
mod form;
pub mod grants;
mod metadata;
mod page;
mod person;
mod records;
pub mod signing_keys;
mod token;
pub mod upstream;

use crate::audit::Recorder;
use crate::auth::Role;
use crate::auth::rate::Limiter;
use crate::auth::tenants::Directory;
use crate::deploy::Deployments;
use crate::http::{Body, Request, Response};
use crate::names::TenantId;
use crate::platform::{Backends, Random};
use serde_json::json;
use std::sync::Arc;

/// Operator settings of the authorization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Lifetime of access tokens; they are not checked against a clock
    /// leeway, so a short one really ends.
    pub access_ttl_seconds: u32,
    /// A refresh token unused this long expires (each use rotates it).
    pub refresh_ttl_seconds: u32,
    /// An authorization code must be redeemed within this.
    pub code_ttl_seconds: u32,
    /// Accept `http://` URLs for client ID metadata documents and upstream
    /// providers (local testing only; the address policy still applies).
    pub allow_http_metadata: bool,
    /// A dynamically registered client that no one has consented to
    /// within this long is forgotten.
    pub unused_client_ttl_seconds: u32,
    /// Registrations no one has consented to yet that a tenant holds at
    /// most; past it, registering answers 429 until some expire.
    pub max_unused_clients: u32,
}

impl Default for OAuthSettings {
    fn default() -> OAuthSettings {
        OAuthSettings {
            access_ttl_seconds: 600,
            refresh_ttl_seconds: 30 * 24 * 3600,
            code_ttl_seconds: 60,
            allow_http_metadata: false,
            unused_client_ttl_seconds: 24 * 3600,
            max_unused_clients: 1000,
        }
    }
}

/// The scopes this server issues and the role each needs and grants,
/// lowest first. A token gets the highest role among its scopes.
pub const SCOPES: [(&str, Role); 3] =
    [("mcp:read", Role::ReadOnly), ("mcp:use", Role::McpUser), ("mcp:admin", Role::Admin)];

const PREFIX: &str = "/oauth/";
const AS_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The issuer identifier of `tenant`'s authorization server.
pub fn issuer(public_url: &str, tenant: &TenantId) -> String {
    format!("{}{PREFIX}{tenant}", public_url.trim_end_matches('/'))
}

/// An OAuth error response (RFC 6749 §5.2): the code, and a description
/// that never carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into() }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_grant", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(401, "invalid_client", description)
    }

    pub fn unavailable(description: impl Into<String>) -> OAuthError {
        OAuthError::new(503, "temporarily_unavailable", description)
    }

    pub(crate) fn storage(e: impl core::fmt::Display) -> OAuthError {
        OAuthError::unavailable(format!("storage: {e}"))
    }

    fn response(&self) -> Response {
        let mut response =
            json_response(self.status, &json!({ "error": self.error, "error_description": self.description }));
        if self.status == 401 {
            response.headers.push(("www-authenticate".into(), "Basic realm=\"smcp-oauth\"".into()));
        }
        response
    }
}

/// Every tenant's authorization server in this process: the settings
/// and the services they use.
pub struct AuthorizationServers {
    pub settings: OAuthSettings,
    /// This host's public base URL: issuers and endpoints are built on it.
    public_url: String,
    /// The host's state key, from which the keys of tokens' hashes, sealed
    /// records and CSRF tokens are derived.
    state_key: [u8; 32],
    rate: Arc<Limiter>,
    audit: Arc<Recorder>,
    tenants: Arc<Directory>,
    /// Which servers exist, for the resource a client asks a token for.
    deployments: Arc<Deployments>,
    /// Serializes this process's redemptions of codes and refresh tokens.
    lock: futures_util::lock::Mutex<()>,
}

impl AuthorizationServers {
    pub fn new(
        settings: OAuthSettings,
        public_url: String,
        state_key: [u8; 32],
        rate: Arc<Limiter>,
        audit: Arc<Recorder>,
        tenants: Arc<Directory>,
        deployments: Arc<Deployments>,
    ) -> Self {
        AuthorizationServers {
            settings,
            public_url,
            state_key,
            rate,
            audit,
            tenants,
            deployments,
            lock: Default::default(),
        }
    }
}

/// One request to a tenant's authorization server.
pub struct Ctx<'a> {
    pub servers: &'a AuthorizationServers,
    pub backends: Backends<'a>,
    pub request: &'a Request,
    pub tenant: &'a TenantId,
}

impl Ctx<'_> {
    pub fn issuer(&self) -> String {
        issuer(&self.servers.public_url, self.tenant)
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.servers.settings
    }

    pub fn now_ms(&self) -> u64 {
        self.backends.clock.now_ms()
    }

    /// The key tokens and codes are hashed with (derived from the host's
    /// state key: a copy of the store alone cannot test guesses).
    pub fn hash_key(&self) -> [u8; 32] {
        blake3::derive_key("smcp 2026-11 oauth token hashing", &self.servers.state_key)
    }

    /// The key grant and code records are encrypted with.
    pub fn record_key(&self) -> [u8; 32] {
        blake3::derive_key("smcp 2026-11 oauth record encryption", &self.servers.state_key)
    }

    /// Takes one request from this tenant's bucket `what`: unauthenticated
    /// endpoints that write (registration) or hash (logins) are bounded per
    /// tenant, whoever calls them.
    /// Every tenant's buckets together share a host-wide one of
    /// [`HOST_WIDE_FACTOR`] times the size, so that the tenants that exist
    /// cannot add up to unbounded work either.
    pub async fn throttle(&self, what: &str, limit: crate::auth::rate::Limit) -> Result<(), OAuthError> {
        let verdict = self.throttle_wait(what, limit).await;
        verdict.map_err(|wait| OAuthError::new(429, "slow_down", format!("too many requests: retry in {wait} s")))
    }

    /// [`Self::throttle`], failing with the seconds to wait.
    pub async fn throttle_wait(&self, what: &str, limit: crate::auth::rate::Limit) -> Result<(), u64> {
        let host_wide = crate::auth::rate::Limit {
            burst: limit.burst * HOST_WIDE_FACTOR,
            per_second: limit.per_second * HOST_WIDE_FACTOR,
        };
        let (tenant_bucket, host_bucket) = (format!("oauth/{what}/{}", self.tenant), format!("oauth-host/{what}"));
        let buckets = [(tenant_bucket.as_str(), limit), (host_bucket.as_str(), host_wide)];
        self.servers.rate.take(self.backends.kv, &buckets, self.now_ms()).await
    }

    pub fn audit(&self, kind: &str, principal: Option<String>, detail: serde_json::Value) {
        let event = crate::audit::Event { kind: kind.into(), principal, server: None, detail };
        self.servers.audit.record(self.tenant, event, self.now_ms());
    }
}

/// The keyed hash (hex) under which a code or token is stored.
pub(crate) fn token_hash(key: &[u8; 32], token: &str) -> String {
    blake3::keyed_hash(key, token.as_bytes()).to_hex().to_string()
}

/// 256 random bits, base64url: codes, refresh tokens, client ids.
pub(crate) fn random_token(random: &dyn Random) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    base64url(&bytes)
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How many tenants' worth of registrations, metadata fetches and sign-ins
/// the whole host serves at once.
pub const HOST_WIDE_FACTOR: f64 = 20.0;

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response {
    let headers = vec![("cache-control".into(), "no-store".into()), ("pragma".into(), "no-cache".into())];
    Response { status, headers, body: Body::Json(body.to_string().into_bytes()) }
}

/// True when the grant a token of `tenant`'s issuer names (its `sub` and
/// `sid`) exists and is not revoked. Call only after the token verified.
pub(crate) async fn grant_of_token_is_live(
    servers: &AuthorizationServers,
    backends: Backends<'_>,
    request: &Request,
    tenant: &TenantId,
    token: &str,
) -> Result<bool, OAuthError> {
    #[derive(serde::Deserialize)]
    struct Claims {
        sub: String,
        #[serde(default)]
        sid: String,
    }
    let Ok(claims) = jsonwebtoken::dangerous::insecure_decode_claims::<Claims>(token) else { return Ok(false) };
    let ctx = Ctx { servers, backends, request, tenant };
    grants::is_live(&ctx, &claims.sub, &claims.sid).await
}

/// Answers `request` when it is for an authorization server (its
/// endpoints or its metadata); `None` otherwise.
pub(crate) async fn handle(
    servers: &AuthorizationServers,
    request: &Request,
    backends: Backends<'_>,
) -> Option<Response> {
    let (tenant, endpoint) = route(&request.path)?;
    let Ok(tenant) = TenantId::parse(tenant) else {
        return Some(OAuthError::new(404, "not_found", "no authorization server here").response());
    };
    let tenant = &tenant;
    // Registrations, metadata fetches and sign-in attempts are bounded per
    // tenant: only for tenants that exist.
    match servers.tenants.exists(backends.kv, tenant, backends.clock.now_ms()).await {
        Ok(true) => {}
        Ok(false) => return Some(OAuthError::new(404, "not_found", "no authorization server here").response()),
        Err(_) => {
            return Some(OAuthError::new(503, "temporarily_unavailable", "cannot look up this tenant now").response());
        }
    }
    let ctx = Ctx { servers, backends, request, tenant };
    let method = request.method.as_str();
    // Everything but the login page is for clients, some of them running
    // in browsers: open to any origin, as it takes no cookies.
    let cors = !matches!(endpoint, "authorize" | "callback" | "account");
    if cors && method == "OPTIONS" {
        return Some(preflight());
    }
    let answer = match (method, endpoint) {
        ("GET", "metadata") => metadata::authorization_server(&ctx).await,
        ("GET", "openid") => metadata::openid(&ctx).await,
        ("GET", "jwks") => metadata::jwks(&ctx).await,
        ("GET", "authorize") => Ok(authorize::show(&ctx).await),
        ("POST", "authorize") => Ok(authorize::submit(&ctx).await),
        ("GET", "callback") => Ok(authorize::callback(&ctx).await),
        ("GET", "account") => Ok(account::show(&ctx).await),
        ("GET", "logo") => face::serve_logo(&ctx).await,
        ("POST", "account") => Ok(account::submit(&ctx).await),
        ("POST", "token") => token::exchange(&ctx).await,
        ("POST", "revoke") => token::revoke(&ctx).await,
        ("POST", "register") => clients::register(&ctx).await,
        _ => Err(OAuthError::new(405, "invalid_request", "method not allowed here")),
    };
    let mut response = answer.unwrap_or_else(|e| e.response());
    if cors {
        response.headers.push(("access-control-allow-origin".into(), "*".into()));
    }
    Some(response)
}

/// True when `path` is one of the authorization servers' endpoints.
pub(crate) fn serves(path: &str) -> bool {
    route(path).is_some()
}

/// The tenant and endpoint a path names: `/oauth/{tenant}/{endpoint}`,
/// or metadata at the RFC 8414 and OpenID well-known locations.
fn route(path: &str) -> Option<(&str, &str)> {
    if let Some(tenant) = path.strip_prefix(AS_WELL_KNOWN).and_then(|p| p.strip_prefix(PREFIX)) {
        return Some((tenant, "metadata"));
    }
    if let Some(tenant) = path.strip_prefix(OIDC_WELL_KNOWN).and_then(|p| p.strip_prefix(PREFIX)) {
        return Some((tenant, "openid"));
    }
    let (tenant, endpoint) = path.strip_prefix(PREFIX)?.split_once('/')?;
    let endpoint = match endpoint {
        ".well-known/openid-configuration" => "openid",
        ".well-known/oauth-authorization-server" => "metadata",
        "authorize" | "callback" | "token" | "revoke" | "register" | "jwks" | "account" | "logo" => endpoint,
        _ => return None,
    };
    Some((tenant, endpoint))
}

fn preflight() -> Response {
    Response {
        status: 204,
        headers: vec![
            ("access-control-allow-origin".into(), "*".into()),
            ("access-control-allow-methods".into(), "GET, POST, OPTIONS".into()),
            ("access-control-allow-headers".into(), "content-type, authorization, mcp-protocol-version".into()),
            ("access-control-max-age".into(), "600".into()),
        ],
        body: Body::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn routes() {
        assert_eq!(route("/.well-known/oauth-authorization-server/oauth/acme"), Some(("acme", "metadata")));
        assert_eq!(route("/.well-known/openid-configuration/oauth/acme"), Some(("acme", "openid")));
        assert_eq!(route("/oauth/acme/.well-known/openid-configuration"), Some(("acme", "openid")));
        assert_eq!(route("/oauth/acme/token"), Some(("acme", "token")));
        assert_eq!(route("/oauth/acme/other"), None);
        assert_eq!(route("/oauth/acme"), None);
        assert_eq!(route("/t/acme/s/x/mcp"), None);
    }
}
