//! OAuth clients: those registered dynamically (RFC 7591), kept under
//! `oauth/{tenant}/clients/{id}`, and those whose `client_id` is the URL
//! of their Client ID Metadata Document, fetched through the platform's
//! outbound HTTP backend, which refuses non-public addresses, and cached
//! for a few minutes.

use super::{Ctx, OAuthError, json_response, token_hash};
use crate::http::Response;
use crate::names::TenantId;
use crate::platform::outbound::HttpRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// How long a fetched metadata document is trusted.
const METADATA_CACHE_SECONDS: u32 = 300;
const METADATA_MAX_BYTES: usize = 16 << 10;
const MAX_REDIRECT_URIS: usize = 16;
/// Registrations a tenant takes: 20 at once, then one every 5 s.
const REGISTRATIONS: crate::auth::rate::Limit = crate::auth::rate::Limit { burst: 20.0, per_second: 0.2 };
/// Fetches of client metadata documents not in the cache, per tenant.
const METADATA_FETCHES: crate::auth::rate::Limit = crate::auth::rate::Limit { burst: 30.0, per_second: 0.5 };
const MAX_URI_CHARS: usize = 2000;
/// Schemes a redirect URI may never use.
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "file", "vbscript", "about", "blob"];

/// A client as the authorization server knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    /// `none` (public, PKCE only), `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// Keyed hash of the client secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_hash: Option<String>,
    pub created_ms: u64,
}

/// What a registration or metadata document may say (RFC 7591 §2).
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
}

fn invalid_metadata(why: impl Into<String>) -> OAuthError {
    OAuthError::new(400, "invalid_client_metadata", why)
}

/// A redirect URI is acceptable: absolute, no fragment, and either https,
/// http to a loopback host (RFC 8252 §7.3), or an app's private scheme.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|_| format!("redirect URI `{uri}` is not an absolute URL"))?;
    if uri.len() > MAX_URI_CHARS || url.fragment().is_some() {
        return Err(format!("redirect URI `{uri}` is too long or has a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => Ok(()),
        "http" => Err(format!("redirect URI `{uri}`: plain http only to a loopback address")),
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => Err(format!("redirect URI scheme `{scheme}` is not allowed")),
        _ => Ok(()),
    }
}

fn client_path(tenant: &TenantId, id: &str) -> String {
    format!("oauth/{tenant}/clients/{id}")
}

/// Marks a registration no one has consented to yet. Anyone may register,
/// so these are counted, capped per tenant and expire with the record;
/// the first grant to the client keeps it for good ([`adopt`]).
fn unused_path(tenant: &TenantId, id: &str) -> String {
    format!("oauth/{tenant}/unused-clients/{id}")
}

fn metadata_cache_path(ctx: &Ctx<'_>, url: &str) -> String {
    format!("oauth/{}/client-documents/{}", ctx.tenant, token_hash(&ctx.hash_key(), url))
}

/// Validates what a client says of itself into a [`Client`].
fn client_from(
    metadata: Metadata,
    client_id: String,
    created_ms: u64,
    allow_secret: bool,
) -> Result<Client, OAuthError> {
    if metadata.redirect_uris.is_empty() || metadata.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::new(
            400,
            "invalid_redirect_uri",
            format!("1 to {MAX_REDIRECT_URIS} redirect_uris are required"),
        ));
    }
    for uri in &metadata.redirect_uris {
        check_redirect_uri(uri).map_err(|why| OAuthError::new(400, "invalid_redirect_uri", why))?;
    }
    if metadata
        .grant_types
        .as_ref()
        .is_some_and(|g| g.iter().any(|t| t != "authorization_code" && t != "refresh_token"))
    {
        return Err(invalid_metadata("only the authorization_code and refresh_token grant types are supported"));
    }
    if metadata.response_types.as_ref().is_some_and(|r| r.iter().any(|t| t != "code")) {
        return Err(invalid_metadata("only the `code` response type is supported"));
    }
    let method = metadata.token_endpoint_auth_method.unwrap_or_else(|| "client_secret_basic".into());
    let allowed: &[&str] =
        if allow_secret { &["none", "client_secret_basic", "client_secret_post"] } else { &["none"] };
    if !allowed.contains(&method.as_str()) {
        return Err(invalid_metadata(format!("token_endpoint_auth_method must be one of {}", allowed.join(", "))));
    }
    let name = metadata.client_name.map(|n| n.chars().filter(|c| !c.is_control()).take(100).collect());
    Ok(Client {
        client_id,
        client_name: name,
        redirect_uris: metadata.redirect_uris,
        token_endpoint_auth_method: method,
        secret_hash: None,
        created_ms,
    })
}

