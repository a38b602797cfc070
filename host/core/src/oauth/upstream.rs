//! Signing in through a tenant's upstream OpenID Connect provider: the
//! host is then that provider's client. The login page offers it next to
//! the password form; the provider sends the person back to
//! `/oauth/{tenant}/callback`, where the host redeems the code (PKCE, and
//! the client secret kept in the secrets store), verifies the ID token
//! (signature with the provider's JWKS, `iss`, `aud`, `exp`, `nonce`), and
//! asks for consent as for a local account.
//!
//! Who may come in: an account of the tenant with the username the token
//! names (claim `username_claim`), or, when the tenant set a
//! `default_role`, anyone the provider vouches for, who then gets an
//! account that has no password. Every fetch (discovery, JWKS, token)
//! goes through the platform's outbound path and its address policy.

use super::form::Params;
use super::{Ctx, OAuthError, base64url, random_token, token_hash};
use crate::auth::Role;
use crate::names::TenantId;
use crate::platform::outbound::HttpRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const SECRETS_SCOPE: &str = "_oauth";
const SECRET_NAME: &str = "upstream-client-secret";
/// How long a person may take at the provider.
const PENDING_SECONDS: u32 = 600;

/// A tenant's upstream provider, as configured and discovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upstream {
    pub issuer: String,
    /// Shown on the button: "Sign in with …".
    pub name: String,
    pub client_id: String,
    /// `client_secret_basic`, `client_secret_post`, or `none`.
    pub token_auth: String,
    pub scopes: String,
    pub username_claim: String,
    pub default_role: Option<Role>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// What the host remembers while the person is at the provider.
#[derive(Serialize, Deserialize)]
struct Pending {
    /// The client's authorization request, to resume (or, for the account
    /// page, `smcp_page=account`).
    request: Vec<(String, String)>,
    nonce: String,
    verifier: String,
    /// The hash of the browser cookie set when it left for the provider:
    /// only that browser may finish the sign-in, so nobody can sign
    /// another person's browser in as themselves with a callback URL.
    #[serde(default)]
    browser: String,
}

/// The cookie that binds a sign-in at the provider to the browser that
/// started it; `SameSite=Lax`, since the provider's redirect back is a
/// navigation from its site.
const BROWSER_COOKIE: &str = "smcp_oauth_upstream";

/// Proof that the provider vouched for `username`, good for one consent.
#[derive(Serialize, Deserialize)]
pub(crate) struct Ticket {
    pub username: String,
    pub client_id: String,
    pub code_challenge: String,
    pub expires_ms: u64,
}

fn path(tenant: &TenantId) -> String {
    format!("oauth/{tenant}/upstream")
}

fn pending_path(tenant: &TenantId, hash: &str) -> String {
    format!("oauth/{tenant}/upstream-pending/{hash}")
}

pub(crate) fn ticket_path(tenant: &TenantId, hash: &str) -> String {
    format!("oauth/{tenant}/upstream-tickets/{hash}")
}

fn refuse(why: impl Into<String>) -> OAuthError {
    OAuthError::new(400, "invalid_upstream", why)
}

/// A URL the provider gave, acceptable to fetch or send people to.
fn checked_url(ctx: &Ctx<'_>, value: Option<&Value>, what: &str) -> Result<String, OAuthError> {
    let text = value.and_then(Value::as_str).ok_or_else(|| refuse(format!("the provider's metadata has no {what}")))?;
    let url = url::Url::parse(text).map_err(|_| refuse(format!("{what} is not a URL")))?;
    if url.scheme() == "https" || (url.scheme() == "http" && ctx.settings().allow_http_metadata) {
        Ok(text.to_owned())
    } else {
        Err(refuse(format!("{what} must be https")))
    }
}

/// What a POST sends: its headers and body.
type Posted = (Vec<(String, String)>, Vec<u8>);

async fn fetch_json(ctx: &Ctx<'_>, method: &'static str, url: &str, body: Option<Posted>) -> Result<Value, OAuthError> {
    let url = url::Url::parse(url).map_err(|_| refuse("not a URL"))?;
    let (mut headers, body) = match body {
        Some((headers, body)) => (headers, Some(body)),
        None => (Vec::new(), None),
    };
    headers.push(("accept".into(), "application/json".into()));
    let request = HttpRequest { method, url, headers, body, timeout_ms: 10_000, max_response_bytes: 256 << 10 };
    let response =
        ctx.backends.http.fetch(request).await.map_err(|e| refuse(format!("the provider cannot be reached: {e}")))?;
    if response.status != 200 {
        return Err(refuse(format!("the provider answered status {}", response.status)));
    }
    serde_json::from_slice(&response.body).map_err(|_| refuse("the provider's answer is not JSON"))
}

