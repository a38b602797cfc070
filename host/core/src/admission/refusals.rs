//! Refused requests in the audit trail, aggregated: the first refusal of
//! its kind in a window is recorded at once, the rest of the window as one
//! record with a count. A caller sending refused requests in a loop thus
//! costs a tenant's trail two records a minute per kind, not one each.

use crate::audit::Event;
use crate::lru::Lru;
use crate::names::TenantId;
use serde_json::json;
use std::sync::Mutex;

/// How long refusals of one kind are counted into one record.
pub const WINDOW_MS: u64 = 60_000;
/// Windows open at once (kinds are bounded by the tenants that exist, as
/// requests for other tenants are refused before authentication); past it
/// the least recently used window is summarised early.
const OPEN_WINDOWS: usize = 65_536;
/// Distinct principals named in one summary.
const PRINCIPALS_KEPT: usize = 8;

/// What refusals are counted by: tenant, API (`mcp`, `admin`) and reason.
type Kind = (TenantId, &'static str, &'static str);

struct Window {
    opened_ms: u64,
    last_ms: u64,
    /// Refusals after the first, not yet recorded.
    more: u64,
    servers: Vec<String>,
    principals: Vec<String>,
    reason: String,
}

/// Refusals counted per kind, for the audit trail.
#[derive(Default)]
pub(crate) struct Refusals {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    windows: Lru<Kind, Window>,
    /// Summaries of windows ended early, for the next flush.
    ended: Vec<(TenantId, Event)>,
}

/// One refused request.
pub(crate) struct Refusal<'a> {
    pub tenant: &'a TenantId,
    pub api: &'static str,
    /// A stable name of the reason (`unknown_key`, `missing`, …).
    pub code: &'static str,
    pub reason: String,
    pub method: &'a str,
    pub server: Option<&'a str>,
    pub principal: Option<String>,
}

impl Refusals {
    /// Counts `refusal`; returns the event to record now when it is the
    /// first of its kind in a window.
    pub(crate) fn note(&self, refusal: Refusal<'_>, now_ms: u64) -> Option<Event> {
        let Ok(mut state) = self.state.lock() else { return None };
        let kind = (refusal.tenant.to_owned(), refusal.api, refusal.code);
        if let Some(window) = state.windows.get_mut(&kind)
            && now_ms.saturating_sub(window.opened_ms) < WINDOW_MS
        {
            window.more += 1;
            window.last_ms = now_ms;
            keep(&mut window.servers, refusal.server);
            keep(&mut window.principals, refusal.principal.as_deref());
            return None;
        }
        if let Some(old) = state.windows.remove(&kind) {
            state.end(kind.clone(), old);
        }
        let window = Window {
            opened_ms: now_ms,
            last_ms: now_ms,
            more: 0,
            servers: Vec::new(),
            principals: Vec::new(),
            reason: refusal.reason.clone(),
        };
        if let Some((evicted_kind, evicted)) = state.windows.insert(kind, window, OPEN_WINDOWS) {
            state.end(evicted_kind, evicted);
        }
        let detail = json!({ "reason": refusal.reason, "method": refusal.method, "api": refusal.api, "count": 1 });
        Some(Event {
            kind: "auth.refused".into(),
            principal: refusal.principal,
            server: refusal.server.map(str::to_owned),
            detail,
        })
    }

    /// Summaries of the windows that closed by `now_ms` (of every window
    /// when `all`), as `(tenant, event)`; windows without further refusals
    /// end silently.
    pub(crate) fn closed(&self, now_ms: u64, all: bool) -> Vec<(TenantId, Event)> {
        let Ok(mut state) = self.state.lock() else { return Vec::new() };
        let due: Vec<Kind> = state
            .windows
            .iter()
            .filter(|(_, w)| all || now_ms.saturating_sub(w.opened_ms) >= WINDOW_MS)
            .map(|(k, _)| k.clone())
            .collect();
        for kind in due {
            if let Some(window) = state.windows.remove(&kind) {
                state.end(kind, window);
            }
        }
        std::mem::take(&mut state.ended)
    }
}

