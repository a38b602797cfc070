//! `smcp serve`: runs the host until SIGINT or SIGTERM.

use super::DataDir;
use smcp_core::auth::rate::{Limit, RateLimits};
use smcp_core::policy::address::Opening;
use smcp_native::{Config, Running, dev::DevGuests, master_keys};
use std::net::SocketAddr;
use std::process::ExitCode;

/// Serves the hosted MCP servers over HTTP.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = smcp_native::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Serving threads, each with its own runtime and socket on the port
    /// [default: the number of cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    #[command(flatten)]
    data: DataDir,
    /// Build the example guests of guests/ and host them under tenant `dev`.
    #[arg(long)]
    dev: bool,
    /// Like --dev, with these guests of guests/ (e.g. calc,conformance).
    #[arg(long, value_delimiter = ',', value_parser = guest_name)]
    dev_guests: Vec<String>,
    /// Also accept this Host header (repeatable; HOST:PORT pins a port).
    #[arg(long, value_parser = host_name)]
    allowed_host: Vec<String>,
    /// Also accept requests from web pages of this origin, e.g. a
    /// browser-based MCP client at http://localhost:6274 (repeatable;
    /// scheme, host and port).
    #[arg(long)]
    allowed_origin: Vec<String>,
    /// Let guests' outbound HTTP reach this non-public address (IP:PORT or
    /// IP; repeatable; for local development only).
    #[arg(long)]
    allow_private_address: Vec<Opening>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Largest component upload through the admin API, in bytes.
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics, without
    /// authentication: bind it to a private address.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// The URL clients reach this host at (endpoint URLs and token
    /// audiences are built from it) [default: http://<listen address>].
    #[arg(long)]
    public_url: Option<String>,
    /// Let anyone use TENANT/SERVER without credentials (repeatable; for
    /// local test fixtures such as the conformance suite's only).
    #[arg(long, value_parser = tenant_server)]
    anonymous_server: Vec<(String, String)>,
    /// Requests each principal may make: BURST/PER_SECOND.
    #[arg(long, value_parser = limit, default_value = "200/50")]
    rate_limit_principal: Limit,
    /// Requests each tenant may take in all: BURST/PER_SECOND.
    #[arg(long, value_parser = limit, default_value = "1000/250")]
    rate_limit_tenant: Limit,
    /// The blake3 hash (hex) of the operator key, which opens the operator
    /// API (/operator/v1/…); `smcp operator-key` makes a key and its hash.
    #[arg(long, env = "SMCP_OPERATOR_KEY_HASH", value_parser = key_hash)]
    operator_key_hash: Option<String>,
    /// Guest calls one tenant may have running at once (each holds an
    /// instance and its memory); more get 429.
    #[arg(long, default_value_t = 64)]
    max_calls_per_tenant: u32,
    /// Legacy sessions one principal may hold open; more get 429.
    #[arg(long, default_value_t = 1000)]
    max_sessions_per_principal: u32,
    /// How long a legacy (2025-era) session lasts after it opened.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..=7 * 86_400))]
    session_ttl_seconds: u32,
    /// Lifetime of the access tokens the host's authorization server issues.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    oauth_access_ttl_seconds: u32,
    /// Ship every tenant's audit trail as OpenTelemetry logs to this
    /// OTLP/HTTP endpoint (JSON), e.g. http://collector:4318/v1/logs.
    #[arg(long, env = "SMCP_OTLP_LOGS_ENDPOINT", value_parser = otlp_endpoint)]
    otlp_logs_endpoint: Option<url::Url>,
    /// A header to send with every OTLP request, NAME=VALUE (repeatable;
    /// e.g. the collector's credentials; values are never logged).
    #[arg(long, env = "SMCP_OTLP_HEADERS", value_delimiter = ',', value_parser = otlp_header, requires = "otlp_logs_endpoint")]
    otlp_header: Vec<(String, String)>,
    /// Accept keyless Sigstore signatures (Fulcio certificates) checked
    /// against this trusted root (Sigstore's `trusted_root.json`: the
    /// certificate authorities, transparency logs and CT logs to trust).
    #[arg(long, env = "SMCP_SIGSTORE_TRUSTED_ROOT", value_parser = sigstore_root)]
    sigstore_trusted_root: Option<TrustedRootFile>,
}

/// A trusted root read and parsed when the command line is.
#[derive(Clone, Debug)]
struct TrustedRootFile(std::sync::Arc<smcp_core::signing::sigstore::TrustedRoot>);

fn sigstore_root(path: &str) -> Result<TrustedRootFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    smcp_core::signing::sigstore::TrustedRoot::parse(&bytes)
        .map(|root| TrustedRootFile(std::sync::Arc::new(root)))
        .map_err(|e| format!("{path}: not a Sigstore trusted root: {e}"))
}

fn otlp_endpoint(value: &str) -> Result<url::Url, String> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(format!("`{value}` is not an http(s) URL, e.g. http://collector:4318/v1/logs")),
    }
}

fn otlp_header(value: &str) -> Result<(String, String), String> {
    let parsed = value.split_once('=').filter(|(name, val)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !val.bytes().any(|b| b.is_ascii_control())
    });
    // Not the value: it is a secret.
    parsed.map(|(name, val)| (name.trim().to_owned(), val.trim().to_owned())).ok_or_else(|| {
        "an OTLP header is NAME=VALUE, the name of letters, digits, '-' and '_', the value without control characters"
            .to_owned()
    })
}

