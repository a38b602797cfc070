//! The core's backend suite against Workers KV and R2, inside workerd:
//! `POST /operator/v1/backend-suite/{kv|trails|objects}/{case}?root=<run id>`
//! runs one case and answers `{"case", "ok", "failure"}`. Answers only when
//! the Worker's `SMCP_BACKEND_SUITE` is `on` (test deployments) and the
//! request carries the operator key. The cases write under
//! `suite/<run id>/`, a prefix no tenant can reach.
//!
//! Time passes for real here: a case that waits a second sleeps a second.
//! `ttl_expires_values` waits an hour of store time, which no manual clock
//! can give Workers KV; `kv/ttl_reaches_the_store` checks instead that the
//! expiry the core asks for is the one Workers KV records.
//!
//! `POST …/clock/advance?ms=N` moves the isolate's engine clock N ms on (not
//! the Durable Objects' or Workers KV's own): what a test of retention needs,
//! on a Worker of its own, since every request of that isolate sees it.

use crate::Platform;
use crate::config::Settings;
use smcp_core::engine::Engine;
use smcp_core::http::{Body, Request, Response};
use smcp_core::platform::KvStore;
use smcp_core::platform::LocalFuture;
use smcp_core::platform::backend_suite::{KvTarget, ObjectTarget, TimeControl, run_kv_case, run_object_case};
use std::time::Duration;

const PREFIX: &str = "/operator/v1/backend-suite/";

/// Real time: waiting is sleeping.
struct Sleep;

impl TimeControl for Sleep {
    fn advance(&self, ms: u64) -> LocalFuture<'_, ()> {
        Box::pin(worker::Delay::from(Duration::from_millis(ms)))
    }
}

pub(crate) async fn handle(
    engine: &Engine,
    settings: &Settings,
    request: &Request,
    platform: &Platform,
) -> Option<Response> {
    let rest = request.path.strip_prefix(PREFIX)?;
    if !settings.backend_suite
        || request.method != "POST"
        || !smcp_core::admin::operator::authorized(engine.services(), request)
    {
        return Some(json(404, serde_json::json!({ "error": { "code": "not_found", "message": "no such route" } })));
    }
    let run = request.query.split('&').find_map(|p| p.strip_prefix("root=")).unwrap_or("default");
    if run.is_empty() || !run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Some(json(
            400,
            serde_json::json!({ "error": { "code": "bad_request", "message": "root must be [A-Za-z0-9-]+" } }),
        ));
    }
    let outcome = match rest.split_once('/') {
        Some(("clock", "advance")) => {
            let ms = request.query.split('&').find_map(|p| p.strip_prefix("ms=")).and_then(|v| v.parse::<u64>().ok());
            match ms {
                Some(ms) => {
                    crate::platform::SKEW_MS.with(|skew| skew.set(skew.get().saturating_add(ms)));
                    Ok(())
                }
                None => Err("ms=<milliseconds> is required".to_owned()),
            }
        }
        Some(("kv", "ttl_reaches_the_store")) => ttl_reaches_the_store(platform, run).await,
        Some(("trails", "two_writers_keep_one_chain")) => two_writers_keep_one_chain(engine, platform, run).await,
        Some(("trails", "ttl_in_the_object")) => ttl_in_the_object(platform, run).await,
        Some(("kv", case)) => {
            let target = KvTarget { store: &platform.plain_kv, time: &Sleep, root: format!("suite/{run}/kv/") };
            run_kv_case(&target, case).await
        }
        // The same cases on the engine's KV with keys in a tenant's Durable
        // Object (its storage, not Workers KV).
        Some(("trails", case)) => {
            let target = KvTarget { store: &platform.kv, time: &Sleep, root: format!("audit/suite-{run}/kv/") };
            run_kv_case(&target, case).await
        }
        Some(("objects", case)) => {
            let target = ObjectTarget { store: &platform.objects, time: &Sleep, root: format!("suite/{run}/objects/") };
            run_object_case(&target, case).await
        }
        _ => {
            return Some(json(
                404,
                serde_json::json!({ "error": { "code": "not_found", "message": "kv/<case> or objects/<case>" } }),
            ));
        }
    };
    Some(json(200, serde_json::json!({ "case": rest, "ok": outcome.is_ok(), "failure": outcome.err() })))
}

