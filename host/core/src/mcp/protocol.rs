//! The protocol's state in this process, the host services it uses, and
//! the answers every part of the protocol gives the same way.

use super::jsonrpc::{BAD_REQUEST, error_response};
use super::params::ToolFacts;
use super::quotas::Quotas;
use super::streams::Streams;
use super::subscriptions::Subscriptions;
use crate::audit::{Event, Recorder};
use crate::auth::rate::{Limiter, RateLimits};
use crate::auth::{Principal, Role};
use crate::capabilities::Grant;
use crate::component::Digest;
use crate::guest::Hosted;
use crate::http::Response;
use crate::metrics::Metrics;
use crate::names::TenantId;
use crate::platform::Backends;
use crate::runtime::{Limits, Runtime};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Methods the endpoint serves; GET serves legacy sessions only.
pub const ALLOWED_METHODS: &str = "POST, GET, DELETE, OPTIONS";
/// Request headers a browser client may send.
pub const ALLOW_HEADERS: &str = "content-type, accept, authorization, x-api-key, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id";
/// Response headers a browser client may read.
const EXPOSE_HEADERS: &str = "mcp-session-id, mcp-protocol-version, www-authenticate";

/// What the protocol needs to know of the host's settings.
#[derive(Debug, Clone)]
pub struct ProtocolConfig {
    pub server_name: String,
    pub server_version: String,
    /// Legacy sessions expire this long after they opened.
    pub session_ttl_seconds: u32,
    /// Key of the MAC that protects `requestState` handed to clients.
    pub state_key: [u8; 32],
    /// Larger POST bodies get 413.
    pub max_body_bytes: usize,
    /// Fuel no call may exceed, whatever its grant says; also the fuel one
    /// request may spend on a task's steps after its answer.
    pub max_fuel: Option<u64>,
    /// How long one request may run a task's steps after its answer
    /// before the task waits for its next request (the Worker's time
    /// after a response is bounded); `None`: until the task ends.
    pub task_slice_ms: Option<u64>,
    pub quotas: QuotaSettings,
    /// This host's public base URL: resource metadata URLs are built on it.
    pub public_url: String,
    /// Origins whose browser clients may read answers (CORS).
    pub allowed_origins: Vec<String>,
    /// Request rates, also taken by every message of a batch.
    pub rate: RateLimits,
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

/// The protocol's state in this process, and the host services it uses.
pub struct Protocol {
    pub config: ProtocolConfig,
    pub(crate) runtime: Arc<Runtime>,
    audit: Arc<Recorder>,
    pub(crate) metrics: Arc<Metrics>,
    rate: Arc<Limiter>,
    /// Legacy sessions' streams, pending client requests and requests in flight.
    pub(crate) streams: Streams,
    /// Clients listening for list and resource changes.
    pub subscriptions: Subscriptions,
    /// What each component's tools declare (read-only, mirrored headers),
    /// by digest and whether they are the ones kept at upload (those are
    /// never mixed with a listing of the guest's own).
    pub(crate) tool_facts: Mutex<HashMap<(Digest, bool), Arc<ToolFacts>>>,
    /// Running calls per tenant, open sessions per principal.
    pub(crate) quotas: Quotas,
}

impl Protocol {
    pub fn new(
        config: ProtocolConfig,
        runtime: Arc<Runtime>,
        audit: Arc<Recorder>,
        metrics: Arc<Metrics>,
        rate: Arc<Limiter>,
    ) -> Protocol {
        Protocol {
            config,
            runtime,
            audit,
            metrics,
            rate,
            streams: Streams::default(),
            subscriptions: Subscriptions::default(),
            tool_facts: Mutex::default(),
            quotas: Quotas::default(),
        }
    }

    /// Queues `event` for `tenant`'s audit trail.
    pub(crate) fn record(&self, backends: Backends<'_>, tenant: &TenantId, event: Event) {
        self.audit.record(tenant, event, backends.clock.now_ms());
    }

