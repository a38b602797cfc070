//! A tenant's audit trail and deployment registry, in a Durable Object per
//! tenant.
//!
//! Workers KV is eventually consistent (about 60 s between locations) and
//! has no conditional write, and a Worker runs in many isolates at once:
//! two isolates appending to one trail through KV would overwrite each
//! other's records, and an activation would reach other locations only
//! after KV's propagation. So the keys of `audit/<tenant>/…` and
//! `deploy/<tenant>/…` live in the storage of the Durable Object named
//! `<tenant>`, which is strongly consistent and runs one event at a time.
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
use smcp_core::capabilities::kv::{KeyPage, KvStore};
use smcp_core::capabilities::{CapabilityError, LocalFuture};
use wasm_bindgen::JsValue;
use worker::{DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response, State, durable_object};

/// Binding name of the namespace (wrangler.toml).
pub const BINDING: &str = "SMCP_TENANTS";
/// Key prefixes kept in the tenant's object, each followed by `<tenant>/`.
const PREFIXES: [&str; 2] = ["audit/", "deploy/"];

/// One storage operation, as the Worker sends it to the object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Get { key: String },
    Set { key: String, value: String },
    Delete { key: String },
    List { prefix: String, cursor: Option<String>, limit: u32 },
    /// Several writes at once; refused whole if any record exists.
    SetMany { entries: Vec<(String, String)> },
}

#[derive(Serialize, Deserialize, Default)]
struct Answer {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    cursor: Option<String>,
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
            Op::Get { key } => Answer { value: storage.get::<String>(&key).await?, ..Answer::default() },
            Op::Set { key, value } => {
                storage.put(&key, value).await?;
                Answer::default()
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
                let cursor = if more { keys.last().cloned() } else { None };
                Answer { keys, cursor, ..Answer::default() }
            }
            Op::SetMany { entries } => {
                // Audit records are written once; only the head is rewritten.
                let records: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).filter(|k| is_audit_record(k)).collect();
                if !records.is_empty() && storage.get_multiple(records).await?.size() > 0 {
                    return Ok(Response::error("a record of this trail already exists", 409)?);
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
        init.with_method(Method::Post).with_body(Some(JsValue::from_str(&serde_json::to_string(op).map_err(unavailable)?)));
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

    fn set<'a>(&'a self, key: &'a str, value: Vec<u8>, ttl_seconds: Option<u32>) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.set(key, value, ttl_seconds).await };
            self.send(tenant, &Op::Set { key: key.to_owned(), value: B64.encode(value) }).await.map(drop)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> LocalFuture<'a, Result<(), CapabilityError>> {
        Box::pin(async move {
            let Some((tenant, _)) = tenant_of(key) else { return self.kv.delete(key).await };
            self.send(tenant, &Op::Delete { key: key.to_owned() }).await.map(drop)
        })
    }

    fn list<'a>(&'a self, prefix: &'a str, cursor: Option<&'a str>, limit: u32) -> LocalFuture<'a, Result<KeyPage, CapabilityError>> {
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
