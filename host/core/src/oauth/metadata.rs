//! What a client discovers: the authorization server metadata (RFC 8414),
//! the same as an OpenID discovery document, and the JWKS.

use super::{Ctx, OAuthError, SCOPES, json_response};
use crate::http::Response;
use serde_json::{Value, json};

fn document(ctx: &Ctx<'_>) -> Value {
    let issuer = ctx.issuer();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "registration_endpoint": format!("{issuer}/register"),
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": SCOPES.iter().map(|(s, _)| *s).chain(["openid"]).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
        "resource_indicators_supported": true,
    })
}

fn cacheable(mut response: Response) -> Response {
    response.headers.retain(|(name, _)| name != "cache-control" && name != "pragma");
    response.headers.push(("cache-control".into(), "public, max-age=300".into()));
    response
}

/// The metadata of `ctx`'s tenant: without a registration endpoint when
/// it registers no clients.
async fn described(ctx: &Ctx<'_>) -> Result<Value, OAuthError> {
    let mut body = document(ctx);
    if !super::clients::policy(ctx).await?.registration
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("registration_endpoint");
    }
    Ok(body)
}

/// `/.well-known/oauth-authorization-server/oauth/{tenant}`.
pub(crate) async fn authorization_server(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    Ok(cacheable(json_response(200, &described(ctx).await?)))
}

/// The OpenID discovery document: the same server, described with the
/// fields OpenID clients require. With scope `openid` it issues ID
/// tokens, so a tenant's accounts can sign in to other applications.
pub(crate) async fn openid(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    let mut body = described(ctx).await?;
    body["subject_types_supported"] = json!(["public"]);
    body["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    Ok(cacheable(json_response(200, &body)))
}

/// `/oauth/{tenant}/jwks`: the public keys that verify its tokens.
pub(crate) async fn jwks(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    let keys = super::signing_keys::jwks(ctx.backends, ctx.tenant).await?;
    let mut response = json_response(200, &keys);
    response.headers.retain(|(name, _)| name != "cache-control" && name != "pragma");
    // Short: a rotation must reach verifiers quickly.
    response.headers.push(("cache-control".into(), "public, max-age=60".into()));
    Ok(response)
}