    /// The limits a call of `grant` runs under: the grant's, with fuel
    /// capped at [`ProtocolConfig::max_fuel`].
    pub fn limits_of(&self, grant: &Grant) -> Limits {
        let mut limits = grant.limits;
        if let Some(max) = self.config.max_fuel {
            limits.fuel = limits.fuel.min(max);
        }
        limits
    }

    /// The names of `principal`'s rate buckets: its own and its tenant's.
    fn rate_buckets(principal: &Principal) -> [String; 2] {
        [format!("p/{}/{}", principal.tenant, principal.id), format!("t/{}", principal.tenant)]
    }

    /// True when this process holds `principal`'s rate buckets, so that
    /// [`rate_limited`](Self::rate_limited) answers without storage.
    pub fn rate_buckets_held(&self, principal: &Principal) -> bool {
        let [own, tenant] = Self::rate_buckets(principal);
        self.rate.holds(&[&own, &tenant])
    }

    /// 429 when `principal` or its tenant is over its rate limit.
    pub async fn rate_limited(&self, backends: Backends<'_>, principal: &Principal) -> Option<Response> {
        let limits = self.config.rate;
        let [own, tenant] = Self::rate_buckets(principal);
        let buckets = [(own.as_str(), limits.per_principal), (tenant.as_str(), limits.per_tenant)];
        let wait = self.rate.take(backends.kv, &buckets, backends.clock.now_ms()).await.err()?;
        let body = error_response(&Value::Null, BAD_REQUEST, &format!("Too Many Requests: retry in {wait} s"), None);
        let mut response = Response::json(429, vec![], &body);
        response.headers.push(("retry-after".into(), wait.to_string()));
        Some(response)
    }

    /// 403 for a principal whose role does not allow what it asked.
    pub(crate) fn insufficient_role(&self, hosted: &Hosted, id: &Value, needed: Role, what: &str) -> Response {
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", error_description=\"{what} needs role {needed}\", resource_metadata=\"{}\"",
            crate::names::metadata_url(&self.config.public_url, &hosted.tenant, &hosted.server)
        );
        let body = error_response(id, BAD_REQUEST, &format!("Forbidden: {what} needs role {needed}"), None);
        let mut response = Response::json(403, vec![], &body);
        response.headers.push(("www-authenticate".into(), challenge));
        response
    }

    /// CORS on every answer, errors included, for allowed origins only.
    pub fn with_cors(&self, origin: Option<&str>, mut response: Response) -> Response {
        // A response with CORS headers of its own (the authorization
        // server's, open to every origin) keeps them.
        if response.headers.iter().any(|(name, _)| name == "access-control-allow-origin") {
            return response;
        }
        if let Some(origin) = origin.filter(|o| crate::http::origin_allowed(o, &self.config.allowed_origins)) {
            response.headers.push(("access-control-allow-origin".into(), origin.to_owned()));
            response.headers.push(("access-control-expose-headers".into(), EXPOSE_HEADERS.into()));
            response.headers.push(("vary".into(), "origin".into()));
        }
        response
    }
}

/// Server capabilities, the same in both eras.
pub(crate) fn capabilities() -> Value {
    serde_json::json!({
        "tools": { "listChanged": true },
        "resources": { "subscribe": true, "listChanged": true },
        "prompts": { "listChanged": true },
        "completions": {},
        "logging": {},
    })
}

/// An HTTP error whose body is a JSON-RPC error without an id.
pub fn error(status: u16, code: i64, message: &str) -> Response {
    Response::json(status, vec![], &error_response(&Value::Null, code, message, None))
}

pub(crate) fn method_not_allowed() -> Response {
    let mut response = error(405, BAD_REQUEST, "Method Not Allowed");
    response.headers.push(("allow".into(), ALLOWED_METHODS.into()));
    response
}
