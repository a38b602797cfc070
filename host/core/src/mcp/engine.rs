//! The engine: HTTP-level checks (Host, Origin, CORS, methods, sizes,
//! content types), routing to the hosted server, and the era split.

use super::dispatch::{Call, LOG_LEVELS, RpcFailure};
use super::exchange::{Answer, Exchange};
use super::jsonrpc::{self, BAD_REQUEST, error_response, result_response};
use super::streams::Streams;
use super::subscriptions::{Change, Subscriptions};
use super::{current, legacy};
use crate::auth::Principal;
use crate::capabilities::ListKind;
use crate::capabilities::grant::NotGranted;
use crate::capabilities::{Backends, Grant};
use crate::http::{Body, Request, Response};
use crate::runtime::Runtime;
pub use crate::server::Hosted;
use futures_channel::oneshot;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
    pub auth: super::auth::AuthSettings,
    /// How long a served deployment is trusted before the registry is
    /// read again to see whether another process activated a different
    /// one. `None` when this process is the registry's only writer (the
    /// native server): its own activations update what it serves.
    pub deployment_recheck_ms: Option<u64>,
    /// Largest component upload accepted by the admin API (the whole
    /// request body).
    pub max_upload_bytes: usize,
    /// Fuel no call may exceed, whatever its grant says (the Worker sets
    /// it from its CPU limit); `None`: the grants decide.
    pub max_fuel: Option<u64>,
    /// Bounds on what clients can make this process hold at once.
    pub quotas: QuotaSettings,
}

/// Bounds on what clients can make one process hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Guest calls one tenant may have running at once; each holds an
    /// instance and up to its grant's memory. More get 429.
    pub calls_per_tenant: u32,
    /// Legacy sessions one principal may hold open (until DELETE or
    /// expiry). More get 429.
    pub sessions_per_principal: u32,
}

impl Default for QuotaSettings {
    fn default() -> QuotaSettings {
        QuotaSettings { calls_per_tenant: 64, sessions_per_principal: 1000 }
    }
}

