//! Who may come in: authentication of requests to the MCP endpoints and the
//! admin API (API keys, tokens of trusted issuers and of the host's own
//! authorization server), the HTTP answers when nobody (401) or somebody
//! without the right (403) asks, refusals counted for the audit trail and
//! per client address. Also the RFC 9728 protected-resource metadata that
//! tells an OAuth client where to get a token.

pub(crate) mod refusals;

use crate::audit::Recorder;
use crate::auth::api_keys::{ApiKeys, KeyCache, KeyCaching};
use crate::auth::jwt::{self, Issuer, Verdict};
use crate::auth::{AuthError, Principal, Role};
use crate::http::{Request, Response};
use crate::mcp::jsonrpc::{BAD_REQUEST, error_response};
use crate::names::TenantId;
use crate::oauth::AuthorizationServers;
use crate::platform::Backends;
use refusals::{ClientRefusals, Refusal, Refusals};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Operator settings of authentication.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The host's secret for hashing API keys.
    pub key_hash_key: [u8; 32],
    /// This host's public base URL (`https://mcp.example.com`): endpoint
    /// URLs, which are also the JWT audiences, are built from it.
    pub public_url: String,
    /// Servers anyone may use as `mcp-user` without credentials. For local
    /// test fixtures only; empty by default.
    pub anonymous: Vec<(String, String)>,
    pub rate: crate::auth::rate::RateLimits,
    /// The blake3 hash (hex) of the operator key, which opens the operator
    /// API (`/operator/v1/…`); closed when `None`.
    pub operator_key_hash: Option<String>,
    /// The host's own authorization server.
    pub oauth: crate::oauth::OAuthSettings,
    /// How long accepted API keys are answered from memory.
    pub api_key_caching: KeyCaching,
}

const WELL_KNOWN: &str = crate::names::METADATA_PREFIX;

/// The gate of this process: the settings, and what it remembers of
/// callers.
pub struct Gate {
    pub settings: AuthSettings,
    audit: Arc<Recorder>,
    oauth: Arc<AuthorizationServers>,
    /// When this process last noted each API key's use.
    key_uses: Mutex<crate::auth::api_keys::UseNotes>,
    /// The API keys this process accepted, for as long as it may keep them.
    key_cache: KeyCache,
    /// The bearer tokens this process verified (a memo; see there).
    verified_tokens: jwt::VerifiedTokens,
    /// When each issuer key set was last fetched (ms), by URI.
    jwks_refreshed: Mutex<HashMap<String, u64>>,
    /// Refused requests, counted for the audit trail.
    refusals: Refusals,
    /// Refused requests per client address.
    client_refusals: ClientRefusals,
}

impl Gate {
    pub fn new(settings: AuthSettings, audit: Arc<Recorder>, oauth: Arc<AuthorizationServers>) -> Gate {
        let key_cache = KeyCache::new(settings.api_key_caching);
        Gate {
            settings,
            audit,
            oauth,
            key_uses: Default::default(),
            key_cache,
            verified_tokens: Default::default(),
            jwks_refreshed: Default::default(),
            refusals: Default::default(),
            client_refusals: Default::default(),
        }
    }

    /// The API keys, answered from this process's cache when it may keep
    /// one: the one way the engine reads and writes key records, so that
    /// every write empties the cache.
    pub fn api_keys<'a>(&'a self, kv: &'a dyn crate::platform::kv::KvStore) -> ApiKeys<'a> {
        ApiKeys::new(kv, self.settings.key_hash_key).cached(Some(&self.key_cache))
    }

    /// Writes the API key uses noted since the last call, best effort: a
    /// key's `last_used_ms` is bookkeeping, not a guarantee.
    pub async fn write_key_uses(&self, kv: &dyn crate::platform::kv::KvStore) {
        let unwritten = self.key_uses.lock().map(|mut notes| notes.take_unwritten()).unwrap_or_default();
        let keys = self.api_keys(kv);
        for (tenant, id, at_ms) in unwritten {
            keys.note_use(&tenant, &id, at_ms).await;
        }
    }

    /// Moves the counts of refusals whose window closed (every count, when
    /// `closing`) into the audit queue.
    pub fn record_refusals(&self, now_ms: u64, closing: bool) {
        for (tenant, event) in self.refusals.closed(now_ms, closing) {
            self.audit.record(&tenant, event, now_ms);
        }
    }
}
/// Query parameters that carry credentials in other APIs: refused, so a
/// key never sits in URLs, logs and browser history.
const CREDENTIAL_PARAMS: [&str; 5] = ["api_key", "apikey", "key", "token", "access_token"];

