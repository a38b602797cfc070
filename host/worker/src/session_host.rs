//! Legacy sessions, each owned by a Durable Object named after its id.
//!
//! A legacy session's state that matters between requests lives in the
//! engine serving it: its streams and the events kept for resumption
//! (`Last-Event-ID`), the requests a tool sent the client and waits on
//! (elicitation, sampling, roots), and its standalone stream of change
//! notifications. In production one session's requests land on many
//! isolates, so the front forwards every request of a session (and the
//! `initialize` that opens it, under an id the front picks) to the
//! session's object. An object runs in one isolate at a time, so all of a
//! session's requests meet in one engine there, which serves them as the
//! front serves any other request. The front checks credentials before
//! forwarding ([`smcp_core::engine::Engine::session_route`]); the object
//! checks them again, as every engine does.

use smcp_core::http::Request as CoreRequest;
use worker::{DurableObject, Env, Headers, Method, Request, RequestInit, Response, State, Url, durable_object};

/// Binding name of the namespace (wrangler.toml).
pub const BINDING: &str = "SMCP_SESSIONS";
/// Set by the front on a forwarded `initialize`: the id of the session it
/// opens. Removed from every request a client sends.
pub const NEW_SESSION_HEADER: &str = "x-smcp-new-session";

#[durable_object(fetch)]
pub struct SessionHost {
    state: State,
    env: Env,
}

impl DurableObject for SessionHost {
    fn new(state: State, env: Env) -> Self {
        SessionHost { state, env }
    }

    async fn fetch(&self, request: Request) -> worker::Result<Response> {
        crate::serve_session(request, &self.env, |work| self.state.wait_until(work)).await
    }
}

/// Sends `request` (already read by the front) to the object of
/// `session`; `new` when the request opens it.
pub async fn forward(
    env: &Env,
    session: &str,
    new: bool,
    request: &CoreRequest,
    url: &Url,
) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.append(name, value)?;
    }
    if new {
        headers.set(NEW_SESSION_HEADER, session)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(request.method.clone())).with_headers(headers);
    if !request.body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(&request.body[..]).into()));
    }
    let forwarded = Request::new_with_init(url.as_str(), &init)?;
    let stub = env.durable_object(BINDING)?.id_from_name(session)?.get_stub()?;
    stub.fetch_with_request(forwarded).await
}