/// A server as this process serves it.
#[derive(Clone)]
struct Served {
    /// Shared with the requests using it: a request keeps its version.
    hosted: Arc<Hosted>,
    /// The deployment it comes from; `None` when hosted directly with
    /// [`Engine::host`] (tests, embedding), which the registry never
    /// overrides.
    deployment: Option<String>,
    /// When the registry last confirmed it (ms).
    checked_ms: u64,
    /// When a request last used it (ms), for evicting the least used.
    used_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Served {
    fn new(hosted: Arc<Hosted>, deployment: Option<String>, checked_ms: u64) -> Served {
        Served { hosted, deployment, checked_ms, used_ms: Arc::new(checked_ms.into()) }
    }

    /// What its compiled component is counted as weighing in memory.
    fn weight(&self) -> usize {
        self.hosted.component.prepared.core_module.len().saturating_mul(3)
    }
}

/// An audit event waiting to be written: its tenant, and when it happened (ms).
type QueuedEvent = (String, crate::audit::Event, u64);

/// MCP over Streamable HTTP for every hosted server.
pub struct Engine {
    pub runtime: Arc<Runtime>,
    pub config: EngineConfig,
    servers: RwLock<HashMap<(String, String), Served>>,
    /// Legacy sessions' streams, pending client requests and requests in flight.
    pub(crate) streams: Streams,
    /// Clients listening for list and resource changes.
    pub(crate) subscriptions: Subscriptions,
    /// What each component's tools declare (read-only, mirrored headers).
    pub(crate) tool_facts: std::sync::Mutex<HashMap<crate::component::Digest, Arc<super::params::ToolFacts>>>,
    /// The audit trails' writer; the lock serializes appends in this
    /// process (a chain has one writer).
    audit: futures_util::lock::Mutex<crate::audit::Trails>,
    audit_queue: std::sync::Mutex<Vec<QueuedEvent>>,
    /// Rate-limit buckets of this process.
    pub(crate) rate: futures_util::lock::Mutex<crate::auth::rate::Buckets>,
    /// When each issuer key set was last fetched (ms), by URI.
    pub(crate) jwks_refreshed: std::sync::Mutex<HashMap<String, u64>>,
    /// Per-server counters.
    pub metrics: crate::metrics::Metrics,
    /// Serializes this process's changes to the deployment registry
    /// (read-modify-write of server records).
    pub(crate) deploy_lock: futures_util::lock::Mutex<()>,
    /// Serializes this process's redemptions of codes and refresh tokens.
    pub(crate) oauth_lock: futures_util::lock::Mutex<()>,
    /// Running calls per tenant, open sessions per principal.
    pub(crate) quotas: super::quotas::Quotas,
    /// When this process last noted each API key's use.
    pub(crate) key_uses: std::sync::Mutex<crate::auth::api_keys::UseNotes>,
    /// Which tenants exist, as last looked up.
    pub(crate) tenants: std::sync::Mutex<crate::auth::tenants::TenantCache>,
    /// Refused requests, counted for the audit trail.
    pub(crate) refusals: super::refusals::Refusals,
    /// Refused requests per client address.
    pub(crate) client_refusals: super::refusals::ClientRefusals,
    /// Set by [`shutdown`](Self::shutdown): the next flush records every
    /// open count of refusals.
    closing: std::sync::atomic::AtomicBool,
}

const ALLOW_HEADERS: &str = "content-type, accept, authorization, x-api-key, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id";
/// Headers a request may carry once at most.
const SINGLE_HEADERS: [&str; 8] = [
    "host",
    "authorization",
    "x-api-key",
    "mcp-session-id",
    "mcp-protocol-version",
    "origin",
    "content-type",
    "last-event-id",
];
/// Of [`SINGLE_HEADERS`], those whose values never hold a comma.
const COMMA_FREE_SINGLE_HEADERS: [&str; 7] =
    ["host", "authorization", "x-api-key", "mcp-session-id", "mcp-protocol-version", "origin", "last-event-id"];

/// Splits the values of headers that may appear once, joined with `,`
/// back into one header each. A platform whose request API joins repeated
/// headers (the Fetch standard's `Headers`, so the Worker's) calls this so
/// that two credentials or session ids are refused there as they are on
/// the native host, instead of being read as one odd value.
pub fn split_joined_headers(headers: &mut Vec<(String, String)>) {
    let joined = |name: &str, value: &str| COMMA_FREE_SINGLE_HEADERS.contains(&name) && value.contains(',');
    if !headers.iter().any(|(name, value)| joined(name, value)) {
        return;
    }
    let mut split = Vec::with_capacity(headers.len() + 1);
    for (name, value) in std::mem::take(headers) {
        if joined(&name, &value) {
            split.extend(value.split(',').map(|part| (name.clone(), part.trim().to_owned())));
        } else {
            split.push((name, value));
        }
    }
    *headers = split;
}

/// GET serves legacy sessions only.
const ALLOWED_METHODS: &str = "POST, GET, DELETE, OPTIONS";
const EXPOSE_HEADERS: &str = "mcp-session-id, mcp-protocol-version, www-authenticate";

impl Engine {
    pub fn new(runtime: Arc<Runtime>, config: EngineConfig) -> Engine {
        Engine {
            runtime,
            config,
            servers: RwLock::default(),
            streams: Streams::default(),
            subscriptions: Subscriptions::default(),
            tool_facts: Default::default(),
            audit: Default::default(),
            audit_queue: Default::default(),
            rate: Default::default(),
            jwks_refreshed: Default::default(),
            metrics: Default::default(),
            deploy_lock: Default::default(),
            oauth_lock: Default::default(),
            quotas: Default::default(),
            key_uses: Default::default(),
            tenants: Default::default(),
            refusals: Default::default(),
            client_refusals: Default::default(),
            closing: Default::default(),
        }
    }

    /// Serves `hosted` at `/t/{tenant}/s/{server}/mcp`, replacing any
    /// server already there. Refused when the component imports a
    /// capability its grant does not give.
    pub fn host(&self, hosted: Hosted) -> Result<(), NotGranted> {
        self.serve(Served::new(Arc::new(hosted), None, 0))
    }

