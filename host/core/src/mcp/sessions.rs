//! The session eras (2025-03-26, 2025-06-18, 2025-11-25): `initialize`,
//! sessions kept in the KV backend, `MCP-Protocol-Version` checks, batches
//! for 2025-03-26.

use super::call::{Call, RpcFailure};
use super::exchange::{Answer, Exchange, Resumable, answer_key};
use super::jsonrpc::{
    BAD_REQUEST, INVALID_PARAMS, INVALID_REQUEST, Incoming, Message, SESSION_NOT_FOUND, error_response, excerpt,
    result_response,
};
use super::protocol::{Protocol, error, method_not_allowed};
use super::streams::ResumeError;
use super::subscriptions::SubscribeError;
use super::version::{self, Era, SESSION_VERSIONS};
use crate::auth::Principal;
use crate::guest::Hosted;
use crate::http::{Body, Request, Response};
use crate::platform::Backends;
use futures_util::future::Either;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// What the host remembers of a session.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    version: String,
    capabilities: Value,
    log_level: Option<usize>,
    /// Who opened it: only they may use it.
    principal: String,
    /// When it was opened (ms); it expires a TTL later.
    #[serde(default)]
    opened_ms: u64,
}

const SESSION_HEADER: &str = "mcp-session-id";

fn session_key(hosted: &Hosted, id: &str) -> String {
    format!("sessions/{}/{}/{id}", hosted.tenant, hosted.server)
}

/// The session `id` of `principal`; another principal's session is as
/// unknown to it as one that never existed.
async fn load(backends: Backends<'_>, hosted: &Hosted, principal: &Principal, id: &str) -> Option<Session> {
    // Ids are what `initialize` mints: 32 hex digits, nothing else reaches the store.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = backends.kv.get(&session_key(hosted, id)).await.ok()??;
    let session: Session = serde_json::from_slice(&bytes).ok()?;
    (session.principal == principal.id).then_some(session)
}

async fn save(protocol: &Protocol, backends: Backends<'_>, hosted: &Hosted, id: &str, session: &Session) -> bool {
    let bytes = serde_json::to_vec(session).unwrap_or_default();
    let ttl = Some(protocol.config.session_ttl_seconds);
    backends.kv.set(&session_key(hosted, id), bytes, ttl).await.is_ok()
}

/// Messages one batch (2025-03-26) may hold.
pub(crate) const MAX_BATCH: usize = 32;

