//! The grant file a tenant deploys beside a component (`grant.toml`),
//! format version 1. Every field is optional except `version`; a missing
//! section grants nothing, a missing field takes the safe default below.
//! Unknown fields are errors, so a typo never silently grants less or
//! more than intended. Values above the host's ceilings are refused.
//!
//! ```toml
//! version = 1
//!
//! [limits]            # per call
//! fuel = 100_000_000  # ~ wasm instructions
//! memory_bytes = 67_108_864
//! output_bytes = 4_194_304
//! wall_time_ms = 30_000
//! host_calls = 1_000
//!
//! [kv]                # present: the server may use kv
//! max_value_bytes = 1_048_576
//!
//! [objects]
//! max_object_bytes = 4_194_304
//!
//! [http]
//! allowed_hosts = ["api.example.com", "*.example.org"]
//! methods = ["GET", "POST"]      # default: all
//! timeout_ms = 10_000
//!
//! [[http.inject]]     # the host adds this header; the guest never sees it
//! host = "api.example.com"
//! header = "authorization"
//! secret = "API_TOKEN"
//! prefix = "Bearer "
//!
//! [secrets]
//! names = ["API_TOKEN"]
//! ```

use super::METHODS;
use super::{Grant, HttpGrant, Injection, KvGrant, ObjectsGrant};
use crate::policy::Limits;
use serde::Deserialize;

/// The format version this host reads.
pub const GRANT_FORMAT_VERSION: u32 = 1;