    /// Serves deployment `id` (see [`crate::deploy`]): requests that
    /// already started keep the version they started with.
    pub(crate) fn serve_deployment(&self, hosted: Hosted, id: &str, now_ms: u64) -> Result<(), NotGranted> {
        self.serve(Served::new(Arc::new(hosted), Some(id.to_owned()), now_ms))
    }

    fn serve(&self, served: Served) -> Result<(), NotGranted> {
        let hosted = &served.hosted;
        hosted.grant.check_imports(&hosted.component.prepared.imports)?;
        let key = (hosted.tenant.clone(), hosted.server.clone());
        let budget = self.runtime.limits().module_cache_bytes;
        let replaced = match self.servers.write() {
            Ok(mut servers) => {
                let replaced = servers.insert(key.clone(), served).is_some();
                evict_least_used(&mut servers, &key, budget);
                replaced
            }
            Err(_) => false,
        };
        // A new component may list anything: every list may have changed.
        if replaced {
            for kind in [ListKind::Tools, ListKind::Prompts, ListKind::Resources] {
                self.subscriptions.publish(&key, &Change::List(kind));
            }
        }
        Ok(())
    }

    /// Appends `event` to `tenant`'s audit trail. Best effort: a failed
    /// append does not fail the request it records.
    /// Queued in memory and written by [`flush_audit`](Self::flush_audit),
    /// which front ends call every few tens of milliseconds (and at
    /// shutdown): one write for many records keeps tool calls fast.
    pub fn audit(&self, backends: Backends<'_>, tenant: &str, event: crate::audit::Event) {
        if let Ok(mut queue) = self.audit_queue.lock() {
            queue.push((tenant.to_owned(), event, backends.clock.now_ms()));
        }
    }

    /// Writes the queued audit events; what fails stays lost (and the error
    /// is returned for the front end to log).
    /// The engine's periodic work, which a front end runs on a timer (or
    /// after each request where it has none): writes the queued audit
    /// records and forgets expired sessions' subscriptions.
    pub async fn upkeep(&self, backends: Backends<'_>) -> Result<usize, crate::audit::AuditError> {
        self.subscriptions.forget_expired_sessions(backends.clock.now_ms());
        self.flush_audit(backends).await
    }

    pub async fn flush_audit(&self, backends: Backends<'_>) -> Result<usize, crate::audit::AuditError> {
        let mut trails = self.audit.lock().await;
        let now = backends.clock.now_ms();
        let closing = self.closing.load(std::sync::atomic::Ordering::Relaxed);
        for (tenant, event) in self.refusals.closed(now, closing) {
            self.audit(backends, &tenant, event);
        }
        let events = self.audit_queue.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default();
        // One write per tenant, so that one trail's failure loses only its
        // own events.
        let mut by_tenant: Vec<(String, Vec<QueuedEvent>)> = Vec::new();
        for event in events {
            match by_tenant.iter_mut().find(|(tenant, _)| *tenant == event.0) {
                Some((_, group)) => group.push(event),
                None => by_tenant.push((event.0.clone(), vec![event])),
            }
        }
        let (mut written, mut failure) = (0, None);
        for (_, group) in by_tenant {
            // A refused write means another writer moved the trail on (a
            // Worker's other isolates; the store refuses to overwrite a
            // record): the heads were reloaded, so one retry appends after it.
            let result = match trails.append_all(backends.kv, group.clone()).await {
                Err(_) => trails.append_all(backends.kv, group).await,
                ok => ok,
            };
            match result {
                Ok(records) => written += records.len(),
                Err(e) => failure = Some(e),
            }
        }
        failure.map_or(Ok(written), Err)
    }

