//! The composition root: builds every subsystem from the operator's
//! settings, routes each request to the one that answers it (see
//! [`routes`]), and runs the periodic upkeep. It owns no subsystem's state.

mod checks;
mod routes;

pub use crate::admission::{AuthSettings, set_issuers};
pub use crate::guest::Hosted;
pub use crate::mcp::QuotaSettings;
pub use checks::split_joined_headers;

use crate::admission::{self, Gate};
use crate::audit::Recorder;
use crate::auth::rate::Limiter;
use crate::auth::tenants::Directory;
use crate::capabilities::Grant;
use crate::deploy::Deployments;
use crate::http::{Request, Response};
use crate::mcp::jsonrpc::BAD_REQUEST;
use crate::mcp::{Answer, Exchange, Protocol, ProtocolConfig, error};
use crate::metrics::Metrics;
use crate::names::TenantId;
use crate::oauth::AuthorizationServers;
use crate::platform::Backends;
use crate::runtime::Runtime;
use futures_channel::oneshot;
use routes::Route;
use std::sync::Arc;

/// Operator settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Accepted `Host` values (DNS-rebinding protection): `name` matches
    /// any port, `name:port` only that port.
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values when the header is present: scheme, host
    /// and port, exactly (`http://localhost` is port 80 only).
    pub allowed_origins: Vec<String>,
    /// Larger POST bodies get 413.
    pub max_body_bytes: usize,
    /// Legacy sessions expire after this long without use.
    pub session_ttl_seconds: u32,
    pub server_name: String,
    pub server_version: String,
    /// Key of the MAC that protects `requestState` handed to clients.
    pub state_key: [u8; 32],
    pub auth: AuthSettings,
    /// How long a served deployment is trusted before the registry is
    /// read again to see whether another process activated a different
    /// one. `None` when this process is the registry's only writer (the
    /// native server): its own activations update what it serves.
    pub deployment_recheck_ms: Option<u64>,
    /// The Sigstore trusted root keyless signatures are checked against;
    /// `None`: keyless bundles are refused.
    pub sigstore_root: Option<Arc<crate::signing::sigstore::TrustedRoot>>,
    /// Largest component upload accepted by the admin API (the whole
    /// request body).
    pub max_upload_bytes: usize,
    /// Fuel no call may exceed, whatever its grant says (the Worker sets
    /// it from its CPU limit); `None`: the grants decide.
    pub max_fuel: Option<u64>,
    /// How long one request may run a task's steps after its answer (see
    /// [`ProtocolConfig::task_slice_ms`]); `None`: until the task ends.
    pub task_slice_ms: Option<u64>,
    /// Bounds on what clients can make this process hold at once.
    pub quotas: QuotaSettings,
}

/// Which legacy session a request belongs to (see [`Engine::session_route`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRoute {
    /// A session this host made, by its id.
    Existing(String),
    /// `initialize`: a session to open, whose id the front end picks.
    New,
}

/// The host: every subsystem, composed.
pub struct Engine {
    pub runtime: Arc<Runtime>,
    pub config: EngineConfig,
    /// The MCP protocol: sessions, streams, subscriptions, dispatch.
    pub mcp: Arc<Protocol>,
    /// The audit trails' writer.
    pub audit: Arc<Recorder>,
    /// Per-server counters.
    pub metrics: Arc<Metrics>,
    /// Deploying, and the servers this process serves.
    pub deployments: Arc<Deployments>,
    /// The tenants' authorization servers.
    pub oauth: Arc<AuthorizationServers>,
    /// Which tenants exist.
    pub(crate) tenants: Arc<Directory>,
    /// Authentication, and what it remembers of callers.
    pub gate: Gate,
    /// Set by [`shutdown`](Self::shutdown): the next flush records every
    /// open count of refusals.
    closing: std::sync::atomic::AtomicBool,
}

