//! The HTTP front end: hyper 1 over tokio, on [`Config::threads`] serving
//! threads.
//!
//! The engine's futures are not `Send` (they borrow the backends), so each
//! serving thread runs a current-thread runtime inside a
//! [`tokio::task::LocalSet`], one local task per connection, and accepts
//! on a listening socket of its own bound to the same port (`SO_REUSEPORT`:
//! the kernel spreads connections over the threads). The threads share one
//! [`Engine`] and one [`Storage`]: sessions, deployments, rate limits, key
//! revocations and the audit trails' order are the same whichever thread a
//! request lands on. Blocking disk work of the stores goes to each
//! runtime's blocking pool.

use crate::backends::Storage;
use crate::dev::{DEV_TENANT, DevGuests};
use crate::wire::{BodyError, WireBody, core_request, plain, read_body, to_hyper};
use futures::FutureExt;
use futures::channel::oneshot;
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use smcp_core::auth::api_keys::KeyCaching;
use smcp_core::engine::{AuthSettings, Engine, EngineConfig};
use smcp_core::platform::faults::Faults;
use smcp_core::policy::address::{AddressPolicy, Opening};
use smcp_core::runtime::{Runtime, RuntimeLimits};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where `smcp serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// Largest request body accepted by default: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;
/// Largest admin API upload by default: a 16 MiB component (the
/// runtime's limit) plus its grant and the multipart framing.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = (32 << 20) + (256 << 10);
/// How long in-flight connections get to finish after a shutdown request.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Longest a request may take to answer or start streaming (guest calls,
/// storage, outbound HTTP); past it the client gets 504.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a streamed exchange may last, waiting on the client's answers
/// (a person filling in an elicitation) included.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long one request starts task steps after its answer: with a last
/// step of up to the grants' ceiling of 10 minutes of wall time, inside
/// [`EXCHANGE_TIMEOUT`], which a task's running time may pass.
const TASK_SLICE: Duration = Duration::from_secs(4 * 60);
/// A client has this long to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// … and this long to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle sessions of the legacy transport expire after this long.
const SESSION_TTL_SECONDS: u32 = 3600;

/// What [`serve`] runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Holds the stores (`kv.redb`, `objects/`) and `state.key`.
    pub data_dir: PathBuf,
    /// `Host` values accepted besides `localhost`, `127.0.0.1` and `[::1]`
    /// (any port); `name:port` pins a port.
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted besides this host's own (browser-based MCP
    /// clients), scheme, host and port exactly.
    pub allowed_origins: Vec<String>,
    /// Larger request bodies get 413 without reaching the engine.
    pub max_body_bytes: usize,
    /// Largest component upload (admin API request body).
    pub max_upload_bytes: usize,
    /// Where Prometheus metrics are served (`/metrics`), unauthenticated:
    /// an operator's private address; nowhere when `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// How long open connections may finish after shutdown is triggered.
    pub shutdown_grace: Duration,
    /// Guests to build and host under tenant `dev`; none when `None`.
    pub dev: Option<DevGuests>,
    /// The master keys that protect secrets, `id:base64[,…]` with the
    /// current one first (what `SMCP_MASTER_KEYS` holds).
    pub master_keys: Option<String>,
    /// The URL clients reach this host at (endpoint URLs and token
    /// audiences are built from it); `http://<listen address>` by default.
    pub public_url: Option<String>,
    /// `tenant/server` pairs anyone may use without credentials (local
    /// test fixtures only).
    pub anonymous: Vec<(String, String)>,
    /// Requests per principal and per tenant.
    pub rate_limits: smcp_core::auth::rate::RateLimits,
    /// Non-public addresses guests' outbound HTTP may reach anyway (local
    /// development and tests); none by default. Host configuration only:
    /// a tenant's grant can never open an address.
    pub open_addresses: Vec<Opening>,
    /// The blake3 hash (hex) of the operator key that opens the operator
    /// API; closed when `None` (`smcp operator-key` makes a key).
    pub operator_key_hash: Option<String>,
    /// The host's own OAuth authorization server (token lifetimes).
    pub oauth: smcp_core::oauth::OAuthSettings,
    /// Running calls per tenant and open sessions per principal.
    pub quotas: smcp_core::engine::QuotaSettings,
    /// How long a legacy (2025-era) session lasts after it opened.
    pub session_ttl_seconds: u32,
    /// Faults to inject behind the backends, armed and cleared by a test
    /// while the server runs; `None` in production.
    pub faults: Option<Arc<Faults>>,
    /// Serving threads, each with its own runtime and listening socket; at
    /// least one.
    pub threads: usize,
    /// Where to ship the audit trails as OpenTelemetry logs; nowhere when
    /// `None`.
    pub otlp_logs: Option<crate::audit_export::OtlpLogs>,
    /// The Sigstore trusted root keyless signatures are checked against.
    pub sigstore_root: Option<Arc<smcp_core::signing::sigstore::TrustedRoot>>,
}

