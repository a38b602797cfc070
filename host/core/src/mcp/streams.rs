//! What the engine keeps in memory across HTTP requests of a legacy
//! session: the events of each SSE stream (so a client that lost its
//! connection resumes with `Last-Event-ID`), the server-to-client requests
//! awaiting an answer, and the requests in flight (so they can be
//! cancelled).
//!
//! It is per process (per isolate on Workers): a live stream, the guest
//! call behind it and its pending requests live where the stream was
//! opened. Everything here is bounded in count, size and age.

use crate::http::{EventSender, EventStream, SseEvent, event_channel};
use futures_channel::oneshot;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

/// How long a finished stream stays resumable.
pub const REPLAY_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Most events kept per stream; older ones are dropped from the replay.
pub const MAX_EVENTS_PER_STREAM: usize = 256;
/// Most streams remembered at once; the oldest are forgotten first.
pub const MAX_STREAMS: usize = 4096;
/// Most streams one session keeps; its oldest goes first, so one client
/// cannot push everyone else's streams out of [`MAX_STREAMS`].
pub const MAX_STREAMS_PER_SESSION: usize = 32;
/// Most bytes of events kept for one stream's replay: room for a whole
/// tool result (4 MiB of guest output at most, escaped into JSON) and the
/// notifications before it; older events go first.
pub const MAX_EVENT_BYTES_PER_STREAM: usize = 16 << 20;
/// Most bytes of events kept for replay, process-wide. Over it, the
/// oldest streams' replays are dropped first (their live connections
/// carry on; only a resume from before the drop misses events).
pub const MAX_EVENT_BYTES: usize = 256 << 20;
/// Most server-to-client requests awaiting an answer, process-wide.
pub const MAX_PENDING: usize = 4096;
/// Most of them one tenant may hold, so that one tenant's guests cannot
/// leave none for the others.
pub const MAX_PENDING_PER_TENANT: usize = 256;

/// A client's answer to a server-to-client request: its result, or its error.
pub type ClientAnswer = Result<Value, Value>;

struct Stream {
    /// The session the stream belongs to: only it may resume it.
    session: String,
    started_ms: u64,
    finished_ms: Option<u64>,
    next_seq: u64,
    events: VecDeque<SseEvent>,
    /// Bytes of event data in `events`.
    bytes: usize,
    /// Where new events go while a client is connected.
    live: Option<EventSender>,
}

#[derive(Default)]
struct State {
    streams: HashMap<String, Stream>,
    /// Stream ids, oldest first, for eviction.
    order: VecDeque<String>,
    /// Bytes of event data kept, over all streams.
    bytes: usize,
    pending: HashMap<String, oneshot::Sender<ClientAnswer>>,
    inflight: HashMap<String, oneshot::Sender<()>>,
}

/// Why a resume was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeError {
    /// Not an event id this host minted, or from another session.
    Unknown,
    /// The stream aged out of the replay window.
    Expired,
}

#[derive(Default)]
pub struct Streams {
    state: Mutex<State>,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this state half-updated in a way
        // that matters more than losing resumability: carry on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a stream of `session`, live on `sender`.
    pub fn open(&self, stream_id: &str, session: &str, now_ms: u64, sender: EventSender) {
        let mut state = self.lock();
        evict(&mut state, now_ms);
        let mine: Vec<String> = state
            .order
            .iter()
            .filter(|id| state.streams.get(*id).is_some_and(|s| s.session == session))
            .cloned()
            .collect();
        for id in mine.iter().take((mine.len() + 1).saturating_sub(MAX_STREAMS_PER_SESSION)) {
            forget(&mut state, id);
            state.order.retain(|o| o != id);
        }
        let stream = Stream {
            session: session.to_owned(),
            started_ms: now_ms,
            finished_ms: None,
            next_seq: 0,
            events: VecDeque::new(),
            bytes: 0,
            live: Some(sender),
        };
        state.streams.insert(stream_id.to_owned(), stream);
        state.order.push_back(stream_id.to_owned());
    }

