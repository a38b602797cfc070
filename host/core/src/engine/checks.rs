//! Checks of a request's headers before it is routed: one value for each
//! header that names the caller, the session or the target; an allowed
//! Host (DNS-rebinding protection). And the MCP endpoint's CORS preflight.

use crate::http::{Body, Request, Response};
use crate::mcp::jsonrpc::BAD_REQUEST;
use crate::mcp::{ALLOW_HEADERS, ALLOWED_METHODS, error};

/// The refusal of a request whose headers break the rules; `None` when
/// they hold.
pub(super) fn refuse(request: &Request, allowed_hosts: &[String]) -> Option<Response> {
    // One value each for what names the caller, the session and the
    // target: with two, one part of the host could read the first and
    // another the second.
    if let Some(name) =
        SINGLE_HEADERS.iter().find(|name| request.headers.iter().filter(|(k, _)| k == *name).count() > 1)
    {
        return Some(error(400, BAD_REQUEST, &format!("Bad Request: more than one {name} header")));
    }
    let Some(host) = request.header("host") else {
        return Some(error(400, BAD_REQUEST, "Bad Request: the Host header is required"));
    };
    (!matches_allowed(host, allowed_hosts)).then(|| error(403, BAD_REQUEST, "Forbidden: Host not allowed"))
}

/// The answer to a CORS preflight of the MCP endpoint.
pub(super) fn preflight() -> Response {
    Response {
        status: 204,
        headers: vec![
            ("access-control-allow-methods".into(), ALLOWED_METHODS.into()),
            ("access-control-allow-headers".into(), ALLOW_HEADERS.into()),
            ("access-control-max-age".into(), "600".into()),
        ],
        body: Body::Empty,
    }
}

/// Headers a request may carry once at most.
const SINGLE_HEADERS: [&str; 8] = [
    "host",
    "authorization",
    "x-api-key",
    "mcp-session-id",
    "mcp-protocol-version",
    "origin",
    "content-type",
    "last-event-id",
];
/// Splits the values of headers that may appear once, joined with `,`
/// back into one header each. A platform whose request API joins repeated
/// headers (the Fetch standard's `Headers`, so the Worker's) calls this so
/// that two credentials or session ids are refused there as they are on
/// the native host, instead of being read as one odd value.
pub fn split_joined_headers(headers: &mut Vec<(String, String)>) {
    // Of the headers that may appear once, all but Content-Type never hold a comma.
    let joined =
        |name: &str, value: &str| name != "content-type" && SINGLE_HEADERS.contains(&name) && value.contains(',');
    if !headers.iter().any(|(name, value)| joined(name, value)) {
        return;
    }
    let mut split = Vec::with_capacity(headers.len() + 1);
    for (name, value) in std::mem::take(headers) {
        if joined(&name, &value) {
            split.extend(value.split(',').map(|part| (name.clone(), part.trim().to_owned())));
        } else {
            split.push((name, value));
        }
    }
    *headers = split;
}

/// True when `value` (a Host or an Origin) matches an allowed entry:
/// exactly, or the entry has no port and `value` adds one.
fn matches_allowed(value: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        value.eq_ignore_ascii_case(entry)
            || value
                .get(..entry.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(entry))
                .and_then(|_| value[entry.len()..].strip_prefix(':'))
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::{matches_allowed, split_joined_headers};

    #[test]
    fn joined_repeats_of_single_headers_are_split_back() {
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let mut headers =
            vec![pair("authorization", "Bearer a, Bearer b"), pair("content-type", "a, b"), pair("accept", "x, y")];
        split_joined_headers(&mut headers);
        let expected = [
            pair("authorization", "Bearer a"),
            pair("authorization", "Bearer b"),
            pair("content-type", "a, b"),
            pair("accept", "x, y"),
        ];
        assert_eq!(headers, expected);
    }

    #[test]
    fn hosts_match_with_or_without_a_port() {
        let allowed = vec!["localhost".to_string(), "http://127.0.0.1".to_string(), "api.test:443".to_string()];
        assert!(matches_allowed("localhost", &allowed));
        assert!(matches_allowed("localhost:8080", &allowed));
        assert!(matches_allowed("LOCALHOST:1", &allowed));
        assert!(matches_allowed("http://127.0.0.1:3000", &allowed));
        assert!(matches_allowed("api.test:443", &allowed));
        assert!(!matches_allowed("api.test:444", &allowed));
        assert!(!matches_allowed("localhost.evil.com", &allowed));
        assert!(!matches_allowed("localhost:80x", &allowed));
        assert!(!matches_allowed("localhost:", &allowed));
        assert!(!matches_allowed("evil.example.com", &allowed));
        assert!(!matches_allowed("http://127.0.0.1.evil:80", &allowed));
    }
}
