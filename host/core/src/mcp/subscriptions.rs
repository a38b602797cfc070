//! Who hears about changes: clients that opened a standalone stream of a
//! legacy session (`GET`, with the URIs the session subscribed to through
//! `resources/subscribe`), and 2026-07-28 `subscriptions/listen` streams
//! with their filters. Changes come from guests (`notify`) and from the
//! host (a server redeployed).
//!
//! Per process, like [`super::streams`]: a subscriber hears about changes
//! made in the process it is connected to.

use crate::capabilities::ListKind;
use crate::http::{EventSender, EventStream, SseEvent, event_channel};
use crate::names::TenantId;
use futures_channel::oneshot;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Most subscribers per process, and URIs per legacy session.
pub const MAX_SUBSCRIBERS: usize = 4096;
pub const MAX_URIS_PER_SESSION: usize = 256;
/// Longest resource URI one may subscribe to.
pub const MAX_URI_BYTES: usize = 2048;
/// Most tasks one listen stream may follow, and the longest task id.
pub const MAX_TASKS_PER_LISTEN: usize = 64;
const MAX_TASK_ID_BYTES: usize = 64;
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// What a subscriber wants to hear about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub tools: bool,
    pub prompts: bool,
    pub resources: bool,
    /// Resource URIs (2026-07-28); legacy sessions keep theirs separately.
    pub uris: BTreeSet<String>,
    /// Tasks whose status changes to announce (the tasks extension); the
    /// caller keeps only tasks the listener may see.
    pub tasks: BTreeSet<String>,
}

impl Filter {
    /// Parses a `subscriptions/listen` filter, keeping what the host honours.
    pub fn from_listen(notifications: Option<&Value>) -> Filter {
        let flag = |name: &str| notifications.and_then(|n| n.get(name)).and_then(Value::as_bool).unwrap_or(false);
        // A list of strings, each at most `max_bytes`, at most `max` of them.
        let strings = |name: &str, max_bytes: usize, max: usize| -> BTreeSet<String> {
            let items = notifications.and_then(|n| n.get(name)).and_then(Value::as_array);
            let short = items.into_iter().flatten().filter_map(Value::as_str).filter(|s| s.len() <= max_bytes);
            short.take(max).map(str::to_owned).collect()
        };
        let uris = strings("resourceSubscriptions", MAX_URI_BYTES, MAX_URIS_PER_SESSION);
        let tasks = strings("taskIds", MAX_TASK_ID_BYTES, MAX_TASKS_PER_LISTEN);
        Filter {
            tools: flag("toolsListChanged"),
            prompts: flag("promptsListChanged"),
            resources: flag("resourcesListChanged"),
            uris,
            tasks,
        }
    }

    /// The filter as acknowledged to the client.
    pub fn to_listen(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (name, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                out.insert(name.into(), json!(true));
            }
        }
        if !self.uris.is_empty() {
            out.insert("resourceSubscriptions".into(), json!(self.uris));
        }
        if !self.tasks.is_empty() {
            out.insert("taskIds".into(), json!(self.tasks));
        }
        Value::Object(out)
    }

    fn wants_list(&self, kind: ListKind) -> bool {
        match kind {
            ListKind::Tools => self.tools,
            ListKind::Prompts => self.prompts,
            ListKind::Resources => self.resources,
        }
    }
}

/// A change to announce.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    List(ListKind),
    Resource(String),
    /// A task's new status: its id and the task as `tasks/get` shows it.
    Task {
        id: String,
        task: Value,
    },
}

enum Kind {
    /// A legacy session's standalone stream; its URIs are the session's.
    Session(String),
    /// A `subscriptions/listen` stream: its id and filter.
    Listen { id: Value, filter: Filter, ended: Option<oneshot::Sender<()>> },
}

struct Subscriber {
    server: (TenantId, String),
    kind: Kind,
    sender: EventSender,
}

