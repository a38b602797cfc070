//! The token endpoint (authorization code with PKCE; refresh tokens,
//! rotated on every use, a reused one revoking its whole grant) and
//! revocation (RFC 7009).

use super::clients::{self, Client, basic_credentials};
use super::form::Params;
use super::grants::{self, Code, Grant, RefreshRecord};
use super::{Ctx, OAuthError, SCOPES, base64url, json_response, random_token, token_hash};
use crate::http::Response;
use serde_json::json;
use sha2::Digest;
use subtle::ConstantTimeEq;

/// PKCE's S256 transform (RFC 7636 §4.2).
fn s256(verifier: &str) -> String {
    base64url(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// The client a token or revocation request comes from, authenticated.
async fn client(ctx: &Ctx<'_>, params: &Params) -> Result<Client, OAuthError> {
    let basic = basic_credentials(ctx)?;
    let client_id = match (&basic, params.get("client_id")) {
        (Some((id, _)), Some(posted)) if id != posted => {
            return Err(OAuthError::invalid_client("two different client ids"));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => return Err(OAuthError::invalid_client("client_id is required")),
    };
    let client = clients::find(ctx, &client_id).await?;
    client.authenticate(ctx, basic, params.get("client_secret"))?;
    Ok(client)
}

/// `POST /oauth/{tenant}/token`.
pub(crate) async fn exchange(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    let params = Params::body(ctx.request)?;
    let client = client(ctx, &params).await?;
    // Code redemption and refresh rotation are read-modify-write: one at a
    // time in this process.
    let _serial = ctx.servers.lock.lock().await;
    let (grant, id_token) = match params.require("grant_type")? {
        "authorization_code" => redeem_code(ctx, &params, &client).await?,
        "refresh_token" => (refresh(ctx, &params, &client).await?, None),
        other => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            ));
        }
    };
    issue(ctx, grant, &client, id_token).await
}

/// The grant a code makes, and when `openid` was granted, the nonce of
/// the ID token to send with the first tokens.
async fn redeem_code(
    ctx: &Ctx<'_>,
    params: &Params,
    client: &Client,
) -> Result<(Grant, Option<Option<String>>), OAuthError> {
    let code = params.require("code")?;
    let verifier = params.require("code_verifier")?;
    if !super::authorize::is_pkce_value(verifier) {
        return Err(OAuthError::invalid_request("code_verifier must be 43-128 unreserved characters (RFC 7636)"));
    }
    let path = grants::code_path(ctx.tenant, &token_hash(&ctx.hash_key(), code));
    let record: Code = super::records::load_sealed(ctx, &path)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("unknown or expired code"))?;
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the code was issued to another client"));
    }
    // Claimed in one step, so that two redemptions at once (in two
    // isolates of a Worker, say) cannot both win; `redeemed` is how
    // records written before the claim said so.
    let ttl = ctx.settings().code_ttl_seconds.max(60) * 2;
    let first = !record.redeemed
        && ctx
            .backends
            .kv
            .insert_new(&format!("{path}/redeemed"), Vec::new(), Some(ttl))
            .await
            .map_err(OAuthError::storage)?;
    if !first {
        // A second redemption: whoever holds the code, the grant it made
        // is no longer trusted (OAuth 2.1 §4.1.3).
        if let Some(mut grant) = grants::load(ctx, &record.user, &record.grant_id).await? {
            grants::revoke(ctx, &mut grant, "authorization code reused", None).await?;
        }
        ctx.audit(
            "oauth.code_reused",
            Some(format!("user:{}", record.user)),
            json!({ "client_id": client.client_id, "grant": record.grant_id }),
        );
        return Err(OAuthError::invalid_grant("the code was already used; the grant it made is revoked"));
    }
    if record.expires_ms <= ctx.now_ms() {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    let redirect_uri = params.get("redirect_uri");
    if (record.redirect_uri_sent || redirect_uri.is_some()) && redirect_uri != Some(record.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's"));
    }
    if !bool::from(s256(verifier).as_bytes().ct_eq(record.code_challenge.as_bytes())) {
        return Err(OAuthError::invalid_grant("the code verifier does not match the code challenge"));
    }
    if params.get("resource").is_some_and(|r| r != record.resource) {
        return Err(OAuthError::new(400, "invalid_target", "resource differs from the authorization request's"));
    }
    super::clients::adopt(ctx, client).await?;
    let id_token = record.scopes.iter().any(|s| s == "openid").then(|| record.nonce.clone());
    let grant = Grant {
        id: record.grant_id,
        user: record.user,
        client_id: client.client_id.clone(),
        client_name: client.client_name.clone(),
        resource: record.resource,
        scopes: record.scopes,
        created_ms: ctx.now_ms(),
        refreshed_ms: None,
        revoked_ms: None,
        revoked_reason: None,
        refresh: String::new(),
    };
    Ok((grant, id_token))
}