/// Sets `tenant`'s upstream provider from the admin's settings, after
/// reading its discovery document.
pub async fn configure(ctx: &Ctx<'_>, settings: &Value) -> Result<Upstream, OAuthError> {
    let field = |name: &str| settings.get(name).and_then(Value::as_str).map(str::to_owned);
    let issuer = field("issuer").ok_or_else(|| OAuthError::invalid_request("`issuer` is required"))?;
    let client_id = field("client_id").ok_or_else(|| OAuthError::invalid_request("`client_id` is required"))?;
    let issuer_url = checked_url(ctx, settings.get("issuer"), "issuer")?;
    let discovery =
        fetch_json(ctx, "GET", &format!("{}/.well-known/openid-configuration", issuer_url.trim_end_matches('/')), None)
            .await?;
    if discovery.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(refuse("the discovery document names another issuer"));
    }
    let default_role = match field("default_role") {
        Some(name) => Some(
            Role::parse(&name)
                .ok_or_else(|| OAuthError::invalid_request("`default_role` must be admin, mcp-user or read-only"))?,
        ),
        None => None,
    };
    let secret = field("client_secret");
    let token_auth = match (&secret, field("token_auth").as_deref()) {
        (None, _) => "none".to_owned(),
        (Some(_), Some("client_secret_post")) => "client_secret_post".to_owned(),
        (Some(_), _) => "client_secret_basic".to_owned(),
    };
    if let Some(secret) = &secret {
        ctx.backends
            .secrets
            .put(ctx.tenant, SECRETS_SCOPE, SECRET_NAME, secret)
            .await
            .map_err(|e| OAuthError::unavailable(format!("the secrets store: {e}")))?;
    }
    let upstream = Upstream {
        name: field("name").unwrap_or_else(|| {
            url::Url::parse(&issuer).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
        }),
        issuer,
        client_id,
        token_auth,
        scopes: field("scopes").unwrap_or_else(|| "openid".into()),
        username_claim: field("username_claim").unwrap_or_else(|| "preferred_username".into()),
        default_role,
        authorization_endpoint: checked_url(ctx, discovery.get("authorization_endpoint"), "authorization_endpoint")?,
        token_endpoint: checked_url(ctx, discovery.get("token_endpoint"), "token_endpoint")?,
        jwks_uri: checked_url(ctx, discovery.get("jwks_uri"), "jwks_uri")?,
    };
    let bytes = serde_json::to_vec(&upstream).map_err(OAuthError::storage)?;
    ctx.backends.kv.set(&path(ctx.tenant), bytes, None).await.map_err(OAuthError::storage)?;
    Ok(upstream)
}

pub async fn get(ctx: &Ctx<'_>) -> Result<Option<Upstream>, OAuthError> {
    match ctx.backends.kv.get(&path(ctx.tenant)).await.map_err(OAuthError::storage)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| OAuthError::unavailable("the upstream record is corrupt")),
        None => Ok(None),
    }
}

pub async fn remove(ctx: &Ctx<'_>) -> Result<(), OAuthError> {
    ctx.backends.kv.delete(&path(ctx.tenant)).await.map_err(OAuthError::storage)?;
    let _ = ctx.backends.secrets.delete(ctx.tenant, SECRETS_SCOPE, SECRET_NAME).await;
    Ok(())
}

fn callback_url(ctx: &Ctx<'_>) -> String {
    format!("{}/callback", ctx.issuer())
}

/// Sends the person to the provider, remembering the client's request:
/// where to, and the cookie that binds the sign-in to this browser.
pub(crate) async fn start(
    ctx: &Ctx<'_>,
    upstream: &Upstream,
    request: Vec<(String, String)>,
) -> Result<(String, (String, String)), OAuthError> {
    let (state, nonce, verifier) =
        (random_token(ctx.backends.random), random_token(ctx.backends.random), random_token(ctx.backends.random));
    let challenge = {
        use sha2::Digest;
        base64url(&sha2::Sha256::digest(verifier.as_bytes()))
    };
    let browser = random_token(ctx.backends.random);
    let secure = if ctx.servers.public_url.starts_with("https:") { "; Secure" } else { "" };
    let cookie = format!(
        "{BROWSER_COOKIE}={browser}; Path=/oauth/{}/; HttpOnly; SameSite=Lax; Max-Age={PENDING_SECONDS}{secure}",
        ctx.tenant
    );
    let browser = token_hash(&ctx.hash_key(), &browser);
    let pending = Pending { request, nonce: nonce.clone(), verifier, browser };
    let key = pending_path(ctx.tenant, &token_hash(&ctx.hash_key(), &state));
    super::records::store_sealed(ctx, &key, &pending, Some(PENDING_SECONDS)).await?;
    let mut url = url::Url::parse(&upstream.authorization_endpoint).map_err(|_| refuse("authorization_endpoint"))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &upstream.client_id)
        .append_pair("redirect_uri", &callback_url(ctx))
        .append_pair("scope", &upstream.scopes)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok((url.to_string(), ("set-cookie".into(), cookie)))
}