pub(crate) async fn post(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    incoming: Incoming,
    exchange: &Exchange<'_>,
) -> Answer {
    if let Incoming::Single(Message::Request { id, method, params }) = &incoming
        && method == "initialize"
    {
        if request.header(SESSION_HEADER).is_some() {
            return error(
                400,
                INVALID_REQUEST,
                "Bad Request: initialize opens a session; send it without Mcp-Session-Id",
            )
            .into();
        }
        let assigned = request.new_session_id.as_deref();
        return initialize(protocol, hosted, principal, backends, id, params.as_ref(), assigned).await.into();
    }
    let Some(session_id) = request.header(SESSION_HEADER) else {
        return error(400, BAD_REQUEST, "Bad Request: Mcp-Session-Id header is required").into();
    };
    let Some(mut session) = load(backends, hosted, principal, session_id).await else {
        return error(404, SESSION_NOT_FOUND, "Session not found").into();
    };
    if let Some(header) = request.header("mcp-protocol-version")
        && !version::has_sessions(header)
    {
        let message = format!(
            "Bad Request: Unsupported protocol version: {} (supported: {})",
            excerpt(header),
            SESSION_VERSIONS.join(", ")
        );
        return error(400, BAD_REQUEST, &message).into();
    }
    if let Some(header) = request.header("mcp-protocol-version")
        && header != session.version
    {
        let message = format!(
            "Bad Request: MCP-Protocol-Version {} is not this session's version, {}",
            excerpt(header),
            session.version
        );
        return error(400, BAD_REQUEST, &message).into();
    }
    let headers = vec![(SESSION_HEADER.to_owned(), session_id.to_owned())];
    let stream_key = format!("{}/{}/{session_id}", hosted.tenant, hosted.server);
    exchange.set_session(
        headers.clone(),
        Resumable { session: stream_key.clone(), prime: session.version == "2025-11-25" },
    );
    let messages = match incoming {
        Incoming::Single(Message::Request { id, method, params }) => {
            let params = params.unwrap_or_default();
            let target = Target { protocol, hosted, principal, backends, session_id };
            return request_in_flight(&target, &mut session, &stream_key, exchange, id, &method, params).await;
        }
        Incoming::Single(message) => vec![message],
        Incoming::Batch(_) if session.version != "2025-03-26" => {
            return error(
                400,
                INVALID_REQUEST,
                "Invalid Request: batches are only allowed in protocol version 2025-03-26",
            )
            .into();
        }
        Incoming::Batch(messages) if messages.len() > MAX_BATCH => {
            let message =
                format!("Invalid Request: a batch may hold at most {MAX_BATCH} messages, not {}", messages.len());
            return error(400, INVALID_REQUEST, &message).into();
        }
        Incoming::Batch(messages) => messages,
    };
    let mut responses = Vec::new();
    // The POST took one token of the rate limit; every further request in
    // a batch takes its own.
    let mut requests = 0;
    for message in messages {
        match message {
            Message::Request { id, method, params } => {
                requests += 1;
                if requests > 1 && protocol.rate_limited(backends, principal).await.is_some() {
                    responses.push(error_response(
                        &id,
                        BAD_REQUEST,
                        "Too Many Requests: the rate limit was reached within this batch",
                        None,
                    ));
                    continue;
                }
                // Each batched request on its own buffered exchange: a batch
                // answers with one JSON array, so nothing streams.
                let buffered = Exchange::buffered(protocol, backends);
                let params = params.unwrap_or_default();
                let target = Target { protocol, hosted, principal, backends, session_id };
                let (_, response) = answer_request(&target, &mut session, &buffered, &id, &method, &params).await;
                responses.push(response);
            }
            Message::Notification { method, params } => notification(protocol, &stream_key, &method, params.as_ref()),
            Message::Response { id, result } => {
                protocol.streams.answer(&answer_key(&stream_key, &id), result);
            }
        }
    }
    if responses.is_empty() {
        return Response { status: 202, headers, body: Body::Empty }.into();
    }
    Response::json(200, headers, &Value::Array(responses)).into()
}

/// What a request of a session is served against.
struct Target<'a> {
    protocol: &'a Protocol,
    hosted: &'a Hosted,
    principal: &'a Principal,
    backends: Backends<'a>,
    session_id: &'a str,
}

/// Runs one request, cancellable by `notifications/cancelled` while it runs.
async fn request_in_flight(
    target: &Target<'_>,
    session: &mut Session,
    stream_key: &str,
    exchange: &Exchange<'_>,
    id: Value,
    method: &str,
    params: Map<String, Value>,
) -> Answer {
    let Target { protocol, hosted, session_id, .. } = *target;
    if let Some((role, what)) = call(target, session, exchange).missing_role(method, &params).await {
        return protocol.insufficient_role(hosted, &id, role, &what).into();
    }
    let key = answer_key(stream_key, &id);
    let signal = protocol.streams.start(key.clone());
    // Only a real cancellation counts: a replaced registration (a reused
    // request id) drops the sender, and that must not stop this request.
    let cancelled = core::pin::pin!(async {
        if signal.await.is_err() {
            core::future::pending::<()>().await;
        }
    });
    let run = core::pin::pin!(answer_request(target, session, exchange, &id, method, &params));
    let outcome = futures_util::future::select(run, cancelled).await;
    protocol.streams.end(&key);
    match outcome {
        Either::Left(((status, response), _)) => exchange.finish(status, response),
        // Cancelled: no answer, as the protocol asks. The stream, if open,
        // ends; otherwise the POST gets an empty event stream.
        Either::Right(_) => exchange.abandon().unwrap_or_else(|| {
            let headers = vec![(SESSION_HEADER.to_owned(), session_id.to_owned())];
            Response { status: 200, headers, body: Body::Sse(vec![]) }.into()
        }),
    }
}