#[derive(Default)]
struct State {
    subscribers: Vec<Subscriber>,
    /// Legacy sessions' `resources/subscribe` URIs, by session key, until
    /// the session expires.
    session_uris: HashMap<String, SessionUris>,
}

struct SessionUris {
    expires_ms: u64,
    uris: BTreeSet<String>,
}

/// Why `resources/subscribe` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriRefused {
    #[error("at most {MAX_URIS_PER_SESSION} resource subscriptions per session")]
    TooMany,
    #[error("resource URIs to subscribe to are at most {MAX_URI_BYTES} bytes")]
    TooLong,
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeError {
    /// The session already has a live standalone stream.
    Conflict,
    /// Too many subscribers in this process.
    Full,
}

#[derive(Default)]
pub struct Subscriptions {
    state: Mutex<State>,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admit(state: &mut State) -> Result<(), SubscribeError> {
        // Forget subscribers whose client went away.
        state.subscribers.retain(|s| !s.sender.is_closed());
        if state.subscribers.len() >= MAX_SUBSCRIBERS { Err(SubscribeError::Full) } else { Ok(()) }
    }

    /// Opens the standalone stream of legacy session `session` of `server`.
    pub fn open_session_stream(
        &self,
        server: (TenantId, String),
        session: &str,
    ) -> Result<EventStream, SubscribeError> {
        let mut state = self.lock();
        Self::admit(&mut state)?;
        if state.subscribers.iter().any(|s| matches!(&s.kind, Kind::Session(k) if k == session)) {
            return Err(SubscribeError::Conflict);
        }
        let (sender, receiver) = event_channel();
        state.subscribers.push(Subscriber { server, kind: Kind::Session(session.to_owned()), sender });
        Ok(receiver)
    }

