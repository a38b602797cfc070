//! A tenant's audit trail, deployment registry and authorization server
//! state, in a Durable Object per tenant.
//!
//! Workers KV is eventually consistent (about 60 s between locations) and
//! has no conditional write, and a Worker runs in many isolates at once:
//! two isolates appending to one trail through KV would overwrite each
//! other's records, an activation would reach other locations only after
//! KV's propagation, and an authorization code or refresh token could be
//! redeemed once in each location. So the keys of `audit/<tenant>/…`,
//! `deploy/<tenant>/…`, `oauth/<tenant>/…` and `tasks/<tenant>/…` (a task is
//! readable once it is announced, and has one runner) live in the storage of the
//! Durable Object named `<tenant>`, which is strongly consistent and runs
//! one event at a time; single-use codes and tokens are claimed there in
//! one step (`insert_new`).
//!
//! Values written with a TTL are stored as `<expiry ms>:<base64>` (base64
//! has no `:`), read as absent once expired, and indexed under
//! `ttl/<expiry ms>/<key>`; every write that sets a TTL also removes a few
//! entries that have expired, so the object holds about as many expired
//! entries as one write's worth.
//! A batch that would overwrite an audit record is refused whole (409);
//! the core's writer then reloads the trail's head and appends after the
//! other writer's records (`Engine::flush_audit`).
//!
//! [`TenantKv`] is the KV store the engine sees: those keys go to the
//! object, everything else to Workers KV.

use crate::kv::WorkersKv;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use smcp_core::platform::{CapabilityError, LocalFuture};
use smcp_core::platform::{KeyPage, KvStore};
use wasm_bindgen::JsValue;
use worker::{DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, State, durable_object};

/// Binding name of the namespace (wrangler.toml).
pub const BINDING: &str = "SMCP_TENANTS";
/// Key prefixes kept in the tenant's object, each followed by `<tenant>/`.
const PREFIXES: [&str; 4] = ["audit/", "deploy/", "oauth/", "tasks/"];
/// The expiry index, inside each object.
const TTL_INDEX: &str = "ttl/";
/// Expired entries removed by each write that sets a TTL.
const SWEEP_PER_WRITE: usize = 16;

/// One storage operation, as the Worker sends it to the object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Get {
        key: String,
    },
    Set {
        key: String,
        value: String,
        #[serde(default)]
        expires_ms: Option<u64>,
    },
    /// A write only when the key holds nothing live; answers `inserted`.
    InsertNew {
        key: String,
        value: String,
        #[serde(default)]
        expires_ms: Option<u64>,
    },
    /// A write only over the value read (`expected`, base64; `None`:
    /// nothing live); answers `inserted` when written.
    CompareAndSwap {
        key: String,
        expected: Option<String>,
        value: String,
        #[serde(default)]
        expires_ms: Option<u64>,
    },
    Delete {
        key: String,
    },
    List {
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    },
    /// Several writes at once; refused whole if any record exists.
    SetMany {
        entries: Vec<(String, String)>,
    },
}

#[derive(Serialize, Deserialize, Default)]
struct Answer {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    inserted: bool,
}

/// A stored value: its expiry, if any, and its base64.
fn stored(value: &str, expires_ms: Option<u64>) -> String {
    match expires_ms {
        Some(at) => format!("{at}:{value}"),
        None => value.to_owned(),
    }
}

/// The base64 of a stored value that is live at `now_ms`.
fn live(stored: &str, now_ms: u64) -> Option<&str> {
    match stored.split_once(':') {
        Some((at, value)) => (at.parse::<u64>().ok()? > now_ms).then_some(value),
        None => Some(stored),
    }
}

