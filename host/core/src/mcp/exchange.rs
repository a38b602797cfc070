//! One HTTP exchange's way back to the client: the answer is JSON unless
//! something must go out before it (a notification, a request to the
//! client), in which case the response turns into an SSE stream at that
//! moment and the answer becomes its last event.
//!
//! Buffered exchanges (tests, callers that cannot stream) collect the
//! messages and frame them at the end; they cannot ask the client
//! anything, since the answer could never arrive before the response.

use super::protocol::Protocol;
use crate::guest::InputResponse;
use crate::http::{Body, EventSender, Response, SseEvent, event_channel};
use crate::platform::Backends;
use core::cell::RefCell;
use futures_channel::oneshot;
use serde_json::{Value, json};

/// How a request's result is sent.
pub(crate) enum Answer {
    /// As this response.
    Now(Response),
    /// As the last event of the stream already under way.
    Streamed,
}

impl From<Response> for Answer {
    fn from(response: Response) -> Self {
        Answer::Now(response)
    }
}

/// What resumable streams of a legacy session need.
#[derive(Clone)]
pub(crate) struct Resumable {
    /// `tenant/server/session-id`.
    pub session: String,
    /// 2025-11-25 clients expect a first event with only an id.
    pub prime: bool,
}

enum Mode {
    Buffered(RefCell<Vec<Value>>),
    Streaming(RefCell<Streaming>),
}

struct Streaming {
    head: Option<oneshot::Sender<Response>>,
    /// The request's Origin, for the CORS headers of the head.
    origin: Option<String>,
    /// The open stream: its id in [`Protocol::streams`] when resumable, or
    /// its sender when not.
    stream: Option<Open>,
}

enum Open {
    Logged(String),
    Plain(EventSender),
}

pub(crate) struct Exchange<'a> {
    protocol: &'a Protocol,
    backends: Backends<'a>,
    mode: Mode,
    /// Headers of the response (the session id).
    headers: RefCell<Vec<(String, String)>>,
    /// Set for legacy sessions: their streams can be resumed.
    resumable: RefCell<Option<Resumable>>,
}

/// Why the client could not be asked.
pub(crate) enum AskError {
    /// This exchange cannot carry requests to the client.
    Unsupported,
    /// Too many requests are waiting for answers host-wide.
    Busy,
    /// The client answered with a JSON-RPC error.
    Refused(Value),
    /// The stream ended before the answer came.
    Gone,
}

impl<'a> Exchange<'a> {
    pub fn buffered(protocol: &'a Protocol, backends: Backends<'a>) -> Self {
        Exchange {
            protocol,
            backends,
            mode: Mode::Buffered(RefCell::default()),
            headers: RefCell::default(),
            resumable: RefCell::default(),
        }
    }

    pub fn streaming(
        protocol: &'a Protocol,
        backends: Backends<'a>,
        head: oneshot::Sender<Response>,
        origin: Option<String>,
    ) -> Self {
        let mode = Mode::Streaming(RefCell::new(Streaming { head: Some(head), origin, stream: None }));
        Exchange { protocol, backends, mode, headers: RefCell::default(), resumable: RefCell::default() }
    }

    /// Marks the exchange as part of a legacy session: `headers` go on the
    /// response, and its stream is resumable.
    pub fn set_session(&self, headers: Vec<(String, String)>, resumable: Resumable) {
        *self.headers.borrow_mut() = headers;
        *self.resumable.borrow_mut() = Some(resumable);
    }

    fn headers(&self) -> Vec<(String, String)> {
        self.headers.borrow().clone()
    }

    /// Sends a notification (or request) ahead of the answer.
    pub fn send(&self, message: Value) {
        match &self.mode {
            Mode::Buffered(out) => out.borrow_mut().push(message),
            Mode::Streaming(streaming) => self.stream_event(&mut streaming.borrow_mut(), message.to_string()),
        }
    }

    fn stream_event(&self, streaming: &mut Streaming, data: String) {
        if streaming.stream.is_none() {
            streaming.stream = Some(self.open(streaming));
        }
        match &streaming.stream {
            Some(Open::Logged(id)) => self.protocol.streams.push(id, data),
            Some(Open::Plain(sender)) => {
                let _ = sender.send(SseEvent { id: None, data });
            }
            None => {}
        }
    }

    /// Sends the SSE response head.
    fn open(&self, streaming: &mut Streaming) -> Open {
        let (sender, receiver) = event_channel();
        let response = Response { status: 200, headers: self.headers(), body: Body::Stream(receiver) };
        self.head(streaming, response);
        let Some(resumable) = self.resumable.borrow().clone() else { return Open::Plain(sender) };
        let id = self.random_hex(8);
        self.protocol.streams.open(&id, &resumable.session, self.backends.clock.now_ms(), sender);
        if resumable.prime {
            self.protocol.streams.push(&id, String::new());
        }
        Open::Logged(id)
    }