async fn refresh(ctx: &Ctx<'_>, params: &Params, client: &Client) -> Result<Grant, OAuthError> {
    let token = params.require("refresh_token")?;
    let hash = token_hash(&ctx.hash_key(), token);
    let unknown = || OAuthError::invalid_grant("unknown, expired or revoked refresh token");
    let bytes = ctx
        .backends
        .kv
        .get(&grants::refresh_path(ctx.tenant, &hash))
        .await
        .map_err(OAuthError::storage)?
        .ok_or_else(unknown)?;
    let record: RefreshRecord = serde_json::from_slice(&bytes).map_err(|_| unknown())?;
    let mut grant = grants::load(ctx, &record.user, &record.grant).await?.ok_or_else(unknown)?;
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
    }
    if grant.revoked_ms.is_some() {
        return Err(unknown());
    }
    // The current token, claimed in one step: of two refreshes with it at
    // once, the second is a reuse.
    let current = bool::from(grant.refresh.as_bytes().ct_eq(hash.as_bytes()))
        && ctx
            .backends
            .kv
            .insert_new(
                &format!("{}/used", grants::refresh_path(ctx.tenant, &hash)),
                Vec::new(),
                Some(ctx.settings().refresh_ttl_seconds),
            )
            .await
            .map_err(OAuthError::storage)?;
    if !current {
        // An old token: it was stolen, or the client lost the new one.
        // Either way nobody can tell the thief from the client: end it all.
        grants::revoke(ctx, &mut grant, "refresh token reused", None).await?;
        ctx.audit(
            "oauth.refresh_reuse",
            Some(format!("user:{}", grant.user)),
            json!({ "client_id": client.client_id, "grant": grant.id }),
        );
        return Err(OAuthError::invalid_grant("the refresh token was already used; the grant is revoked"));
    }
    if params.get("resource").is_some_and(|r| r != grant.resource) {
        return Err(OAuthError::new(400, "invalid_target", "a grant's tokens are bound to its one resource"));
    }
    // The account may have gone or lost its role since consent.
    let account = super::accounts::get(ctx.backends, ctx.tenant, &grant.user).await?;
    let Some(account) = account else {
        grants::revoke(ctx, &mut grant, "the account was removed", None).await?;
        return Err(unknown());
    };
    grant.scopes.retain(|s| s == "openid" || SCOPES.iter().any(|(k, role)| k == s && *role <= account.role));
    if let Some(asked) = params.get("scope") {
        let asked: Vec<&str> = asked.split(' ').collect();
        if asked.iter().any(|s| !grant.scopes.iter().any(|g| g == s)) {
            return Err(OAuthError::new(400, "invalid_scope", "a refresh may only narrow the granted scopes"));
        }
        grant.scopes.retain(|s| asked.contains(&s.as_str()));
    }
    // A grant for a server needs a role scope; a sign-in grant has none.
    let signs_in_only = grant.resource == ctx.issuer();
    if grant.scopes.iter().all(|s| s == "openid") && !signs_in_only {
        return Err(OAuthError::new(400, "invalid_scope", "the account's role no longer allows any granted scope"));
    }
    grant.refreshed_ms = Some(ctx.now_ms());
    Ok(grant)
}

