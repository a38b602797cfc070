//! `fetcher-wasip2`: fetcher's `fetch` tool, sending through
//! `wasi:http/outgoing-handler` instead of `smcp:mcp/http`. The host serves
//! wasi:http with the http capability, so the grant, the address policy and
//! every limit apply the same; the tests run fetcher's checks against both.
//!
//! It hands the request over before writing its body, as streaming
//! clients do, so the host must wait for the body to finish.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme, http_error_code};
use wasip2::io::streams::StreamError;

const DEFAULT_MAX_CHARS: usize = 4096;

#[derive(Deserialize, JsonSchema)]
struct FetchArgs {
    url: String,
    /// Defaults to GET.
    #[serde(default)]
    method: Option<String>,
    /// Request headers by name.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Request body as text.
    #[serde(default)]
    body: Option<String>,
    /// Body characters to return (default 4096).
    #[serde(default)]
    max_chars: Option<usize>,
    /// Request trailers by name, sent after the body.
    #[serde(default)]
    trailers: BTreeMap<String, String>,
}

#[derive(Serialize, JsonSchema)]
struct Fetched {
    status: u16,
    /// Response headers as (name, value) pairs, in order.
    headers: Vec<(String, String)>,
    /// The body as text, cut to `max_chars` characters.
    body: String,
    /// True when the body was cut.
    truncated: bool,
}

fn fail(what: &str, e: impl std::fmt::Debug) -> ToolError {
    ToolError::new(format!("{what}: {e:?}"))
}

fn method(name: Option<&str>) -> Method {
    match name.unwrap_or("GET").to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    }
}

fn fetch(a: FetchArgs) -> ToolResult<Structured<Fetched>> {
    let (scheme, rest) = a.url.split_once("://").ok_or_else(|| ToolError::new("the URL has no scheme"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let entries: Vec<(String, Vec<u8>)> = a.headers.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    let headers = Fields::from_list(&entries).map_err(|e| fail("headers", e))?;
    let request = OutgoingRequest::new(headers);
    request.set_method(&method(a.method.as_deref())).map_err(|e| fail("method", e))?;
    request.set_scheme(Some(&scheme)).map_err(|e| fail("scheme", e))?;
    request.set_authority(Some(authority)).map_err(|e| fail("authority", e))?;
    request.set_path_with_query(Some(path)).map_err(|e| fail("path", e))?;
    let body = request.body().map_err(|e| fail("body", e))?;

    let response = outgoing_handler::handle(request, None).map_err(|e| fail("request", e))?;
    if let Some(text) = a.body {
        let stream = body.write().map_err(|e| fail("body stream", e))?;
        for chunk in text.as_bytes().chunks(4096) {
            match stream.blocking_write_and_flush(chunk) {
                Ok(()) => {}
                Err(StreamError::LastOperationFailed(e)) => return Err(fail("writing the body", http_error_code(&e))),
                Err(e) => return Err(fail("writing the body", e)),
            }
        }
    }
    let trailers: Vec<(String, Vec<u8>)> = a.trailers.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    let trailers = match trailers.is_empty() {
        true => None,
        false => Some(Fields::from_list(&trailers).map_err(|e| fail("trailers", e))?),
    };
    OutgoingBody::finish(body, trailers).map_err(|e| fail("request", e))?;

    response.subscribe().block();
    let response = match response.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(fail("request", code)),
        other => return Err(fail("response", other.map(|r| r.is_ok()))),
    };
    let status = response.status();
    let headers =
        response.headers().entries().into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned())).collect();
    let incoming = response.consume().map_err(|e| fail("response body", e))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming.stream().map_err(|e| fail("response body", e))?;
        loop {
            match stream.blocking_read(64 << 10) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(fail("reading the response", e)),
            }
        }
    }
    IncomingBody::finish(incoming);

    let full = String::from_utf8_lossy(&bytes).into_owned();
    let max = a.max_chars.unwrap_or(DEFAULT_MAX_CHARS);
    let truncated = full.chars().count() > max;
    let body: String = full.chars().take(max).collect();
    let text = format!("HTTP {status}\n\n{body}");
    Ok(Structured::new(Fetched { status, headers, body, truncated }).with_text(text))
}

struct Fetcher;

impl McpServer for Fetcher {
    fn tools() -> Tools {
        Tools::new().tool(
            Tool::new("fetch", fetch)
                .description("Fetches a URL through wasi:http; returns status, headers and body.")
                .open_world(),
        )
    }
}

smcp_guest::export_server!(Fetcher);
