//! Tenant and server names, and the endpoint paths made of them. The same
//! rules hold at creation and in every path a request names, so a path
//! naming something that could never exist is refused before any lookup.

/// Tenant ids: 1-63 of `[a-z0-9-]`, not starting with `-`. They appear in
/// API keys, URLs and storage keys.
pub fn valid_tenant(tenant: &str) -> bool {
    (1..=63).contains(&tenant.len())
        && tenant.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !tenant.starts_with('-')
}

/// Server names follow the rules of tenant ids.
pub fn valid_server(name: &str) -> bool {
    valid_tenant(name)
}

/// The MCP endpoint path of a hosted server.
pub fn endpoint(tenant: &str, server: &str) -> String {
    format!("/t/{tenant}/s/{server}/mcp")
}

/// The canonical URL of an endpoint on the host at `public_url`: the
/// RFC 8707 resource, and the audience of tokens for it.
pub fn endpoint_url(public_url: &str, tenant: &str, server: &str) -> String {
    format!("{}{}", public_url.trim_end_matches('/'), endpoint(tenant, server))
}

/// Where the endpoint's RFC 9728 protected-resource metadata is.
pub fn metadata_url(public_url: &str, tenant: &str, server: &str) -> String {
    format!("{}{METADATA_PREFIX}{}", public_url.trim_end_matches('/'), endpoint(tenant, server))
}

/// The path prefix of protected-resource metadata (RFC 9728).
pub const METADATA_PREFIX: &str = "/.well-known/oauth-protected-resource";

/// `/t/{tenant}/s/{server}/mcp` split into tenant and server; `None` for
/// any other path, or names that break the rules.
pub fn parse_endpoint(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/t/")?;
    let (tenant, rest) = rest.split_once("/s/")?;
    let server = rest.strip_suffix("/mcp")?;
    (valid_tenant(tenant) && valid_server(server)).then_some((tenant, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_round_trip_and_bad_names_are_refused() {
        assert_eq!(parse_endpoint(&endpoint("acme", "notes")), Some(("acme", "notes")));
        for path in ["/t/Acme/s/notes/mcp", "/t/acme/s/-x/mcp", "/t//s/notes/mcp", "/t/acme/s/notes", "/t/a/b/s/c/mcp"]
        {
            assert_eq!(parse_endpoint(path), None, "{path}");
        }
        assert!(valid_tenant(&"a".repeat(63)) && !valid_tenant(&"a".repeat(64)));
    }
}
