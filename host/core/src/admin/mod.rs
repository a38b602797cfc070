//! The admin HTTP API (`/admin/v1/…`, JSON; docs/admin-api.md and
//! docs/openapi.yaml): a tenant's admins manage servers, deployments, API
//! keys, settings, people's accounts and grants, and the authorization
//! server's signing keys, and read the audit trail and metrics; `read-only`
//! principals may read. Also the operator's `/healthz` and `/readyz`, and
//! the operator API ([`operator`]).
//! Served by both front ends through [`Engine::handle`](crate::engine::Engine::handle).

mod multipart;
pub mod operator;
mod people;
mod reply;
mod servers;
mod tenant;

pub use reply::ApiError;

use crate::admission::Gate;
use crate::audit::Recorder;
use crate::auth::tenants::Directory;
use crate::auth::{AuthError, Principal, Role};
use crate::deploy::Deployments;
use crate::http::{Request, Response};
use crate::mcp::Protocol;
use crate::metrics::Metrics;
use crate::names::TenantId;
use crate::oauth::AuthorizationServers;
use crate::platform::Backends;
use crate::runtime::Runtime;
use reply::ok;
use serde_json::json;

pub(crate) const PREFIX: &str = "/admin/v1/tenants/";

/// The URL JWTs for `tenant`'s admin API must name as their audience.
pub fn audience(public_url: &str, tenant: &TenantId) -> String {
    format!("{}{PREFIX}{tenant}", public_url.trim_end_matches('/'))
}

/// What the admin API works with, lent by the engine for one request.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub gate: &'a Gate,
    pub mcp: &'a Protocol,
    pub deployments: &'a Deployments,
    pub oauth: &'a AuthorizationServers,
    pub audit: &'a Recorder,
    pub metrics: &'a Metrics,
    pub tenants: &'a Directory,
    pub runtime: &'a Runtime,
    /// Largest component upload accepted (the whole request body).
    pub max_upload_bytes: usize,
}

/// Answers `request` when it is for the admin API or a health endpoint;
/// `None` otherwise.
pub(crate) async fn handle(services: Services<'_>, request: &Request, backends: Backends<'_>) -> Option<Response> {
    let rest = request.path.strip_prefix(PREFIX)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let Ok(tenant) = TenantId::parse(segments[0]) else {
        return Some(ApiError::not_found().response());
    };
    match services.tenants.exists(backends.kv, &tenant, backends.clock.now_ms()).await {
        Ok(true) => {}
        Ok(false) => return Some(ApiError::not_found().response()),
        Err(e) => return Some(ApiError::storage(e).response()),
    }
    Some(match route(services, request, backends, &tenant, &segments[1..]).await {
        Ok(response) | Err(Refused(response)) => response,
    })
}

/// An answer given before the route ran (authentication, role, rate).
struct Refused(Response);

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Refused {
        Refused(e.response())
    }
}

async fn route(
    services: Services<'_>,
    request: &Request,
    backends: Backends<'_>,
    tenant: &TenantId,
    path: &[&str],
) -> Result<Response, Refused> {
    let principal = authenticate(services, request, backends, tenant).await?;
    let writes = request.method != "GET";
    // Switching versions (activate, roll back): what an approver is for.
    let switches = request.method == "POST"
        && matches!(path, ["servers", _, "deployments", _, "activate"] | ["servers", _, "rollback"]);
    let allowed = match principal.role {
        Role::Admin => true,
        Role::Approver => !writes || switches,
        Role::ReadOnly => !writes,
        Role::McpUser => false,
    };
    if !allowed {
        let needed = match (writes, switches) {
            (false, _) => "admin, approver or read-only",
            (true, true) => "admin or approver",
            (true, false) => "admin",
        };
        return Err(ApiError::new(
            403,
            "forbidden",
            format!("this needs role {needed}; these credentials have {}", principal.role),
        )
        .into());
    }
    let call = Call { services, request, backends, tenant, principal: &principal };
    let reply = match (request.method.as_str(), path) {
        (_, ["servers", ..]) => servers::route(&call, &path[1..]).await,
        ("GET", ["metrics"]) => ok(&json!({
            "latency_buckets_ms": crate::metrics::LATENCY_BUCKETS_MS,
            "servers": services.metrics.tenant(tenant),
        })),
        (_, ["keys", ..]) => tenant::keys(&call, &path[1..]).await,
        (_, ["audit", ..]) => tenant::audit(&call, &path[1..]).await,
        (_, ["settings"]) => tenant::settings(&call).await,
        (_, ["users", ..]) => people::users(&call, &path[1..]).await,
        (_, ["oauth", "keys", ..]) => people::signing_keys(&call, &path[2..]).await,
        (_, ["oauth", "upstream"]) => people::upstream(&call).await,
        (_, ["oauth", "logo"]) => people::logo(&call).await,
        _ => Err(ApiError::not_found()),
    };
    Ok(reply.unwrap_or_else(|e| e.response()))
}

/// One admin request, authenticated.
pub(crate) struct Call<'a> {
    pub services: Services<'a>,
    pub request: &'a Request,
    pub backends: Backends<'a>,
    pub tenant: &'a TenantId,
    pub principal: &'a Principal,
}

impl Call<'_> {
    pub fn audit(&self, kind: &str, server: Option<&str>, detail: serde_json::Value) {
        let event = crate::audit::Event {
            kind: kind.into(),
            principal: Some(self.principal.id.clone()),
            server: server.map(str::to_owned),
            detail,
        };
        self.services.audit.record(self.tenant, event, self.backends.clock.now_ms());
    }

    /// The value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.request.query.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Query parameter `name` as a number, `default` when absent.
    pub fn query_number(&self, name: &str, default: u64) -> Result<u64, reply::ApiError> {
        self.query(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| reply::ApiError::bad_request(format!("`{name}` must be a number")))
        })
    }
}