/// One serving thread per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Config {
    /// Defaults: [`DEFAULT_LISTEN`], no extra hosts, 4 MiB bodies, 10 s
    /// grace, no dev guests, no non-public address opened.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            listen: DEFAULT_LISTEN.parse().expect("a valid default address"),
            data_dir: data_dir.into(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            metrics_listen: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            dev: None,
            master_keys: None,
            public_url: None,
            anonymous: Vec::new(),
            rate_limits: Default::default(),
            open_addresses: Vec::new(),
            operator_key_hash: None,
            threads: default_threads(),
            oauth: Default::default(),
            faults: None,
            quotas: Default::default(),
            session_ttl_seconds: SESSION_TTL_SECONDS,
            otlp_logs: None,
            sigstore_root: None,
        }
    }
}

/// One hosted MCP server's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tenant: String,
    pub server: String,
    /// `/t/{tenant}/s/{server}/mcp`.
    pub path: String,
}

impl Endpoint {
    pub fn url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}{}", self.path)
    }
}

/// Asks a running server to stop: it stops accepting at once and gives
/// open connections [`Config::shutdown_grace`] to finish. Cheap to clone,
/// usable from any thread.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Shutdown {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// A server started by [`serve`].
pub struct Running {
    addr: SocketAddr,
    threads: usize,
    metrics_addr: Option<SocketAddr>,
    endpoints: Vec<Endpoint>,
    dev_key: Option<String>,
    data_dir: PathBuf,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The address actually bound (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many threads serve requests.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Where Prometheus metrics are served, when they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Dev mode's admin API key for tenant `dev` (made at each start; the
    /// previous one is revoked).
    pub fn dev_key(&self) -> Option<&str> {
        self.dev_key.as_deref()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped (after a shutdown was triggered
    /// and the connections finished or the grace ran out).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.map_err(|e| anyhow::anyhow!("the server task failed: {e}"))
    }
}

/// Everything a request needs.
struct App {
    engine: Engine,
    storage: Storage,
    /// Faults injected behind the backends (tests only).
    faults: Option<Arc<Faults>>,
    max_body_bytes: usize,
    max_upload_bytes: usize,
    /// Requests each serving thread has answered (`/metrics`).
    served: Vec<AtomicU64>,
}

/// `threads` listening sockets bound to `at` (with its port, once the
/// first has picked one when `at`'s is 0) with `SO_REUSEPORT`, so that the
/// kernel spreads connections over the serving threads. Non-blocking, for
/// each thread's runtime to take.
fn reuse_port_listeners(at: SocketAddr, threads: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    // A port the kernel picked is free again between the plain bind below
    // and the group's: another process may take it there. Pick again.
    let attempts = if at.port() == 0 { 4 } else { 1 };
    let mut result = reuse_port_group(at, threads);
    for _ in 1..attempts {
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => result = reuse_port_group(at, threads),
            _ => break,
        }
    }
    result
}

/// One try of [`reuse_port_listeners`].
fn reuse_port_group(at: SocketAddr, threads: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    // A plain bind first: it fails while anything listens on the port, a
    // reuse-port group of another server included, which the group's own
    // binds would silently join.
    let at = std::net::TcpListener::bind(at)?.local_addr()?;
    let mut listeners: Vec<std::net::TcpListener> = Vec::with_capacity(threads);
    for _ in 0..threads {
        let bind = listeners.first().map_or(Ok(at), |first| first.local_addr())?;
        let socket = socket2::Socket::new(socket2::Domain::for_address(bind), socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&bind.into())?;
        socket.listen(1024)?;
        listeners.push(socket.into());
    }
    Ok(listeners)
}

/// Opens the data directory, builds and hosts the dev guests if asked,
/// binds, and starts accepting on a local task.
///
/// Must be called from within a [`tokio::task::LocalSet`] on a runtime with
/// IO and time enabled; [`spawn`] does that on a thread of its own.
pub async fn serve(config: Config) -> anyhow::Result<Running> {
    if !config.open_addresses.is_empty() {
        let opened: Vec<String> = config.open_addresses.iter().map(Opening::to_string).collect();
        tracing::warn!(?opened, "guests' outbound HTTP may reach these non-public addresses");
    }
    let outbound = AddressPolicy::with_openings(config.open_addresses.iter().copied());
    let master_keys = crate::master_keys::load(config.master_keys.as_deref(), &config.data_dir, config.dev.is_some())?;
    let storage = Storage::open(&config.data_dir, outbound, master_keys)?;
    let state_key = crate::state_key::load_or_create(&config.data_dir)?;
    let limits = RuntimeLimits {
        max_component_bytes: RuntimeLimits::component_bytes_for_upload(config.max_upload_bytes),
        ..RuntimeLimits::default()
    };
    let runtime = Arc::new(Runtime::new(limits).map_err(|e| anyhow::anyhow!("host world: {e}"))?);

    // Bind before the (possibly long) guest build so a taken port fails fast;
    // connections wait in the backlog until the accept loop starts.
    let threads = config.threads.max(1);
    let mut listeners = reuse_port_listeners(config.listen, threads)
        .map_err(|e| anyhow::anyhow!("listening on {}: {e}", config.listen))?;
    let addr = listeners[0].local_addr()?;

    let engine = Engine::new(runtime.clone(), engine_config(&config, addr, state_key));
    let mut endpoints = Vec::new();
    let mut dev_key = None;
    match &config.dev {
        // No guests: `smcp dev`, which deploys its project through the
        // admin API with the dev key.
        Some(dev) if dev.names.is_empty() => {}
        Some(dev) => {
            let (builder, data_dir) = (dev.clone(), config.data_dir.clone());
            tracing::info!(guests = ?dev.names, "dev mode: building guests");
            let started = Instant::now();
            let built = tokio::task::spawn_blocking(move || builder.build(&data_dir)).await??;
            tracing::info!(seconds = started.elapsed().as_secs_f32(), "dev mode: guests built");
            for (name, bytes) in built {
                crate::dev::deploy(&engine, &storage, &name, bytes, dev.grant(&name)?).await?;
                endpoints.push(Endpoint {
                    tenant: DEV_TENANT.into(),
                    path: smcp_core::names::endpoint(DEV_TENANT, &name),
                    server: name,
                });
            }
        }
        None => {
            tracing::info!("serving the deployed servers (deploy with `smcp deploy`; --dev hosts the example guests)")
        }
    }
    if config.dev.is_some() {
        dev_key = Some(crate::dev::admin_key(&storage, &engine.config.auth.key_hash_key).await?);
    }
    for (tenant, server) in &config.anonymous {
        tracing::warn!(tenant, server, "anyone may use this server without credentials");
    }

    let app = Arc::new(App {
        engine,
        storage,
        faults: config.faults.clone(),
        max_body_bytes: config.max_body_bytes,
        max_upload_bytes: config.max_upload_bytes,
        served: (0..threads).map(|_| AtomicU64::new(0)).collect(),
    });
    let (tx, rx) = watch::channel(false);
    tokio::task::spawn_local(upkeep_every(app.clone(), rx.clone()));
    if let Some(target) = config.otlp_logs.clone() {
        tracing::info!(endpoint = %target.shown_endpoint(), "exporting the audit trails as OpenTelemetry logs");
        let (app, rx) = (app.clone(), rx.clone());
        tokio::task::spawn_local(async move {
            crate::audit_export::ship_until_stopped(target, &app.engine, || app.storage.backends(), rx).await;
        });
    }
    let metrics_addr = match config.metrics_listen {
        Some(at) => {
            let listener = TcpListener::bind(at).await.map_err(|e| anyhow::anyhow!("metrics listener on {at}: {e}"))?;
            let bound = listener.local_addr()?;
            tokio::task::spawn_local(serve_metrics(listener, app.clone(), rx.clone()));
            Some(bound)
        }
        None => None,
    };
    // Threads 1.. run their own runtimes; this one is thread 0, which also
    // runs the upkeep and, once every thread has stopped, the last flush.
    let own = listeners.remove(0);
    let mut others = Vec::new();
    for (index, listener) in listeners.into_iter().enumerate() {
        let (app, rx, grace) = (app.clone(), rx.clone(), config.shutdown_grace);
        let (done_tx, done_rx) = oneshot::channel::<()>();
        std::thread::Builder::new().name(format!("smcp-serve-{}", index + 1)).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => return tracing::error!(error = %e, "a serving thread could not start its runtime"),
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, app, index + 1, rx, grace).await,
                    Err(e) => tracing::error!(error = %e, "a serving thread could not listen"),
                }
            });
            let _ = done_tx.send(());
        })?;
        others.push(done_rx);
    }
    let own = TcpListener::from_std(own)?;
    let grace = config.shutdown_grace;
    let task = tokio::task::spawn_local(async move {
        accept_loop(own, app.clone(), 0, rx, grace).await;
        for other in others {
            let _ = other.await;
        }
        // What the requests that just finished recorded, on every thread.
        if let Err(e) = app.engine.flush_audit(app.storage.backends()).await {
            tracing::error!(error = %e, "writing the last audit records failed");
        }
        // …and the trails' heads as they stand, signed.
        if let Err(e) = app.engine.checkpoint_audit(app.storage.backends(), true).await {
            tracing::error!(error = %e, "signing the audit checkpoints failed");
        }
    });
    tracing::info!(%addr, threads, data_dir = %config.data_dir.display(), "listening");
    Ok(Running {
        addr,
        threads,
        metrics_addr,
        endpoints,
        dev_key,
        data_dir: config.data_dir,
        shutdown: Shutdown(Arc::new(tx)),
        task,
    })
}