/// Handles a notification from the client.
fn notification(protocol: &Protocol, stream_key: &str, method: &str, params: Option<&Map<String, Value>>) {
    if method == "notifications/cancelled"
        && let Some(request_id) = params.and_then(|p| p.get("requestId"))
    {
        protocol.streams.cancel(&answer_key(stream_key, request_id));
    }
}

/// The call context of a session's request.
fn call<'a>(target: &Target<'a>, session: &Session, exchange: &'a Exchange<'a>) -> Call<'a> {
    Call {
        protocol: target.protocol,
        hosted: target.hosted,
        backends: target.backends,
        era: Era::Sessions,
        progress_token: None,
        log_level: session.log_level,
        client_capabilities: session.capabilities.clone(),
        exchange,
        principal: target.principal,
        out_of_fuel: Default::default(),
        continue_task: Default::default(),
    }
}

/// The status and JSON-RPC response of one request.
async fn answer_request(
    target: &Target<'_>,
    session: &mut Session,
    exchange: &Exchange<'_>,
    id: &Value,
    method: &str,
    params: &Map<String, Value>,
) -> (u16, Value) {
    let Target { protocol, hosted, backends, session_id, .. } = *target;
    match method {
        "initialize" => (200, error_response(id, INVALID_REQUEST, "initialize must not be batched", None)),
        "ping" => (200, result_response(id, json!({}))),
        "resources/subscribe" | "resources/unsubscribe" => {
            let Some(uri) = params.get("uri").and_then(Value::as_str) else {
                return (200, error_response(id, INVALID_PARAMS, "`uri` must be a string", None));
            };
            let stream_key = format!("{}/{}/{session_id}", hosted.tenant, hosted.server);
            let now = backends.clock.now_ms();
            // Sessions stored before they recorded their opening count from now.
            let opened = if session.opened_ms == 0 { now } else { session.opened_ms };
            let expires = opened.saturating_add(u64::from(protocol.config.session_ttl_seconds) * 1000);
            match protocol.subscriptions.session_uri(&stream_key, uri, method == "resources/subscribe", now, expires) {
                Ok(()) => (200, result_response(id, json!({}))),
                Err(refused) => (200, error_response(id, INVALID_PARAMS, &refused.to_string(), None)),
            }
        }
        "logging/setLevel" => {
            match params.get("level").and_then(Value::as_str).and_then(super::dispatch::log_level_index) {
                Some(level) => {
                    session.log_level = Some(level);
                    save(protocol, backends, hosted, session_id, session).await;
                    (200, result_response(id, json!({})))
                }
                None => (200, error_response(id, INVALID_PARAMS, "unknown log level", None)),
            }
        }
        _ => {
            let mut call = call(target, session, exchange);
            call.progress_token = params.get("_meta").and_then(|m| m.get("progressToken")).cloned();
            if let Some((role, what)) = call.missing_role(method, params).await {
                return (
                    200,
                    error_response(id, INVALID_REQUEST, &format!("Forbidden: {what} needs role {role}"), None),
                );
            }
            // Legacy clients read errors from the body; the status is 200.
            match call.dispatch(method, params).await {
                Ok(result) => (200, result_response(id, result)),
                Err(RpcFailure { code, message, data, .. }) => (200, error_response(id, code, &message, data)),
            }
        }
    }
}

