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
    /// The client's network address, as the front end saw it (the peer's
    /// IP natively, `CF-Connecting-IP` on Workers); `None` when unknown.
    pub client: Option<String>,
    /// The id a legacy session opened by this request gets, chosen by a
    /// front end that routes a session's requests by their id (the
    /// Worker's session objects); `None`: the engine picks one. Never
    /// taken from the client.
    pub new_session_id: Option<String>,
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
    /// `application/x-ndjson`: one JSON value a line (the audit export).
    JsonLines(Vec<u8>),
    /// `image/png` (a tenant's logo, checked to be one).
    Png(Vec<u8>),
    /// `text/event-stream`: every event, in order. The stream ends after the last.
    Sse(Vec<SseEvent>),
    /// `text/event-stream` whose events are still being produced: the
    /// stream ends when the sender is dropped.
    Stream(EventStream),
}

/// Bytes of events a client may leave unread on one stream; past it, the
/// stream is closed: a client that does not read is disconnected instead
/// of making the host buffer for it.
pub const MAX_UNREAD_BYTES: usize = 8 << 20;

/// A new stream of events: the sending side for the engine, the receiving
/// side for the front end to write out.
pub fn event_channel() -> (EventSender, EventStream) {
    let (sender, receiver) = futures_channel::mpsc::unbounded();
    let unread = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (EventSender { sender, unread: unread.clone() }, EventStream { receiver, unread })
}

fn weight(event: &SseEvent) -> usize {
    event.data.len() + event.id.as_ref().map_or(0, String::len) + 16
}

/// Sends events on a stream, counting what its client has not read yet.
#[derive(Clone, Debug)]
pub struct EventSender {
    sender: futures_channel::mpsc::UnboundedSender<SseEvent>,
    unread: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl EventSender {
    /// Sends `event`; false when the stream is closed, or when the client
    /// has left [`MAX_UNREAD_BYTES`] unread (the stream is closed then). A
    /// client that has read everything may get one event of any size.
    pub fn send(&self, event: SseEvent) -> bool {
        use std::sync::atomic::Ordering;
        let size = weight(&event);
        let unread = self.unread.fetch_add(size, Ordering::AcqRel);
        if unread > 0 && unread + size > MAX_UNREAD_BYTES {
            self.sender.close_channel();
            return false;
        }
        self.sender.unbounded_send(event).is_ok()
    }

    /// True once the stream ended: its client went away or was cut off.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The events of a streamed response, as they come.
#[derive(Debug)]
pub struct EventStream {
    receiver: futures_channel::mpsc::UnboundedReceiver<SseEvent>,
    unread: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl EventStream {
    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<SseEvent> {
        let event = self.receiver.try_recv().ok()?;
        self.unread.fetch_sub(weight(&event), std::sync::atomic::Ordering::AcqRel);
        Some(event)
    }
}

impl futures_util::Stream for EventStream {
    type Item = SseEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<SseEvent>> {
        let polled = std::pin::Pin::new(&mut self.receiver).poll_next(cx);
        if let std::task::Poll::Ready(Some(event)) = &polled {
            self.unread.fetch_sub(weight(event), std::sync::atomic::Ordering::AcqRel);
        }
        polled
    }
}

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
            Body::Json(bytes) | Body::Html(bytes) | Body::JsonLines(bytes) | Body::Png(bytes) => bytes.clone(),
            Body::Sse(events) => events.iter().map(SseEvent::to_wire).collect::<String>().into_bytes(),
        }
    }

    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Html(_) => Some("text/html; charset=utf-8"),
            Body::JsonLines(_) => Some("application/x-ndjson"),
            Body::Png(_) => Some("image/png"),
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

impl Response {
    /// A JSON response.
    pub fn json(status: u16, headers: Vec<(String, String)>, body: &serde_json::Value) -> Response {
        Response { status, headers, body: Body::Json(body.to_string().into_bytes()) }
    }
}

/// True when `origin` is one of `allowed`: the same scheme, host and port
/// (a default port written out or left out is the same origin).
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let normal = |o: &str| url::Url::parse(o).ok().map(|u| u.origin().ascii_serialization());
    let Some(origin) = normal(origin) else { return false };
    allowed.iter().any(|entry| normal(entry).is_some_and(|entry| entry.eq_ignore_ascii_case(&origin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_with_their_port() {
        let allowed = vec!["http://localhost:8787".to_string(), "https://mcp.example.com".to_string()];
        assert!(origin_allowed("http://localhost:8787", &allowed));
        assert!(origin_allowed("https://mcp.example.com:443", &allowed));
        assert!(origin_allowed("HTTPS://MCP.example.com", &allowed));
        for other in [
            "http://localhost:1",
            "http://localhost",
            "https://localhost:8787",
            "https://mcp.example.com:8443",
            "null",
            "",
        ] {
            assert!(!origin_allowed(other, &allowed), "{other}");
        }
    }

    #[test]
    fn a_stream_whose_client_does_not_read_is_closed() {
        let (sender, mut receiver) = event_channel();
        let event = || SseEvent { id: None, data: "x".repeat(1 << 20) };
        let sent = (0..16).take_while(|_| sender.send(event())).count();
        assert_eq!(sent, 7, "8 MiB unread at most, counting each event's framing");
        assert!(sender.is_closed() && !sender.send(event()));
        // What was queued before the cut still drains, then the stream ends.
        assert_eq!(std::iter::from_fn(|| receiver.try_recv()).count(), 7);
    }

    #[test]
    fn one_large_event_reaches_a_client_that_reads() {
        let (sender, mut receiver) = event_channel();
        assert!(sender.send(SseEvent { id: None, data: "x".repeat(MAX_UNREAD_BYTES * 2) }));
        assert!(receiver.try_recv().is_some());
        assert!(sender.send(SseEvent { id: None, data: "y".into() }), "still open");
    }

    #[test]
    fn a_reading_client_is_never_cut_off() {
        let (sender, mut receiver) = event_channel();
        for _ in 0..100 {
            assert!(sender.send(SseEvent { id: None, data: "x".repeat(1 << 20) }));
            assert!(receiver.try_recv().is_some());
        }
    }
}
