//! The legacy era (2025-03-26, 2025-06-18, 2025-11-25): `initialize`,
//! sessions kept in the KV backend, `MCP-Protocol-Version` checks, batches
//! for 2025-03-26.

use super::dispatch::Call;
use super::engine::{Engine, Hosted, error, framed, json_response, method_not_allowed};
use super::http::{Body, Request, Response};
use super::jsonrpc::{BAD_REQUEST, INVALID_PARAMS, INVALID_REQUEST, Incoming, Message, SESSION_NOT_FOUND, error_response, result_response};
use super::version::{self, Era, LEGACY};
use crate::capabilities::Backends;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// What the host remembers of a session.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    version: String,
    capabilities: Value,
    log_level: Option<usize>,
}

const SESSION_HEADER: &str = "mcp-session-id";

fn session_key(hosted: &Hosted, id: &str) -> String {
    format!("sessions/{}/{}/{id}", hosted.tenant, hosted.server)
}

async fn load(backends: Backends<'_>, hosted: &Hosted, id: &str) -> Option<Session> {
    // Ids are what `initialize` mints: 32 hex digits, nothing else reaches the store.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = backends.kv.get(&session_key(hosted, id)).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

async fn save(engine: &Engine, backends: Backends<'_>, hosted: &Hosted, id: &str, session: &Session) -> bool {
    let bytes = serde_json::to_vec(session).unwrap_or_default();
    let ttl = Some(engine.config.session_ttl_seconds);
    backends.kv.set(&session_key(hosted, id), bytes, ttl).await.is_ok()
}

/// Server capabilities, the same in both eras.
pub(crate) fn capabilities() -> Value {
    json!({
        "tools": { "listChanged": false },
        "resources": { "listChanged": false },
        "prompts": { "listChanged": false },
        "completions": {},
        "logging": {},
    })
}

pub(crate) async fn post(engine: &Engine, request: &Request, hosted: &Hosted, backends: Backends<'_>, incoming: Incoming) -> Response {
    if let Incoming::Single(Message::Request { id, method, params }) = &incoming
        && method == "initialize" {
            return initialize(engine, hosted, backends, id, params.as_ref()).await;
        }
    let Some(session_id) = request.header(SESSION_HEADER) else {
        return error(400, BAD_REQUEST, "Bad Request: Mcp-Session-Id header is required");
    };
    let Some(mut session) = load(backends, hosted, session_id).await else {
        return error(404, SESSION_NOT_FOUND, "Session not found");
    };
    if let Some(header) = request.header("mcp-protocol-version")
        && !version::is_legacy(header) {
            let message = format!("Bad Request: Unsupported protocol version: {header} (supported: {})", LEGACY.join(", "));
            return error(400, BAD_REQUEST, &message);
        }
    let headers = vec![(SESSION_HEADER.to_owned(), session_id.to_owned())];
    let messages = match incoming {
        Incoming::Single(message) => vec![message],
        Incoming::Batch(_) if session.version != "2025-03-26" => {
            return error(400, INVALID_REQUEST, "Invalid Request: batches are only allowed in protocol version 2025-03-26");
        }
        Incoming::Batch(messages) => messages,
    };
    let batch = messages.len() > 1;
    let mut responses = Vec::new();
    let mut notifications = Vec::new();
    for message in messages {
        let Message::Request { id, method, params } = message else { continue };
        let params = params.unwrap_or_default();
        let response = match method.as_str() {
            "initialize" => error_response(&id, INVALID_REQUEST, "initialize must not be batched", None),
            "ping" | "resources/subscribe" | "resources/unsubscribe" => result_response(&id, json!({})),
            "logging/setLevel" => match params.get("level").and_then(Value::as_str).and_then(Engine::log_level_index) {
                Some(level) => {
                    session.log_level = Some(level);
                    save(engine, backends, hosted, session_id, &session).await;
                    result_response(&id, json!({}))
                }
                None => error_response(&id, INVALID_PARAMS, "unknown log level", None),
            },
            _ => {
                let call = Call {
                    engine,
                    hosted,
                    backends,
                    era: Era::Legacy,
                    progress_token: params.get("_meta").and_then(|m| m.get("progressToken")).cloned(),
                    log_level: session.log_level,
                    client_capabilities: session.capabilities.clone(),
                };
                let (_, sent, response) = engine.run(&call, &id, &method, &params, false).await;
                notifications.extend(sent);
                response
            }
        };
        responses.push(response);
    }
    match (responses.len(), batch) {
        (0, _) => Response { status: 202, headers, body: Body::Empty },
        (_, true) => json_response(200, headers, &Value::Array(responses)),
        (_, false) => framed(200, headers, notifications, responses.remove(0)),
    }
}

async fn initialize(engine: &Engine, hosted: &Hosted, backends: Backends<'_>, id: &Value, params: Option<&Map<String, Value>>) -> Response {
    let requested = params.and_then(|p| p.get("protocolVersion")).and_then(Value::as_str);
    let version = version::negotiate_legacy(requested);
    let client_capabilities = params.and_then(|p| p.get("capabilities")).cloned().unwrap_or(json!({}));
    let mut raw = [0u8; 16];
    backends.random.fill(&mut raw);
    let session_id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let session = Session { version: version.to_owned(), capabilities: client_capabilities, log_level: None };
    if !save(engine, backends, hosted, &session_id, &session).await {
        return error(503, BAD_REQUEST, "Service Unavailable: cannot store the session");
    }
    let result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": { "name": engine.config.server_name, "version": engine.config.server_version },
    });
    json_response(200, vec![(SESSION_HEADER.to_owned(), session_id)], &result_response(id, result))
}

/// DELETE ends a legacy session; without one there is nothing to delete.
pub(crate) async fn delete(_engine: &Engine, request: &Request, hosted: &Hosted, backends: Backends<'_>) -> Response {
    let Some(session_id) = request.header(SESSION_HEADER) else {
        return method_not_allowed();
    };
    if load(backends, hosted, session_id).await.is_none() {
        return error(404, SESSION_NOT_FOUND, "Session not found");
    }
    let _ = backends.kv.delete(&session_key(hosted, session_id)).await;
    Response { status: 200, headers: vec![], body: Body::Empty }
}