/// A value with a TTL kept in a tenant's object (authorization codes,
/// say) reads as absent once expired, is not listed, and can be claimed
/// again; the next write with a TTL removes it.
async fn ttl_in_the_object(platform: &Platform, run: &str) -> Result<(), String> {
    let prefix = format!("oauth/suite-{run}/ttl/");
    let (short, long) = (format!("{prefix}short"), format!("{prefix}long"));
    let kv = &platform.kv;
    kv.set(&short, b"s".to_vec(), Some(1)).await.map_err(|e| format!("set: {e}"))?;
    kv.set(&long, b"l".to_vec(), Some(3600)).await.map_err(|e| format!("set: {e}"))?;
    if kv.get(&short).await.map_err(|e| format!("get: {e}"))? != Some(b"s".to_vec()) {
        return Err("a 1 s value is not read back at once".into());
    }
    if kv.insert_new(&short, b"again".to_vec(), Some(1)).await.map_err(|e| format!("insert_new: {e}"))? {
        return Err("insert_new took a key that holds a live value".into());
    }
    worker::Delay::from(Duration::from_millis(1_500)).await;
    if kv.get(&short).await.map_err(|e| format!("get: {e}"))?.is_some() {
        return Err("a 1 s value is read after 1.5 s".into());
    }
    let listed = kv.list(&prefix, None, 100).await.map_err(|e| format!("list: {e}"))?.keys;
    if listed != vec![long.clone()] {
        return Err(format!("listed {listed:?}, expected only the live key"));
    }
    if !kv.insert_new(&short, b"new".to_vec(), Some(60)).await.map_err(|e| format!("insert_new: {e}"))? {
        return Err("insert_new refused a key whose value expired".into());
    }
    if kv.get(&short).await.map_err(|e| format!("get: {e}"))? != Some(b"new".to_vec()) {
        return Err("the claimed value is not read back".into());
    }
    Ok(())
}

/// A value written with a TTL carries, in Workers KV, the expiry the core
/// asked for (TTLs under Workers KV's 60 s minimum are raised to it).
async fn ttl_reaches_the_store(platform: &Platform, run: &str) -> Result<(), String> {
    let prefix = format!("suite/{run}/kv-ttl/");
    let now_s = worker::Date::now().as_millis() / 1000;
    for (name, ttl, expected) in
        [("hour", Some(3600u32), Some(3600u64)), ("short", Some(5), Some(60)), ("forever", None, None)]
    {
        let key = format!("{prefix}{name}");
        platform.plain_kv.set(&key, b"v".to_vec(), ttl).await.map_err(|e| format!("set {key}: {e}"))?;
        let listed =
            platform.plain_kv.0.list().prefix(key.clone()).execute().await.map_err(|e| format!("list {key}: {e}"))?;
        let found = listed.keys.iter().find(|k| k.name == key).ok_or(format!("{key} is not listed"))?;
        match (found.expiration, expected) {
            (None, None) => {}
            (Some(at), Some(ttl)) if at.abs_diff(now_s + ttl) <= 5 => {}
            (got, _) => return Err(format!("{key}: expiration {got:?}, expected now + {expected:?} s")),
        }
    }
    Ok(())
}

/// Two engines (as two isolates would be) append to one tenant's trail in
/// turn, each with its own cached head: every stale append is refused by
/// the tenant's Durable Object and redone after the other's, so the chain
/// holds every event once and verifies.
async fn two_writers_keep_one_chain(engine: &Engine, platform: &Platform, run: &str) -> Result<(), String> {
    let tenant = smcp_core::names::TenantId::parse(&format!("suite-{run}-writers")).map_err(|e| e.to_string())?;
    let writers = [
        Engine::new(engine.runtime.clone(), engine.config.clone()),
        Engine::new(engine.runtime.clone(), engine.config.clone()),
    ];
    const EVENTS: u64 = 8;
    for i in 0..EVENTS {
        let writer = &writers[(i % 2) as usize];
        let event = smcp_core::audit::Event {
            kind: "suite.write".into(),
            principal: None,
            server: None,
            detail: serde_json::json!({ "i": i }),
        };
        writer.record(platform.backends(), &tenant, event);
        let written = writer.flush_audit(platform.backends()).await.map_err(|e| format!("append {i}: {e}"))?;
        if written != 1 {
            return Err(format!("append {i} wrote {written} records"));
        }
    }
    let count = smcp_core::audit::verify(&platform.kv, &tenant).await.map_err(|e| format!("verify: {e}"))?;
    let records = smcp_core::audit::list(&platform.kv, &tenant, 0, 100).await.map_err(|e| format!("list: {e}"))?;
    let order: Vec<u64> = records.iter().filter_map(|r| r.event.detail["i"].as_u64()).collect();
    if count != EVENTS || order != (0..EVENTS).collect::<Vec<_>>() {
        return Err(format!("{count} records verified, events in order {order:?}"));
    }
    Ok(())
}

fn json(status: u16, body: serde_json::Value) -> Response {
    Response { status, headers: vec![], body: Body::Json(body.to_string().into_bytes()) }
}