impl State {
    /// Keeps the summary of `window` for the next flush, if it counted more
    /// than the refusal recorded when it opened.
    fn end(&mut self, (tenant, api, _): Kind, window: Window) {
        if window.more == 0 {
            return;
        }
        let detail = json!({
            "reason": window.reason,
            "api": api,
            "count": window.more,
            "from_ms": window.opened_ms,
            "to_ms": window.last_ms,
            "servers": window.servers,
            "principals": window.principals,
        });
        self.ended.push((tenant, Event { kind: "auth.refused".into(), principal: None, server: None, detail }));
    }
}

fn keep(list: &mut Vec<String>, item: Option<&str>) {
    if let Some(item) = item
        && list.len() < PRINCIPALS_KEPT
        && !list.iter().any(|i| i == item)
    {
        list.push(item.to_owned());
    }
}

/// Refused requests per client address: refusals one address may cause
/// (burst, then per second) before it is turned away with 429 ahead of any
/// authentication work.
pub const CLIENT_REFUSALS: crate::auth::rate::Limit = crate::auth::rate::Limit { burst: 100.0, per_second: 10.0 };
/// Addresses whose refusals are counted at once (least recently seen go).
const CLIENTS_COUNTED: usize = 65_536;

/// Each client address's budget of refused requests, in this process.
#[derive(Default)]
pub(crate) struct ClientRefusals {
    buckets: Mutex<Lru<String, (f64, u64)>>,
}

impl ClientRefusals {
    /// Seconds until `client` may be refused again; `None` when it may now.
    pub(crate) fn wait(&self, client: Option<&str>, now_ms: u64) -> Option<u64> {
        let client = client?;
        let mut buckets = self.buckets.lock().ok()?;
        let tokens = refill(buckets.get(client).copied()?, now_ms);
        (tokens < 1.0).then(|| ((1.0 - tokens) / CLIENT_REFUSALS.per_second).ceil().max(1.0) as u64)
    }

    /// Counts one refusal of `client`.
    pub(crate) fn refused(&self, client: Option<&str>, now_ms: u64) {
        let (Some(client), Ok(mut buckets)) = (client, self.buckets.lock()) else { return };
        let tokens = buckets.get(client).copied().map_or(CLIENT_REFUSALS.burst, |bucket| refill(bucket, now_ms));
        buckets.insert(client.to_owned(), ((tokens - 1.0).max(0.0), now_ms), CLIENTS_COUNTED);
    }
}

fn refill((tokens, at_ms): (f64, u64), now_ms: u64) -> f64 {
    (tokens + now_ms.saturating_sub(at_ms) as f64 / 1000.0 * CLIENT_REFUSALS.per_second).min(CLIENT_REFUSALS.burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_refused_too_often_waits() {
        let clients = ClientRefusals::default();
        for _ in 0..100 {
            assert_eq!(clients.wait(Some("192.0.2.1"), 0), None);
            clients.refused(Some("192.0.2.1"), 0);
        }
        assert_eq!(clients.wait(Some("192.0.2.1"), 0), Some(1));
        assert_eq!(clients.wait(Some("192.0.2.2"), 0), None, "per address");
        assert_eq!(clients.wait(Some("192.0.2.1"), 100), None, "a tenth of a second gives one more");
        assert_eq!(clients.wait(None, 0), None, "unknown addresses are not counted");
    }

    #[test]
    fn refusals_are_counted_per_kind_and_window() {
        let refusals = Refusals::default();
        let acme = TenantId::from_static("acme");
        let refusal = |code| Refusal {
            tenant: &acme,
            api: "mcp",
            code,
            reason: code.into(),
            method: "POST",
            server: Some("notes"),
            principal: None,
        };
        assert!(refusals.note(refusal("missing"), 0).is_some(), "the first at once");
        assert!(refusals.note(refusal("missing"), 1).is_none());
        assert!(refusals.note(refusal("unknown_key"), 2).is_some(), "another reason, another window");
        assert!(refusals.closed(WINDOW_MS - 1, false).is_empty());
        let closed = refusals.closed(WINDOW_MS, false);
        assert_eq!(closed.len(), 1, "only the window with more than its first");
        assert_eq!(closed[0].1.detail["count"], 1);
    }
}
