//! Platform-neutral HTTP request and response types: the front ends (the
//! native server, the Worker) convert to and from these and nothing else.

/// An HTTP request as the engine sees it. Header names are lowercase.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path without the query, e.g. `/t/acme/s/notes/mcp`.
    pub path: String,
    /// The raw query string without `?` (only checked for credentials).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lowercase), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub data: String,
}

/// A response body.
#[derive(Debug)]
pub enum Body {
    Empty,
    /// `application/json`.
    Json(Vec<u8>),
    /// `text/html` (the authorization server's login page).
    Html(Vec<u8>),
    /// `text/event-stream`: every event, in order. The stream ends after the last.
    Sse(Vec<SseEvent>),
    /// `text/event-stream` whose events are still being produced: the
    /// stream ends when the sender is dropped.
    Stream(EventStream),
}

/// The events of a streamed response, as they come.
pub type EventStream = futures_channel::mpsc::UnboundedReceiver<SseEvent>;

impl SseEvent {
    /// The event on the wire.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        if let Some(id) = &self.id {
            out.push_str(&format!("id: {id}\n"));
        }
        for line in self.data.split('\n') {
            out.push_str(&format!("data: {line}\n"));
        }
        out.push('\n');
        out
    }
}

impl Body {
    /// The body as bytes on the wire; a [`Body::Stream`] gives only what
    /// has arrived so far.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Empty | Body::Stream(_) => Vec::new(),
            Body::Json(bytes) | Body::Html(bytes) => bytes.clone(),
            Body::Sse(events) => events.iter().map(SseEvent::to_wire).collect::<String>().into_bytes(),
        }
    }

    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Html(_) => Some("text/html; charset=utf-8"),
            Body::Sse(_) | Body::Stream(_) => Some("text/event-stream"),
        }
    }
}

/// An HTTP response from the engine. `headers` excludes Content-Type, which
/// follows from the body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}
