//! `fetcher`: outbound HTTP. `fetch` returns status, headers and the body
//! (truncated); `fetch_with_secret` sends a secret as a bearer token and
//! redacts it from whatever comes back.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::http::{Method, Request, Response};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools, secrets};

/// Body characters returned unless the caller asks for another limit.
const DEFAULT_MAX_CHARS: usize = 4096;
const DEFAULT_SECRET: &str = "API_TOKEN";
const REDACTED: &str = "[redacted]";

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

#[derive(Deserialize, JsonSchema)]
struct FetchArgs {
    url: String,
    /// Defaults to GET.
    #[serde(default)]
    method: Option<HttpMethod>,
    /// Request headers by name.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Request body as text.
    #[serde(default)]
    body: Option<String>,
    /// Body characters to return (default 4096).
    #[serde(default)]
    max_chars: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
struct SecretFetchArgs {
    url: String,
    /// The secret to send as `Authorization: Bearer`; defaults to API_TOKEN.
    #[serde(default)]
    secret: Option<String>,
    /// Body characters to return (default 4096).
    #[serde(default)]
    max_chars: Option<usize>,
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

impl From<HttpMethod> for Method {
    fn from(m: HttpMethod) -> Self {
        match m {
            HttpMethod::Get => Self::Get,
            HttpMethod::Head => Self::Head,
            HttpMethod::Post => Self::Post,
            HttpMethod::Put => Self::Put,
            HttpMethod::Patch => Self::Patch,
            HttpMethod::Delete => Self::Delete,
            HttpMethod::Options => Self::Options,
        }
    }
}

/// The response as the tool's result; text is `HTTP <status>`, a blank
/// line and the (truncated) body.
fn report(response: Response, max_chars: Option<usize>, redact: Option<&str>) -> Structured<Fetched> {
    let scrub = |s: String| match redact {
        Some(secret) if !secret.is_empty() => s.replace(secret, REDACTED),
        _ => s,
    };
    let full = scrub(response.text());
    let max = max_chars.unwrap_or(DEFAULT_MAX_CHARS);
    let truncated = full.chars().count() > max;
    let body: String = full.chars().take(max).collect();
    let headers = response.headers.into_iter().map(|(k, v)| (k, scrub(v))).collect();
    let text = format!("HTTP {}\n\n{body}", response.status);
    Structured::new(Fetched { status: response.status, headers, body, truncated }).with_text(text)
}

fn fetch(a: FetchArgs) -> ToolResult<Structured<Fetched>> {
    let mut request = Request::new(a.method.map_or(Method::Get, Method::from), a.url);
    for (name, value) in a.headers {
        request = request.header(name, value);
    }
    if let Some(body) = a.body {
        request = request.body(body);
    }
    Ok(report(request.send()?, a.max_chars, None))
}

fn fetch_with_secret(a: SecretFetchArgs) -> ToolResult<Structured<Fetched>> {
    let name = a.secret.as_deref().unwrap_or(DEFAULT_SECRET);
    let token = secrets::get(name)?.ok_or_else(|| ToolError::new(format!("secret `{name}` is not set")))?;
    let response = Request::get(a.url).bearer(&token).send()?;
    Ok(report(response, a.max_chars, Some(&token)))
}

struct Fetcher;

impl McpServer for Fetcher {
    fn tools() -> Tools {
        Tools::new()
            .tool(
                Tool::new("fetch", fetch).description("Fetches a URL; returns status, headers and body.").open_world(),
            )
            .tool(
                Tool::new("fetch_with_secret", fetch_with_secret)
                    .description("GETs a URL with a secret as bearer token; the secret never appears in the result.")
                    .read_only()
                    .open_world(),
            )
    }
}

smcp_guest::export_server!(Fetcher);