impl Engine {
    pub fn new(runtime: Arc<Runtime>, config: EngineConfig) -> Engine {
        let (audit, metrics, rate) =
            (Arc::new(Recorder::default()), Arc::new(Metrics::default()), Arc::new(Limiter::default()));
        let protocol = ProtocolConfig {
            server_name: config.server_name.clone(),
            server_version: config.server_version.clone(),
            session_ttl_seconds: config.session_ttl_seconds,
            state_key: config.state_key,
            max_body_bytes: config.max_body_bytes,
            max_fuel: config.max_fuel,
            task_slice_ms: config.task_slice_ms,
            quotas: config.quotas,
            public_url: config.auth.public_url.clone(),
            allowed_origins: config.allowed_origins.clone(),
            rate: config.auth.rate,
        };
        let tenants = Arc::new(Directory::new(&config.auth.anonymous));
        let mcp = Arc::new(Protocol::new(protocol, runtime.clone(), audit.clone(), metrics.clone(), rate.clone()));
        let deployments = Arc::new(
            Deployments::new(runtime.clone(), audit.clone(), mcp.clone(), config.deployment_recheck_ms)
                .with_sigstore_root(config.sigstore_root.clone()),
        );
        let oauth = Arc::new(AuthorizationServers::new(
            config.auth.oauth,
            config.auth.public_url.clone(),
            config.state_key,
            rate.clone(),
            audit.clone(),
            tenants.clone(),
            deployments.clone(),
        ));
        let gate = Gate::new(config.auth.clone(), audit.clone(), oauth.clone());
        Engine { gate, mcp, deployments, oauth, runtime, config, audit, metrics, tenants, closing: Default::default() }
    }

    /// Queues `event` for `tenant`'s audit trail (see [`crate::audit::Recorder`]).
    pub fn record(&self, backends: Backends<'_>, tenant: &TenantId, event: crate::audit::Event) {
        self.audit.record(tenant, event, backends.clock.now_ms());
    }

    /// The engine's periodic work, which a front end runs on a timer (or
    /// after each request where it has none): writes the queued audit
    /// records and forgets expired sessions' subscriptions.
    pub async fn upkeep(&self, backends: Backends<'_>) -> Result<usize, crate::audit::AuditError> {
        self.mcp.subscriptions.forget_expired_sessions(backends.clock.now_ms());
        let written = self.flush_audit(backends).await?;
        // Retention and checkpoints each go on past a failure; the first is reported.
        let retained = self.retain_audit(backends).await;
        let signed = self.checkpoint_audit(backends, false).await;
        retained.and(signed).map(|_| written)
    }