/// The engine's settings: loopback names (any port) and `config`'s
/// extra hosts, this host's own origins and `config`'s, limits, `state_key`, and
/// authentication (API keys hashed with a key derived from `state_key`).
pub fn engine_config(config: &Config, addr: SocketAddr, state_key: [u8; 32]) -> EngineConfig {
    let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"].map(String::from).to_vec();
    allowed_hosts.extend(config.allowed_hosts.iter().cloned());
    // Origins match with their port: this host's own pages (the sign-in
    // page), and what the operator adds for browser clients.
    let mut allowed_origins: Vec<String> =
        ["localhost", "127.0.0.1", "[::1]"].iter().map(|h| format!("http://{h}:{}", addr.port())).collect();
    if let Some(public) = config.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
        allowed_origins.push(public.origin().ascii_serialization());
    }
    allowed_origins.extend(config.allowed_origins.iter().cloned());
    EngineConfig {
        allowed_hosts,
        allowed_origins,
        max_body_bytes: config.max_body_bytes,
        session_ttl_seconds: config.session_ttl_seconds,
        server_name: "smcp".into(),
        server_version: env!("CARGO_PKG_VERSION").into(),
        state_key,
        deployment_recheck_ms: None,
        sigstore_root: config.sigstore_root.clone(),
        max_upload_bytes: config.max_upload_bytes,
        max_fuel: None,
        // A request's exchange ends at EXCHANGE_TIMEOUT: a task that runs
        // longer waits after this, working, for its next `tasks/get`.
        task_slice_ms: Some(TASK_SLICE.as_millis() as u64),
        quotas: config.quotas,
        auth: AuthSettings {
            key_hash_key: crate::state_key::hash_key_of(&state_key),
            public_url: config.public_url.clone().unwrap_or_else(|| format!("http://{addr}")),
            anonymous: config.anonymous.clone(),
            rate: config.rate_limits,
            operator_key_hash: config.operator_key_hash.clone(),
            oauth: config.oauth,
            // This process holds the data directory's lock: every key
            // write goes through its engine (or through the CLI, with the
            // server stopped).
            api_key_caching: KeyCaching::UntilWritten,
        },
    }
}

