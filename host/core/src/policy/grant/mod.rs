//! What a server may touch. Deny by default: a capability missing from the
//! grant answers `denied` to every call, whatever the component imports,
//! and a component importing a capability its grant does not mention is
//! refused when it is hosted ([`Grant::check_imports`]).

mod file;
mod widening;

pub use file::{GRANT_FORMAT_VERSION, GrantFileError, ceilings};

use super::Limits;

/// The HTTP methods a grant may name.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

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
    /// kv operations one request may make.
    pub max_ops_per_call: u32,
}

impl Default for KvGrant {
    fn default() -> Self {
        KvGrant { max_key_bytes: 512, max_value_bytes: 1 << 20, max_list: 1000, max_ops_per_call: 1000 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectsGrant {
    pub max_key_bytes: usize,
    pub max_object_bytes: usize,
    pub max_list: u32,
    /// Bytes one request may write, all puts together.
    pub max_bytes_written_per_call: usize,
}

impl Default for ObjectsGrant {
    fn default() -> Self {
        ObjectsGrant {
            max_key_bytes: 1024,
            max_object_bytes: 4 << 20,
            max_list: 1000,
            max_bytes_written_per_call: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpGrant {
    /// Hosts the server may call: exact names, or `*.example.com` for
    /// subdomains (not the apex). Redirects are checked against it too.
    pub allowed_hosts: Vec<String>,
    /// Allow plain `http://` (for local development only).
    pub allow_insecure: bool,
    /// Methods the server may use; `None` allows every method.
    pub methods: Option<Vec<&'static str>>,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    /// Longest a fetch may take, redirects included.
    pub timeout_ms: u32,
    /// Redirects followed for one fetch; one more is an error.
    pub max_redirects: u32,
    /// Requests sent during one call, every redirect hop counted.
    pub max_requests: u32,
    /// Headers the host adds from secrets, so the guest can call an API
    /// without ever holding its key.
    pub inject: Vec<Injection>,
}

/// A header the host sets on requests to `host` from secret `secret`
/// (`prefix` + value), on every hop to that host and no other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    /// An entry of `allowed_hosts`: an exact name or `*.domain`.
    pub host: String,
    /// Lowercase header name.
    pub header: String,
    pub secret: String,
    pub prefix: String,
}

impl Injection {
    /// True for requests to the host (and port) this rule names.
    pub fn applies_to(&self, url: &url::Url) -> bool {
        HttpGrant { allowed_hosts: vec![self.host.clone()], ..HttpGrant::default() }.allows(url)
    }
}

impl Default for HttpGrant {
    /// No hosts; https only, every method; 1 MiB requests and responses,
    /// 10 s, 5 redirects, 10 requests a call.
    fn default() -> Self {
        HttpGrant {
            allowed_hosts: Vec::new(),
            allow_insecure: false,
            methods: None,
            max_request_bytes: 1 << 20,
            max_response_bytes: 1 << 20,
            timeout_ms: 10_000,
            max_redirects: 5,
            max_requests: 10,
            inject: Vec::new(),
        }
    }
}

/// A component imports a capability its grant does not give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the component imports `{interface}`, but its grant has no {section}: add it to the grant or remove the import"
)]
pub struct NotGranted {
    pub interface: String,
    pub section: &'static str,
}

impl Grant {
    /// Effective capability = imported AND granted: every capability
    /// interface in `imports` (as a component lists them, e.g.
    /// `smcp:mcp/kv@0.1.0`) must be granted. Logs, clock, randomness and
    /// notifications are always granted.
    pub fn check_imports(&self, imports: &[String]) -> Result<(), NotGranted> {
        for interface in imports {
            let name = interface.split_once('/').map_or(interface.as_str(), |(_, rest)| rest);
            let name = name.split_once('@').map_or(name, |(name, _)| name);
            let section = match name {
                "kv" if self.kv.is_none() => "[kv] section",
                "objects" if self.objects.is_none() => "[objects] section",
                "http" if self.http.is_none() => "[http] section",
                "secrets" if self.secrets.is_empty() => "[secrets] names",
                _ => continue,
            };
            return Err(NotGranted { interface: interface.clone(), section });
        }
        Ok(())
    }
}

impl HttpGrant {
    /// True when `url`'s host and port are allowed. An entry is a name or
    /// `*.domain`, with `:port` or without: without, it allows the
    /// scheme's own port only (443 for https, 80 for http), so that a
    /// grant for a web API does not reach the same host's other services.
    pub fn allows(&self, url: &url::Url) -> bool {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else { return false };
        if port == 0 {
            return false;
        }
        let default_port = url.port().is_none();
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|entry| {
            let (pattern, entry_port) = split_port(entry);
            let port_ok = match entry_port {
                Some(allowed) => allowed == port,
                None => default_port,
            };
            let pattern = pattern.to_ascii_lowercase();
            port_ok
                && match pattern.strip_prefix("*.") {
                    Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
                    None => host == pattern,
                }
        })
    }
}

/// An `allowed_hosts` entry split into its host pattern and port, if it
/// names one (`[::1]:8080` and `api.test:8443` do; `[::1]` does not).
pub(crate) fn split_port(entry: &str) -> (&str, Option<u16>) {
    let split_at = match entry.rfind(':') {
        Some(i) if entry[..i].starts_with('[') && !entry[..i].ends_with(']') => None,
        Some(i) if !entry.starts_with('[') && entry[..i].contains(':') => None,
        other => other,
    };
    match split_at.map(|i| (&entry[..i], entry[i + 1..].parse::<u16>())) {
        Some((host, Ok(port))) if port > 0 => (host, Some(port)),
        _ => (entry, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_must_be_granted() {
        let imports = |names: &[&str]| names.iter().map(|n| format!("smcp:mcp/{n}@0.1.0")).collect::<Vec<_>>();
        let grant = Grant { kv: Some(KvGrant::default()), ..Grant::default() };
        assert!(grant.check_imports(&imports(&["kv", "log", "clock", "random", "notify"])).is_ok());
        let error = grant.check_imports(&imports(&["kv", "http"])).unwrap_err();
        assert_eq!(error.interface, "smcp:mcp/http@0.1.0");
        assert!(
            error.to_string().contains("smcp:mcp/http@0.1.0") && error.to_string().contains("[http] section"),
            "{error}"
        );
        assert!(grant.check_imports(&imports(&["secrets"])).unwrap_err().to_string().contains("[secrets] names"));
    }

    #[test]
    fn host_patterns() {
        let grant =
            HttpGrant { allowed_hosts: vec!["api.example.com".into(), "*.cdn.test".into()], ..Default::default() };
        let allows = |url: &str| grant.allows(&url::Url::parse(url).unwrap());
        assert!(allows("https://api.example.com/"));
        assert!(allows("https://API.Example.com/x"));
        assert!(!allows("https://example.com/"));
        assert!(!allows("https://api.example.com.evil.net/"));
        assert!(allows("https://a.cdn.test/"));
        assert!(!allows("https://cdn.test/"));
        assert!(!allows("https://evilcdn.test/"));
    }

    #[test]
    fn ports_are_the_schemes_unless_the_grant_names_one() {
        let grant = HttpGrant {
            allowed_hosts: vec!["api.test".into(), "db.test:8443".into(), "[::1]:8080".into()],
            ..Default::default()
        };
        let allows = |url: &str| grant.allows(&url::Url::parse(url).unwrap());
        assert!(allows("https://api.test/") && allows("https://api.test:443/") && allows("http://api.test:80/"));
        for other in [
            "http://api.test:6379/",
            "https://api.test:22/",
            "http://api.test:0/",
            "https://api.test:8443/",
            "http://api.test:443/",
        ] {
            assert!(!allows(other), "{other}");
        }
        assert!(allows("https://db.test:8443/") && !allows("https://db.test/"));
        assert!(allows("http://[::1]:8080/") && !allows("http://[::1]/"));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("::1"), ("::1", None));
        assert_eq!(split_port("a.test:0"), ("a.test:0", None));
    }
}