/// The provider sent the person back: the client's original request and
/// the username the provider vouched for.
pub(crate) async fn finish(ctx: &Ctx<'_>, params: &Params) -> Result<(Params, String), OAuthError> {
    let state = params.require("state")?;
    let key = pending_path(ctx.tenant, &token_hash(&ctx.hash_key(), state));
    let pending: Pending = super::records::load_sealed(ctx, &key)
        .await?
        .ok_or_else(|| refuse("this sign-in expired or was already used"))?;
    ctx.backends.kv.delete(&key).await.map_err(OAuthError::storage)?;
    let browser = super::form::cookie(ctx.request, BROWSER_COOKIE).map(|c| token_hash(&ctx.hash_key(), c));
    if pending.browser.is_empty() || browser.as_deref() != Some(pending.browser.as_str()) {
        return Err(refuse("this sign-in was started in another browser"));
    }
    if let Some(error) = params.get("error") {
        return Err(refuse(format!("the provider refused: {error}")));
    }
    let upstream = get(ctx).await?.ok_or_else(|| refuse("the tenant has no upstream provider any more"))?;
    if params.get("iss").is_some_and(|iss| iss != upstream.issuer) {
        return Err(refuse("the response comes from another issuer (RFC 9207)"));
    }
    let code = params.require("code")?;
    let mut form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", callback_url(ctx)),
        ("code_verifier", pending.verifier.clone()),
        ("client_id", upstream.client_id.clone()),
    ];
    let mut headers = vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    if upstream.token_auth != "none" {
        let secret = ctx
            .backends
            .secrets
            .get(ctx.tenant, SECRETS_SCOPE, SECRET_NAME)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| OAuthError::unavailable("the upstream client secret cannot be read"))?;
        if upstream.token_auth == "client_secret_post" {
            form.push(("client_secret", secret));
        } else {
            use base64::Engine as _;
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(&upstream.client_id), enc(&secret));
            headers.push((
                "authorization".into(),
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)),
            ));
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish().into_bytes();
    let tokens = fetch_json(ctx, "POST", &upstream.token_endpoint, Some((headers, body))).await?;
    let id_token =
        tokens.get("id_token").and_then(Value::as_str).ok_or_else(|| refuse("the provider sent no ID token"))?;
    let claims = verify_id_token(ctx, &upstream, id_token, &pending.nonce).await?;
    let username = username_from(&claims, &upstream.username_claim)?;
    let request = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pending.request).finish();
    Ok((Params::parse(request.as_bytes())?, username))
}

/// The username an ID token's `claim` gives, when it can name an account.
fn username_from(claims: &serde_json::Map<String, Value>, claim: &str) -> Result<String, OAuthError> {
    let username = claims.get(claim).and_then(Value::as_str).unwrap_or_default().trim().to_ascii_lowercase();
    if !super::accounts::valid_username(&username) {
        return Err(refuse(format!("the provider's `{claim}` is not a usable username")));
    }
    // An address the provider has not checked is anybody's to claim.
    if claim == "email" && claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
        return Err(refuse("the provider has not verified this email address (`email_verified`)"));
    }
    Ok(username)
}

/// The ID token's claims, once its signature, issuer, audience, expiry
/// and nonce check out.
async fn verify_id_token(
    ctx: &Ctx<'_>,
    upstream: &Upstream,
    token: &str,
    nonce: &str,
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let bad = |why: &str| refuse(format!("the ID token is not valid: {why}"));
    let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed"))?;
    let keys: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(fetch_json(ctx, "GET", &upstream.jwks_uri, None).await?)
            .map_err(|_| bad("the provider's JWKS is malformed"))?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or_else(|| bad("signed with an unknown key"))?;
    let key = crate::auth::jwt::decoding_key(jwk, header.alg).map_err(|e| bad(&e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[&upstream.issuer]);
    validation.set_audience(&[&upstream.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Time on the platform's clock (jsonwebtoken's would read the system's).
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key, &validation)
        .map_err(|e| bad(&e.to_string()))?;
    let exp = data.claims.get("exp").and_then(Value::as_u64).unwrap_or_default();
    if exp.saturating_add(crate::auth::jwt::LEEWAY_SECONDS) <= ctx.now_ms() / 1000 {
        return Err(bad("expired"));
    }
    if data.claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(bad("wrong nonce"));
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn only_a_verified_email_names_an_account() {
        let unverified = claims(serde_json::json!({ "sub": "1", "email": "Eve@Example.com" }));
        assert!(username_from(&unverified, "email").unwrap_err().description.contains("email_verified"));
        let denied = claims(serde_json::json!({ "sub": "1", "email": "eve@example.com", "email_verified": false }));
        assert!(username_from(&denied, "email").is_err());
        let verified = claims(serde_json::json!({ "sub": "1", "email": "Eve@Example.com", "email_verified": true }));
        assert_eq!(username_from(&verified, "email").unwrap(), "eve@example.com");
        assert_eq!(username_from(&unverified, "preferred_username").unwrap_err().status, 400);
        let named = claims(serde_json::json!({ "preferred_username": "eve" }));
        assert_eq!(username_from(&named, "preferred_username").unwrap(), "eve");
    }
}
