//! The endpoint's answer to an authenticated request for a hosted server:
//! POST in either era, DELETE and GET for legacy sessions.

use super::exchange::{Answer, Exchange};
use super::jsonrpc::{self, BAD_REQUEST};
use super::protocol::{Protocol, error, method_not_allowed};
use super::{sessions, stateless};
use crate::auth::Principal;
use crate::guest::Hosted;
use crate::http::{Request, Response};
use crate::platform::Backends;

/// Answers an authenticated request for `hosted`.
pub(crate) async fn serve(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    exchange: &Exchange<'_>,
) -> Answer {
    match request.method.as_str() {
        "POST" => post(protocol, request, hosted, principal, backends, exchange).await,
        "DELETE" => sessions::delete(protocol, request, hosted, principal, backends).await.into(),
        // Resumes a legacy stream, or opens a session's standalone stream.
        "GET" => sessions::get(protocol, request, hosted, principal, backends).await.into(),
        _ => method_not_allowed().into(),
    }
}

/// True when `request` is a legacy `initialize`: a POST that opens a
/// session (front ends that route sessions to one owner need to know).
pub fn opens_session(request: &Request) -> bool {
    let Ok(incoming) = jsonrpc::parse(&request.body) else { return false };
    let initialize = matches!(&incoming, jsonrpc::Incoming::Single(jsonrpc::Message::Request { method, .. }) if method == "initialize");
    initialize && !stateless::is_stateless(request, &incoming)
}

async fn post(
    protocol: &Protocol,
    request: &Request,
    hosted: &Hosted,
    principal: &Principal,
    backends: Backends<'_>,
    exchange: &Exchange<'_>,
) -> Answer {
    if request.body.len() > protocol.config.max_body_bytes {
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
        Err(e) => return Response::json(400, vec![], &e.response()).into(),
    };
    if stateless::is_stateless(request, &incoming) {
        stateless::post(protocol, request, hosted, principal, backends, incoming, exchange).await
    } else {
        sessions::post(protocol, request, hosted, principal, backends, incoming, exchange).await
    }
}