/// `POST /oauth/{tenant}/register`: registers a client (RFC 7591).
pub(crate) async fn register(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    if !policy(ctx).await?.registration {
        return Err(OAuthError::new(
            403,
            "registration_closed",
            "this tenant does not register clients: use a client ID metadata document, or ask its administrator",
        ));
    }
    ctx.throttle("register", REGISTRATIONS).await?;
    let settings = ctx.settings();
    let unused = ctx
        .backends
        .kv
        .list(&unused_path(ctx.tenant, ""), None, settings.max_unused_clients.saturating_add(1))
        .await
        .map_err(OAuthError::storage)?;
    if unused.keys.len() >= settings.max_unused_clients as usize {
        let why = format!(
            "{} registered clients have not been consented to yet; try again once some expire",
            unused.keys.len()
        );
        return Err(OAuthError::new(429, "slow_down", why));
    }
    let metadata: Metadata = serde_json::from_slice(&ctx.request.body)
        .map_err(|e| invalid_metadata(format!("the body is not client metadata JSON: {e}")))?;
    // Public clients by default: MCP clients are apps without secrets.
    let metadata = Metadata {
        token_endpoint_auth_method: metadata.token_endpoint_auth_method.clone().or(Some("none".into())),
        ..metadata
    };
    let id = format!("c_{}", &super::random_token(ctx.backends.random)[..22]);
    let mut client = client_from(metadata, id, ctx.now_ms(), true)?;
    let secret = (client.token_endpoint_auth_method != "none").then(|| super::random_token(ctx.backends.random));
    client.secret_hash = secret.as_ref().map(|s| token_hash(&ctx.hash_key(), s));
    let bytes = serde_json::to_vec(&client).map_err(OAuthError::storage)?;
    let ttl = Some(settings.unused_client_ttl_seconds);
    ctx.backends
        .kv
        .set(&unused_path(ctx.tenant, &client.client_id), Vec::new(), ttl)
        .await
        .map_err(OAuthError::storage)?;
    ctx.backends.kv.set(&client_path(ctx.tenant, &client.client_id), bytes, ttl).await.map_err(OAuthError::storage)?;
    let detail = serde_json::json!({ "client_id": client.client_id, "client_name": client.client_name, "redirect_uris": client.redirect_uris });
    ctx.audit("oauth.client_registered", None, detail);
    let mut body = serde_json::json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.created_ms / 1000,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    if let Some(name) = &client.client_name {
        body["client_name"] = Value::from(name.clone());
    }
    if let Some(secret) = secret {
        body["client_secret"] = Value::from(secret);
        body["client_secret_expires_at"] = Value::from(0);
    }
    Ok(json_response(201, &body))
}

/// The client `client_id` names: registered, or described by the
/// metadata document at that URL.
pub(crate) async fn find(ctx: &Ctx<'_>, client_id: &str) -> Result<Client, OAuthError> {
    let policy = policy(ctx).await?;
    // Refused by the tenant's policy before anything is fetched.
    let refused = |why: &str| OAuthError::new(400, "unauthorized_client", format!("this tenant's policy: {why}"));
    if client_id.starts_with("https://") || client_id.starts_with("http://") {
        let host = url::Url::parse(client_id).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        if !policy.accepts_document_host(&host) {
            return Err(refused("metadata documents from this host are not accepted"));
        }
        return from_document(ctx, client_id).await;
    }
    if !policy.registered {
        return Err(refused("only clients known by a metadata document may sign people in"));
    }
    let unknown = || OAuthError::invalid_client("unknown client_id");
    if client_id.len() > 64 || client_id.contains('/') {
        return Err(unknown());
    }
    let bytes = ctx
        .backends
        .kv
        .get(&client_path(ctx.tenant, client_id))
        .await
        .map_err(OAuthError::storage)?
        .ok_or_else(unknown)?;
    serde_json::from_slice(&bytes).map_err(|_| OAuthError::unavailable("a client record is corrupt"))
}

/// Keeps a registered client for good once a person has granted it
/// something; it no longer counts against the cap on unused ones.
pub(crate) async fn adopt(ctx: &Ctx<'_>, client: &Client) -> Result<(), OAuthError> {
    let marker = unused_path(ctx.tenant, &client.client_id);
    if client.client_id.starts_with("http")
        || ctx.backends.kv.get(&marker).await.map_err(OAuthError::storage)?.is_none()
    {
        return Ok(());
    }
    let bytes = serde_json::to_vec(client).map_err(OAuthError::storage)?;
    ctx.backends.kv.set(&client_path(ctx.tenant, &client.client_id), bytes, None).await.map_err(OAuthError::storage)?;
    ctx.backends.kv.delete(&marker).await.map_err(OAuthError::storage)
}

