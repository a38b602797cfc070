//! The people side of a tenant: local accounts, the grants they gave to
//! OAuth clients, and the authorization server's signing keys.

use super::Call;
use super::reply::{ApiError, Reply, body_json, json, no_content, ok};
use crate::auth::Role;
use crate::oauth::grants::Grant;
use crate::oauth::{Ctx, OAuthError, accounts, grants, signing_keys};
use serde_json::{Value, json};

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> ApiError {
        let code = match e.status {
            503 => "storage",
            404 => "not_found",
            409 => "conflict",
            _ => "bad_request",
        };
        ApiError::new(e.status, code, e.description)
    }
}

fn grant_view(grant: &Grant) -> Value {
    json!({
        "id": grant.id,
        "client_id": grant.client_id,
        "client_name": grant.client_name,
        "resource": grant.resource,
        "scopes": grant.scopes,
        "created_ms": grant.created_ms,
        "refreshed_ms": grant.refreshed_ms,
        "revoked_ms": grant.revoked_ms,
        "revoked_reason": grant.revoked_reason,
    })
}

fn text<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("`{field}` must be a string"))),
    }
}

fn role(body: &Value) -> Result<Option<Role>, ApiError> {
    text(body, "role")?
        .map(|r| Role::parse(r).ok_or_else(|| ApiError::bad_request("`role` must be admin, mcp-user or read-only")))
        .transpose()
}

/// `/users…`.
pub(super) async fn users(call: &Call<'_>, path: &[&str]) -> Reply {
    let (backends, tenant) = (call.backends, call.tenant);
    match (call.request.method.as_str(), path) {
        ("GET", []) => ok(&json!({ "users": accounts::list(backends, tenant).await? })),
        ("POST", []) => {
            let body = body_json(&call.request.body)?;
            let username = text(&body, "username")?.ok_or_else(|| ApiError::bad_request("`username` is required"))?;
            let role = role(&body)?.unwrap_or(Role::McpUser);
            // An account for someone the upstream provider signs in has no
            // password; every other account needs one.
            let upstream = match body.get("upstream") {
                None | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(_) => return Err(ApiError::bad_request("`upstream` must be a boolean")),
            };
            let view = match (upstream, text(&body, "password")?) {
                (true, None) => accounts::create_external(backends, tenant, username, role).await?.view(),
                (true, Some(_)) => return Err(ApiError::bad_request("an upstream account has no password")),
                (false, Some(password)) => accounts::create(backends, tenant, username, password, role).await?,
                (false, None) => return Err(ApiError::bad_request("`password` is required (or `upstream: true`)")),
            };
            call.audit(
                "user.create",
                None,
                json!({ "user": view.username, "role": role.name(), "upstream": upstream }),
            );
            Ok(json(201, &view))
        }
        ("PATCH", [name]) => {
            let body = body_json(&call.request.body)?;
            let (password, role) = (text(&body, "password")?, role(&body)?);
            let view = accounts::update(backends, tenant, name, password, role).await?;
            // A new password is usually set because the old one leaked:
            // what was signed in with it ends too.
            let revoked = match password {
                Some(_) => {
                    grants::revoke_live(&oauth_ctx(call), name, None, "the password was changed", &call.principal.id)
                        .await?
                }
                None => 0,
            };
            call.audit("user.update", None, json!({ "user": view.username, "role": view.role.name(), "password_changed": password.is_some(), "grants_revoked": revoked }));
            ok(&view)
        }
        ("DELETE", [name]) => {
            // Their grants end with them.
            grants::revoke_live(&oauth_ctx(call), name, None, "the account was removed", &call.principal.id).await?;
            if !accounts::delete(backends, tenant, name).await? {
                return Err(ApiError::new(404, "not_found", format!("no user `{name}`")));
            }
            call.audit("user.delete", None, json!({ "user": name }));
            no_content()
        }
        ("GET", [name, "grants"]) => {
            let list = grants::list(&oauth_ctx(call), name).await?;
            ok(&json!({ "grants": list.iter().map(grant_view).collect::<Vec<_>>() }))
        }
        ("DELETE", [name, "grants", rest @ ..]) => {
            let only = match rest {
                [] => None,
                [id] => Some(*id),
                _ => return Err(ApiError::not_found()),
            };
            let revoked =
                grants::revoke_live(&oauth_ctx(call), name, only, "revoked by an admin", &call.principal.id).await?;
            if revoked == 0 && only.is_some() {
                return Err(ApiError::new(404, "not_found", "no such live grant"));
            }
            ok(&json!({ "revoked": revoked }))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// `/oauth/keys…`: the signing keys (public halves) and their rotation.
pub(super) async fn signing_keys(call: &Call<'_>, path: &[&str]) -> Reply {
    match (call.request.method.as_str(), path) {
        ("GET", []) => ok(&json!({ "keys": signing_keys::list(call.backends, call.tenant).await? })),
        ("POST", ["rotate"]) => {
            let key = signing_keys::rotate(call.backends, call.tenant).await?;
            call.audit("oauth.key_rotated", None, json!({ "kid": key.kid }));
            Ok(json(201, &key))
        }
        _ => Err(ApiError::not_found()),
    }
}

/// `/oauth/upstream`: the tenant's upstream OpenID Connect provider.
pub(super) async fn upstream(call: &Call<'_>) -> Reply {
    let ctx = oauth_ctx(call);
    match call.request.method.as_str() {
        "GET" => ok(&json!({ "upstream": crate::oauth::upstream::get(&ctx).await? })),
        "PUT" => {
            let body = body_json(&call.request.body)?;
            let upstream = crate::oauth::upstream::configure(&ctx, &body).await?;
            call.audit("oauth.upstream_set", None, json!({ "issuer": upstream.issuer, "client_id": upstream.client_id, "default_role": upstream.default_role }));
            ok(&json!({ "upstream": upstream }))
        }
        "DELETE" => {
            crate::oauth::upstream::remove(&ctx).await?;
            call.audit("oauth.upstream_removed", None, json!({}));
            no_content()
        }
        _ => Err(ApiError::new(405, "method_not_allowed", "GET, PUT or DELETE")),
    }
}

/// `/oauth/logo`: the PNG its sign-in pages show (`PUT` with the image as
/// the body, `DELETE`).
pub(super) async fn logo(call: &Call<'_>) -> Reply {
    match call.request.method.as_str() {
        "PUT" => {
            let (width, height) = crate::oauth::face::put_logo(call.backends, call.tenant, &call.request.body).await?;
            let digest = blake3::hash(&call.request.body).to_hex().to_string();
            let detail =
                json!({ "bytes": call.request.body.len(), "width": width, "height": height, "blake3": digest });
            call.audit("oauth.logo_set", None, detail.clone());
            ok(&detail)
        }
        "DELETE" => {
            crate::oauth::face::delete_logo(call.backends, call.tenant).await?;
            call.audit("oauth.logo_removed", None, json!({}));
            no_content()
        }
        _ => {
            Err(ApiError::new(405, "method_not_allowed", "PUT or DELETE (the logo is served at /oauth/<tenant>/logo)"))
        }
    }
}

fn oauth_ctx<'a>(call: &'a Call<'a>) -> Ctx<'a> {
    Ctx { servers: call.services.oauth, backends: call.backends, request: call.request, tenant: call.tenant }
}