    /// `resources/subscribe` (`on`) or `resources/unsubscribe` of a legacy
    /// session that expires at `expires_ms`; what it subscribed to is
    /// forgotten then, or when it ends.
    pub fn session_uri(
        &self,
        session: &str,
        uri: &str,
        on: bool,
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<(), UriRefused> {
        let mut state = self.lock();
        if !state.session_uris.contains_key(session) {
            Self::forget_expired(&mut state, now_ms);
        }
        if !on {
            if let Some(entry) = state.session_uris.get_mut(session) {
                entry.uris.remove(uri);
            }
            return Ok(());
        }
        if uri.len() > MAX_URI_BYTES {
            return Err(UriRefused::TooLong);
        }
        let entry =
            state.session_uris.entry(session.to_owned()).or_insert(SessionUris { expires_ms, uris: BTreeSet::new() });
        if entry.uris.len() >= MAX_URIS_PER_SESSION && !entry.uris.contains(uri) {
            return Err(UriRefused::TooMany);
        }
        entry.uris.insert(uri.to_owned());
        Ok(())
    }

    /// Drops what sessions that expired by `now_ms` subscribed to; called
    /// periodically (by the engine's upkeep), so that
    /// an expired session's subscriptions go even if no one subscribes again.
    pub fn forget_expired_sessions(&self, now_ms: u64) {
        Self::forget_expired(&mut self.lock(), now_ms);
    }

    /// Drops the subscriptions and standalone streams of sessions that
    /// expired by `now_ms`.
    fn forget_expired(state: &mut State, now_ms: u64) {
        let expired: Vec<String> =
            state.session_uris.iter().filter(|(_, e)| e.expires_ms <= now_ms).map(|(k, _)| k.clone()).collect();
        for session in expired {
            state.session_uris.remove(&session);
            state.subscribers.retain(|s| !matches!(&s.kind, Kind::Session(k) if *k == session));
        }
    }

    /// Subscribed URIs kept across all sessions.
    pub fn session_uri_count(&self) -> usize {
        self.lock().session_uris.values().map(|e| e.uris.len()).sum()
    }

    /// Open streams: sessions' standalone streams and `subscriptions/listen`.
    pub fn stream_count(&self) -> usize {
        self.lock().subscribers.len()
    }

    /// Forgets an ended legacy session: its stream ends.
    pub fn end_session(&self, session: &str) {
        let mut state = self.lock();
        state.session_uris.remove(session);
        state.subscribers.retain(|s| !matches!(&s.kind, Kind::Session(k) if k == session));
    }

    /// Registers a `subscriptions/listen` stream sending on `sender`; the
    /// receiver fires when the host ends it (shutdown), and errs when the
    /// client went away.
    pub fn listen(
        &self,
        server: (TenantId, String),
        id: Value,
        filter: Filter,
        sender: EventSender,
    ) -> Result<oneshot::Receiver<()>, SubscribeError> {
        let mut state = self.lock();
        Self::admit(&mut state)?;
        let (ended, receiver) = oneshot::channel();
        state.subscribers.push(Subscriber { server, kind: Kind::Listen { id, filter, ended: Some(ended) }, sender });
        Ok(receiver)
    }

    /// Announces `change` to the subscribers of `server` that want it.
    pub fn publish(&self, server: &(TenantId, String), change: &Change) {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.subscribers.retain_mut(|subscriber| {
            if &subscriber.server != server {
                return true;
            }
            let message = match (&mut subscriber.kind, change) {
                (Kind::Session(session), Change::Resource(uri)) => {
                    let subscribed = state.session_uris.get(session.as_str()).is_some_and(|e| e.uris.contains(uri));
                    subscribed.then(|| notification("notifications/resources/updated", json!({ "uri": uri })))
                }
                (Kind::Session(_), Change::List(kind)) => Some(notification(kind.method(), json!({}))),
                (Kind::Listen { id, filter, .. }, Change::Resource(uri)) if filter.uris.contains(uri) => {
                    Some(notification(
                        "notifications/resources/updated",
                        json!({ "uri": uri, "_meta": { SUBSCRIPTION_ID: id } }),
                    ))
                }
                (Kind::Listen { id, filter, .. }, Change::List(kind)) if filter.wants_list(*kind) => {
                    Some(notification(kind.method(), json!({ "_meta": { SUBSCRIPTION_ID: id } })))
                }
                (Kind::Listen { id, filter, .. }, Change::Task { id: task_id, task })
                    if filter.tasks.contains(task_id) =>
                {
                    let mut params = task.clone();
                    params["_meta"] = json!({ SUBSCRIPTION_ID: id });
                    Some(notification("notifications/tasks", params))
                }
                (Kind::Listen { .. }, _) | (Kind::Session(_), Change::Task { .. }) => None,
            };
            let Some(message) = message else { return true };
            let event = SseEvent { id: None, data: message.to_string() };
            subscriber.sender.send(event)
        });
    }

    /// Ends every subscription (the host is shutting down): listen streams
    /// get their graceful completion, standalone streams just end.
    pub fn close_all(&self) {
        let mut state = self.lock();
        for subscriber in state.subscribers.drain(..) {
            if let Kind::Listen { mut ended, .. } = subscriber.kind
                && let Some(ended) = ended.take()
            {
                let _ = ended.send(());
            }
        }
    }
}

fn notification(method: &str, params: Value) -> Value {
    let params = if params.as_object().is_some_and(|p| p.is_empty()) { None } else { Some(params) };
    match params {
        Some(params) => json!({ "jsonrpc": "2.0", "method": method, "params": params }),
        None => json!({ "jsonrpc": "2.0", "method": method }),
    }
}

/// The graceful end of a `subscriptions/listen` stream: the response to
/// the listen request.
pub fn listen_completion(id: &Value) -> Value {
    json!({ "resultType": "complete", "_meta": { SUBSCRIPTION_ID: id } })
}

/// `notifications/subscriptions/acknowledged` for listen request `id`.
pub fn listen_acknowledgment(id: &Value, filter: &Filter) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": { "_meta": { SUBSCRIPTION_ID: id }, "notifications": filter.to_listen() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn server() -> (TenantId, String) {
        (TenantId::from_static("t"), "s".into())
    }

    fn drain(mut receiver: EventStream) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(event) = receiver.try_recv() {
            out.push(serde_json::from_str(&event.data).unwrap());
        }
        out
    }

    #[test]
    fn listen_streams_hear_only_what_they_asked_for() {
        let subs = Subscriptions::default();
        let filter =
            Filter::from_listen(Some(&json!({ "promptsListChanged": true, "resourceSubscriptions": ["a://1"] })));
        assert_eq!(filter.to_listen(), json!({ "promptsListChanged": true, "resourceSubscriptions": ["a://1"] }));
        let (sender, receiver) = event_channel();
        let _ended = subs.listen(server(), json!(7), filter, sender).unwrap();
        subs.publish(&server(), &Change::List(ListKind::Tools));
        subs.publish(&server(), &Change::List(ListKind::Prompts));
        subs.publish(&server(), &Change::Resource("a://2".into()));
        subs.publish(&server(), &Change::Resource("a://1".into()));
        subs.publish(&(TenantId::from_static("t"), "other".into()), &Change::List(ListKind::Prompts));
        let got = drain(receiver);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0]["method"], "notifications/prompts/list_changed");
        assert_eq!(got[0]["params"]["_meta"][SUBSCRIPTION_ID], 7);
        assert_eq!(got[1]["params"]["uri"], "a://1");
    }

    #[test]
    fn session_streams_follow_the_session() {
        let subs = Subscriptions::default();
        let stream = subs.open_session_stream(server(), "sess").unwrap();
        assert_eq!(subs.open_session_stream(server(), "sess").unwrap_err(), SubscribeError::Conflict);
        assert_eq!(subs.session_uri("sess", "a://1", true, 0, 1000), Ok(()));
        subs.publish(&server(), &Change::Resource("a://1".into()));
        subs.publish(&server(), &Change::Resource("a://2".into()));
        subs.publish(&server(), &Change::List(ListKind::Resources));
        subs.end_session("sess");
        let got: Vec<SseEvent> = futures::executor::block_on(stream.collect());
        let methods: Vec<Value> =
            got.iter().map(|e| serde_json::from_str::<Value>(&e.data).unwrap()["method"].clone()).collect();
        assert_eq!(methods, ["notifications/resources/updated", "notifications/resources/list_changed"]);
    }

    #[test]
    fn session_subscriptions_are_bounded_and_end_with_the_session() {
        let subs = Subscriptions::default();
        let long = format!("a://{}", "x".repeat(MAX_URI_BYTES));
        assert_eq!(subs.session_uri("old", &long, true, 0, 1000), Err(UriRefused::TooLong));
        for n in 0..MAX_URIS_PER_SESSION {
            assert_eq!(subs.session_uri("old", &format!("a://{n}"), true, 0, 1000), Ok(()));
        }
        assert_eq!(subs.session_uri("old", "a://one-more", true, 0, 1000), Err(UriRefused::TooMany));
        let stream = subs.open_session_stream(server(), "old").unwrap();
        assert_eq!(subs.session_uri_count(), MAX_URIS_PER_SESSION);
        // Another session's first subscription after "old" expired frees it
        // and ends its stream.
        assert_eq!(subs.session_uri("new", "a://1", true, 1000, 2000), Ok(()));
        assert_eq!(subs.session_uri_count(), 1);
        let ended: Vec<SseEvent> = futures::executor::block_on(stream.collect());
        assert!(ended.is_empty());
        // The periodic sweep frees an expired session's subscriptions
        // without anyone subscribing again.
        subs.forget_expired_sessions(1999);
        assert_eq!(subs.session_uri_count(), 1);
        subs.forget_expired_sessions(2000);
        assert_eq!(subs.session_uri_count(), 0);
    }

    #[test]
    fn shutdown_ends_listen_streams_gracefully() {
        let subs = Subscriptions::default();
        let (sender, _receiver) = event_channel();
        let ended = subs.listen(server(), json!("x"), Filter::default(), sender).unwrap();
        subs.close_all();
        assert!(futures::executor::block_on(ended).is_ok());
    }
}