/// Why a grant file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantFileError {
    #[error("grant file is not valid: {0}")]
    Syntax(String),
    #[error("grant file version {0} is not supported (this host reads version {GRANT_FORMAT_VERSION})")]
    Version(u32),
    #[error("grant field `{field}` = {value} exceeds the host's maximum of {max}")]
    AboveCeiling { field: &'static str, value: u64, max: u64 },
    #[error("grant field `{field}`: {why}")]
    Invalid { field: &'static str, why: String },
}

/// The most any grant may ask for, whatever the tenant writes.
pub mod ceilings {
    pub const FUEL: u64 = 10_000_000_000;
    pub const MEMORY_BYTES: u64 = 1 << 30;
    pub const OUTPUT_BYTES: u64 = 64 << 20;
    pub const IMPORT_BYTES: u64 = 64 << 20;
    pub const HOST_CALLS: u64 = 100_000;
    pub const WALL_TIME_MS: u64 = 10 * 60 * 1000;
    pub const VALUE_BYTES: u64 = 25 << 20;
    pub const OBJECT_BYTES: u64 = 512 << 20;
    pub const HTTP_BYTES: u64 = 64 << 20;
    pub const HTTP_TIMEOUT_MS: u64 = 5 * 60 * 1000;
    pub const HTTP_REQUESTS: u64 = 1000;
    pub const REDIRECTS: u64 = 20;
    pub const LIST: u64 = 10_000;
    pub const KEY_BYTES: u64 = 4096;
    pub const KV_OPS: u64 = 100_000;
    pub const BYTES_WRITTEN: u64 = 1 << 30;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    version: u32,
    #[serde(default)]
    limits: LimitsFile,
    kv: Option<KvFile>,
    objects: Option<ObjectsFile>,
    http: Option<HttpFile>,
    secrets: Option<SecretsFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    fuel: Option<u64>,
    memory_bytes: Option<u64>,
    output_bytes: Option<u64>,
    import_bytes: Option<u64>,
    host_calls: Option<u64>,
    wall_time_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KvFile {
    max_key_bytes: Option<u64>,
    max_value_bytes: Option<u64>,
    max_list: Option<u64>,
    max_ops_per_call: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectsFile {
    max_key_bytes: Option<u64>,
    max_object_bytes: Option<u64>,
    max_list: Option<u64>,
    max_bytes_written_per_call: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
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
    inject: Vec<InjectFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectFile {
    host: String,
    header: String,
    secret: String,
    #[serde(default)]
    prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    #[serde(default)]
    names: Vec<String>,
}

/// `value`, or `default` when unset, refused above `max`.
fn bounded(field: &'static str, value: Option<u64>, default: u64, max: u64) -> Result<u64, GrantFileError> {
    let value = value.unwrap_or(default);
    if value > max {
        return Err(GrantFileError::AboveCeiling { field, value, max });
    }
    Ok(value)
}

fn usize_of(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn u32_of(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Grant {
    /// Parses a grant file (see the module docs for the format).
    pub fn from_toml(text: &str) -> Result<Grant, GrantFileError> {
        let file: GrantFile = toml::from_str(text).map_err(|e| GrantFileError::Syntax(e.message().to_owned()))?;
        if file.version != GRANT_FORMAT_VERSION {
            return Err(GrantFileError::Version(file.version));
        }
        Ok(Grant {
            limits: limits(file.limits)?,
            kv: file.kv.map(kv).transpose()?,
            objects: file.objects.map(objects).transpose()?,
            http: file.http.map(http).transpose()?,
            secrets: file.secrets.map(secrets).transpose()?.unwrap_or_default(),
        })
    }
}

fn limits(file: LimitsFile) -> Result<Limits, GrantFileError> {
    let d = Limits::DEFAULT;
    let fuel = bounded("limits.fuel", file.fuel, d.fuel, ceilings::FUEL)?;
    if fuel == 0 {
        return Err(GrantFileError::Invalid { field: "limits.fuel", why: "must be above 0".into() });
    }
    Ok(Limits {
        fuel,
        memory_bytes: usize_of(bounded(
            "limits.memory_bytes",
            file.memory_bytes,
            d.memory_bytes as u64,
            ceilings::MEMORY_BYTES,
        )?),
        output_bytes: bounded("limits.output_bytes", file.output_bytes, d.output_bytes, ceilings::OUTPUT_BYTES)?,
        import_bytes: bounded("limits.import_bytes", file.import_bytes, d.import_bytes, ceilings::IMPORT_BYTES)?,
        host_calls: u32_of(bounded(
            "limits.host_calls",
            file.host_calls,
            u64::from(d.host_calls),
            ceilings::HOST_CALLS,
        )?),
        wall_time_ms: bounded("limits.wall_time_ms", file.wall_time_ms, d.wall_time_ms, ceilings::WALL_TIME_MS)?,
    })
}

fn kv(file: KvFile) -> Result<KvGrant, GrantFileError> {
    let d = KvGrant::default();
    Ok(KvGrant {
        max_key_bytes: usize_of(bounded(
            "kv.max_key_bytes",
            file.max_key_bytes,
            d.max_key_bytes as u64,
            ceilings::KEY_BYTES,
        )?),
        max_value_bytes: usize_of(bounded(
            "kv.max_value_bytes",
            file.max_value_bytes,
            d.max_value_bytes as u64,
            ceilings::VALUE_BYTES,
        )?),
        max_list: u32_of(bounded("kv.max_list", file.max_list, u64::from(d.max_list), ceilings::LIST)?),
        max_ops_per_call: u32_of(bounded(
            "kv.max_ops_per_call",
            file.max_ops_per_call,
            u64::from(d.max_ops_per_call),
            ceilings::KV_OPS,
        )?),
    })
}

fn objects(file: ObjectsFile) -> Result<ObjectsGrant, GrantFileError> {
    let d = ObjectsGrant::default();
    Ok(ObjectsGrant {
        max_key_bytes: usize_of(bounded(
            "objects.max_key_bytes",
            file.max_key_bytes,
            d.max_key_bytes as u64,
            ceilings::KEY_BYTES,
        )?),
        max_object_bytes: usize_of(bounded(
            "objects.max_object_bytes",
            file.max_object_bytes,
            d.max_object_bytes as u64,
            ceilings::OBJECT_BYTES,
        )?),
        max_list: u32_of(bounded("objects.max_list", file.max_list, u64::from(d.max_list), ceilings::LIST)?),
        max_bytes_written_per_call: usize_of(bounded(
            "objects.max_bytes_written_per_call",
            file.max_bytes_written_per_call,
            d.max_bytes_written_per_call as u64,
            ceilings::BYTES_WRITTEN,
        )?),
    })
}

fn http(file: HttpFile) -> Result<HttpGrant, GrantFileError> {
    let d = HttpGrant::default();
    for host in &file.allowed_hosts {
        let (name, _port) = super::split_port(host);
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
    let schemes = file.schemes.unwrap_or_else(|| vec!["https".into()]);
    if let Some(bad) = schemes.iter().find(|s| !matches!(s.as_str(), "https" | "http")) {
        return Err(GrantFileError::Invalid { field: "http.schemes", why: format!("`{bad}` is not https or http") });
    }
    let methods = match file.methods {
        None => None,
        Some(methods) => Some(
            methods
                .iter()
                .map(|m| {
                    let upper = m.to_ascii_uppercase();
                    METHODS.iter().copied().find(|known| *known == upper).ok_or_else(|| GrantFileError::Invalid {
                        field: "http.methods",
                        why: format!("`{m}` is not one of {}", METHODS.join(", ")),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let allowed_hosts: Vec<String> = file.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    let inject = file.inject.into_iter().map(|rule| injection(rule, &allowed_hosts)).collect::<Result<_, _>>()?;
    Ok(HttpGrant {
        inject,
        allowed_hosts: allowed_hosts.clone(),
        allow_insecure: schemes.iter().any(|s| s == "http"),
        methods,
        max_request_bytes: usize_of(bounded(
            "http.max_request_bytes",
            file.max_request_bytes,
            d.max_request_bytes as u64,
            ceilings::HTTP_BYTES,
        )?),
        max_response_bytes: usize_of(bounded(
            "http.max_response_bytes",
            file.max_response_bytes,
            d.max_response_bytes as u64,
            ceilings::HTTP_BYTES,
        )?),
        timeout_ms: u32_of(bounded(
            "http.timeout_ms",
            file.timeout_ms,
            u64::from(d.timeout_ms),
            ceilings::HTTP_TIMEOUT_MS,
        )?),
        max_redirects: u32_of(bounded(
            "http.max_redirects",
            file.max_redirects,
            u64::from(d.max_redirects),
            ceilings::REDIRECTS,
        )?),
        max_requests: u32_of(bounded(
            "http.max_requests",
            file.max_requests,
            u64::from(d.max_requests),
            ceilings::HTTP_REQUESTS,
        )?),
    })
}

fn injection(rule: InjectFile, allowed_hosts: &[String]) -> Result<Injection, GrantFileError> {
    let invalid = |why: String| GrantFileError::Invalid { field: "http.inject", why };
    let host = rule.host.to_ascii_lowercase();
    if !allowed_hosts.contains(&host) {
        return Err(invalid(format!("host `{}` must be one of allowed_hosts", rule.host)));
    }
    let header = rule.header.to_ascii_lowercase();
    let token =
        !header.is_empty() && header.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token || ["host", "content-length", "transfer-encoding", "connection", "cookie"].contains(&header.as_str()) {
        return Err(invalid(format!("`{}` is not a header the host can inject", rule.header)));
    }
    secrets(SecretsFile { names: vec![rule.secret.clone()] })
        .map_err(|_| invalid(format!("`{}` is not a secret name", rule.secret)))?;
    if rule.prefix.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(invalid("the prefix may not hold line breaks".into()));
    }
    Ok(Injection { host, header, secret: rule.secret, prefix: rule.prefix })
}

fn secrets(file: SecretsFile) -> Result<Vec<String>, GrantFileError> {
    for name in &file.names {
        let valid = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return Err(GrantFileError::Invalid {
                field: "secrets.names",
                why: format!("`{name}` is not a secret name"),
            });
        }
    }
    Ok(file.names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let docs = include_str!("file.rs");
        let example: String = docs
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start())
            .collect::<Vec<_>>()
            .join("\n");
        let grant = Grant::from_toml(&example).unwrap();
        assert_eq!(grant.limits.wall_time_ms, 30_000);
        assert_eq!(grant.http.as_ref().unwrap().methods, Some(vec!["GET", "POST"]));
        assert_eq!(grant.secrets, ["API_TOKEN"]);
        let inject = &grant.http.as_ref().unwrap().inject[0];
        assert_eq!((inject.header.as_str(), inject.prefix.as_str()), ("authorization", "Bearer "));
        assert!(grant.kv.is_some() && grant.objects.is_some());
    }

    #[test]
    fn missing_means_nothing_or_the_default() {
        let grant = Grant::from_toml("version = 1").unwrap();
        assert_eq!(grant, Grant::default());
        let grant = Grant::from_toml("version = 1\n[http]\nallowed_hosts = [\"API.example.com\"]").unwrap();
        let http = grant.http.unwrap();
        assert_eq!(
            (http.allowed_hosts, http.allow_insecure, http.methods),
            (vec!["api.example.com".to_string()], false, None)
        );
        assert_eq!(http.timeout_ms, HttpGrant::default().timeout_ms);
    }

    #[test]
    fn mistakes_are_refused_clearly() {
        let cases = [
            ("", "missing field `version`"),
            ("version = 2", "version 2 is not supported"),
            ("version = 1\n[kv]\nmax_value = 5", "unknown field `max_value`"),
            ("version = 1\n[limits]\nmemory_bytes = 99999999999", "`limits.memory_bytes` = 99999999999 exceeds"),
            ("version = 1\n[limits]\nfuel = 0", "must be above 0"),
            ("version = 1\n[http]\nallowed_hosts = [\"http://x.com\"]", "not a host name"),
            ("version = 1\n[http]\nschemes = [\"ftp\"]", "`ftp` is not https or http"),
            ("version = 1\n[http]\nmethods = [\"BREW\"]", "`BREW` is not one of"),
            ("version = 1\n[secrets]\nnames = [\"../x\"]", "not a secret name"),
            (
                "version = 1\n[http]\n[[http.inject]]\nhost = \"a.com\"\nheader = \"x-key\"\nsecret = \"K\"",
                "must be one of allowed_hosts",
            ),
            (
                "version = 1\n[http]\nallowed_hosts = [\"a.com\"]\n[[http.inject]]\nhost = \"a.com\"\nheader = \"host\"\nsecret = \"K\"",
                "not a header the host can inject",
            ),
        ];
        for (text, expected) in cases {
            let error = Grant::from_toml(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
