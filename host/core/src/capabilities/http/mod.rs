//! `smcp:mcp/http`: outbound requests to the hosts the grant allows.
//!
//! The policy here needs no network: scheme, host allow-list, header and
//! size limits. Refusing private addresses after DNS is the backend's job,
//! since only it resolves names.

use super::{CallHost, CapabilityError, LocalFuture, args, to_result};
use crate::abi::{AbiError, Val};

pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u32,
    /// The backend must stop reading the body past this many bytes.
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A platform's HTTP client. It must not follow redirects and must refuse
/// private, loopback and link-local addresses after resolving the host.
pub trait HttpClient {
    fn fetch(&self, request: HttpRequest) -> LocalFuture<'_, Result<HttpResponse, CapabilityError>>;
}

/// Headers a guest may not set: the host owns them.
const FORBIDDEN_HEADERS: [&str; 6] = ["host", "content-length", "connection", "transfer-encoding", "upgrade", "te"];

pub(crate) async fn dispatch(host: &CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
    if name != "fetch" {
        return Err(AbiError::HostMismatch("unknown http function"));
    }
    let [request] = args(args_in)?;
    let [method, url, headers, body, timeout] = request.into_record()?;
    let method = METHODS.get(method.into_enum()? as usize).copied().ok_or(AbiError::HostMismatch("method"))?;
    let headers = headers
        .into_list()?
        .into_iter()
        .map(|h| {
            let [name, value] = h.into_record()?;
            Ok((name.into_string()?, value.into_string()?))
        })
        .collect::<Result<Vec<_>, AbiError>>()?;
    let body = body.into_option()?.map(Val::into_bytes).transpose()?;
    let timeout = timeout.into_option()?.map(|t| t.as_u32()).transpose()?;
    let url = url.into_string()?;
    let request = match check(host, method, &url, headers, body, timeout) {
        Ok(request) => request,
        Err(e) => return Ok(to_result(Err(e))),
    };
    let result = host.backends.http.fetch(request).await.map(|response| {
        let headers = response
            .headers
            .into_iter()
            .map(|(k, v)| Val::Record(vec![Val::String(k), Val::String(v)]))
            .collect();
        Some(Val::Record(vec![Val::U16(response.status), Val::List(headers), Val::Bytes(response.body)]))
    });
    Ok(to_result(result))
}

/// Applies the grant to a guest's request.
fn check(
    host: &CallHost<'_>,
    method: &'static str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<u32>,
) -> Result<HttpRequest, CapabilityError> {
    let grant = host.grant.http.as_ref().ok_or_else(|| CapabilityError::Denied("http is not granted to this server".into()))?;
    let url = url::Url::parse(url).map_err(|e| CapabilityError::InvalidInput(format!("bad URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if grant.allow_insecure => {}
        other => return Err(CapabilityError::Denied(format!("scheme `{other}` is not allowed"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CapabilityError::InvalidInput("credentials in URLs are not allowed".into()));
    }
    let host_name = url.host_str().ok_or_else(|| CapabilityError::InvalidInput("URL has no host".into()))?;
    if !grant.allows_host(host_name) {
        return Err(CapabilityError::Denied(format!("host `{host_name}` is not in the grant's allowed hosts")));
    }
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            return Err(CapabilityError::InvalidInput(format!("header `{name}` is set by the host")));
        }
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':') || value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(CapabilityError::InvalidInput(format!("malformed header `{name}`")));
        }
    }
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
        timeout_ms: timeout.unwrap_or(grant.timeout_ms).min(grant.timeout_ms),
        max_response_bytes: grant.max_response_bytes,
    })
}
