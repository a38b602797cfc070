//! The engine's platform-neutral requests and responses on hyper's wire:
//! bounded body reading, streamed SSE bodies, the front end's own short
//! answers.

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{HeaderMap, StatusCode};
use smcp_core::http::{Body, Request, Response};
use std::convert::Infallible;

/// Bytes of an oversized body read and thrown away so that the client,
/// still sending, sees the 413 instead of a reset connection. Past this the
/// connection is simply closed.
const DRAIN_LIMIT: u64 = 16 << 20;

/// A response body: whole, or streamed as events come.
pub type WireBody = UnsyncBoxBody<Bytes, Infallible>;

pub enum BodyError {
    TooLarge,
    Broken,
}

/// The engine's request from hyper's parts and the body read. Header names
/// are lowercase; values that are not UTF-8 are read lossily (the engine's
/// checks then refuse them as they would any odd value).
pub fn core_request(parts: &hyper::http::request::Parts, body: Vec<u8>, client: Option<String>) -> Request {
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        headers.push((name.as_str().to_ascii_lowercase(), String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
        client,
        new_session_id: None,
    }
}

/// Reads the whole body, keeping at most `max` bytes in memory.
pub async fn read_body(headers: &HeaderMap, mut body: Incoming, max: usize) -> Result<Vec<u8>, BodyError> {
    let max = max as u64;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if let Some(length) = declared
        && length > max
    {
        let expects_continue =
            headers.get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        // Not reading the body means hyper never sends `100 Continue`: a
        // client that waits for it gets the 413 without sending anything.
        if expects_continue || length > max + DRAIN_LIMIT {
            return Err(BodyError::TooLarge);
        }
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(max) as usize);
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else { continue };
        seen += data.len() as u64;
        if seen > max {
            // Over the cap: keep nothing, drain a bounded amount.
            buf = Vec::new();
            if seen > max + DRAIN_LIMIT {
                return Err(BodyError::TooLarge);
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if seen > max { Err(BodyError::TooLarge) } else { Ok(buf) }
}

/// A short plain-text answer of the front end itself; the connection is
/// closed after it.
pub fn plain(status: StatusCode, message: String) -> hyper::Response<WireBody> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(message)).boxed_unsync());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Headers the front end owns: the engine's values are dropped.
const OWN_HEADERS: [&str; 7] =
    ["content-type", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te"];

/// The engine's response on the wire.
pub fn to_hyper(response: Response) -> hyper::Response<WireBody> {
    let streamed = matches!(response.body, Body::Sse(_) | Body::Stream(_));
    let content_type = response.body.content_type();
    let body = match response.body {
        Body::Stream(events) => {
            StreamBody::new(events.map(|event| Ok(Frame::data(Bytes::from(event.to_wire()))))).boxed_unsync()
        }
        whole => Full::new(Bytes::from(whole.to_bytes())).boxed_unsync(),
    };
    let mut out = hyper::Response::new(body);
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or_else(|_| {
        tracing::error!(status = response.status, "the engine answered an invalid status");
        StatusCode::INTERNAL_SERVER_ERROR
    });
    let headers = out.headers_mut();
    for (name, value) in &response.headers {
        if OWN_HEADERS.iter().any(|own| name.eq_ignore_ascii_case(own)) {
            continue;
        }
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(header = %name, "dropped a malformed response header from the engine"),
        }
    }
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    if streamed {
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        headers.insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_on_the_wire() {
        let sse = Response {
            status: 200,
            headers: vec![
                ("mcp-session-id".into(), "abc".into()),
                ("content-length".into(), "999".into()),
                ("bad header".into(), "x".into()),
                ("x-bad-value".into(), "a\r\nb".into()),
            ],
            body: Body::Sse(vec![smcp_core::http::SseEvent { id: Some("1".into()), data: "{}".into() }]),
        };
        let out = to_hyper(sse);
        assert_eq!(out.status(), StatusCode::OK);
        let h = out.headers();
        assert_eq!(h["content-type"], "text/event-stream");
        assert_eq!(h["cache-control"], "no-cache");
        assert_eq!(h["x-accel-buffering"], "no");
        assert_eq!(h["mcp-session-id"], "abc");
        assert!(h.get("content-length").is_none() && h.get("x-bad-value").is_none() && h.len() == 4);

        let json = to_hyper(Response { status: 202, headers: vec![], body: Body::Json(b"{}".to_vec()) });
        assert_eq!(json.status().as_u16(), 202);
        assert_eq!(json.headers()["content-type"], "application/json");
        let empty = to_hyper(Response { status: 1000, headers: vec![], body: Body::Empty });
        assert_eq!(empty.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(empty.headers().get("content-type").is_none());
    }
}