    /// Prometheus text for operators: every server's counters, and gauges
    /// of what clients make this process hold.
    pub fn prometheus(&self) -> String {
        let mut out = self.metrics.prometheus();
        let gauges = [
            (
                "smcp_session_subscribed_uris",
                "Resource URIs legacy sessions are subscribed to.",
                self.subscriptions.session_uri_count(),
            ),
            (
                "smcp_subscription_streams",
                "Open standalone and subscriptions/listen streams.",
                self.subscriptions.stream_count(),
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
        self.subscriptions.close_all();
        self.closing.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// True when `tenant` exists (has an API key or a token issuer, or is
    /// served to anonymous callers); looked up before any authentication
    /// work, so that requests naming other tenants store nothing.
    pub(crate) async fn tenant_exists(
        &self,
        backends: Backends<'_>,
        tenant: &str,
    ) -> Result<bool, crate::auth::AuthError> {
        if self.config.auth.anonymous.iter().any(|(t, _)| t == tenant) {
            return Ok(true);
        }
        crate::auth::tenants::exists(&self.tenants, backends.kv, tenant, backends.clock.now_ms()).await
    }

    /// Remembers that `tenant` exists (it was just given a key or an issuer).
    pub(crate) fn tenant_created(&self, tenant: &str) {
        if let Ok(mut tenants) = self.tenants.lock() {
            tenants.created(tenant);
        }
    }

    /// The limits a call of `grant` runs under: the grant's, with fuel
    /// capped at [`EngineConfig::max_fuel`].
    pub fn limits_of(&self, grant: &Grant) -> crate::runtime::Limits {
        let mut limits = grant.limits;
        if let Some(max) = self.config.max_fuel {
            limits.fuel = limits.fuel.min(max);
        }
        limits
    }

    /// Stops serving `server` (deleted).
    pub(crate) fn unhost(&self, tenant: &str, server: &str) {
        if let Ok(mut servers) = self.servers.write() {
            servers.remove(&(tenant.to_owned(), server.to_owned()));
        }
    }

    fn cached(&self, tenant: &str, server: &str) -> Option<Served> {
        self.servers.read().ok()?.get(&(tenant.to_owned(), server.to_owned())).cloned()
    }

    /// The server at `tenant`/`server` as it is to serve this request:
    /// what this process serves, or the registry's active deployment when
    /// it serves nothing there yet (or, with
    /// [`EngineConfig::deployment_recheck_ms`], when what it serves may
    /// be stale).
    pub(crate) async fn lookup(
        &self,
        backends: Backends<'_>,
        tenant: &str,
        server: &str,
    ) -> Result<Option<Arc<Hosted>>, crate::deploy::DeployError> {
        let now = backends.clock.now_ms();
        let cached = self.cached(tenant, server);
        if let Some(Served { hosted, deployment, checked_ms, used_ms }) = &cached {
            used_ms.store(now, std::sync::atomic::Ordering::Relaxed);
            let fresh = match (deployment, self.config.deployment_recheck_ms) {
                (None, _) | (Some(_), None) => true,
                (Some(_), Some(window)) => now.saturating_sub(*checked_ms) < window,
            };
            if fresh {
                return Ok(Some(hosted.clone()));
            }
            // Still the same deployment: trust it for another window.
            let active = crate::deploy::records::server(backends, tenant, server).await?.and_then(|r| r.active);
            if active.is_some() && active == *deployment {
                self.renew(tenant, server, deployment, now);
                return Ok(Some(hosted.clone()));
            }
        }
        match crate::deploy::load_active(self, backends, tenant, server).await? {
            Some((hosted, id)) => {
                let hosted = Arc::new(hosted);
                let _ = self.serve(Served::new(hosted.clone(), Some(id), now));
                Ok(Some(hosted))
            }
            None => {
                if cached.is_some_and(|c| c.deployment.is_some()) {
                    self.unhost(tenant, server);
                }
                Ok(None)
            }
        }
    }

    /// Marks what is served at `tenant`/`server` as confirmed at `now_ms`,
    /// if it is still `deployment` (nothing else changes, nobody is told).
    fn renew(&self, tenant: &str, server: &str, deployment: &Option<String>, now_ms: u64) {
        if let Ok(mut servers) = self.servers.write()
            && let Some(served) = servers.get_mut(&(tenant.to_owned(), server.to_owned()))
            && served.deployment == *deployment
        {
            served.checked_ms = now_ms;
        }
    }

    /// Answers one HTTP request with a complete response: notifications
    /// are collected into an SSE body, and tools that need input from a
    /// legacy client cannot ask for it. For tests and callers that cannot
    /// stream; front ends use [`handle_streaming`](Self::handle_streaming).
    /// Never panics on anything a client sends.
    pub async fn handle(&self, request: Request, backends: Backends<'_>) -> Response {
        let exchange = Exchange::buffered(self, backends);
        let answer = self.answer(&request, backends, &exchange).await;
        // No front end ticks for a buffered caller: write the trail now.
        let _ = self.flush_audit(backends).await;
        match answer {
            Answer::Now(response) => self.with_cors(&request, response),
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
        let exchange = Exchange::streaming(self, backends, head, origin);
        if let Answer::Now(response) = self.answer(&request, backends, &exchange).await {
            exchange.send_head(response);
        }
    }

    fn with_cors(&self, request: &Request, response: Response) -> Response {
        self.with_cors_from(request.header("origin"), response)
    }

    /// CORS on every answer, errors included, for allowed origins only.
    pub(crate) fn with_cors_from(&self, origin: Option<&str>, mut response: Response) -> Response {
        // A response with CORS headers of its own (the authorization
        // server's, open to every origin) keeps them.
        if response.headers.iter().any(|(name, _)| name == "access-control-allow-origin") {
            return response;
        }
        if let Some(origin) = origin.filter(|o| origin_allowed(o, &self.config.allowed_origins)) {
            response.headers.push(("access-control-allow-origin".into(), origin.to_owned()));
            response.headers.push(("access-control-expose-headers".into(), EXPOSE_HEADERS.into()));
            response.headers.push(("vary".into(), "origin".into()));
        }
        response
    }

    async fn answer(&self, request: &Request, backends: Backends<'_>, exchange: &Exchange<'_>) -> Answer {
        // Probes come from load balancers and orchestrators under any Host.
        if let Some(probe) = crate::admin::probe(request, backends).await {
            return probe.into();
        }
        // One value each for what names the caller, the session and the
        // target: with two, one part of the host could read the first and
        // another the second.
        if let Some(name) =
            SINGLE_HEADERS.iter().find(|name| request.headers.iter().filter(|(k, _)| k == *name).count() > 1)
        {
            return error(400, BAD_REQUEST, &format!("Bad Request: more than one {name} header")).into();
        }
        let Some(host) = request.header("host") else {
            return error(400, BAD_REQUEST, "Bad Request: the Host header is required").into();
        };
        if !matches_allowed(host, &self.config.allowed_hosts) {
            return error(403, BAD_REQUEST, "Forbidden: Host not allowed").into();
        }
        // Before the Origin check: the login page posts from this host's
        // own origin, and clients in browsers call the token endpoint from
        // theirs. The authorization server checks origins itself.
        if let Some(response) = crate::oauth::handle(self, request, backends).await {
            return response.into();
        }
        if let Some(origin) = request.header("origin")
            && !origin_allowed(origin, &self.config.allowed_origins)
        {
            return error(403, BAD_REQUEST, "Forbidden: Origin not allowed").into();
        }
        if let Some(metadata) = super::auth::metadata(self, backends, &request.path).await {
            return metadata.into();
        }
        if let Some(response) = crate::admin::handle(self, request, backends).await {
            return response.into();
        }
        if let Some(response) = crate::admin::operator::handle(self, request, backends).await {
            return response.into();
        }
        let Some((tenant, server)) = crate::names::parse_endpoint(&request.path) else {
            return error(404, BAD_REQUEST, "Not Found: no MCP server at this path").into();
        };
        if request.method == "OPTIONS" {
            return preflight().into();
        }
        // Nothing is stored or computed for a tenant nobody created.
        match self.tenant_exists(backends, tenant).await {
            Ok(true) => {}
            Ok(false) => return error(404, BAD_REQUEST, "Not Found: no MCP server at this path").into(),
            Err(_) => return error(503, BAD_REQUEST, "Service Unavailable: cannot check credentials now").into(),
        }
        if let Some(refused) = super::auth::turned_away(self, backends, request) {
            return refused.into();
        }
        // Credentials next: without them, nothing more about this tenant leaks.
        let authenticated = super::auth::authenticate(self, backends, request, tenant, server).await;
        let principal = match super::auth::admit(self, backends, request, tenant, Some(server), authenticated) {
            Ok(principal) => principal,
            Err(error) => return super::auth::refusal(self, backends, tenant, server, &error).await.into(),
        };
        if let Some(limited) = super::auth::rate_limited(self, backends, &principal).await {
            return limited.into();
        }
        let hosted = match self.lookup(backends, tenant, server).await {
            Ok(Some(hosted)) => hosted,
            Ok(None) => return error(404, BAD_REQUEST, "Not Found: no MCP server at this path").into(),
            Err(e) => {
                let scope =
                    crate::capabilities::Scope { tenant: tenant.into(), server: server.into(), request: String::new() };
                backends.log.write(
                    &scope,
                    crate::capabilities::LogLevel::Error,
                    &format!("host: loading the active deployment failed: {e}"),
                );
                return error(503, BAD_REQUEST, "Service Unavailable: the server could not be loaded").into();
            }
        };
        match request.method.as_str() {
            "POST" => self.post(request, &hosted, &principal, backends, exchange).await,
            "DELETE" => legacy::delete(self, request, &hosted, &principal, backends).await.into(),
            // Resumes a legacy stream, or opens a session's standalone stream.
            "GET" => legacy::get(self, request, &hosted, &principal, backends).await.into(),
            _ => method_not_allowed().into(),
        }
    }

    async fn post(
        &self,
        request: &Request,
        hosted: &Hosted,
        principal: &Principal,
        backends: Backends<'_>,
        exchange: &Exchange<'_>,
    ) -> Answer {
        if request.body.len() > self.config.max_body_bytes {
            return error(413, BAD_REQUEST, "Payload Too Large").into();
        }
        let content_type = request.header("content-type").unwrap_or_default();
        if !content_type.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json") {
            return error(415, BAD_REQUEST, "Unsupported Media Type: Content-Type must be application/json").into();
        }
        let accept = request.header("accept").unwrap_or_default();
        let accepts = |t: &str| accept.contains(t) || accept.contains("*/*");
        if !(accepts("application/json") && accepts("text/event-stream")) {
            return error(406, BAD_REQUEST, "Not Acceptable: Accept must list application/json and text/event-stream")
                .into();
        }
        let incoming = match jsonrpc::parse(&request.body) {
            Ok(incoming) => incoming,
            Err(e) => return json_response(400, vec![], &e.response()).into(),
        };
        if current::is_current(request, &incoming) {
            current::post(self, request, hosted, principal, backends, incoming, exchange).await
        } else {
            legacy::post(self, request, hosted, principal, backends, incoming, exchange).await
        }
    }

    /// Runs one request message (its notifications go out on the call's
    /// exchange): the HTTP status and the JSON-RPC response.
    pub(crate) async fn run(
        &self,
        call: &Call<'_>,
        id: &Value,
        method: &str,
        params: &serde_json::Map<String, Value>,
    ) -> (u16, Value) {
        let current = call.era == super::version::Era::Current;
        let (status, message) = match call.dispatch(method, params).await {
            Ok(mut result) => {
                if current {
                    current::decorate(self, method, &mut result);
                }
                (200, result_response(id, result))
            }
            Err(RpcFailure { code, message, data, status }) => {
                let status = if current { status } else { 200 };
                (status, error_response(id, code, &message, data))
            }
        };
        (status, message)
    }

    pub(crate) fn log_level_index(level: &str) -> Option<usize> {
        LOG_LEVELS.iter().position(|l| *l == level)
    }
}

/// Drops the least recently used servers loaded from the registry until
/// their compiled components weigh no more than `budget` together (`keep`
/// stays): a request for one loads it again. Servers hosted directly have
/// nothing to reload from and stay.
fn evict_least_used(servers: &mut HashMap<(String, String), Served>, keep: &(String, String), budget: usize) {
    use std::sync::atomic::Ordering;
    let loaded = |s: &Served| s.deployment.is_some();
    let mut total: usize = servers.values().filter(|s| loaded(s)).map(Served::weight).sum();
    while total > budget {
        let oldest = servers
            .iter()
            .filter(|(key, served)| loaded(served) && *key != keep)
            .min_by_key(|(_, served)| served.used_ms.load(Ordering::Relaxed))
            .map(|(key, served)| (key.clone(), served.weight()));
        let Some((key, weight)) = oldest else { break };
        servers.remove(&key);
        total -= weight;
    }
}

/// The answer to a CORS preflight.
fn preflight() -> Response {
    Response {
        status: 204,
        headers: vec![
            ("access-control-allow-methods".into(), ALLOWED_METHODS.into()),
            ("access-control-allow-headers".into(), ALLOW_HEADERS.into()),
            ("access-control-max-age".into(), "600".into()),
        ],
        body: Body::Empty,
    }
}

/// True when `value` (a Host or an Origin) matches an allowed entry:
/// exactly, or the entry has no port and `value` adds one.
fn matches_allowed(value: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        value.eq_ignore_ascii_case(entry)
            || value
                .get(..entry.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(entry))
                .and_then(|_| value[entry.len()..].strip_prefix(':'))
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// True when `origin` is one of `allowed`: the same scheme, host and port
/// (a default port written out or left out is the same origin).
fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let normal = |o: &str| url::Url::parse(o).ok().map(|u| u.origin().ascii_serialization());
    let Some(origin) = normal(origin) else { return false };
    allowed.iter().any(|entry| normal(entry).is_some_and(|entry| entry.eq_ignore_ascii_case(&origin)))
}

pub(crate) fn json_response(status: u16, headers: Vec<(String, String)>, body: &Value) -> Response {
    Response { status, headers, body: Body::Json(body.to_string().into_bytes()) }
}

pub(crate) fn error(status: u16, code: i64, message: &str) -> Response {
    json_response(status, vec![], &error_response(&Value::Null, code, message, None))
}

pub(crate) fn method_not_allowed() -> Response {
    let mut response = error(405, BAD_REQUEST, "Method Not Allowed");
    response.headers.push(("allow".into(), ALLOWED_METHODS.into()));
    response
}

#[cfg(test)]
mod tests {
    use super::{matches_allowed, origin_allowed};

    #[test]
    fn origins_match_with_their_port() {
        let allowed = vec!["http://localhost:8787".to_string(), "https://mcp.example.com".to_string()];
        assert!(origin_allowed("http://localhost:8787", &allowed));
        assert!(origin_allowed("https://mcp.example.com:443", &allowed));
        assert!(origin_allowed("HTTPS://MCP.example.com", &allowed));
        for other in [
            "http://localhost:1",
            "http://localhost",
            "https://localhost:8787",
            "https://mcp.example.com:8443",
            "null",
            "",
        ] {
            assert!(!origin_allowed(other, &allowed), "{other}");
        }
    }

    #[test]
    fn host_and_origin_matching() {
        let allowed = vec!["localhost".to_string(), "http://127.0.0.1".to_string(), "api.test:443".to_string()];
        assert!(matches_allowed("localhost", &allowed));
        assert!(matches_allowed("localhost:8080", &allowed));
        assert!(matches_allowed("LOCALHOST:1", &allowed));
        assert!(matches_allowed("http://127.0.0.1:3000", &allowed));
        assert!(matches_allowed("api.test:443", &allowed));
        assert!(!matches_allowed("api.test:444", &allowed));
        assert!(!matches_allowed("localhost.evil.com", &allowed));
        assert!(!matches_allowed("localhost:80x", &allowed));
        assert!(!matches_allowed("localhost:", &allowed));
        assert!(!matches_allowed("evil.example.com", &allowed));
        assert!(!matches_allowed("http://127.0.0.1.evil:80", &allowed));
    }
}
