//! `smcp:mcp/http`: outbound requests to the hosts the grant allows.
//!
//! The core owns every decision that needs no network, the same on every
//! platform: the grant's scheme, host, header and size rules
//! ([`policy`]), redirects re-checked hop by hop ([`redirect`]), and the
//! per-call request budget. Refusing private addresses after DNS is the
//! backend's job, since only it resolves names; [`crate::policy::address`] holds the
//! rules it applies.

mod policy;
mod redirect;
#[cfg(test)]
mod tests;

use super::{CallHost, CapabilityError, args, to_result};
use crate::abi::{AbiError, Val};
use crate::platform::outbound::{HttpRequest, HttpResponse};
use crate::policy::grant::HttpGrant;

pub use crate::policy::grant::METHODS;

/// What the guest asked for, lifted and not yet checked.
struct GuestRequest {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout_ms: Option<u32>,
}

pub(crate) async fn dispatch(host: &mut CallHost<'_>, name: &str, args_in: Vec<Val>) -> Result<Option<Val>, AbiError> {
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
    let timeout_ms = timeout.into_option()?.map(|t| t.as_u32()).transpose()?;
    let request = GuestRequest { method, url: url.into_string()?, headers, body, timeout_ms };
    let result = fetch(host, request).await.map(|response| {
        let headers =
            response.headers.into_iter().map(|(k, v)| Val::Record(vec![Val::String(k), Val::String(v)])).collect();
        Some(Val::Record(vec![Val::U16(response.status), Val::List(headers), Val::Bytes(response.body)]))
    });
    Ok(to_result(result))
}

/// Checks the guest's request, sends it, and follows redirects, each hop
/// checked like the first and counted against the call's request budget.
/// The guest's timeout bounds the whole chain, not each hop.
async fn fetch(host: &mut CallHost<'_>, asked: GuestRequest) -> Result<HttpResponse, CapabilityError> {
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

/// Counts one request against the grant's per-call budget.
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

fn spend_request(host: &mut CallHost<'_>, grant: &HttpGrant) -> Result<(), CapabilityError> {
    if host.http_requests >= grant.max_requests {
        return Err(CapabilityError::QuotaExceeded(format!(
            "at most {} HTTP requests per call (redirects count)",
            grant.max_requests
        )));
    }
    host.http_requests += 1;
    Ok(())
}