    /// Every [`crate::audit::RETENTION_EVERY_MS`], prunes the trails this
    /// process writes to of records older than each tenant's retention (at
    /// most [`crate::audit::PRUNE_BATCH`] a trail a pass), and signs a
    /// checkpoint of each trail whose anchor moved, so that the kept chain
    /// is verifiable from a signed anchor.
    async fn retain_audit(&self, backends: Backends<'_>) -> Result<(), crate::audit::AuditError> {
        let now = backends.clock.now_ms();
        let mut failure = None;
        for tenant in self.audit.due_for_retention(now) {
            let settings = crate::deploy::records::settings(backends, &tenant).await;
            let retained = match settings {
                Ok(settings) => {
                    let max = crate::audit::PRUNE_BATCH;
                    let pass = crate::audit::Pruning { retention_ms: settings.audit_retention_ms(), now_ms: now, max };
                    match self.audit.prune(backends.kv, &tenant, pass).await {
                        Ok(0) => Ok(()),
                        Ok(_) => self.sign_checkpoint(backends, &tenant).await,
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(crate::audit::AuditError::Storage(e.to_string())),
            };
            if let Err(e) = retained {
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Signs a checkpoint of every trail this process moved since its last
    /// one, when [`crate::audit::checkpoint::EVERY_MS`] has passed or, with
    /// `now`, at once (a front end shutting down, after its last flush).
    /// Returns how many it signed; one trail's failure (its signing key
    /// unreadable) does not keep the others from being signed.
    pub async fn checkpoint_audit(&self, backends: Backends<'_>, now: bool) -> Result<usize, crate::audit::AuditError> {
        let due = self.audit.due_for_checkpoint(backends.clock.now_ms(), now);
        let (mut signed, mut failure) = (0, None);
        for tenant in &due {
            match self.sign_checkpoint(backends, tenant).await {
                Ok(()) => signed += 1,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(signed), Err)
    }

    async fn sign_checkpoint(&self, backends: Backends<'_>, tenant: &TenantId) -> Result<(), crate::audit::AuditError> {
        let issuer = crate::oauth::issuer(&self.config.auth.public_url, tenant);
        crate::oauth::signing_keys::checkpoint_audit(backends, tenant, &issuer)
            .await
            .map(drop)
            .map_err(|e| crate::audit::AuditError::Storage(format!("checkpoint of {tenant}: {e}")))
    }

    /// Writes the queued audit records, with the counts of refusals whose
    /// window closed (all of them when shutting down), and the API key uses
    /// noted since the last flush: bookkeeping a request does not wait for.
    pub async fn flush_audit(&self, backends: Backends<'_>) -> Result<usize, crate::audit::AuditError> {
        let now = backends.clock.now_ms();
        let closing = self.closing.load(std::sync::atomic::Ordering::Relaxed);
        self.gate.record_refusals(now, closing);
        self.gate.write_key_uses(backends.kv).await;
        self.audit.flush(backends.kv).await
    }

    /// Prometheus text for operators: every server's counters, and gauges
    /// of what clients make this process hold.
    pub fn prometheus(&self) -> String {
        let mut out = self.metrics.prometheus();
        let gauges = [
            (
                "smcp_session_subscribed_uris",
                "Resource URIs legacy sessions are subscribed to.",
                self.mcp.subscriptions.session_uri_count(),
            ),
            (
                "smcp_subscription_streams",
                "Open standalone and subscriptions/listen streams.",
                self.mcp.subscriptions.stream_count(),
            ),
        ];
        for (name, help, value) in gauges {
            out += &format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
        }
        out
    }

    /// Ends every long-lived stream (subscriptions), so that a front end
    /// shutting down is not held open by them.
    pub fn shutdown(&self) {
        self.mcp.subscriptions.close_all();
        self.closing.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Serves `hosted` at its endpoint, replacing any server already there
    /// (see [`Deployments::host`]).
    pub fn host(&self, hosted: Hosted) -> Result<(), crate::capabilities::NotGranted> {
        self.deployments.host(hosted)
    }

    /// What the admin and operator APIs work with.
    pub fn services(&self) -> crate::admin::Services<'_> {
        crate::admin::Services {
            gate: &self.gate,
            mcp: &self.mcp,
            deployments: &self.deployments,
            oauth: &self.oauth,
            audit: &self.audit,
            metrics: &self.metrics,
            tenants: &self.tenants,
            runtime: &self.runtime,
            max_upload_bytes: self.config.max_upload_bytes,
        }
    }

    /// The limits a call of `grant` runs under (see [`Protocol::limits_of`]).
    pub fn limits_of(&self, grant: &Grant) -> crate::runtime::Limits {
        self.mcp.limits_of(grant)
    }

    /// Answers one HTTP request with a complete response: notifications
    /// are collected into an SSE body, and tools that need input from a
    /// legacy client cannot ask for it. For tests and callers that cannot
    /// stream; front ends use [`handle_streaming`](Self::handle_streaming).
    /// Never panics on anything a client sends.
    pub async fn handle(&self, request: Request, backends: Backends<'_>) -> Response {
        let exchange = Exchange::buffered(&self.mcp, backends);
        let answer = self.answer(&request, backends, &exchange).await;
        // No front end ticks for a buffered caller: write the trail now.
        let _ = self.flush_audit(backends).await;
        match answer {
            Answer::Now(response) => self.mcp.with_cors(request.header("origin"), response),
            // A buffered exchange never streams.
            Answer::Streamed => error(500, BAD_REQUEST, "Internal error: unexpected stream"),
        }
    }

    /// Answers one HTTP request, sending the response head on `head` as
    /// soon as it is known: a JSON response at the end, or an SSE stream
    /// as soon as the first message precedes the answer, whose events
    /// follow as they happen. Resolves when the exchange is over; dropping
    /// the future abandons it (the stream then ends). Never panics on
    /// anything a client sends.
    pub async fn handle_streaming(&self, request: Request, backends: Backends<'_>, head: oneshot::Sender<Response>) {
        let origin = request.header("origin").map(str::to_owned);
        let exchange = Exchange::streaming(&self.mcp, backends, head, origin);
        if let Answer::Now(response) = self.answer(&request, backends, &exchange).await {
            exchange.send_head(response);
        }
    }

    async fn answer(&self, request: &Request, backends: Backends<'_>, exchange: &Exchange<'_>) -> Answer {
        let not_found = || error(404, BAD_REQUEST, "Not Found: no MCP server at this path");
        let route = routes::route(request);
        // Probes come from load balancers and orchestrators under any Host.
        if route == Route::Probe {
            return crate::admin::probe(request, backends).await.unwrap_or_else(not_found).into();
        }
        if let Some(refused) = checks::refuse(request, &self.config.allowed_hosts) {
            return refused.into();
        }
        // The authorization server checks origins itself: the login page
        // posts from this host's own origin, and clients in browsers call
        // the token endpoint from theirs.
        if route != Route::OAuth
            && let Some(origin) = request.header("origin")
            && !crate::http::origin_allowed(origin, &self.config.allowed_origins)
        {
            return error(403, BAD_REQUEST, "Forbidden: Origin not allowed").into();
        }
        let answered = match route {
            Route::OAuth => crate::oauth::handle(&self.oauth, request, backends).await,
            Route::ResourceMetadata => admission::metadata(&self.gate, backends, &request.path).await,
            Route::Admin => crate::admin::handle(self.services(), request, backends).await,
            Route::Operator => crate::admin::operator::handle(self.services(), request, backends).await,
            Route::Mcp { tenant, server } => return self.endpoint(request, backends, exchange, &tenant, server).await,
            Route::Probe | Route::Unknown => None,
        };
        answered.unwrap_or_else(not_found).into()
    }

    /// For a front end that routes each legacy session to one owner (the
    /// Worker's session objects): the session `request` belongs to, after
    /// the checks every request gets at the door (host, origin, tenant,
    /// credentials); `Ok(None)` for a request of no legacy session, which
    /// any engine serves. A new session (`initialize`) is
    /// [`SessionRoute::New`]: the front end picks its id and passes it on
    /// as [`Request::new_session_id`]. `Err` is the refusal to send.
    pub async fn session_route(
        &self,
        request: &Request,
        backends: Backends<'_>,
    ) -> Result<Option<SessionRoute>, Response> {
        let Route::Mcp { tenant, server } = routes::route(request) else { return Ok(None) };
        let session = match (request.method.as_str(), request.header("mcp-session-id")) {
            (_, Some(id)) if crate::mcp::is_session_id(id) => SessionRoute::Existing(id.to_owned()),
            // Not a session this host made: the engine answers it.
            (_, Some(_)) => return Ok(None),
            ("POST", None) if crate::mcp::opens_session(request) => SessionRoute::New,
            _ => return Ok(None),
        };
        if let Some(refused) = checks::refuse(request, &self.config.allowed_hosts) {
            return Err(refused);
        }
        if let Some(origin) = request.header("origin")
            && !crate::http::origin_allowed(origin, &self.config.allowed_origins)
        {
            return Err(error(403, BAD_REQUEST, "Forbidden: Origin not allowed"));
        }
        match self.tenants.exists(backends.kv, &tenant, backends.clock.now_ms()).await {
            Ok(true) => {}
            Ok(false) => return Err(error(404, BAD_REQUEST, "Not Found: no MCP server at this path")),
            Err(_) => return Err(error(503, BAD_REQUEST, "Service Unavailable: cannot check credentials now")),
        }
        let authenticated = admission::authenticate(&self.gate, backends, request, &tenant, server).await;
        if let Err(refusal) = admission::admit(&self.gate, backends, request, &tenant, Some(server), authenticated) {
            return Err(admission::refusal(&self.gate, backends, &tenant, server, &refusal).await);
        }
        Ok(Some(session))
    }

    /// A hosted server's MCP endpoint: the tenant must exist, the caller
    /// be let in and within its rate, the server be deployed.
    async fn endpoint(
        &self,
        request: &Request,
        backends: Backends<'_>,
        exchange: &Exchange<'_>,
        tenant: &TenantId,
        server: &str,
    ) -> Answer {
        if request.method == "OPTIONS" {
            return checks::preflight().into();
        }
        // Nothing is stored or computed for a tenant nobody created.
        match self.tenants.exists(backends.kv, tenant, backends.clock.now_ms()).await {
            Ok(true) => {}
            Ok(false) => return error(404, BAD_REQUEST, "Not Found: no MCP server at this path").into(),
            Err(_) => return error(503, BAD_REQUEST, "Service Unavailable: cannot check credentials now").into(),
        }
        if let Some(refused) = admission::turned_away(&self.gate, backends, request) {
            return refused.into();
        }
        // Credentials next: without them, nothing more about this tenant leaks.
        let authenticated = admission::authenticate(&self.gate, backends, request, tenant, server).await;
        let principal = match admission::admit(&self.gate, backends, request, tenant, Some(server), authenticated) {
            Ok(principal) => principal,
            Err(error) => return admission::refusal(&self.gate, backends, tenant, server, &error).await.into(),
        };
        let lookup = self.deployments.lookup(backends, tenant, server);
        let hosted = if self.mcp.rate_buckets_held(&principal) {
            if let Some(limited) = self.mcp.rate_limited(backends, &principal).await {
                return limited.into();
            }
            lookup.await
        } else {
            // The principal's first request here: its rate buckets come
            // from storage, and the deployment is looked up meanwhile (on a
            // new Worker isolate, two round trips at once). A principal
            // over its limit makes this lookup once per process, no more.
            let (limited, hosted) =
                futures_util::future::join(self.mcp.rate_limited(backends, &principal), lookup).await;
            if let Some(limited) = limited {
                return limited.into();
            }
            hosted
        };
        let hosted = match hosted {
            Ok(Some(hosted)) => hosted,
            Ok(None) => return error(404, BAD_REQUEST, "Not Found: no MCP server at this path").into(),
            Err(e) => {
                let scope =
                    crate::platform::Scope { tenant: tenant.into(), server: server.into(), request: String::new() };
                backends.log.write(
                    &scope,
                    crate::platform::LogLevel::Error,
                    &format!("host: loading the active deployment failed: {e}"),
                );
                return error(503, BAD_REQUEST, "Service Unavailable: the server could not be loaded").into();
            }
        };
        crate::mcp::serve(&self.mcp, request, &hosted, &principal, backends, exchange).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{AuthSettings, Engine, EngineConfig};

    /// An engine for unit tests: `localhost` only, fixed keys, no servers.
    pub(crate) fn engine() -> Engine {
        let runtime = std::sync::Arc::new(crate::runtime::Runtime::new(Default::default()).unwrap());
        let config = EngineConfig {
            allowed_hosts: vec!["localhost".into()],
            allowed_origins: vec![],
            max_body_bytes: 1 << 20,
            session_ttl_seconds: 600,
            server_name: "test".into(),
            server_version: "0".into(),
            state_key: [7; 32],
            deployment_recheck_ms: None,
            sigstore_root: None,
            max_upload_bytes: 1 << 20,
            max_fuel: None,
            task_slice_ms: None,
            quotas: Default::default(),
            auth: AuthSettings {
                key_hash_key: [3; 32],
                public_url: "http://localhost".into(),
                anonymous: vec![],
                rate: Default::default(),
                operator_key_hash: None,
                oauth: Default::default(),
                api_key_caching: Default::default(),
            },
        };
        Engine::new(runtime, config)
    }
}