/// How often the engine's upkeep runs (queued audit records written).
const UPKEEP: Duration = Duration::from_millis(25);

/// Runs the engine's upkeep every [`UPKEEP`] until shutdown (the accept
/// loop writes the last audit records).
async fn upkeep_every(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(UPKEEP) => {}
        }
        if let Err(e) = app.engine.upkeep(app.storage.backends()).await {
            tracing::error!(error = %e, "writing audit records failed");
        }
    }
}

/// Serves `GET /metrics` (Prometheus text) on the operator's listener
/// until shutdown.
async fn serve_metrics(listener: TcpListener, app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let response = match (request.method().as_str(), request.uri().path()) {
                ("GET", "/metrics") => {
                    let mut text = app.engine.prometheus();
                    text.push_str("# HELP smcp_thread_requests_total Requests answered by each serving thread.\n");
                    text.push_str("# TYPE smcp_thread_requests_total counter\n");
                    for (thread, served) in app.served.iter().enumerate() {
                        let served = served.load(Ordering::Relaxed);
                        text.push_str(&format!("smcp_thread_requests_total{{thread=\"{thread}\"}} {served}\n"));
                    }
                    let mut response = plain(StatusCode::OK, text);
                    response
                        .headers_mut()
                        .insert("content-type", hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"));
                    response
                }
                _ => plain(StatusCode::NOT_FOUND, "only GET /metrics is served here\n".into()),
            };
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::task::spawn_local(http.serve_connection(TokioIo::new(stream), service));
    }
}

