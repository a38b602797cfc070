//! What a server may touch. Deny by default: a capability missing from the
//! grant answers `denied` to every call, whatever the component imports.

use crate::runtime::Limits;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grant {
    pub kv: Option<KvGrant>,
    pub objects: Option<ObjectsGrant>,
    pub http: Option<HttpGrant>,
    /// Names of the secrets the server may read.
    pub secrets: Vec<String>,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KvGrant {
    pub max_key_bytes: usize,
    pub max_value_bytes: usize,
    /// Most keys `list-keys` returns in one page.
    pub max_list: u32,
}

impl Default for KvGrant {
    fn default() -> Self {
        KvGrant { max_key_bytes: 512, max_value_bytes: 1 << 20, max_list: 1000 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectsGrant {
    pub max_key_bytes: usize,
    pub max_object_bytes: usize,
    pub max_list: u32,
}

impl Default for ObjectsGrant {
    fn default() -> Self {
        ObjectsGrant { max_key_bytes: 1024, max_object_bytes: 4 << 20, max_list: 1000 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpGrant {
    /// Hosts the server may call: exact names, or `*.example.com` for
    /// subdomains (not the apex). Redirects are checked against it too.
    pub allowed_hosts: Vec<String>,
    /// Allow plain `http://` (for local development only).
    pub allow_insecure: bool,
    pub max_response_bytes: usize,
    /// Longest a fetch may take, redirects included.
    pub timeout_ms: u32,
    /// Redirects followed for one fetch; one more is an error.
    pub max_redirects: u32,
    /// Requests sent during one call, every redirect hop counted.
    pub max_requests: u32,
}

impl Default for HttpGrant {
    /// No hosts; 1 MiB responses, 10 s, 5 redirects, 10 requests a call.
    fn default() -> Self {
        HttpGrant {
            allowed_hosts: Vec::new(),
            allow_insecure: false,
            max_response_bytes: 1 << 20,
            timeout_ms: 10_000,
            max_redirects: 5,
            max_requests: 10,
        }
    }
}

impl HttpGrant {
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
                None => host == pattern,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let grant = HttpGrant { allowed_hosts: vec!["api.example.com".into(), "*.cdn.test".into()], ..Default::default() };
        assert!(grant.allows_host("api.example.com"));
        assert!(grant.allows_host("API.Example.com"));
        assert!(!grant.allows_host("example.com"));
        assert!(!grant.allows_host("api.example.com.evil.net"));
        assert!(grant.allows_host("a.cdn.test"));
        assert!(!grant.allows_host("cdn.test"));
        assert!(!grant.allows_host("evilcdn.test"));
    }
}
