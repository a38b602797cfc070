//! The Worker's settings, from its vars and secrets (wrangler.toml, `wrangler
//! secret put`, or `--var` for local runs). docs/worker.md lists them.

use smcp_core::auth::api_keys::KeyCaching;
use smcp_core::auth::rate::{Limit, RateLimits};
use smcp_core::engine::{AuthSettings, EngineConfig};
use smcp_core::policy::address::{AddressPolicy, Opening};
use smcp_core::vault::Keyring;
use worker::Env;

/// Request bodies larger than this get 413 (as on the native host).
const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Component uploads (multipart, so a little over the runtime's 16 MiB).
const DEFAULT_MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024 + 256 * 1024;
/// Other isolates may activate deployments: trust what this one serves for
/// this long before reading the registry again.
const DEFAULT_RECHECK_MS: u64 = 5_000;
const SESSION_TTL_SECONDS: u32 = 3600;

/// Everything an isolate needs besides the per-request bindings.
pub struct Settings {
    pub engine: EngineConfig,
    pub keyring: Option<Keyring>,
    pub outbound: AddressPolicy,
    /// `/operator/v1/backend-suite/…` answers (tests only; a bundle built
    /// without the `backend-suite` feature has no such route).
    #[cfg(feature = "backend-suite")]
    pub backend_suite: bool,
}

/// A var or secret, trimmed; `None` when unset or empty.
fn setting(env: &Env, name: &str) -> Option<String> {
    let value = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()?;
    let value = value.trim().to_owned();
    (!value.is_empty()).then_some(value)
}

fn list(env: &Env, name: &str) -> Vec<String> {
    setting(env, name)
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// `BURST/PER_SECOND`, as `smcp serve --rate-limit-*` takes it.
fn limit(env: &Env, name: &str, default: Limit) -> Result<Limit, String> {
    let Some(value) = setting(env, name) else { return Ok(default) };
    let parsed = value.split_once('/').and_then(|(b, r)| Some((b.parse::<f64>().ok()?, r.parse::<f64>().ok()?)));
    match parsed {
        Some((burst, per_second)) if burst >= 1.0 && per_second > 0.0 => Ok(Limit { burst, per_second }),
        _ => Err(format!("{name} must be BURST/PER_SECOND, e.g. 200/50")),
    }
}

fn number<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> Result<T, String> {
    match setting(env, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name} must be a number")),
    }
}

/// Reads the settings; `origin` (the first request's) is the public URL
/// when `SMCP_PUBLIC_URL` is unset. Errors name the setting, never a value.
pub fn load(env: &Env, origin: &str) -> Result<Settings, String> {
    let state_key = setting(env, "SMCP_STATE_KEY").ok_or("SMCP_STATE_KEY is not set (a secret: 64 hex digits)")?;
    let state_key: [u8; 32] = blake3::Hash::from_hex(&state_key)
        .map_err(|_| "SMCP_STATE_KEY must be 64 hex digits (`openssl rand -hex 32`)".to_owned())?
        .into();
    let keyring = match setting(env, "SMCP_MASTER_KEYS") {
        Some(spec) => Some(Keyring::parse(&spec).map_err(|e| format!("SMCP_MASTER_KEYS: {e}"))?),
        None => None,
    };
    let public_url = setting(env, "SMCP_PUBLIC_URL").unwrap_or_else(|| origin.to_owned());
    let public_host = url::Url::parse(&public_url).map_err(|_| "SMCP_PUBLIC_URL is not a URL".to_owned())?;
    let mut allowed_hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
    if let Some(host) = public_host.host_str() {
        allowed_hosts.push(host.to_owned());
    }
    allowed_hosts.extend(list(env, "SMCP_ALLOWED_HOSTS"));
    // Origins match with their port: the Worker's own (under each loopback
    // name when it is served locally, as `wrangler dev` does), and those
    // listed.
    let mut allowed_origins = vec![public_host.origin().ascii_serialization()];
    if matches!(public_host.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        && let Some(port) = public_host.port_or_known_default()
    {
        allowed_origins.extend(
            ["localhost", "127.0.0.1", "[::1]"].map(|host| format!("{}://{host}:{port}", public_host.scheme())),
        );
    }
    allowed_origins.extend(list(env, "SMCP_ALLOWED_ORIGINS"));
    let anonymous = list(env, "SMCP_ANONYMOUS")
        .into_iter()
        .map(|pair| {
            use smcp_core::names::{valid_server, valid_tenant};
            pair.split_once('/')
                .filter(|(t, s)| valid_tenant(t) && valid_server(s))
                .map(|(t, s)| (t.to_owned(), s.to_owned()))
                .ok_or(format!(
                    "SMCP_ANONYMOUS: `{pair}` is not TENANT/SERVER (each 1-63 of [a-z0-9-], not starting with `-`)"
                ))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let openings = list(env, "SMCP_OPEN_ADDRESSES")
        .iter()
        .map(|o| o.parse::<Opening>().map_err(|e| format!("SMCP_OPEN_ADDRESSES: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let operator_key_hash = match setting(env, "SMCP_OPERATOR_KEY_HASH") {
        Some(hash) => Some(
            blake3::Hash::from_hex(&hash)
                .map_err(|_| "SMCP_OPERATOR_KEY_HASH must be 64 hex digits".to_owned())?
                .to_hex()
                .to_string(),
        ),
        None => None,
    };
    // Keyless Sigstore signatures: the trusted root's JSON itself (a var,
    // as `wrangler secret put` or `[vars]` sets it; the Worker has no files).
    let sigstore_root = setting(env, "SMCP_SIGSTORE_TRUSTED_ROOT")
        .map(|json| {
            smcp_core::signing::sigstore::TrustedRoot::parse(json.as_bytes())
                .map(std::sync::Arc::new)
                .map_err(|e| format!("SMCP_SIGSTORE_TRUSTED_ROOT is not a Sigstore trusted root: {e}"))
        })
        .transpose()?;
    let engine = EngineConfig {
        allowed_hosts,
        allowed_origins,
        max_body_bytes: number(env, "SMCP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)?,
        session_ttl_seconds: SESSION_TTL_SECONDS,
        server_name: "smcp".into(),
        server_version: env!("CARGO_PKG_VERSION").into(),
        state_key,
        deployment_recheck_ms: Some(number(env, "SMCP_DEPLOYMENT_RECHECK_MS", DEFAULT_RECHECK_MS)?),
        sigstore_root,
        max_upload_bytes: number(env, "SMCP_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)?,
        quotas: smcp_core::engine::QuotaSettings {
            calls_per_tenant: number(
                env,
                "SMCP_MAX_CALLS_PER_TENANT",
                smcp_core::engine::QuotaSettings::default().calls_per_tenant,
            )?,
            sessions_per_principal: number(
                env,
                "SMCP_MAX_SESSIONS_PER_PRINCIPAL",
                smcp_core::engine::QuotaSettings::default().sessions_per_principal,
            )?,
        },
        max_fuel: setting(env, "SMCP_MAX_FUEL")
            .map(|v| v.replace('_', "").parse().map_err(|_| "SMCP_MAX_FUEL must be a number".to_owned()))
            .transpose()?,
        // `waitUntil` work ends 30 s after the response: a task's steps
        // stop well before, and the task's next request goes on.
        task_slice_ms: Some(number(env, "SMCP_TASK_SLICE_MS", 10_000u64)?),
        auth: AuthSettings {
            key_hash_key: smcp_core::auth::api_keys::hash_key_of(&state_key),
            public_url,
            anonymous,
            rate: RateLimits {
                per_principal: limit(env, "SMCP_RATE_LIMIT_PRINCIPAL", RateLimits::default().per_principal)?,
                per_tenant: limit(env, "SMCP_RATE_LIMIT_TENANT", RateLimits::default().per_tenant)?,
            },
            operator_key_hash,
            oauth: smcp_core::oauth::OAuthSettings {
                access_ttl_seconds: number(env, "SMCP_OAUTH_ACCESS_TTL_SECONDS", 600u32)?,
                ..Default::default()
            },
            // Isolates share the store and each write it: a key is trusted
            // for a while, as the deployment is (Workers KV itself takes up
            // to 60 s to show a write in every location).
            api_key_caching: KeyCaching::For { ms: number(env, "SMCP_KEY_RECHECK_MS", DEFAULT_RECHECK_MS)? },
        },
    };
    Ok(Settings {
        engine,
        keyring,
        outbound: AddressPolicy::with_openings(openings),
        #[cfg(feature = "backend-suite")]
        backend_suite: setting(env, "SMCP_BACKEND_SUITE").as_deref() == Some("on"),
    })
}