/// Serving thread `thread`'s loop: accepts until shutdown, then gives its
/// open connections `grace` to finish.
async fn accept_loop(
    listener: TcpListener,
    app: Arc<App>,
    thread: usize,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true).timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| handle(app.clone(), request, peer, thread));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Subscription streams never end on their own (the engine is shared:
    // every thread's call ends them all, once is enough).
    app.engine.shutdown();
    let open = graceful.count();
    tracing::info!(thread, open_connections = open, "shutting down: no longer accepting");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(thread, "all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!(thread, grace_seconds = grace.as_secs(), "connections still open after the grace period; closing them"),
    }
}

/// Serves one request and logs it: method, path (never the query), status
/// and duration. Bodies and headers are never logged.
async fn handle(
    app: Arc<App>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
    thread: usize,
) -> Result<hyper::Response<WireBody>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    // Paths are the client's: logged up to a length.
    let path: String = request.uri().path().chars().take(256).collect();
    let response = respond(&app, request, peer).await;
    app.served[thread].fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        target: "smcp::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    Ok(response)
}

async fn respond(app: &Arc<App>, request: hyper::Request<Incoming>, peer: SocketAddr) -> hyper::Response<WireBody> {
    let (parts, body) = request.into_parts();
    // Only component uploads may be larger than MCP messages.
    let limit = if parts.uri.path().starts_with("/admin/") { app.max_upload_bytes } else { app.max_body_bytes };
    let body = match tokio::time::timeout(BODY_TIMEOUT, read_body(&parts.headers, body, limit)).await {
        Ok(Ok(body)) => body,
        Ok(Err(BodyError::TooLarge)) if parts.uri.path().starts_with("/admin/") => {
            let refused = smcp_core::admin::ApiError::new(
                413,
                "too_large",
                format!("uploads are limited to {limit} bytes (--max-upload-bytes)"),
            );
            return to_hyper(refused.response());
        }
        Ok(Err(BodyError::TooLarge)) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, format!("request body larger than {limit} bytes\n"));
        }
        Ok(Err(BodyError::Broken)) => return plain(StatusCode::BAD_REQUEST, "request body could not be read\n".into()),
        Err(_) => return plain(StatusCode::REQUEST_TIMEOUT, "request body took too long\n".into()),
    };
    let request = core_request(&parts, body, Some(peer.ip().to_string()));
    // The exchange runs on a task of its own: a streamed response's events
    // keep coming after the head has been returned to hyper.
    let (head_tx, head_rx) = oneshot::channel();
    let exchange_app = app.clone();
    let exchange = tokio::task::spawn_local(async move {
        let app = exchange_app;
        // Boxed where it is made: the engine's future is several KiB, and
        // each wrapper below would otherwise copy it again.
        let work = Box::pin(async {
            match &app.faults {
                None => app.engine.handle_streaming(request, app.storage.backends(), head_tx).await,
                Some(faults) => {
                    let faulty = faults.wrap(app.storage.backends());
                    app.engine.handle_streaming(request, faulty.backends(), head_tx).await
                }
            }
        });
        // Fuel bounds a guest's computing; this bounds the whole exchange,
        // including the storage and network calls and client answers it
        // waits on.
        let work = tokio::time::timeout(EXCHANGE_TIMEOUT, AssertUnwindSafe(work).catch_unwind());
        match work.await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => tracing::error!("the engine panicked on a request"),
            Err(_) => tracing::warn!(timeout_s = EXCHANGE_TIMEOUT.as_secs(), "a streamed exchange timed out"),
        }
    });
    match tokio::time::timeout(REQUEST_TIMEOUT, head_rx).await {
        Ok(Ok(response)) => to_hyper(response),
        // The exchange ended without a response: it panicked.
        Ok(Err(_)) => plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into()),
        Err(_) => {
            exchange.abort();
            tracing::warn!(timeout_s = REQUEST_TIMEOUT.as_secs(), "request timed out");
            plain(StatusCode::GATEWAY_TIMEOUT, "the request took too long\n".into())
        }
    }
}