fn index_key(expires_ms: u64, key: &str) -> String {
    format!("{TTL_INDEX}{expires_ms:016}/{key}")
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

#[durable_object(fetch)]
pub struct TenantStore {
    state: State,
}

impl DurableObject for TenantStore {
    fn new(state: State, _env: Env) -> Self {
        TenantStore { state }
    }

    async fn fetch(&self, mut request: Request) -> worker::Result<Response> {
        let op: Op = request.json().await?;
        let storage = self.state.storage();
        let answer = match op {
            Op::Get { key } => {
                let value = storage.get::<String>(&key).await?;
                Answer {
                    value: value.as_deref().and_then(|v| live(v, now_ms())).map(str::to_owned),
                    ..Answer::default()
                }
            }
            Op::Set { key, value, expires_ms } => {
                self.write(&key, &value, expires_ms).await?;
                Answer::default()
            }
            // One event at a time: nothing runs between the read and the write.
            Op::InsertNew { key, value, expires_ms } => {
                let taken = storage.get::<String>(&key).await?.is_some_and(|v| live(&v, now_ms()).is_some());
                if !taken {
                    self.write(&key, &value, expires_ms).await?;
                }
                Answer { inserted: !taken, ..Answer::default() }
            }
            Op::CompareAndSwap { key, expected, value, expires_ms } => {
                let stored = storage.get::<String>(&key).await?;
                let now = now_ms();
                let current = stored.as_deref().and_then(|v| live(v, now));
                let matches = current == expected.as_deref();
                if matches {
                    self.write(&key, &value, expires_ms).await?;
                }
                Answer { inserted: matches, ..Answer::default() }
            }
            Op::Delete { key } => {
                storage.delete(&key).await?;
                Answer::default()
            }
            Op::List { prefix, cursor, limit } => {
                let limit = limit.clamp(1, 1000) as usize;
                // One more than asked shows whether more follow; `start` is
                // inclusive, so the cursor itself may come back too.
                let fetch = limit + 1 + usize::from(cursor.is_some());
                let mut options = worker::ListOptions::new().prefix(&prefix).limit(fetch);
                if let Some(after) = cursor.as_deref() {
                    options = options.start(after);
                }
                let listed = storage.list_with_options(options).await?;
                let mut keys: Vec<String> = listed.keys().into_iter().filter_map(|k| k.ok()?.as_string()).collect();
                if let Some(after) = cursor.as_deref() {
                    keys.retain(|k| k.as_str() > after);
                }
                let more = keys.len() > limit;
                keys.truncate(limit);
                // The cursor is the last key looked at, live or not, so an
                // expired key neither ends the listing early nor shows.
                let cursor = if more { keys.last().cloned() } else { None };
                let now = now_ms();
                keys.retain(|k| listed.get(&JsValue::from_str(k)).as_string().is_none_or(|v| live(&v, now).is_some()));
                Answer { keys, cursor, ..Answer::default() }
            }
            Op::SetMany { entries } => {
                // Audit records are written once; only the head is rewritten.
                let records: Vec<&str> =
                    entries.iter().map(|(k, _)| k.as_str()).filter(|k| is_audit_record(k)).collect();
                if !records.is_empty() && storage.get_multiple(records).await?.size() > 0 {
                    return Response::error("a record of this trail already exists", 409);
                }
                let object = js_sys::Object::new();
                for (key, value) in &entries {
                    js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value))?;
                }
                storage.put_multiple_raw(object).await?;
                Answer::default()
            }
        };
        Response::from_json(&answer)
    }
}

impl TenantStore {
    /// Stores `value` (base64) under `key`; with an expiry, indexes it and
    /// removes a few entries that have expired.
    async fn write(&self, key: &str, value: &str, expires_ms: Option<u64>) -> worker::Result<()> {
        let storage = self.state.storage();
        storage.put(key, stored(value, expires_ms)).await?;
        if let Some(at) = expires_ms {
            storage.put(&index_key(at, key), "").await?;
            self.sweep().await?;
        }
        Ok(())
    }

    /// Removes up to [`SWEEP_PER_WRITE`] entries whose expiry has passed,
    /// and their index entries. A key written again since (with another
    /// expiry, or none) keeps its new value.
    async fn sweep(&self) -> worker::Result<()> {
        let storage = self.state.storage();
        let now = now_ms();
        let options = worker::ListOptions::new().prefix(TTL_INDEX).limit(SWEEP_PER_WRITE);
        let due = storage.list_with_options(options).await?;
        for entry in due.keys() {
            let Some(index) = entry?.as_string() else { continue };
            let Some((at, key)) = index[TTL_INDEX.len()..].split_once('/') else { continue };
            let Ok(at) = at.parse::<u64>() else { continue };
            if at > now {
                break;
            }
            if storage
                .get::<String>(key)
                .await?
                .is_some_and(|v| v.split_once(':').is_some_and(|(e, _)| e.parse() == Ok(at)))
            {
                storage.delete(key).await?;
            }
            storage.delete(&index).await?;
        }
        Ok(())
    }
}

/// The expiry, in ms since the epoch, of a write with `ttl_seconds`.
fn expiry(ttl_seconds: Option<u32>) -> Option<u64> {
    ttl_seconds.map(|ttl| now_ms().saturating_add(u64::from(ttl) * 1000))
}

/// The engine's KV store on Workers: `audit/<tenant>/…` and
/// `deploy/<tenant>/…` in the tenant's [`TenantStore`], the rest in
/// Workers KV.
pub struct TenantKv {
    pub kv: WorkersKv,
    pub tenants: ObjectNamespace,
}

