//! Which part of the host answers a path: the one place that maps paths to
//! subsystems. Each subsystem parses the rest of its own paths.

use crate::names::TenantId;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `GET /healthz` and `/readyz`, under any Host.
    Probe,
    /// A tenant's authorization server, and its metadata at the well-known
    /// locations (RFC 8414, OpenID Connect Discovery).
    OAuth,
    /// Protected-resource metadata (RFC 9728).
    ResourceMetadata,
    /// The admin API, `/admin/v1/tenants/{tenant}/…`.
    Admin,
    /// The operator API, `/operator/v1/…`.
    Operator,
    /// A hosted server's MCP endpoint.
    Mcp { tenant: TenantId, server: &'a str },
    /// Nothing here.
    Unknown,
}

/// The route of `request`.
pub(crate) fn route(request: &crate::http::Request) -> Route<'_> {
    let path = request.path.as_str();
    if request.method == "GET" && matches!(path, "/healthz" | "/readyz") {
        Route::Probe
    } else if crate::oauth::serves(path) {
        Route::OAuth
    } else if path.starts_with(crate::names::METADATA_PREFIX) {
        Route::ResourceMetadata
    } else if path.starts_with(crate::admin::PREFIX) {
        Route::Admin
    } else if path.starts_with(crate::admin::operator::PREFIX) {
        Route::Operator
    } else if let Some((tenant, server)) = crate::names::parse_endpoint(path) {
        Route::Mcp { tenant, server }
    } else {
        Route::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::{Route, route};
    use crate::http::Request;
    use crate::names::TenantId;

    fn at(method: &str, path: &str) -> Route<'static> {
        let request = Box::leak(Box::new(Request { method: method.into(), path: path.into(), ..Request::default() }));
        route(request)
    }

    #[test]
    fn every_path_has_one_route() {
        assert_eq!(at("GET", "/healthz"), Route::Probe);
        assert_eq!(at("POST", "/healthz"), Route::Unknown);
        assert_eq!(at("POST", "/oauth/acme/token"), Route::OAuth);
        assert_eq!(at("GET", "/.well-known/oauth-authorization-server/oauth/acme"), Route::OAuth);
        assert_eq!(at("GET", "/.well-known/oauth-protected-resource/t/acme/s/notes/mcp"), Route::ResourceMetadata);
        assert_eq!(at("GET", "/admin/v1/tenants/acme/servers"), Route::Admin);
        assert_eq!(at("POST", "/operator/v1/tenants/acme/keys"), Route::Operator);
        assert_eq!(
            at("POST", "/t/acme/s/notes/mcp"),
            Route::Mcp { tenant: TenantId::parse("acme").unwrap(), server: "notes" }
        );
        assert_eq!(at("POST", "/t/ACME/s/notes/mcp"), Route::Unknown);
        assert_eq!(at("POST", "/oauth/acme/elsewhere"), Route::Unknown);
    }
}