fn key_hash(value: &str) -> Result<String, String> {
    match blake3::Hash::from_hex(value) {
        Ok(hash) => Ok(hash.to_hex().to_string()),
        Err(_) => Err("expected 64 hex digits (the output of `smcp operator-key`)".into()),
    }
}

fn limit(value: &str) -> Result<Limit, String> {
    let parsed =
        value.split_once('/').and_then(|(burst, rate)| Some((burst.parse::<f64>().ok()?, rate.parse::<f64>().ok()?)));
    match parsed {
        Some((burst, per_second)) if burst >= 1.0 && per_second > 0.0 => Ok(Limit { burst, per_second }),
        _ => Err(format!("`{value}` is not BURST/PER_SECOND, e.g. 200/50")),
    }
}

fn tenant_server(value: &str) -> Result<(String, String), String> {
    use smcp_core::names::{valid_server, valid_tenant};
    match value.split_once('/') {
        Some((tenant, server)) if valid_tenant(tenant) && valid_server(server) => Ok((tenant.into(), server.into())),
        _ => Err(format!("`{value}` is not TENANT/SERVER (each 1-63 of [a-z0-9-], not starting with `-`)")),
    }
}

fn guest_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid { Ok(name.to_owned()) } else { Err(format!("`{name}` is not a guest name")) }
}

fn host_name(host: &str) -> Result<String, String> {
    if host.is_empty() || host.contains(['/', ' ']) {
        Err(format!("`{host}` is not a host name"))
    } else {
        Ok(host.to_ascii_lowercase())
    }
}

impl ServeArgs {
    pub fn into_config(self) -> Config {
        let mut config = Config::new(self.data.dir());
        config.listen = self.listen;
        if let Some(threads) = self.threads {
            config.threads = usize::from(threads);
        }
        config.allowed_hosts = self.allowed_host;
        config.allowed_origins = self.allowed_origin;
        config.open_addresses = self.allow_private_address;
        config.max_body_bytes = self.max_body_bytes;
        config.max_upload_bytes = self.max_upload_bytes;
        config.metrics_listen = self.metrics_listen;
        config.public_url = self.public_url;
        config.anonymous = self.anonymous_server;
        config.operator_key_hash = self.operator_key_hash;
        config.oauth.access_ttl_seconds = self.oauth_access_ttl_seconds;
        config.session_ttl_seconds = self.session_ttl_seconds;
        config.otlp_logs = self
            .otlp_logs_endpoint
            .map(|endpoint| smcp_native::audit_export::OtlpLogs { endpoint, headers: self.otlp_header });
        config.sigstore_root = self.sigstore_trusted_root.map(|root| root.0);
        config.quotas = smcp_core::engine::QuotaSettings {
            calls_per_tenant: self.max_calls_per_tenant,
            sessions_per_principal: self.max_sessions_per_principal,
        };
        config.rate_limits =
            RateLimits { per_principal: self.rate_limit_principal, per_tenant: self.rate_limit_tenant };
        config.master_keys = std::env::var(master_keys::ENV).ok().filter(|v| !v.is_empty());
        if !self.dev_guests.is_empty() {
            let names: Vec<&str> = self.dev_guests.iter().map(String::as_str).collect();
            config.dev = Some(DevGuests::only(&names));
        } else if self.dev {
            config.dev = Some(DevGuests::examples());
        }
        config
    }
}

pub fn run(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("smcp: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async move {
        let running = smcp_native::serve(config).await?;
        print_ready(&running);
        let shutdown = running.shutdown_handle();
        tokio::task::spawn_local(async move {
            let signal = wait_for_signal().await;
            tracing::info!(signal, "shutting down (again to stop at once)");
            shutdown.trigger();
            let signal = wait_for_signal().await;
            tracing::warn!(signal, "stopping at once");
            std::process::exit(130);
        });
        running.wait().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("smcp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The name of the first of SIGINT or SIGTERM to arrive.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

fn print_ready(running: &Running) {
    let addr = running.local_addr();
    let mut out = format!(
        "\nsmcp {} is ready\n  listening  http://{addr} ({} serving threads)\n",
        env!("CARGO_PKG_VERSION"),
        running.threads()
    );
    out.push_str(&format!("  data dir   {}\n", running.data_dir().display()));
    if let Some(key) = running.dev_key() {
        out.push_str(&format!("  API key    {key}\n             (admin of tenant `dev`; send it as `Authorization: Bearer <key>`; the same at every start on this data dir)\n"));
    }
    if running.endpoints().is_empty() {
        out.push_str("  serving the servers deployed in the data dir (`smcp deploy`; --dev hosts the examples)\n");
    } else {
        out.push_str("  MCP servers:\n");
        let width = running.endpoints().iter().map(|e| e.server.len()).max().unwrap_or(0);
        for endpoint in running.endpoints() {
            out.push_str(&format!("    {:width$}  {}\n", endpoint.server, endpoint.url(addr)));
        }
    }
    out.push_str(&format!("  admin API  http://{addr}/admin/v1/tenants/<tenant>/… (docs/admin-api.md)\n"));
    if let Some(metrics) = running.metrics_addr() {
        out.push_str(&format!("  metrics    http://{metrics}/metrics\n"));
    }
    out.push_str("  Ctrl-C stops the server\n");
    println!("{out}");
}