    /// Ends the exchange with `answer`: as the stream's last event when one
    /// is open, else as a JSON response (or an SSE body of everything
    /// buffered). Returns the response still to send.
    pub fn finish(&self, status: u16, message: Value) -> Answer {
        match &self.mode {
            Mode::Buffered(out) => {
                let notifications = out.take();
                if notifications.is_empty() {
                    return Response::json(status, self.headers(), &message).into();
                }
                let events = notifications
                    .into_iter()
                    .chain([message])
                    .map(|m| SseEvent { id: None, data: m.to_string() })
                    .collect();
                Response { status, headers: self.headers(), body: Body::Sse(events) }.into()
            }
            Mode::Streaming(streaming) => {
                let mut streaming = streaming.borrow_mut();
                if streaming.stream.is_none() {
                    return Response::json(status, self.headers(), &message).into();
                }
                self.stream_event(&mut streaming, message.to_string());
                self.close(&mut streaming);
                Answer::Streamed
            }
        }
    }

    /// Opens the SSE stream now (sending the response head) and returns a
    /// sender onto it, for events produced elsewhere (subscriptions).
    /// `None` for buffered and resumable exchanges.
    pub fn open_stream(&self) -> Option<EventSender> {
        let Mode::Streaming(streaming) = &self.mode else { return None };
        if self.resumable.borrow().is_some() {
            return None;
        }
        let mut streaming = streaming.borrow_mut();
        if streaming.stream.is_none() {
            streaming.stream = Some(self.open(&mut streaming));
        }
        match &streaming.stream {
            Some(Open::Plain(sender)) => Some(sender.clone()),
            _ => None,
        }
    }

    /// True when the response can be sent before the exchange ends.
    pub fn is_streaming(&self) -> bool {
        matches!(self.mode, Mode::Streaming(_))
    }

    /// Sends the response of a streaming exchange that did not stream.
    pub fn send_head(&self, response: Response) {
        if let Mode::Streaming(streaming) = &self.mode {
            self.head(&mut streaming.borrow_mut(), response);
        }
    }

    fn head(&self, streaming: &mut Streaming, response: Response) {
        if let Some(head) = streaming.head.take() {
            let _ = head.send(self.protocol.with_cors(streaming.origin.as_deref(), response));
        }
    }

    /// Ends an open stream without an answer (a cancelled request).
    pub fn abandon(&self) -> Option<Answer> {
        let Mode::Streaming(streaming) = &self.mode else { return None };
        let mut streaming = streaming.borrow_mut();
        streaming.stream.as_ref()?;
        self.close(&mut streaming);
        Some(Answer::Streamed)
    }

    fn close(&self, streaming: &mut Streaming) {
        if let Some(Open::Logged(id)) = streaming.stream.take() {
            self.protocol.streams.finish(&id, self.backends.clock.now_ms());
        }
    }

    /// Sends each request to the client and waits for every answer.
    /// `requests` are (key, method, params); the answers come back keyed.
    pub async fn ask(&self, requests: Vec<(String, &'static str, Value)>) -> Result<Vec<InputResponse>, AskError> {
        let resumable = self.resumable.borrow().clone();
        let Some(resumable) = resumable.filter(|_| matches!(self.mode, Mode::Streaming(_))) else {
            return Err(AskError::Unsupported);
        };
        let mut waiting = Vec::with_capacity(requests.len());
        let mut guard = PendingGuard { protocol: self.protocol, keys: Vec::new() };
        for (key, method, params) in requests {
            let id = format!("smcp-{}", self.random_hex(8));
            let pending_key = answer_key(&resumable.session, &Value::String(id.clone()));
            let receiver = self.protocol.streams.expect_answer(pending_key.clone()).ok_or(AskError::Busy)?;
            guard.keys.push(pending_key);
            self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
            waiting.push((key, receiver));
        }
        let mut responses = Vec::with_capacity(waiting.len());
        for (key, receiver) in waiting {
            match receiver.await {
                Ok(Ok(response)) => responses.push(InputResponse { key, response }),
                Ok(Err(error)) => return Err(AskError::Refused(error)),
                Err(_) => return Err(AskError::Gone),
            }
        }
        Ok(responses)
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut raw = vec![0u8; bytes];
        self.backends.random.fill(&mut raw);
        raw.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Drop for Exchange<'_> {
    /// A dropped exchange (timed out, cancelled) must not leave a stream
    /// that looks live forever.
    fn drop(&mut self) {
        if let Mode::Streaming(streaming) = &self.mode
            && let Ok(mut streaming) = streaming.try_borrow_mut()
        {
            self.close(&mut streaming);
        }
    }
}

/// The key under which a session's answer to request `id` is awaited.
pub(crate) fn answer_key(session: &str, id: &Value) -> String {
    format!("{session}#{id}")
}

/// Forgets the pending requests of an `ask` that ended early.
struct PendingGuard<'a> {
    protocol: &'a Protocol,
    keys: Vec<String>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        for key in &self.keys {
            self.protocol.streams.forget_answer(key);
        }
    }
}
