//! The stateless era (2026-07-28): requests carrying their version
//! and client capabilities in `_meta`, checked against the `MCP-Protocol-Version`,
//! `Mcp-Method` and `Mcp-Name` headers.

use super::call::{Call, RpcFailure};
use super::exchange::{Answer, Exchange};
use super::jsonrpc::{
    HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, Incoming, METHOD_NOT_FOUND, Message,
    UNSUPPORTED_VERSION, error_response, excerpt, result_response,
};
use super::protocol::Protocol;
use super::subscriptions::{Filter, listen_acknowledgment, listen_completion};
use super::version::{self, Era, STATELESS, SUPPORTED};
use crate::auth::Principal;
use crate::guest::Hosted;
use crate::http::SseEvent;
use crate::http::{Body, Request, Response};
use crate::platform::Backends;
use serde_json::{Value, json};

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// Methods of the legacy era that 2026-07-28 removed.
const REMOVED: [&str; 6] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "notifications/initialized",
];
/// Results clients may cache, and for how long.
const CACHEABLE: [&str; 5] =
    ["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"];
const LIST_TTL_MS: u64 = 60_000;

/// True when a POST belongs to the current era: it carries `_meta`'s
/// protocol version, or a version header that is not a legacy one (and no
/// legacy session).
pub(crate) fn is_stateless(request: &Request, incoming: &Incoming) -> bool {
    let meta_version = match incoming {
        Incoming::Single(Message::Request { params: Some(p), .. } | Message::Notification { params: Some(p), .. }) => {
            p.get("_meta").and_then(|m| m.get(META_VERSION)).is_some()
        }
        _ => false,
    };
    let header = request.header("mcp-protocol-version");
    meta_version || (header.is_some_and(|h| !version::has_sessions(h)) && request.header("mcp-session-id").is_none())
}

fn reject(status: u16, id: &Value, code: i64, message: &str, data: Option<Value>) -> Response {
    Response::json(status, vec![], &error_response(id, code, message, data))
}

/// A header value, decoded when sent as `=?base64?…?=`; `None` when that
/// encoding is broken.
fn header_value(raw: &str) -> Option<String> {
    super::params::decode(raw).ok()
}

pub(crate) async fn post(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    incoming: Incoming,
    exchange: &Exchange<'_>,
) -> Answer {
    checked(protocol, request, hosted, principal, backends, incoming, exchange).await.unwrap_or_else(Answer::Now)
}