impl AuthSettings {
    /// The canonical URL of an endpoint (RFC 8707 resource).
    pub fn resource(&self, tenant: &TenantId, server: &str) -> String {
        format!("{}{}", self.public_url.trim_end_matches('/'), crate::names::endpoint(tenant, server))
    }

    fn metadata_url(&self, tenant: &TenantId, server: &str) -> String {
        format!("{}{WELL_KNOWN}{}", self.public_url.trim_end_matches('/'), crate::names::endpoint(tenant, server))
    }
}

/// Stores the token issuers `tenant` trusts.
pub async fn set_issuers(backends: Backends<'_>, tenant: &TenantId, issuers: &[Issuer]) -> Result<(), AuthError> {
    let bytes = serde_json::to_vec(issuers).map_err(|e| AuthError::Storage(e.to_string()))?;
    backends
        .kv
        .set(&crate::auth::issuers_path(tenant), bytes, None)
        .await
        .map_err(|e| AuthError::Storage(e.to_string()))
}

async fn issuers(backends: Backends<'_>, tenant: &TenantId) -> Result<Vec<Issuer>, AuthError> {
    match backends.kv.get(&crate::auth::issuers_path(tenant)).await.map_err(|e| AuthError::Storage(e.to_string()))? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| AuthError::Storage(e.to_string())),
        None => Ok(Vec::new()),
    }
}

/// The credential a request presents, if any.
fn credential(request: &Request) -> Result<Option<&str>, AuthError> {
    let in_query = request
        .query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| CREDENTIAL_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p)));
    if in_query {
        return Err(AuthError::InQuery);
    }
    if request.header("authorization").is_some() && request.header("x-api-key").is_some() {
        return Err(AuthError::Malformed("send credentials in one header, `Authorization` or `X-API-Key`"));
    }
    if let Some(value) = request.header("authorization") {
        let (scheme, token) =
            value.split_once(' ').ok_or(AuthError::Malformed("expected `Authorization: Bearer <credential>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Malformed("expected `Authorization: Bearer <credential>`"));
        }
        return Ok(Some(token.trim()));
    }
    match request.header("x-api-key").filter(|k| !k.is_empty()) {
        // The header is for API keys; tokens go in `Authorization`.
        Some(key) if !key.starts_with("smcp_") => {
            Err(AuthError::Malformed("`X-API-Key` takes an SMCP API key; send tokens as `Authorization: Bearer`"))
        }
        other => Ok(other),
    }
}

/// Why the endpoint refused a request: the response to send.
/// The scopes `tenant`'s issuers map to roles: what a client may ask an
/// authorization server for.
async fn scopes(backends: Backends<'_>, tenant: &TenantId) -> Vec<String> {
    let mut scopes: Vec<String> = issuers(backends, tenant)
        .await
        .unwrap_or_default()
        .into_iter()
        .flat_map(|i| i.scopes.into_iter().map(|(scope, _)| scope))
        .collect();
    scopes.extend(crate::oauth::SCOPES.iter().map(|(scope, _)| scope.to_string()));
    scopes.sort();
    scopes.dedup();
    scopes
}