/// Fetches (or takes from the cache) the Client ID Metadata Document at
/// `url`, which must name itself as `client_id`.
async fn from_document(ctx: &Ctx<'_>, url: &str) -> Result<Client, OAuthError> {
    let refuse = |why: String| OAuthError::invalid_client(format!("client metadata document: {why}"));
    let parsed = url::Url::parse(url).map_err(|_| refuse("client_id is not a URL".into()))?;
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && ctx.settings().allow_http_metadata);
    if !scheme_ok
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.path() == "/"
        || url.len() > MAX_URI_CHARS
    {
        return Err(refuse("client_id must be an https URL with a path, no fragment and no credentials".into()));
    }
    let cache = metadata_cache_path(ctx, url);
    if let Some(bytes) = ctx.backends.kv.get(&cache).await.map_err(OAuthError::storage)?
        && let Ok(client) = serde_json::from_slice::<Client>(&bytes)
    {
        return Ok(client);
    }
    // Any stranger can name a URL here: bounded per tenant, so the host
    // cannot be made to fetch for them without end.
    ctx.throttle("metadata-fetch", METADATA_FETCHES).await?;
    let request = HttpRequest {
        method: "GET",
        url: parsed,
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
        timeout_ms: 5_000,
        max_response_bytes: METADATA_MAX_BYTES,
    };
    let response = ctx.backends.http.fetch(request).await.map_err(|e| refuse(format!("cannot be fetched: {e}")))?;
    if response.status != 200 {
        return Err(refuse(format!("fetching it answered status {}", response.status)));
    }
    let metadata: Metadata =
        serde_json::from_slice(&response.body).map_err(|_| refuse("it is not JSON client metadata".into()))?;
    if metadata.client_id.as_deref() != Some(url) {
        return Err(refuse("its client_id is not the URL it was fetched from".into()));
    }
    let client = client_from(metadata, url.to_owned(), ctx.now_ms(), false).map_err(|e| refuse(e.description))?;
    if let Ok(bytes) = serde_json::to_vec(&client) {
        let _ = ctx.backends.kv.set(&cache, bytes, Some(METADATA_CACHE_SECONDS)).await;
    }
    Ok(client)
}

impl Client {
    /// Checks the client's credentials on a token or revocation request:
    /// `basic` is the `Authorization: Basic` pair, `posted` the body's.
    pub(crate) fn authenticate(
        &self,
        ctx: &Ctx<'_>,
        basic: Option<(String, String)>,
        posted: Option<&str>,
    ) -> Result<(), OAuthError> {
        let Some(expected) = &self.secret_hash else {
            return Ok(());
        };
        let presented = match (self.token_endpoint_auth_method.as_str(), basic, posted) {
            ("client_secret_basic", Some((_, secret)), _) => secret,
            ("client_secret_post", None, Some(secret)) => secret.to_owned(),
            _ => {
                return Err(OAuthError::invalid_client(format!(
                    "authenticate with {}",
                    self.token_endpoint_auth_method
                )));
            }
        };
        let hash = token_hash(&ctx.hash_key(), &presented);
        if bool::from(hash.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(OAuthError::invalid_client("wrong client secret"))
        }
    }
}

/// The `Authorization: Basic` client id and secret (RFC 6749 §2.3.1:
/// each form-encoded), if sent.
pub(crate) fn basic_credentials(ctx: &Ctx<'_>) -> Result<Option<(String, String)>, OAuthError> {
    use base64::Engine as _;
    let Some(value) = ctx.request.header("authorization") else { return Ok(None) };
    let malformed = || OAuthError::invalid_client("malformed Basic credentials");
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    Ok(Some((decode(id), decode(secret))))
}

/// The tenant's client policy.
pub(crate) async fn policy(ctx: &Ctx<'_>) -> Result<crate::deploy::records::ClientPolicy, OAuthError> {
    crate::deploy::records::settings(ctx.backends, ctx.tenant)
        .await
        .map(|settings| settings.oauth_clients)
        .map_err(|e| OAuthError::unavailable(format!("reading the tenant's settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::check_redirect_uri;

    #[test]
    fn redirect_uris() {
        assert!(check_redirect_uri("https://app.example.com/callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:3000/callback").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth").is_ok());
        assert!(check_redirect_uri("http://app.example.com/callback").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#frag").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }
}
