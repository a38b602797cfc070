//! Outbound HTTP (needs an `http` grant listing the allowed hosts). The
//! host refuses private addresses, and follows redirects only to hosts the
//! grant allows, checking each hop.
//!
//! ```ignore
//! let res = http::Request::get("https://api.example.com/v1/items")
//!     .header("accept", "application/json")
//!     .send()?;
//! let items: Vec<Item> = res.json()?;
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::smcp::mcp::http as host;
use crate::error::CapabilityError;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl From<Method> for host::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => Self::Get,
            Method::Head => Self::Head,
            Method::Post => Self::Post,
            Method::Put => Self::Put,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
            Method::Options => Self::Options,
        }
    }
}

/// An outbound request, built step by step and sent with [`send`](Self::send).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Capped by the grant's timeout.
    pub timeout_ms: Option<u32>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: None, timeout_ms: None }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the body to `value` as JSON and the content type to match.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, CapabilityError> {
        let body = CapabilityError::encode_json(value)?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Sets the timeout in milliseconds.
    pub fn timeout_ms(mut self, timeout_ms: u32) -> Self {
        self.timeout_ms = Some(timeout_ms);
        self
    }

    /// Sends the request (see [`fetch`]).
    pub fn send(self) -> Result<Response, CapabilityError> {
        fetch(self)
    }
}

/// A response. Any status is a response; only failures to get one are errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Capped by the grant.
    pub body: Vec<u8>,
}

impl Response {
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded from JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CapabilityError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| CapabilityError::Decode(format!("response body is not the expected JSON: {e}")))
    }
}

/// Sends `request` and waits for the response.
pub fn fetch(request: Request) -> Result<Response, CapabilityError> {
    let request = host::Request {
        method: request.method.into(),
        url: request.url,
        headers: request.headers,
        body: request.body,
        timeout_ms: request.timeout_ms,
    };
    let response = host::fetch(&request)?;
    Ok(Response { status: response.status, headers: response.headers, body: response.body })
}