    /// Appends an event (its id is minted here) and sends it to the
    /// connected client, if any. A client that went away is not an error:
    /// the event waits for a resume.
    pub fn push(&self, stream_id: &str, data: String) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(stream) = state.streams.get_mut(stream_id) else { return };
        let event = SseEvent { id: Some(format!("{stream_id}_{}", stream.next_seq)), data };
        stream.next_seq += 1;
        let before = stream.bytes;
        stream.bytes += event.data.len();
        stream.events.push_back(event.clone());
        // The newest event is always kept, whatever its size.
        while stream.events.len() > 1
            && (stream.events.len() > MAX_EVENTS_PER_STREAM || stream.bytes > MAX_EVENT_BYTES_PER_STREAM)
        {
            if let Some(dropped) = stream.events.pop_front() {
                stream.bytes -= dropped.data.len();
            }
        }
        state.bytes = state.bytes - before + stream.bytes;
        if let Some(live) = &stream.live
            && !live.send(event)
        {
            stream.live = None;
        }
        if state.bytes > MAX_EVENT_BYTES {
            drop_oldest_replays(state, stream_id);
        }
    }

    /// Ends a stream: its connection closes after the events sent so far;
    /// it stays resumable for [`REPLAY_WINDOW_MS`].
    pub fn finish(&self, stream_id: &str, now_ms: u64) {
        if let Some(stream) = self.lock().streams.get_mut(stream_id) {
            stream.finished_ms = Some(now_ms);
            stream.live = None;
        }
    }

    /// Resumes the stream of event `last_event_id` for `session`: the
    /// receiver yields the events after that one, then, while the stream
    /// is still running, the events to come (the old connection no longer
    /// gets them), and ends with the stream.
    pub fn resume(&self, session: &str, last_event_id: &str, now_ms: u64) -> Result<EventStream, ResumeError> {
        let (stream_id, seq) = last_event_id.rsplit_once('_').ok_or(ResumeError::Unknown)?;
        let seq: u64 = seq.parse().map_err(|_| ResumeError::Unknown)?;
        let mut state = self.lock();
        evict(&mut state, now_ms);
        let stream = state.streams.get_mut(stream_id).ok_or(ResumeError::Expired)?;
        if stream.session != session || seq >= stream.next_seq {
            return Err(ResumeError::Unknown);
        }
        let (sender, receiver) = event_channel();
        // Ids are `{stream}_{seq}` with seq counting up: compare the seq.
        let after = |e: &&SseEvent| {
            e.id.as_deref()
                .and_then(|id| id.rsplit_once('_'))
                .and_then(|(_, n)| n.parse::<u64>().ok())
                .is_some_and(|n| n > seq)
        };
        for event in stream.events.iter().filter(after) {
            let _ = sender.send(event.clone());
        }
        if stream.finished_ms.is_none() {
            stream.live = Some(sender);
        }
        Ok(receiver)
    }

    /// Waits for the answer to a server-to-client request; `key` names the
    /// session (`tenant/server/session`) and the request id. `None` when
    /// too many are pending, in all or for the key's tenant.
    pub fn expect_answer(&self, key: String) -> Option<oneshot::Receiver<ClientAnswer>> {
        let mut state = self.lock();
        if state.pending.len() >= MAX_PENDING {
            return None;
        }
        let tenant = key.split('/').next().unwrap_or_default();
        let of_tenant = state.pending.keys().filter(|k| k.split('/').next() == Some(tenant)).count();
        if of_tenant >= MAX_PENDING_PER_TENANT {
            return None;
        }
        let (sender, receiver) = oneshot::channel();
        state.pending.insert(key, sender);
        Some(receiver)
    }

    /// Delivers a client's answer; false when nothing waits for it.
    pub fn answer(&self, key: &str, answer: ClientAnswer) -> bool {
        let sender = self.lock().pending.remove(key);
        sender.is_some_and(|s| s.send(answer).is_ok())
    }

    /// Forgets a pending request (its call ended without an answer).
    pub fn forget_answer(&self, key: &str) {
        self.lock().pending.remove(key);
    }

    /// Registers a request in flight; the receiver fires on cancellation.
    pub fn start(&self, key: String) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        self.lock().inflight.insert(key, sender);
        receiver
    }

    pub fn end(&self, key: &str) {
        self.lock().inflight.remove(key);
    }

    /// Cancels a request in flight; false when there is none.
    pub fn cancel(&self, key: &str) -> bool {
        let sender = self.lock().inflight.remove(key);
        sender.is_some_and(|s| s.send(()).is_ok())
    }
}

