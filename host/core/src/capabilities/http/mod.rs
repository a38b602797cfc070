//! `smcp:mcp/http`: outbound requests to the hosts the grant allows.
//!
//! The core owns every decision that needs no network, the same on every
//! platform: the grant's scheme, host, header and size rules
//! ([`policy`]), redirects re-checked hop by hop ([`redirect`]), and the
//! per-call request budget. Refusing private addresses after DNS is the
//! backend's job, since only it resolves names; [`crate::policy::address`] holds the
//! rules it applies.

pub mod grant;
mod policy;
mod redirect;
#[cfg(test)]
mod tests;

use super::bindings::http::{Host, Method, Request, Response};
use super::{CallHost, CapabilityError};
use crate::platform::outbound::{HttpRequest, HttpResponse};
use grant::HttpGrant;

pub use grant::METHODS;
pub(crate) use policy::{MAX_HEADER_BYTES, MAX_HEADERS};

/// What the guest asked for, lifted and not yet checked: through this
/// interface's `fetch`, or through `wasi:http` (`super::wasi::http`).
pub(crate) struct GuestRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: Option<u32>,
}

/// HTTP requests sent in the current call, every redirect hop counted.
#[derive(Default)]
pub(super) struct Budget {
    requests: u32,
}

impl Host for CallHost<'_> {
    async fn fetch(&mut self, request: Request) -> Result<Response, CapabilityError> {
        let method = match request.method {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        };
        let Request { url, headers, body, timeout_ms, .. } = request;
        let response = fetch(self, GuestRequest { method, url, headers, body, timeout_ms }).await?;
        Ok(Response { status: response.status, headers: response.headers, body: response.body })
    }
}

/// Checks the guest's request, sends it, and follows redirects, each hop
/// checked like the first and counted against the call's request budget.
/// The guest's timeout bounds the whole chain, not each hop.
pub(crate) async fn fetch(host: &mut CallHost<'_>, asked: GuestRequest) -> Result<HttpResponse, CapabilityError> {
    let grant =
        host.grant.http.as_ref().ok_or_else(|| CapabilityError::Denied("http is not granted to this server".into()))?;
    let mut request = policy::check(grant, asked.method, &asked.url, asked.headers, asked.body)?;
    let timeout_ms = asked.timeout_ms.unwrap_or(grant.timeout_ms).min(grant.timeout_ms);
    let deadline = host.backends.clock.now_ms().saturating_add(u64::from(timeout_ms));
    let mut redirects = 0;
    loop {
        spend_request(host, grant)?;
        let left = deadline.saturating_sub(host.backends.clock.now_ms());
        if left == 0 {
            return Err(CapabilityError::Unavailable(format!("timed out after {timeout_ms} ms")));
        }
        request.timeout_ms = u32::try_from(left).unwrap_or(u32::MAX);
        // Injected headers go on this hop only, and are worked out again
        // for the next: they never follow a redirect to another host.
        let outgoing = inject(host, grant, request.clone()).await?;
        let response = host.backends.http.fetch(outgoing).await.map_err(|e| match e {
            // Say which hop the backend refused: the guest never named it.
            CapabilityError::Denied(why) if redirects > 0 => {
                CapabilityError::Denied(format!("redirect to `{}` refused: {why}", redirect::redacted(&request.url)))
            }
            other => other,
        })?;
        let Some(location) = redirect::location(&response) else {
            return Ok(policy::clean_response(response));
        };
        if redirects == grant.max_redirects {
            return Err(CapabilityError::QuotaExceeded(format!("more than {} redirects", grant.max_redirects)));
        }
        redirects += 1;
        request = redirect::follow(grant, request, response.status, location)?;
    }
}

/// Adds the grant's injected headers that apply to the request's host.
async fn inject(
    host: &CallHost<'_>,
    grant: &HttpGrant,
    mut request: HttpRequest,
) -> Result<HttpRequest, CapabilityError> {
    let target = request.url.clone();
    for rule in grant.inject.iter().filter(|rule| rule.applies_to(&target)) {
        let value = host.backends.secrets.get(&host.scope.tenant, &host.scope.server, &rule.secret).await?.ok_or_else(
            || {
                CapabilityError::Unavailable(format!(
                    "secret `{}` for header `{}` is not set",
                    rule.secret, rule.header
                ))
            },
        )?;
        request.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&rule.header));
        request.headers.push((rule.header.clone(), format!("{}{value}", rule.prefix)));
    }
    Ok(request)
}

/// Counts one request against the grant's per-call budget.
fn spend_request(host: &mut CallHost<'_>, grant: &HttpGrant) -> Result<(), CapabilityError> {
    if host.spent.http.requests >= grant.max_requests {
        return Err(CapabilityError::QuotaExceeded(format!(
            "at most {} HTTP requests per call (redirects count)",
            grant.max_requests
        )));
    }
    host.spent.http.requests += 1;
    Ok(())
}