async fn initialize(
    protocol: &Protocol,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    id: &Value,
    params: Option<&Map<String, Value>>,
    assigned: Option<&str>,
) -> Response {
    let requested = params.and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
    let version = version::negotiate_session_version(requested);
    let client_capabilities = params.and_then(|p| p.get("capabilities")).cloned().unwrap_or(json!({}));
    // The front end's choice when it routes sessions by id, else ours.
    let session_id = match assigned.filter(|id| is_session_id(id)) {
        Some(id) => id.to_owned(),
        None => {
            let mut raw = [0u8; 16];
            backends.random.fill(&mut raw);
            raw.iter().map(|b| format!("{b:02x}")).collect()
        }
    };
    let now = backends.clock.now_ms();
    let session = Session {
        version: version.to_owned(),
        capabilities: client_capabilities,
        log_level: None,
        principal: principal.id.clone(),
        opened_ms: now,
    };
    let (max, ttl_ms) =
        (protocol.config.quotas.sessions_per_principal, u64::from(protocol.config.session_ttl_seconds) * 1000);
    if !protocol.quotas.open_session(&principal.id, &session_id, now, ttl_ms, max) {
        let message = format!(
            "Too Many Requests: {max} sessions are open for these credentials; end some (DELETE) or wait for them to expire"
        );
        return Response::json(429, vec![], &error_response(id, BAD_REQUEST, &message, None));
    }
    if !save(protocol, backends, hosted, &session_id, &session).await {
        return error(503, BAD_REQUEST, "Service Unavailable: cannot store the session");
    }
    let result = json!({
        "protocolVersion": version,
        "capabilities": super::protocol::capabilities(),
        "serverInfo": { "name": protocol.config.server_name, "version": protocol.config.server_version },
    });
    Response::json(200, vec![(SESSION_HEADER.to_owned(), session_id)], &result_response(id, result))
}

/// A session id as this host makes them: 32 lowercase hex digits.
pub fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// DELETE ends a legacy session; without one there is nothing to delete.
pub(crate) async fn delete(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
) -> Response {
    let Some(session_id) = request.header(SESSION_HEADER) else {
        return method_not_allowed();
    };
    if load(backends, hosted, principal, session_id).await.is_none() {
        return error(404, SESSION_NOT_FOUND, "Session not found");
    }
    let _ = backends.kv.delete(&session_key(hosted, session_id)).await;
    protocol.quotas.close_session(&principal.id, session_id);
    protocol.subscriptions.end_session(&format!("{}/{}/{session_id}", hosted.tenant, hosted.server));
    Response { status: 200, headers: vec![], body: Body::Empty }
}

/// GET: with `Last-Event-ID`, the events of that stream the client missed,
/// then the rest of the stream if it is still running; without, the
/// session's standalone stream of list and resource changes (one per
/// session).
pub(crate) async fn get(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
) -> Response {
    let Some(session_id) = request.header(SESSION_HEADER) else {
        // No session, no stream: the current era has no GET.
        return method_not_allowed();
    };
    if load(backends, hosted, principal, session_id).await.is_none() {
        return error(404, SESSION_NOT_FOUND, "Session not found");
    }
    if let Some(accept) = request.header("accept")
        && !(accept.contains("text/event-stream") || accept.contains("*/*"))
    {
        return error(406, BAD_REQUEST, "Not Acceptable: Accept must list text/event-stream");
    }
    let stream_key = format!("{}/{}/{session_id}", hosted.tenant, hosted.server);
    let headers = vec![(SESSION_HEADER.to_owned(), session_id.to_owned())];
    let Some(last_event_id) = request.header("last-event-id") else {
        let server = (hosted.tenant.clone(), hosted.server.clone());
        return match protocol.subscriptions.open_session_stream(server, &stream_key) {
            Ok(events) => Response { status: 200, headers, body: Body::Stream(events) },
            Err(SubscribeError::Conflict) => {
                error(409, BAD_REQUEST, "Conflict: this session already has a standalone stream")
            }
            Err(SubscribeError::Full) => error(503, BAD_REQUEST, "Service Unavailable: too many open streams"),
        };
    };
    match protocol.streams.resume(&stream_key, last_event_id, backends.clock.now_ms()) {
        Ok(events) => Response { status: 200, headers, body: Body::Stream(events) },
        Err(ResumeError::Unknown) => {
            error(400, BAD_REQUEST, "Bad Request: Last-Event-ID names no stream of this session")
        }
        Err(ResumeError::Expired) => error(400, BAD_REQUEST, "Bad Request: that stream is past its replay window"),
    }
}
