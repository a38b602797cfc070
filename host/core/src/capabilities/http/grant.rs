//! The `[http]` section of a grant: the hosts, schemes and methods the
//! server may call, the bounds of each fetch, and the headers the host
//! injects from secrets.

use crate::policy::section::{GrantFileError, bounded_count, bounded_size, raised, raised_size};
use serde::Deserialize;

/// The HTTP methods a grant may name, in the order of the WIT's `method`.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

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

impl HttpGrant {
    /// The section as the grant file names its fields, every default
    /// filled in (the review's machine-readable form); `methods` is null
    /// when every method is allowed. Injections name secrets, never values.
    pub fn to_json(&self) -> serde_json::Value {
        let HttpGrant {
            allowed_hosts,
            allow_insecure,
            methods,
            max_request_bytes,
            max_response_bytes,
            timeout_ms,
            max_redirects,
            max_requests,
            inject,
        } = self;
        let schemes: &[&str] = if *allow_insecure { &["https", "http"] } else { &["https"] };
        let inject: Vec<serde_json::Value> = inject
            .iter()
            .map(|Injection { host, header, secret, prefix }| {
                serde_json::json!({ "host": host, "header": header, "secret": secret, "prefix": prefix })
            })
            .collect();
        serde_json::json!({
            "allowed_hosts": allowed_hosts,
            "schemes": schemes,
            "methods": methods,
            "max_request_bytes": max_request_bytes,
            "max_response_bytes": max_response_bytes,
            "timeout_ms": timeout_ms,
            "max_redirects": max_redirects,
            "max_requests": max_requests,
            "inject": inject,
        })
    }
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

/// The most any `[http]` section may ask for.
pub mod ceilings {
    pub const BODY_BYTES: u64 = 64 << 20;
    pub const TIMEOUT_MS: u64 = 5 * 60 * 1000;
    pub const REQUESTS: u64 = 1000;
    pub const REDIRECTS: u64 = 20;
}

/// `[http]` as a grant file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    #[serde(default)]
    allowed_hosts: Vec<String>,
    /// Only for local development: `["https", "http"]`.
    schemes: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    max_request_bytes: Option<u64>,
    max_response_bytes: Option<u64>,
    timeout_ms: Option<u64>,
    max_redirects: Option<u64>,
    max_requests: Option<u64>,
    #[serde(default)]
    inject: Vec<InjectSection>,
}

/// `[[http.inject]]` as a grant file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectSection {
    host: String,
    header: String,
    secret: String,
    #[serde(default)]
    prefix: String,
}

impl HttpSection {
    pub fn grant(self) -> Result<HttpGrant, GrantFileError> {
        let d = HttpGrant::default();
        for host in &self.allowed_hosts {
            let (name, _port) = split_port(host);
            let name = name.strip_prefix("*.").unwrap_or(name);
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .split('.')
                    .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            if !valid {
                return Err(GrantFileError::Invalid {
                    field: "http.allowed_hosts",
                    why: format!("`{host}` is not a host name or `*.domain`, with `:port` or without"),
                });
            }
        }
        let schemes = self.schemes.unwrap_or_else(|| vec!["https".into()]);
        if let Some(bad) = schemes.iter().find(|s| !matches!(s.as_str(), "https" | "http")) {
            return Err(GrantFileError::Invalid {
                field: "http.schemes",
                why: format!("`{bad}` is not https or http"),
            });
        }
        let methods = self.methods.map(|methods| methods.iter().map(|m| method(m)).collect()).transpose()?;
        let allowed_hosts: Vec<String> = self.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let inject = self.inject.into_iter().map(|rule| rule.injection(&allowed_hosts)).collect::<Result<_, _>>()?;
        Ok(HttpGrant {
            inject,
            allow_insecure: schemes.iter().any(|s| s == "http"),
            allowed_hosts,
            methods,
            max_request_bytes: bounded_size(
                "http.max_request_bytes",
                self.max_request_bytes,
                d.max_request_bytes,
                ceilings::BODY_BYTES,
            )?,
            max_response_bytes: bounded_size(
                "http.max_response_bytes",
                self.max_response_bytes,
                d.max_response_bytes,
                ceilings::BODY_BYTES,
            )?,
            timeout_ms: bounded_count("http.timeout_ms", self.timeout_ms, d.timeout_ms, ceilings::TIMEOUT_MS)?,
            max_redirects: bounded_count(
                "http.max_redirects",
                self.max_redirects,
                d.max_redirects,
                ceilings::REDIRECTS,
            )?,
            max_requests: bounded_count("http.max_requests", self.max_requests, d.max_requests, ceilings::REQUESTS)?,
        })
    }
}

