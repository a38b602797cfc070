//! The operator's API (`/operator/v1/…`): what only the host's operator
//! may do, on a host that is already running — give a tenant its first
//! admin key and set the token issuers a tenant trusts. Needed where there
//! is no shell next to the data (the Worker); the native server offers the
//! same through `smcp keys --data-dir`.
//!
//! Authenticated by the operator key, whose blake3 hash is the host's
//! configuration ([`AuthSettings::operator_key_hash`](crate::admission::AuthSettings::operator_key_hash)); the key itself is
//! never stored. Without a configured hash every route answers 404.

use super::Services;
use super::reply::{ApiError, Reply, body_json, json, ok};
use crate::auth::Role;
use crate::auth::jwt::Issuer;
use crate::http::{Request, Response};
use crate::names::TenantId;
use crate::platform::Backends;
use serde_json::{Value, json};

pub(crate) const PREFIX: &str = "/operator/v1/";
/// Who operator actions are recorded as in a tenant's trail.
pub const OPERATOR: &str = "operator";

/// Answers `request` when it is for the operator API; `None` otherwise.
pub(crate) async fn handle(services: Services<'_>, request: &Request, backends: Backends<'_>) -> Option<Response> {
    let rest = request.path.strip_prefix(PREFIX)?;
    if services.gate.settings.operator_key_hash.is_none() {
        return Some(ApiError::not_found().response());
    }
    if !authorized(services, request) {
        let mut response =
            ApiError::new(401, "unauthorized", "this needs the operator key as `Authorization: Bearer <key>`")
                .response();
        response.headers.push(("www-authenticate".into(), "Bearer realm=\"smcp-operator\"".into()));
        return Some(response);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let reply = match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["tenants", tenant, "keys"]) => match TenantId::parse(tenant) {
            Ok(tenant) => create_key(services, request, backends, &tenant).await,
            Err(_) => Err(ApiError::not_found()),
        },
        ("PUT", ["tenants", tenant, "issuers"]) => match TenantId::parse(tenant) {
            Ok(tenant) => set_issuers(services, request, backends, &tenant).await,
            Err(_) => Err(ApiError::not_found()),
        },
        _ => Err(ApiError::not_found()),
    };
    Some(reply.unwrap_or_else(|e| e.response()))
}

/// True when `request` carries the operator key. The comparison of the
/// hashes is constant-time (`blake3::Hash`'s equality).
pub fn authorized(services: Services<'_>, request: &Request) -> bool {
    let Some(expected) =
        services.gate.settings.operator_key_hash.as_deref().and_then(|h| blake3::Hash::from_hex(h).ok())
    else {
        return false;
    };
    let presented =
        request.header("authorization").and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    presented.is_some_and(|key| !key.is_empty() && blake3::hash(key.trim().as_bytes()) == expected)
}

/// The hash to configure for operator key `key` (hex).
pub fn operator_key_hash(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

fn audit(services: Services<'_>, backends: Backends<'_>, tenant: &TenantId, kind: &str, detail: Value) {
    let event = crate::audit::Event { kind: kind.into(), principal: Some(OPERATOR.into()), server: None, detail };
    services.audit.record(tenant, event, backends.clock.now_ms());
}

/// `POST tenants/{t}/keys` `{"role", "name"}`: a new API key, shown once.
async fn create_key(services: Services<'_>, request: &Request, backends: Backends<'_>, tenant: &TenantId) -> Reply {
    let body = body_json(&request.body)?;
    let role = body
        .get("role")
        .and_then(Value::as_str)
        .and_then(Role::parse)
        .ok_or_else(|| ApiError::bad_request("`role` must be admin, mcp-user or read-only"))?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("operator bootstrap");
    let keys = services.gate.api_keys(backends.kv);
    let now = backends.clock.now_ms();
    let (key, record) = keys.create(tenant, role, name, None, now, backends.random).await.map_err(ApiError::storage)?;
    services.tenants.created(tenant);
    audit(
        services,
        backends,
        tenant,
        "key.create",
        json!({ "key": record.id, "role": role.name(), "name": record.name }),
    );
    let _ = services.audit.flush(backends.kv).await;
    Ok(json(201, &json!({ "id": record.id, "role": record.role, "name": record.name, "key": key })))
}

/// `PUT tenants/{t}/issuers` `{"issuers": [...]}`: replaces the token
/// issuers `tenant` trusts.
async fn set_issuers(services: Services<'_>, request: &Request, backends: Backends<'_>, tenant: &TenantId) -> Reply {
    let body = body_json(&request.body)?;
    let issuers: Vec<Issuer> = serde_json::from_value(body.get("issuers").cloned().unwrap_or(Value::Null))
        .map_err(|e| ApiError::bad_request(format!("`issuers` must be a list of issuers: {e}")))?;
    for key in issuers.iter().flat_map(|i| &i.keys.keys) {
        crate::auth::jwt::check_issuer_key(key).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    crate::admission::set_issuers(backends, tenant, &issuers).await.map_err(ApiError::storage)?;
    services.tenants.created(tenant);
    let names: Vec<&str> = issuers.iter().map(|i| i.issuer.as_str()).collect();
    audit(services, backends, tenant, "issuers.set", json!({ "issuers": names }));
    let _ = services.audit.flush(backends.kv).await;
    ok(&json!({ "issuers": names }))
}