/// The request's answer, or `Err` with a response to send at once (a
/// rejection, or an answer that needs no guest).
async fn checked(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    incoming: Incoming,
    exchange: &Exchange<'_>,
) -> Result<Answer, Response> {
    let (id, method, params) = match incoming {
        Incoming::Single(Message::Request { id, method, params }) => (id, method, params.unwrap_or_default()),
        Incoming::Single(Message::Notification { .. }) => {
            return Err(Response { status: 202, headers: vec![], body: Body::Empty });
        }
        _ => {
            return Err(reject(
                400,
                &Value::Null,
                INVALID_REQUEST,
                "Invalid Request: send one request per POST; clients must not POST responses",
                None,
            ));
        }
    };
    // Checks in the order the conformance fixture uses: header present,
    // `_meta` complete, header matches `_meta`, version supported.
    let Some(header_version) = request.header("mcp-protocol-version") else {
        return Err(reject(
            400,
            &id,
            HEADER_MISMATCH,
            "Header mismatch: MCP-Protocol-Version header is required",
            None,
        ));
    };
    let meta = params.get("_meta").and_then(Value::as_object);
    let meta_version = meta.and_then(|m| m.get(META_VERSION)).and_then(Value::as_str);
    let capabilities = meta.and_then(|m| m.get(META_CAPABILITIES)).filter(|c| c.is_object());
    let (Some(meta_version), Some(capabilities)) = (meta_version, capabilities) else {
        let message = format!("Invalid params: _meta must carry {META_VERSION} and {META_CAPABILITIES}");
        return Err(reject(400, &id, INVALID_PARAMS, &message, None));
    };
    if header_version != meta_version {
        let message = format!(
            "Header mismatch: MCP-Protocol-Version header value '{header_version}' does not match body value '{meta_version}'"
        );
        return Err(reject(400, &id, HEADER_MISMATCH, &message, None));
    }
    if meta_version != STATELESS {
        let data = json!({ "supported": SUPPORTED, "requested": meta_version });
        return Err(reject(400, &id, UNSUPPORTED_VERSION, "Unsupported protocol version", Some(data)));
    }
    match request.header("mcp-method").and_then(header_value) {
        Some(m) if m == method => {}
        Some(m) => {
            return Err(reject(
                400,
                &id,
                HEADER_MISMATCH,
                &format!(
                    "Header mismatch: Mcp-Method header value '{}' does not match body value '{}'",
                    excerpt(&m),
                    excerpt(&method)
                ),
                None,
            ));
        }
        None => return Err(reject(400, &id, HEADER_MISMATCH, "Header mismatch: Mcp-Method header is required", None)),
    }
    let named = match method.as_str() {
        "tools/call" | "prompts/get" => params.get("name").and_then(Value::as_str),
        "resources/read" => params.get("uri").and_then(Value::as_str),
        "tasks/get" | "tasks/update" | "tasks/cancel" => params.get("taskId").and_then(Value::as_str),
        _ => None,
    };
    if let Some(body_name) = named {
        match request.header("mcp-name").and_then(header_value) {
            Some(n) if n == body_name => {}
            Some(n) => {
                return Err(reject(
                    400,
                    &id,
                    HEADER_MISMATCH,
                    &format!(
                        "Header mismatch: Mcp-Name header value '{}' does not match body value '{}'",
                        excerpt(&n),
                        excerpt(body_name)
                    ),
                    None,
                ));
            }
            None => {
                return Err(reject(400, &id, HEADER_MISMATCH, "Header mismatch: Mcp-Name header is required", None));
            }
        }
    }
    if REMOVED.contains(&method.as_str()) {
        return Err(reject(
            404,
            &id,
            METHOD_NOT_FOUND,
            &format!("Method not found: {} is not part of {STATELESS}", excerpt(&method)),
            None,
        ));
    }
    let log_level = match meta.and_then(|m| m.get(META_LOG_LEVEL)) {
        None => None,
        Some(level) => match level.as_str().and_then(super::dispatch::log_level_index) {
            Some(index) => Some(index),
            None => return Err(reject(400, &id, INVALID_PARAMS, "Invalid params: unknown log level", None)),
        },
    };
    if method == "subscriptions/listen" {
        let mut filter = Filter::from_listen(params.get("notifications"));
        if !filter.tasks.is_empty() {
            if !super::tasks::declared(capabilities) {
                let failure = super::tasks::missing_extension();
                return Err(reject(failure.status, &id, failure.code, &failure.message, failure.data));
            }
            // Only the caller's own tasks: any other id is dropped, as unknown.
            filter.tasks = super::tasks::owned(backends, hosted, principal, &filter.tasks).await;
        }
        return Ok(listen(protocol, hosted, exchange, id, filter).await);
    }
    if method == "server/discover" {
        let mut result = json!({
            "supportedVersions": SUPPORTED,
            "capabilities": server_capabilities(),
            "ttlMs": 3_600_000,
            "cacheScope": "public",
        });
        decorate(protocol, &method, &mut result);
        return Err(Response::json(200, vec![], &result_response(&id, result)));
    }
    let call = Call {
        protocol,
        hosted,
        backends,
        era: Era::Stateless,
        progress_token: meta.and_then(|m| m.get("progressToken")).cloned(),
        log_level,
        client_capabilities: capabilities.clone(),
        exchange,
        principal,
        out_of_fuel: Default::default(),
        continue_task: Default::default(),
    };
    if let Some((role, what)) = call.missing_role(&method, &params).await {
        return Err(protocol.insufficient_role(hosted, &id, role, &what));
    }
    if method == "tools/call"
        && let Err(message) = call.check_param_headers(&params, |name| request.header(name).map(str::to_owned)).await
    {
        return Err(reject(400, &id, HEADER_MISMATCH, &message, None));
    }
    let (status, response) = run(protocol, &call, &id, &method, &params).await;
    let answer = exchange.finish(status, response);
    // A task this request created or resumed runs after the answer, on
    // this request's time (see `tasks`).
    let Some(task) = call.continue_task.take() else { return Ok(answer) };
    let answer = match answer {
        Answer::Now(response) if exchange.is_streaming() => {
            exchange.send_head(response);
            Answer::Streamed
        }
        // A buffered caller gets its answer once the task has run.
        other => other,
    };
    call.run_task(&task).await;
    Ok(answer)
}

