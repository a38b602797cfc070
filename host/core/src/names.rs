//! Tenant and server names, and the endpoint paths made of them. The same
//! rules hold at creation and in every path a request names, so a path
//! naming something that could never exist is refused before any lookup.

use std::fmt;

/// A tenant id, checked against the rules ([`valid_tenant`]) when it was
/// made: the one way the host names a tenant to storage, keys, the audit
/// trail and the vault, so text from a path, key or token that breaks the
/// rules cannot reach a storage key. Reads as a `&str`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Text that is not a tenant id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant ids are 1-63 of [a-z0-9-], not starting with `-`")]
pub struct InvalidTenantId;

impl TenantId {
    pub fn parse(text: &str) -> Result<TenantId, InvalidTenantId> {
        if valid_tenant(text) { Ok(TenantId(text.to_owned())) } else { Err(InvalidTenantId) }
    }

    /// A tenant id written in the source (tests, examples); panics when it
    /// breaks the rules, as a typo there should.
    pub fn from_static(text: &'static str) -> TenantId {
        match TenantId::parse(text) {
            Ok(id) => id,
            Err(_) => panic!("`{text}` is not a tenant id"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;

    fn try_from(text: String) -> Result<TenantId, InvalidTenantId> {
        if valid_tenant(&text) { Ok(TenantId(text)) } else { Err(InvalidTenantId) }
    }
}

impl From<&TenantId> for TenantId {
    fn from(id: &TenantId) -> TenantId {
        id.clone()
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> String {
        id.0
    }
}

impl std::ops::Deref for TenantId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for TenantId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

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
pub fn parse_endpoint(path: &str) -> Option<(TenantId, &str)> {
    let rest = path.strip_prefix("/t/")?;
    let (tenant, rest) = rest.split_once("/s/")?;
    let server = rest.strip_suffix("/mcp")?;
    let tenant = TenantId::parse(tenant).ok()?;
    valid_server(server).then_some((tenant, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_round_trip_and_bad_names_are_refused() {
        let acme = TenantId::parse("acme").unwrap();
        assert_eq!(parse_endpoint(&endpoint("acme", "notes")), Some((acme, "notes")));
        for path in ["/t/Acme/s/notes/mcp", "/t/acme/s/-x/mcp", "/t//s/notes/mcp", "/t/acme/s/notes", "/t/a/b/s/c/mcp"]
        {
            assert_eq!(parse_endpoint(path), None, "{path}");
        }
        assert!(valid_tenant(&"a".repeat(63)) && !valid_tenant(&"a".repeat(64)));
        for bad in ["", "-a", "A", "a/b", "a_b", "..", "a b"] {
            assert_eq!(TenantId::parse(bad), Err(InvalidTenantId), "{bad:?}");
            assert!(serde_json::from_str::<TenantId>(&format!("{bad:?}")).is_err(), "{bad:?} deserialized");
        }
        assert_eq!(serde_json::from_str::<TenantId>("\"acme\"").unwrap(), "acme");
    }
}