/// Forgets streams past the replay window, and the oldest beyond
/// [`MAX_STREAMS`].
fn evict(state: &mut State, now_ms: u64) {
    while let Some(oldest) = state.order.front() {
        let expired = match state.streams.get(oldest) {
            None => true,
            Some(s) => {
                let age_from = s.finished_ms.unwrap_or(s.started_ms);
                (s.finished_ms.is_some() && now_ms.saturating_sub(age_from) > REPLAY_WINDOW_MS)
                    || state.order.len() >= MAX_STREAMS
            }
        };
        if !expired {
            break;
        }
        if let Some(id) = state.order.pop_front() {
            forget(state, &id);
        }
    }
}

/// Removes a stream, and its events from the count of bytes kept.
fn forget(state: &mut State, stream_id: &str) {
    if let Some(stream) = state.streams.remove(stream_id) {
        state.bytes -= stream.bytes;
    }
}

/// Drops the replay events of the oldest streams, `newest` last, until
/// the bytes kept are under [`MAX_EVENT_BYTES`]; of `newest`, its last
/// event stays.
fn drop_oldest_replays(state: &mut State, newest: &str) {
    let oldest_first: Vec<String> =
        state.order.iter().filter(|id| *id != newest).cloned().chain([newest.to_owned()]).collect();
    for id in &oldest_first {
        if state.bytes <= MAX_EVENT_BYTES {
            return;
        }
        let Some(stream) = state.streams.get_mut(id) else { continue };
        let keep = usize::from(id == newest);
        while stream.events.len() > keep {
            if let Some(dropped) = stream.events.pop_front() {
                stream.bytes -= dropped.data.len();
                state.bytes -= dropped.data.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn resume_replays_what_was_missed_then_goes_live() {
        let streams = Streams::default();
        let (tx, rx) = event_channel();
        streams.open("s1", "sess", 0, tx);
        streams.push("s1", "a".into());
        streams.push("s1", "b".into());
        drop(rx); // the connection broke
        streams.push("s1", "c".into());
        let resumed = streams.resume("sess", "s1_0", 10).unwrap();
        streams.push("s1", "d".into());
        streams.finish("s1", 20);
        let events: Vec<SseEvent> = futures::executor::block_on(resumed.collect());
        assert_eq!(data(&events), ["b", "c", "d"]);
        assert_eq!(events[2].id.as_deref(), Some("s1_3"));
        // Finished: the replay only, then the end.
        let replay: Vec<SseEvent> = futures::executor::block_on(streams.resume("sess", "s1_2", 30).unwrap().collect());
        assert_eq!(data(&replay), ["d"]);
    }

    #[test]
    fn resume_is_bound_to_its_session_and_window() {
        let streams = Streams::default();
        let (tx, _rx) = event_channel();
        streams.open("s1", "sess", 0, tx);
        streams.push("s1", "a".into());
        streams.finish("s1", 0);
        let error = |session: &str, id: &str, now: u64| streams.resume(session, id, now).err();
        assert_eq!(error("other", "s1_0", 1), Some(ResumeError::Unknown));
        assert_eq!(error("sess", "s1_9", 1), Some(ResumeError::Unknown));
        assert_eq!(error("sess", "nonsense", 1), Some(ResumeError::Unknown));
        assert_eq!(error("sess", "s1_0", REPLAY_WINDOW_MS + 1), Some(ResumeError::Expired));
    }

    #[test]
    fn one_session_cannot_push_out_anothers_streams() {
        let streams = Streams::default();
        let (tx, _rx) = event_channel();
        streams.open("victim", "good", 0, tx.clone());
        streams.push("victim", "kept".into());
        for n in 0..MAX_STREAMS + 10 {
            streams.open(&format!("flood{n}"), "greedy", 0, tx.clone());
        }
        let resumed =
            futures::executor::block_on(streams.resume("good", "victim_0", 1).unwrap().take(0).collect::<Vec<_>>());
        assert!(resumed.is_empty());
        let state = streams.lock();
        assert_eq!(state.streams.values().filter(|s| s.session == "greedy").count(), MAX_STREAMS_PER_SESSION);
        assert!(state.streams.contains_key("victim"));
    }

    #[test]
    fn events_kept_are_bounded_in_bytes_per_stream_and_in_all() {
        let streams = Streams::default();
        // A client that reads: its connection stays live throughout.
        let (tx, mut rx) = event_channel();
        let mut push = |id: &str, data: String| {
            streams.push(id, data);
            while rx.try_recv().is_some() {}
        };
        let mib = "x".repeat(1 << 20);
        // One stream: its oldest events go once it holds more than its share.
        streams.open("big", "sess", 0, tx.clone());
        for _ in 0..20 {
            push("big", mib.clone());
        }
        {
            let state = streams.lock();
            let big = &state.streams["big"];
            assert_eq!(big.bytes, MAX_EVENT_BYTES_PER_STREAM);
            assert_eq!(big.events.len(), 16);
            assert_eq!(big.events.back().unwrap().id.as_deref(), Some("big_19"));
            assert_eq!(state.bytes, big.bytes);
        }
        // A single event larger than the share is kept whole.
        push("big", "y".repeat(MAX_EVENT_BYTES_PER_STREAM + 1));
        assert_eq!(streams.lock().streams["big"].events.len(), 1);
        // Many streams of many sessions: the oldest replays go first, and
        // the live connections stay.
        for n in 0..40 {
            let id = format!("s{n}");
            streams.open(&id, &format!("sess{n}"), 0, tx.clone());
            for _ in 0..8 {
                push(&id, mib.clone());
            }
        }
        let state = streams.lock();
        assert!(state.bytes <= MAX_EVENT_BYTES, "{} bytes kept", state.bytes);
        assert_eq!(state.bytes, state.streams.values().map(|s| s.bytes).sum::<usize>());
        assert!(state.streams["big"].events.is_empty() && state.streams["big"].live.is_some());
        assert_eq!(state.streams["s39"].events.len(), 8);
        drop(state);
        // Forgetting streams gives their bytes back.
        streams.lock().order.clear();
        let ids: Vec<String> = streams.lock().streams.keys().cloned().collect();
        let mut state = streams.lock();
        for id in ids {
            forget(&mut state, &id);
        }
        assert_eq!(state.bytes, 0);
    }

    #[test]
    fn one_tenant_cannot_hold_every_pending_request() {
        let streams = Streams::default();
        let held: Vec<_> =
            (0..MAX_PENDING_PER_TENANT).map(|n| streams.expect_answer(format!("greedy/s/sess#{n}")).unwrap()).collect();
        assert!(streams.expect_answer("greedy/s/other#1".into()).is_none(), "the tenant's share is spent");
        assert!(streams.expect_answer("modest/s/sess#1".into()).is_some(), "another tenant still asks");
        streams.forget_answer("greedy/s/sess#0");
        assert!(
            streams.expect_answer("greedy/s/sess#x".into()).is_some(),
            "an answered or forgotten request frees its place"
        );
        drop(held);
    }

    #[test]
    fn answers_reach_only_their_waiter() {
        let streams = Streams::default();
        let waiting = streams.expect_answer("sess#1".into()).unwrap();
        assert!(!streams.answer("sess#2", Ok(Value::Null)));
        assert!(streams.answer("sess#1", Ok(Value::Bool(true))));
        assert_eq!(futures::executor::block_on(waiting).unwrap(), Ok(Value::Bool(true)));
        let cancelled = streams.start("sess#7".into());
        assert!(streams.cancel("sess#7"));
        assert!(futures::executor::block_on(cancelled).is_ok());
        assert!(!streams.cancel("sess#7"));
    }
}
