//! The grant's rules for one request, and what of a response reaches the
//! guest. No network here.

use super::grant::HttpGrant;
use super::{HttpRequest, HttpResponse};
use crate::capabilities::CapabilityError;

/// Request headers the host owns: a guest may not set them. Forwarding
/// headers included: a guest must not speak for a proxy or a client
/// address before the services it calls.
const HOST_OWNED: [&str; 16] = [
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "forwarded",
    "via",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "x-client-ip",
    "x-original-url",
];
/// Headers one request may carry, and their bytes together.
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_BYTES: usize = 32 << 10;

/// Response headers that describe the connection, not the resource
/// (RFC 9110 §7.6.1), besides `proxy-*` and those `connection` names.
const HOP_BY_HOP: [&str; 6] = ["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"];

/// Applies the grant to a guest's first request.
pub(super) fn check(
    grant: &HttpGrant,
    method: &'static str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
) -> Result<HttpRequest, CapabilityError> {
    let url = url::Url::parse(url).map_err(|e| CapabilityError::InvalidInput(format!("bad URL: {e}")))?;
    check_url(grant, &url)?;
    if let Some(methods) = &grant.methods
        && !methods.contains(&method)
    {
        return Err(CapabilityError::Denied(format!(
            "method {method} is not in the grant's methods ({})",
            methods.join(", ")
        )));
    }
    if let Some(body) = &body
        && body.len() > grant.max_request_bytes
    {
        return Err(CapabilityError::TooLarge(format!(
            "request bodies are limited to {} bytes",
            grant.max_request_bytes
        )));
    }
    if headers.len() > MAX_HEADERS {
        return Err(CapabilityError::TooLarge(format!("at most {MAX_HEADERS} headers a request")));
    }
    if headers.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() > MAX_HEADER_BYTES {
        return Err(CapabilityError::TooLarge(format!("headers are limited to {MAX_HEADER_BYTES} bytes together")));
    }
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if HOST_OWNED.contains(&lower.as_str()) || lower.starts_with("proxy-") || lower.starts_with("x-forwarded-") {
            return Err(CapabilityError::InvalidInput(format!("header `{name}` is set by the host")));
        }
        if name.is_empty()
            || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':')
            || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
        {
            return Err(CapabilityError::InvalidInput(format!("malformed header `{name}`")));
        }
    }
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
        timeout_ms: grant.timeout_ms,
        max_response_bytes: grant.max_response_bytes,
    })
}

/// Scheme, credentials and host of a URL under the grant: checked for the
/// first request and again for every redirect.
pub(super) fn check_url(grant: &HttpGrant, url: &url::Url) -> Result<(), CapabilityError> {
    match url.scheme() {
        "https" => {}
        "http" if grant.allow_insecure => {}
        other => return Err(CapabilityError::Denied(format!("scheme `{other}` is not allowed"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CapabilityError::InvalidInput("credentials in URLs are not allowed".into()));
    }
    let host = url.host_str().ok_or_else(|| CapabilityError::InvalidInput("URL has no host".into()))?;
    if !grant.allows(url) {
        let port = url.port().map(|p| format!(" port {p}")).unwrap_or_default();
        return Err(CapabilityError::Denied(format!("host `{host}`{port} is not in the grant's allowed hosts")));
    }
    Ok(())
}

/// Drops the response headers that are the host's business: hop-by-hop
/// ones, and `set-cookie` (no cookie jar; cookies are a session's secret).
pub(super) fn clean_response(mut response: HttpResponse) -> HttpResponse {
    let named_by_connection: Vec<String> = response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    response.headers.retain(|(name, _)| {
        let lower = name.to_ascii_lowercase();
        !(HOP_BY_HOP.contains(&lower.as_str())
            || lower.starts_with("proxy-")
            || lower == "set-cookie"
            || lower == "set-cookie2"
            || named_by_connection.contains(&lower))
    });
    response
}