/// The server's capabilities in this era: the same as the legacy era's,
/// plus the extensions it serves.
fn server_capabilities() -> Value {
    let mut capabilities = super::protocol::capabilities();
    capabilities["extensions"] = json!({ super::tasks::EXTENSION: {} });
    capabilities
}

/// `subscriptions/listen`: acknowledges the filter, then keeps the stream
/// open for the changes it asked for, until the client goes away or the
/// host shuts down (then it answers the request, the graceful end).
async fn listen(protocol: &Protocol, hosted: &Hosted, exchange: &Exchange<'_>, id: Value, filter: Filter) -> Answer {
    let acknowledgment = listen_acknowledgment(&id, &filter);
    let Some(sender) = exchange.open_stream() else {
        return reject(
            400,
            &id,
            INVALID_REQUEST,
            "Invalid Request: subscriptions/listen needs a streaming connection",
            None,
        )
        .into();
    };
    let _ = sender.send(SseEvent { id: None, data: acknowledgment.to_string() });
    let server = (hosted.tenant.clone(), hosted.server.clone());
    match protocol.subscriptions.listen(server, id.clone(), filter, sender) {
        Ok(ended) => match ended.await {
            Ok(()) => {
                let mut result = listen_completion(&id);
                decorate(protocol, "subscriptions/listen", &mut result);
                exchange.finish(200, result_response(&id, result))
            }
            // The client went away: nobody to answer.
            Err(_) => exchange.abandon().unwrap_or(Answer::Streamed),
        },
        Err(_) => exchange
            .finish(200, error_response(&id, INTERNAL_ERROR, "too many open subscriptions; try again later", None)),
    }
}

/// Adds what every 2026-07-28 result carries: `resultType`, the server's
/// identity, and caching hints on cacheable results.
/// Runs one request: the HTTP status and the decorated JSON-RPC response.
async fn run(
    protocol: &Protocol,
    call: &Call<'_>,
    id: &Value,
    method: &str,
    params: &serde_json::Map<String, Value>,
) -> (u16, Value) {
    let result = match method.starts_with("tasks/") {
        true => call.task_method(method, params).await,
        false => call.dispatch(method, params).await,
    };
    match result {
        Ok(mut result) => {
            decorate(protocol, method, &mut result);
            (200, result_response(id, result))
        }
        Err(RpcFailure { code, message, data, status }) => (status, error_response(id, code, &message, data)),
    }
}

fn decorate(protocol: &Protocol, method: &str, result: &mut Value) {
    let Some(object) = result.as_object_mut() else { return };
    let complete = object.get("resultType").is_none_or(|t| t == "complete");
    object.entry("resultType").or_insert(json!("complete"));
    object.insert(
        "_meta".into(),
        json!({ "io.modelcontextprotocol/serverInfo": { "name": protocol.config.server_name, "version": protocol.config.server_version } }),
    );
    if complete && CACHEABLE.contains(&method) {
        // Resources are a server's stored data (a 0.1.1 server lists them
        // straight from its storage): fresh on every ask, and the caller's.
        // Tools, prompts and templates are its code: a minute, for anyone.
        let (ttl, scope) = match method {
            "resources/read" | "resources/list" => (0, "private"),
            _ => (LIST_TTL_MS, "public"),
        };
        object.insert("ttlMs".into(), json!(ttl));
        object.insert("cacheScope".into(), json!(scope));
    }
}