fn method(name: &str) -> Result<&'static str, GrantFileError> {
    let upper = name.to_ascii_uppercase();
    METHODS.iter().copied().find(|known| *known == upper).ok_or_else(|| GrantFileError::Invalid {
        field: "http.methods",
        why: format!("`{name}` is not one of {}", METHODS.join(", ")),
    })
}

impl InjectSection {
    fn injection(self, allowed_hosts: &[String]) -> Result<Injection, GrantFileError> {
        let invalid = |why: String| GrantFileError::Invalid { field: "http.inject", why };
        let host = self.host.to_ascii_lowercase();
        if !allowed_hosts.contains(&host) {
            return Err(invalid(format!("host `{}` must be one of allowed_hosts", self.host)));
        }
        let header = self.header.to_ascii_lowercase();
        let token =
            !header.is_empty() && header.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token || ["host", "content-length", "transfer-encoding", "connection", "cookie"].contains(&header.as_str())
        {
            return Err(invalid(format!("`{}` is not a header the host can inject", self.header)));
        }
        if !crate::capabilities::secrets::grant::is_secret_name(&self.secret) {
            return Err(invalid(format!("`{}` is not a secret name", self.secret)));
        }
        if self.prefix.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(invalid("the prefix may not hold line breaks".into()));
        }
        Ok(Injection { host, header, secret: self.secret, prefix: self.prefix })
    }
}

impl HttpGrant {
    /// Adds to `out` everything `self` allows that `old` did not. Taken
    /// apart without `..`: a new field does not compile without a rule.
    pub fn widenings_from(&self, old: &HttpGrant, out: &mut Vec<String>) {
        let HttpGrant {
            allowed_hosts,
            allow_insecure,
            methods,
            max_request_bytes,
            max_response_bytes,
            timeout_ms,
            max_redirects,
            max_requests,
            inject,
        } = self;
        // A host pattern is new unless the old grant had exactly it: `*.a.com`
        // replacing `api.a.com` is wider even though it covers it.
        for host in allowed_hosts.iter().filter(|h| !old.allowed_hosts.iter().any(|o| o.eq_ignore_ascii_case(h))) {
            out.push(format!("http: host {host} added"));
        }
        if *allow_insecure && !old.allow_insecure {
            out.push("http: schemes now include http".into());
        }
        match (&old.methods, methods) {
            (Some(_), None) => out.push("http: every method allowed".into()),
            (Some(before), Some(now)) => {
                out.extend(now.iter().filter(|m| !before.contains(m)).map(|m| format!("http: method {m} added")))
            }
            _ => {}
        }
        raised_size(out, "http: max_request_bytes", *max_request_bytes, old.max_request_bytes);
        raised_size(out, "http: max_response_bytes", *max_response_bytes, old.max_response_bytes);
        raised(out, "http: timeout_ms", *timeout_ms, old.timeout_ms);
        raised(out, "http: max_redirects", *max_redirects, old.max_redirects);
        raised(out, "http: max_requests", *max_requests, old.max_requests);
        for rule in inject.iter().filter(|i| !old.inject.contains(i)) {
            out.push(format!(
                "http: header `{}` from secret `{}` on requests to {}",
                rule.header, rule.secret, rule.host
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
