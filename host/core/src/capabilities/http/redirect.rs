//! Following redirects as browsers do, one hop at a time, under the grant.
//! Backends never follow redirects, so every platform behaves the same.

use super::grant::HttpGrant;
use super::{HttpRequest, HttpResponse, policy};
use crate::capabilities::CapabilityError;

const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// Headers that carry a session's credentials: they go to the origin the
/// guest chose, never to one a redirect chose.
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Headers that describe a request body, dropped with the body.
const BODY_HEADERS: [&str; 4] = ["content-type", "content-encoding", "content-language", "content-location"];

/// Where a response redirects to, if it is a redirect with a `location`.
pub(super) fn location(response: &HttpResponse) -> Option<&str> {
    if !REDIRECTS.contains(&response.status) {
        return None;
    }
    response.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.as_str())
}

/// The next request after `previous` got `status` with `location`: the
/// URL resolved against the previous one and checked against the grant,
/// the method and body rewritten as RFC 9110 §15.4 and browsers do, and
/// credentials dropped when the origin changes.
pub(super) fn follow(
    grant: &HttpGrant,
    previous: HttpRequest,
    status: u16,
    location: &str,
) -> Result<HttpRequest, CapabilityError> {
    let url = previous
        .url
        .join(location)
        .map_err(|e| CapabilityError::Unavailable(format!("redirect to an invalid location `{location}`: {e}")))?;
    policy::check_url(grant, &url).map_err(|e| match e {
        CapabilityError::Denied(why) | CapabilityError::InvalidInput(why) => {
            CapabilityError::Denied(format!("redirect to `{}` refused: {why}", redacted(&url)))
        }
        other => other,
    })?;
    let to_get = status == 303 && previous.method != "HEAD" || matches!(status, 301 | 302) && previous.method == "POST";
    let (method, body) = if to_get { ("GET", None) } else { (previous.method, previous.body) };
    let cross_origin = url.origin() != previous.url.origin();
    let mut headers = previous.headers;
    headers.retain(|(name, _)| {
        let lower = name.to_ascii_lowercase();
        !(cross_origin && CREDENTIALS.contains(&lower.as_str()) || to_get && BODY_HEADERS.contains(&lower.as_str()))
    });
    Ok(HttpRequest { method, url, headers, body, ..previous })
}

/// A URL without credentials or query, safe to put in an error.
pub(super) fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}