/// A server running on a thread of its own (its own runtime and
/// `LocalSet`): for tests and embedding.
pub struct Background {
    pub addr: SocketAddr,
    pub endpoints: Vec<Endpoint>,
    /// See [`Running::dev_key`].
    pub dev_key: Option<String>,
    /// See [`Running::metrics_addr`].
    pub metrics_addr: Option<SocketAddr>,
    pub shutdown: Shutdown,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Triggers shutdown and waits for the server's thread to end.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.shutdown.trigger();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Runs [`serve`] on a new thread and returns once it is accepting (or
/// failed to start).
pub fn spawn(config: Config) -> anyhow::Result<Background> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name("smcp-server".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready_tx.send(Err(anyhow::Error::from(e)));
                return;
            }
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            match serve(config).await {
                Ok(running) => {
                    let ready = (
                        running.addr,
                        running.endpoints.clone(),
                        running.dev_key.clone(),
                        running.metrics_addr,
                        running.shutdown_handle(),
                    );
                    let _ = ready_tx.send(Ok(ready));
                    if let Err(e) = running.wait().await {
                        tracing::error!(error = %e, "server stopped with an error");
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
    })?;
    match ready_rx.recv() {
        Ok(Ok((addr, endpoints, dev_key, metrics_addr, shutdown))) => {
            Ok(Background { addr, endpoints, dev_key, metrics_addr, shutdown, thread: Some(thread) })
        }
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(anyhow::anyhow!("the server thread ended before it was ready"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_settings() {
        let mut config = Config::new("/nowhere");
        config.allowed_hosts.push("mcp.example.test".into());
        config.max_body_bytes = 1234;
        config.public_url = Some("https://mcp.example.test/".into());
        config.allowed_origins.push("http://localhost:6274".into());
        let engine = engine_config(&config, "127.0.0.1:8787".parse().unwrap(), [7; 32]);
        assert_eq!(engine.allowed_hosts, ["localhost", "127.0.0.1", "[::1]", "mcp.example.test"]);
        let origins = [
            "http://localhost:8787",
            "http://127.0.0.1:8787",
            "http://[::1]:8787",
            "https://mcp.example.test",
            "http://localhost:6274",
        ];
        assert_eq!(engine.allowed_origins, origins);
        assert_eq!((engine.max_body_bytes, engine.session_ttl_seconds), (1234, 3600));
        assert_eq!((engine.server_name.as_str(), engine.server_version.as_str()), ("smcp", env!("CARGO_PKG_VERSION")));
        assert_eq!(engine.state_key, [7; 32]);
    }
}