pub(crate) async fn refusal(
    gate: &Gate,
    backends: Backends<'_>,
    tenant: &TenantId,
    server: &str,
    error: &AuthError,
) -> Response {
    let settings = &gate.settings;
    let mut challenge = format!("Bearer resource_metadata=\"{}\"", settings.metadata_url(tenant, server));
    let scopes = scopes(backends, tenant).await;
    // Scopes are names an admin configured; keep only what a quoted
    // header parameter can carry.
    let scopes: Vec<&String> =
        scopes.iter().filter(|s| s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')).collect();
    if !scopes.is_empty() {
        let joined: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        challenge.push_str(&format!(", scope=\"{}\"", joined.join(" ")));
    }
    let (status, oauth_error) = match error {
        AuthError::Missing => (401, None),
        AuthError::NoRole => (403, Some("insufficient_scope")),
        AuthError::OtherTenant => (403, None),
        AuthError::Storage(_) => (503, None),
        AuthError::Malformed(_) | AuthError::InQuery => (401, Some("invalid_request")),
        _ => (401, Some("invalid_token")),
    };
    if let Some(oauth_error) = oauth_error {
        challenge.push_str(&format!(
            ", error=\"{oauth_error}\", error_description=\"{}\"",
            error.to_string().replace('"', "'")
        ));
    }
    let message = match status {
        401 => format!("Unauthorized: {error}"),
        403 => format!("Forbidden: {error}"),
        _ => "Service Unavailable: cannot check credentials now".to_owned(),
    };
    let mut response = Response::json(status, vec![], &error_response(&Value::Null, BAD_REQUEST, &message, None));
    if status != 503 {
        response.headers.push(("www-authenticate".into(), challenge));
    }
    response
}

/// 429, before any authentication work, when `request`'s address has been
/// refused too often lately.
pub(crate) fn turned_away(gate: &Gate, backends: Backends<'_>, request: &Request) -> Option<Response> {
    let wait = gate.client_refusals.wait(request.client.as_deref(), backends.clock.now_ms())?;
    let message = format!("Too Many Requests: too many refused requests from this address; retry in {wait} s");
    let mut response = Response::json(429, vec![], &error_response(&Value::Null, BAD_REQUEST, &message, None));
    response.headers.push(("retry-after".into(), wait.to_string()));
    Some(response)
}

/// `authenticated` if it is a principal of `tenant`; otherwise the
/// refusal, counted for `tenant`'s audit trail (`server`: the MCP server
/// asked for; none for the admin API): see [`super::refusals`].
pub(crate) fn admit(
    gate: &Gate,
    backends: Backends<'_>,
    request: &Request,
    tenant: &TenantId,
    server: Option<&str>,
    authenticated: Result<Principal, AuthError>,
) -> Result<Principal, AuthError> {
    let (who, error) = match authenticated {
        Ok(principal) if principal.tenant == *tenant => return Ok(principal),
        Ok(other) => (Some(other.id), AuthError::OtherTenant),
        Err(e) => (None, e),
    };
    let api = if server.is_some() { "mcp" } else { "admin" };
    gate.client_refusals.refused(request.client.as_deref(), backends.clock.now_ms());
    let refusal = Refusal {
        tenant,
        api,
        code: error.code(),
        reason: error.to_string(),
        method: &request.method,
        server,
        principal: who,
    };
    if let Some(event) = gate.refusals.note(refusal, backends.clock.now_ms()) {
        gate.audit.record(tenant, event, backends.clock.now_ms());
    }
    Err(error)
}

/// Who sends `request` to `tenant`'s `server`, or the response refusing it.
pub(crate) async fn authenticate(
    gate: &Gate,
    backends: Backends<'_>,
    request: &Request,
    tenant: &TenantId,
    server: &str,
) -> Result<Principal, AuthError> {
    let settings = &gate.settings;
    if credential(request)?.is_none() && settings.anonymous.iter().any(|(t, s)| t == tenant.as_str() && s == server) {
        return Ok(Principal { tenant: tenant.to_owned(), id: "anonymous".into(), role: Role::McpUser });
    }
    authenticate_for(gate, backends, request, tenant, &settings.resource(tenant, server)).await
}

/// Who sends `request` to `tenant`, with JWTs checked for `audience`
/// (the MCP endpoint's URL, or the admin API's). Never anonymous.
pub(crate) async fn authenticate_for(
    gate: &Gate,
    backends: Backends<'_>,
    request: &Request,
    tenant: &TenantId,
    audience: &str,
) -> Result<Principal, AuthError> {
    let Some(credential) = credential(request)? else {
        return Err(AuthError::Missing);
    };
    let now = backends.clock.now_ms();
    let principal = if credential.starts_with("smcp_") {
        let keys = gate.api_keys(backends.kv);
        let principal = keys.authenticate(credential, now).await?;
        if let Ok(mut notes) = gate.key_uses.lock() {
            notes.note(&principal.tenant, principal.id.trim_start_matches("key:"), now);
        }
        principal
    } else if credential.split('.').count() == 3
        && jwt::unverified_issuer(credential).is_ok_and(|iss| iss == own_issuer(gate, tenant))
    {
        own_token(gate, backends, request, credential, tenant, audience, now).await?
    } else if credential.split('.').count() == 3 {
        let trusted = issuers(backends, tenant).await?;
        match gate.verified_tokens.verify(credential, tenant, &trusted, audience, now)? {
            Verdict::Valid(principal) => principal,
            // The issuer may have rotated its keys: fetch them again (at
            // most once a minute per issuer) and retry once.
            Verdict::UnknownKey { jwks_uri } => {
                let unknown = || AuthError::InvalidToken("signed with a key this issuer does not have".into());
                let trusted =
                    refresh_keys(gate, backends, tenant, trusted, &jwks_uri, now).await.ok_or_else(unknown)?;
                match gate.verified_tokens.verify(credential, tenant, &trusted, audience, now)? {
                    Verdict::Valid(principal) => principal,
                    Verdict::UnknownKey { .. } => return Err(unknown()),
                }
            }
        }
    } else {
        return Err(AuthError::Malformed("neither an SMCP API key nor a JWT"));
    };
    Ok(principal)
}

fn own_issuer(gate: &Gate, tenant: &TenantId) -> String {
    crate::oauth::issuer(&gate.settings.public_url, tenant)
}

/// Checks a token of the host's own authorization server: its signature
/// and claims like any issuer's, then that its grant was not revoked
/// since (revocation takes effect at once, not when the token expires).
async fn own_token(
    gate: &Gate,
    backends: Backends<'_>,
    request: &Request,
    token: &str,
    tenant: &TenantId,
    audience: &str,
    now: u64,
) -> Result<Principal, AuthError> {
    let unknown = || AuthError::InvalidToken("signed with a key this issuer does not have".into());
    let issuer = crate::oauth::signing_keys::trusted_issuer(backends, own_issuer(gate, tenant), tenant)
        .await
        .map_err(|e| AuthError::Storage(e.description))?
        .ok_or_else(unknown)?;
    let Verdict::Valid(principal) = gate.verified_tokens.verify(token, tenant, &[issuer], audience, now)? else {
        return Err(unknown());
    };
    match crate::oauth::grant_of_token_is_live(&gate.oauth, backends, request, tenant, token).await {
        Ok(true) => Ok(principal),
        Ok(false) => Err(AuthError::InvalidToken("its grant was revoked".into())),
        Err(e) => Err(AuthError::Storage(e.description)),
    }
}

/// Fetches the key set at `jwks_uri` through the outbound HTTP backend
/// (public addresses only), stores it as the keys of the issuer that
/// names it, and returns the updated issuers; `None` when refreshed less
/// than a minute ago or when the fetch fails.
async fn refresh_keys(
    gate: &Gate,
    backends: Backends<'_>,
    tenant: &TenantId,
    mut trusted: Vec<Issuer>,
    jwks_uri: &str,
    now: u64,
) -> Option<Vec<Issuer>> {
    {
        let mut refreshed = gate.jwks_refreshed.lock().ok()?;
        if refreshed.get(jwks_uri).is_some_and(|at| now.saturating_sub(*at) < JWKS_REFRESH_MS) {
            return None;
        }
        refreshed.insert(jwks_uri.to_owned(), now);
    }
    let request = crate::platform::outbound::HttpRequest {
        method: "GET",
        url: url::Url::parse(jwks_uri).ok().filter(|u| u.scheme() == "https")?,
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
        timeout_ms: 5_000,
        max_response_bytes: 256 << 10,
    };
    let response = backends.http.fetch(request).await.ok().filter(|r| r.status == 200)?;
    let keys: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&response.body).ok()?;
    for issuer in trusted.iter_mut().filter(|i| i.jwks_uri.as_deref() == Some(jwks_uri)) {
        issuer.keys = keys.clone();
    }
    set_issuers(backends, tenant, &trusted).await.ok()?;
    Some(trusted)
}