/// The caller, who must belong to `tenant` and be within its rate limit.
async fn authenticate(
    services: Services<'_>,
    request: &Request,
    backends: Backends<'_>,
    tenant: &TenantId,
) -> Result<Principal, Refused> {
    if let Some(limited) = crate::admission::turned_away(services.gate, backends, request) {
        let mut response = ApiError::new(
            429,
            "rate_limited",
            "too many refused requests from this address: retry after the time in Retry-After",
        )
        .response();
        response.headers.extend(limited.headers.into_iter().filter(|(name, _)| name == "retry-after"));
        return Err(Refused(response));
    }
    let audience = audience(&services.gate.settings.public_url, tenant);
    let authenticated = crate::admission::authenticate_for(services.gate, backends, request, tenant, &audience).await;
    let error = match crate::admission::admit(services.gate, backends, request, tenant, None, authenticated) {
        Ok(principal) => {
            if let Some(limited) = services.mcp.rate_limited(backends, &principal).await {
                // The same 429 and Retry-After, in this API's error format.
                let mut response =
                    ApiError::new(429, "rate_limited", "too many requests: retry after the time in Retry-After")
                        .response();
                response.headers.extend(limited.headers.into_iter().filter(|(name, _)| name == "retry-after"));
                return Err(Refused(response));
            }
            return Ok(principal);
        }
        Err(error) => error,
    };
    let (status, code) = match error {
        AuthError::OtherTenant | AuthError::NoRole => (403, "forbidden"),
        AuthError::Storage(_) => (503, "storage"),
        _ => (401, "unauthorized"),
    };
    let mut response = ApiError::new(status, code, error.to_string()).response();
    if status == 401 {
        response.headers.push(("www-authenticate".into(), "Bearer realm=\"smcp-admin\"".into()));
    }
    Err(Refused(response))
}

/// `/healthz` (the process answers) and `/readyz` (its storage answers),
/// for GET; `None` for every other request.
pub(crate) async fn probe(request: &Request, backends: Backends<'_>) -> Option<Response> {
    if request.method != "GET" {
        return None;
    }
    match request.path.as_str() {
        "/healthz" => Some(reply::json(200, &json!({ "status": "ok" }))),
        "/readyz" => Some(ready(backends).await),
        _ => None,
    }
}

/// Ready when the KV backend answers.
async fn ready(backends: Backends<'_>) -> Response {
    match backends.kv.get("health/probe").await {
        Ok(_) => reply::json(200, &json!({ "status": "ready" })),
        Err(e) => reply::json(503, &json!({ "status": "unavailable", "reason": format!("kv: {e}") })),
    }
}

#[cfg(test)]
mod tests {
    use crate::auth::Role;
    use crate::auth::api_keys::ApiKeys;
    use crate::http::{Body, Request};
    use crate::names::TenantId;
    use crate::platform::memory::InMemory;
    use futures::executor::block_on;

    /// `method path` to the admin API with `key`: the status and the
    /// error code of the answer.
    fn ask(memory: &InMemory, method: &str, path: &str, key: Option<&str>) -> (u16, String) {
        let engine = crate::engine::tests::engine();
        let mut headers = vec![("host".to_owned(), "localhost".to_owned())];
        if let Some(key) = key {
            headers.push(("authorization".into(), format!("Bearer {key}")));
        }
        let request = Request { method: method.into(), path: path.into(), headers, ..Request::default() };
        let response = block_on(engine.handle(request, memory.backends()));
        let Body::Json(bytes) = &response.body else { return (response.status, String::new()) };
        let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
        (response.status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
    }

    fn key(memory: &InMemory, tenant: &TenantId, role: Role) -> String {
        // The test engine's key-hashing key.
        let keys = ApiKeys::new(&memory.kv, [3; 32]);
        block_on(keys.create(tenant, role, "test", None, 0, &memory.random)).unwrap().0
    }

    #[test]
    fn the_admin_api_refuses_by_tenant_credential_and_role() {
        let memory = InMemory::new();
        let (admin, reader, stranger) = (
            key(&memory, &TenantId::from_static("acme"), Role::Admin),
            key(&memory, &TenantId::from_static("acme"), Role::ReadOnly),
            key(&memory, &TenantId::from_static("other"), Role::Admin),
        );
        let servers = "/admin/v1/tenants/acme/servers";
        assert_eq!(ask(&memory, "GET", servers, Some(&admin)).0, 200);
        assert_eq!(ask(&memory, "GET", servers, Some(&reader)).0, 200, "read-only reads");
        assert_eq!(ask(&memory, "PUT", "/admin/v1/tenants/acme/servers/new", Some(&reader)).0, 403, "and only reads");
        assert_eq!(ask(&memory, "GET", servers, Some(&stranger)).0, 403, "another tenant's key");
        assert_eq!(ask(&memory, "GET", servers, None).0, 401);
        assert_eq!(
            ask(&memory, "GET", "/admin/v1/tenants/nobody/servers", Some(&admin)).0,
            404,
            "a tenant nobody made"
        );
        assert_eq!(ask(&memory, "GET", "/admin/v1/tenants/Not_A_Tenant/servers", None).0, 404);
        assert_eq!(ask(&memory, "GET", "/admin/v1/tenants/acme/nothing-here", Some(&admin)).0, 404);
        assert_eq!(ask(&memory, "GET", "/admin/v1/tenants/acme/servers/missing", Some(&admin)).1, "server_not_found");
    }
}