fn unavailable(e: impl std::fmt::Display) -> CapabilityError {
    CapabilityError::Unavailable(format!("tenant store: {e}"))
}

/// The tenant whose object holds `key`, with the length of the prefix up
/// to and including `<tenant>/`; `None` for keys kept in Workers KV.
fn tenant_of(key: &str) -> Option<(&str, usize)> {
    let prefix = PREFIXES.iter().find(|p| key.starts_with(**p))?;
    let rest = &key[prefix.len()..];
    let (tenant, _) = rest.split_once('/')?;
    (!tenant.is_empty()).then_some((tenant, prefix.len() + tenant.len() + 1))
}

fn is_audit_record(key: &str) -> bool {
    key.strip_prefix("audit/").and_then(|rest| rest.split_once('/')).is_some_and(|(_, rest)| rest.starts_with("r/"))
}

impl TenantKv {
    async fn send(&self, tenant: &str, op: &Op) -> Result<Answer, CapabilityError> {
        let stub = self.tenants.get_by_name(tenant).map_err(unavailable)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&serde_json::to_string(op).map_err(unavailable)?)));
        let request = Request::new_with_init("https://tenant-store/op", &init).map_err(unavailable)?;
        let mut response = stub.fetch_with_request(request).await.map_err(unavailable)?;
        match response.status_code() {
            200 => response.json().await.map_err(unavailable),
            409 => Err(CapabilityError::Unavailable("another writer appended to this audit trail".into())),
            status => Err(unavailable(format!("status {status}"))),
        }
    }
}

impl KvStore for TenantKv {
    fn get<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<Option<Vec<u8>>, CapabilityError>> {
        Box::pin(async move {
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.get(key).await };
            let answer = self.send(tenant, &Op::Get { key: key.to_owned() }).await?;
            answer.value.map(|v| B64.decode(v).map_err(unavailable)).transpose()
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.set(key, value, ttl_seconds).await };
            self.send(
                tenant,
                &Op::Set { key: key.to_owned(), value: B64.encode(value), expires_ms: expiry(ttl_seconds) },
            )
            .await
            .map(drop)
        })
    }

    fn insert_new<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(async move {
            // Workers KV has no conditional write: only keys kept in a
            // tenant's object are claimed atomically.
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.insert_new(key, value, ttl_seconds).await };
            let op = Op::InsertNew { key: key.to_owned(), value: B64.encode(value), expires_ms: expiry(ttl_seconds) };
            Ok(self.send(tenant, &op).await?.inserted)
        })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a [u8]>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> LocalFuture<'a, Result<bool, CapabilityError>> {
        Box::pin(async move {
            // Atomic in a tenant's object; Workers KV has no conditional write.
            let Some((tenant, _)) = tenant_of(key) else {
                return self.kv.compare_and_swap(key, expected, value, ttl_seconds).await;
            };
            let op = Op::CompareAndSwap {
                key: key.to_owned(),
                expected: expected.map(|e| B64.encode(e)),
                value: B64.encode(value),
                expires_ms: expiry(ttl_seconds),
            };
            Ok(self.send(tenant, &op).await?.inserted)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.delete(key).await };
            self.send(tenant, &Op::Delete { key: key.to_owned() }).await.map(drop)
        })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        cursor: Option<&'a str>,
        limit: u32,
    ) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
        Box::pin(async move {
            // Only listings within one tenant's keys go to its object.
            let Some((tenant, _)) = tenant_of(prefix) else { return self.kv.list(prefix, cursor, limit).await };
            let op = Op::List { prefix: prefix.to_owned(), cursor: cursor.map(str::to_owned), limit };
            let answer = self.send(tenant, &op).await?;
            Ok(KeyPage { keys: answer.keys, cursor: answer.cursor })
        })
    }

    fn set_many_relaxed(&self, entries: Vec<(String, Vec<u8>)>) -> LocalFuture<'_, Result<(), CapabilityError>> {
        Box::pin(async move {
            // Grouped by tenant, in order; other keys go to Workers KV.
            let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
            for (key, value) in entries {
                match tenant_of(&key).map(|(t, _)| t.to_owned()) {
                    Some(tenant) => match groups.iter_mut().find(|(t, _)| *t == tenant) {
                        Some((_, group)) => group.push((key, B64.encode(value))),
                        None => groups.push((tenant, vec![(key, B64.encode(value))])),
                    },
                    None => self.kv.set_relaxed(&key, value, None).await?,
                }
            }
            for (tenant, entries) in groups {
                self.send(&tenant, &Op::SetMany { entries }).await?;
            }
            Ok(())
        })
    }
}