/// How often an issuer's key set may be fetched again.
const JWKS_REFRESH_MS: u64 = 60_000;

/// The protected-resource metadata (RFC 9728) for `path`, if it asks for
/// it: `/.well-known/oauth-protected-resource/t/{tenant}/s/{server}/mcp`
/// describes that endpoint; the root one describes the host.
pub(crate) async fn metadata(gate: &Gate, backends: Backends<'_>, path: &str) -> Option<Response> {
    let rest = path.strip_prefix(WELL_KNOWN)?;
    let settings = &gate.settings;
    let (resource, servers, scopes_supported) = match crate::names::parse_endpoint(rest) {
        Some((tenant, server)) => {
            let tenant = &tenant;
            let trusted = issuers(backends, tenant).await.unwrap_or_default();
            // The tenant's own identity providers first: clients take the first.
            let mut servers: Vec<String> = trusted.into_iter().map(|i| i.issuer).collect();
            servers.push(own_issuer(gate, tenant));
            (settings.resource(tenant, server), servers, scopes(backends, tenant).await)
        }
        None if rest.is_empty() || rest == "/" => {
            (settings.public_url.trim_end_matches('/').to_owned(), Vec::new(), Vec::new())
        }
        None => return None,
    };
    let body = json!({
        "resource": resource,
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
        "scopes_supported": scopes_supported,
        "resource_name": "SMCP hosted MCP server",
    });
    let mut response = Response::json(200, vec![], &body);
    response.headers.push(("cache-control".into(), "public, max-age=300".into()));
    Some(response)
}