/// Signs an access token for `grant` (and an ID token with `id_token`'s
/// nonce, if any), rotates its refresh token, and answers the client.
async fn issue(
    ctx: &Ctx<'_>,
    mut grant: Grant,
    client: &Client,
    id_token: Option<Option<String>>,
) -> Result<Response, OAuthError> {
    let now_s = ctx.now_ms() / 1000;
    let ttl = ctx.settings().access_ttl_seconds;
    let scope = grant.scopes.join(" ");
    let claims = json!({
        "iss": ctx.issuer(),
        "sub": grant.user,
        "aud": grant.resource,
        "tenant": ctx.tenant,
        "client_id": client.client_id,
        "scope": scope,
        "sid": grant.id,
        "iat": now_s,
        "exp": now_s + u64::from(ttl),
        "jti": random_token(ctx.backends.random)[..22],
    });
    let access_token = super::signing_keys::sign(ctx.backends, ctx.tenant, "at+jwt", &claims).await?;
    let id_token = match id_token {
        Some(nonce) => {
            let mut claims = json!({
                "iss": ctx.issuer(),
                "sub": grant.user,
                "aud": client.client_id,
                "preferred_username": grant.user,
                "tenant": ctx.tenant,
                "iat": now_s,
                "exp": now_s + u64::from(ttl),
            });
            if let Some(nonce) = nonce {
                claims["nonce"] = nonce.into();
            }
            Some(super::signing_keys::sign(ctx.backends, ctx.tenant, "JWT", &claims).await?)
        }
        None => None,
    };
    let refresh_token = random_token(ctx.backends.random);
    let hash = token_hash(&ctx.hash_key(), &refresh_token);
    let first = grant.refresh.is_empty();
    grant.refresh = hash.clone();
    let record = serde_json::to_vec(&RefreshRecord { user: grant.user.clone(), grant: grant.id.clone() })
        .map_err(OAuthError::storage)?;
    let refresh_ttl = ctx.settings().refresh_ttl_seconds;
    ctx.backends
        .kv
        .set(&grants::refresh_path(ctx.tenant, &hash), record, Some(refresh_ttl))
        .await
        .map_err(OAuthError::storage)?;
    grants::save(ctx, &grant).await?;
    let kind = if first { "oauth.token_issued" } else { "oauth.token_refreshed" };
    let detail =
        json!({ "grant": grant.id, "client_id": client.client_id, "resource": grant.resource, "scopes": grant.scopes });
    ctx.audit(kind, Some(format!("user:{}", grant.user)), detail);
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh_token,
        "scope": scope,
    });
    if let Some(id_token) = id_token {
        body["id_token"] = id_token.into();
    }
    Ok(json_response(200, &body))
}

/// `POST /oauth/{tenant}/revoke` (RFC 7009): ends the grant a refresh
/// token or an access token of this issuer belongs to. Unknown tokens
/// get 200 too.
pub(crate) async fn revoke(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    let params = Params::body(ctx.request)?;
    let client = client(ctx, &params).await?;
    let token = params.require("token")?;
    let _serial = ctx.servers.lock.lock().await;
    let grant = match grant_of_refresh(ctx, token).await? {
        Some(grant) => Some(grant),
        None => grant_of_access_token(ctx, token).await?,
    };
    if let Some(mut grant) = grant.filter(|g| g.client_id == client.client_id) {
        grants::revoke(ctx, &mut grant, "revoked by the client", None).await?;
    }
    Ok(json_response(200, &json!({})))
}

async fn grant_of_refresh(ctx: &Ctx<'_>, token: &str) -> Result<Option<Grant>, OAuthError> {
    let hash = token_hash(&ctx.hash_key(), token);
    let Some(bytes) =
        ctx.backends.kv.get(&grants::refresh_path(ctx.tenant, &hash)).await.map_err(OAuthError::storage)?
    else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_slice::<RefreshRecord>(&bytes) else { return Ok(None) };
    grants::load(ctx, &record.user, &record.grant).await
}

/// The grant of an access token this issuer signed (checked against its
/// keys; expired ones too, as revoking them is harmless).
async fn grant_of_access_token(ctx: &Ctx<'_>, token: &str) -> Result<Option<Grant>, OAuthError> {
    let Some(issuer) = super::signing_keys::trusted_issuer(ctx.backends, ctx.issuer(), ctx.tenant).await? else {
        return Ok(None);
    };
    let Ok(header) = jsonwebtoken::decode_header(token) else { return Ok(None) };
    let Some(jwk) = header.kid.as_deref().and_then(|kid| issuer.keys.find(kid)) else { return Ok(None) };
    let Ok(key) = jsonwebtoken::DecodingKey::from_jwk(jwk) else { return Ok(None) };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[&issuer.issuer]);
    #[derive(serde::Deserialize)]
    struct Claims {
        sub: String,
        sid: String,
    }
    let Ok(data) = jsonwebtoken::decode::<Claims>(token, &key, &validation) else { return Ok(None) };
    grants::load(ctx, &data.claims.sub, &data.claims.sid).await
}
