//! A task as stored: one record per task in the platform's key-value
//! store, under its server and the principal that created it, so that a
//! lookup by another principal (or at another server) finds nothing. Any
//! thread, process or isolate serving the server reads the same record.

use crate::auth::Principal;
use crate::platform::{Backends, CapabilityError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Where a task lives in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskKey {
    /// `tasks/<tenant>/<server>/<owner>/`: the owner's tasks at this server.
    owner_prefix: String,
    pub id: String,
}

impl TaskKey {
    pub fn new(tenant: &str, server: &str, principal: &Principal, id: &str) -> TaskKey {
        // The principal's id may hold any character; its hash names it.
        let owner = blake3::hash(principal.id.as_bytes()).to_hex();
        TaskKey { owner_prefix: format!("tasks/{tenant}/{server}/{}/", &owner[..32]), id: id.to_owned() }
    }

    fn path(&self) -> String {
        format!("{}{}", self.owner_prefix, self.id)
    }

    /// `tasks/<tenant>/<server>/<what>/<id>`: beside the owners' prefixes,
    /// so none of these is counted as a task.
    fn beside(&self, what: &str) -> String {
        let server_prefix = self.owner_prefix.trim_end_matches('/').rsplit_once('/').map_or("", |(p, _)| p);
        format!("{server_prefix}/{what}/{}", self.id)
    }

    /// The runner's lease.
    fn lease_path(&self) -> String {
        self.beside("leases")
    }

    /// Set once the client cancels: a flag no later write can undo.
    fn cancel_path(&self) -> String {
        self.beside("cancelled")
    }
}

/// Where a task stands (the extension's five statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }

    pub fn wire(self) -> &'static str {
        match self {
            Status::Working => "working",
            Status::InputRequired => "input_required",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// One task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRecord {
    pub id: String,
    pub tool: String,
    pub arguments: Value,
    /// The client capabilities of the request that created the task: what
    /// the task may ask the client for.
    pub client_capabilities: Value,
    pub status: Status,
    pub status_message: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub ttl_ms: u64,
    /// The guest's state at its last checkpoint or input request.
    pub state: Option<String>,
    /// Rounds of input asked so far: a request's key on the wire is
    /// `<round>.<the guest's key>`, so no key is ever reused in a task.
    pub round: u32,
    /// The outstanding input requests, by the guest's key: `{method, params}`.
    pub pending: BTreeMap<String, Value>,
    /// Answers received for this round, by the guest's key.
    pub answers: BTreeMap<String, Value>,
    pub result: Option<Value>,
    pub error: Option<Value>,
    /// What the task's checkpoints have used so far, and how many ran.
    pub fuel: u64,
    pub run_ms: u64,
    pub checkpoints: u32,
    /// While a checkpoint runs: when it must have ended. A task still
    /// working after it lost its runner (the host stopped).
    pub running_until_ms: Option<u64>,
}

impl TaskRecord {
    /// The wire key of a pending request.
    fn wire_key(&self, key: &str) -> String {
        format!("{}.{key}", self.round)
    }

    /// The guest's key for a wire key of the current round.
    pub fn guest_key<'k>(&self, wire: &'k str) -> Option<&'k str> {
        let (round, key) = wire.split_once('.')?;
        (round.parse::<u32>().ok() == Some(self.round) && self.pending.contains_key(key)).then_some(key)
    }

    /// The extension's `Task`, and the `DetailedTask` fields its status
    /// carries (`result`, `error`, `inputRequests`).
    pub fn detailed(&self, poll_interval_ms: u64) -> Value {
        let mut task = json!({
            "taskId": self.id,
            "status": self.status.wire(),
            "createdAt": rfc3339(self.created_ms),
            "lastUpdatedAt": rfc3339(self.updated_ms),
            "ttlMs": self.ttl_ms,
        });
        if !self.status.is_terminal() {
            task["pollIntervalMs"] = json!(poll_interval_ms);
        }
        if let Some(message) = &self.status_message {
            task["statusMessage"] = json!(message);
        }
        match self.status {
            Status::Completed => task["result"] = self.result.clone().unwrap_or_else(|| json!({ "content": [] })),
            Status::Failed => {
                task["error"] = self.error.clone().unwrap_or_else(|| json!({ "code": -32603, "message": "failed" }))
            }
            Status::InputRequired => {
                let requests: Map<String, Value> = self
                    .pending
                    .iter()
                    .filter(|(key, _)| !self.answers.contains_key(*key))
                    .map(|(key, request)| (self.wire_key(key), request.clone()))
                    .collect();
                task["inputRequests"] = Value::Object(requests);
            }
            Status::Working | Status::Cancelled => {}
        }
        task
    }
}

/// `ms` since the Unix epoch as RFC 3339 (UTC, milliseconds).
fn rfc3339(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// Reads a task; `None` when there is none (or it expired).
pub async fn load(backends: Backends<'_>, key: &TaskKey) -> Result<Option<TaskRecord>, CapabilityError> {
    let Some(bytes) = backends.kv.get(&key.path()).await? else { return Ok(None) };
    // A record this host cannot read is as good as gone.
    Ok(serde_json::from_slice(&bytes).ok())
}

/// A task with the bytes it was read from, to write back with [`swap`].
pub async fn load_for_update(
    backends: Backends<'_>,
    key: &TaskKey,
) -> Result<Option<(TaskRecord, Vec<u8>)>, CapabilityError> {
    let Some(bytes) = backends.kv.get(&key.path()).await? else { return Ok(None) };
    Ok(serde_json::from_slice(&bytes).ok().map(|record| (record, bytes)))
}

/// Writes a task, to expire with its TTL.
pub async fn save(backends: Backends<'_>, key: &TaskKey, record: &TaskRecord) -> Result<(), CapabilityError> {
    let (bytes, ttl) = encoded(backends, record)?;
    backends.kv.set(&key.path(), bytes, Some(ttl)).await
}

/// Writes a task only over `read`, the bytes it was made from; false when
/// another request changed it since.
pub async fn swap(
    backends: Backends<'_>,
    key: &TaskKey,
    read: &[u8],
    record: &TaskRecord,
) -> Result<bool, CapabilityError> {
    let (bytes, ttl) = encoded(backends, record)?;
    backends.kv.compare_and_swap(&key.path(), Some(read), bytes, Some(ttl)).await
}

/// A record's bytes and the seconds it has left to live.
fn encoded(backends: Backends<'_>, record: &TaskRecord) -> Result<(Vec<u8>, u32), CapabilityError> {
    let bytes = serde_json::to_vec(record).map_err(|e| CapabilityError::Unavailable(e.to_string()))?;
    let expires_ms = record.created_ms.saturating_add(record.ttl_ms);
    let left_s = expires_ms.saturating_sub(backends.clock.now_ms()).div_ceil(1000).max(1);
    Ok((bytes, u32::try_from(left_s).unwrap_or(u32::MAX)))
}

/// Takes the task's runner lease for `seconds`; false when another
/// request holds it (or the store cannot say).
pub async fn lease(backends: Backends<'_>, key: &TaskKey, seconds: u32) -> bool {
    backends.kv.insert_new(&key.lease_path(), Vec::new(), Some(seconds.max(1))).await.unwrap_or(false)
}

/// Extends the lease this runner holds by `seconds` from now.
pub async fn renew(backends: Backends<'_>, key: &TaskKey, seconds: u32) -> bool {
    backends.kv.set(&key.lease_path(), Vec::new(), Some(seconds.max(1))).await.is_ok()
}

/// Gives the lease back.
pub async fn release(backends: Backends<'_>, key: &TaskKey) {
    let _ = backends.kv.delete(&key.lease_path()).await;
}

/// Marks the task cancelled for `seconds` (its remaining life).
pub async fn mark_cancelled(backends: Backends<'_>, key: &TaskKey, seconds: u32) -> Result<(), CapabilityError> {
    backends.kv.set(&key.cancel_path(), Vec::new(), Some(seconds.max(1))).await
}

/// True once the client cancelled the task.
pub async fn is_cancelled(backends: Backends<'_>, key: &TaskKey) -> bool {
    matches!(backends.kv.get(&key.cancel_path()).await, Ok(Some(_)))
}

/// How many tasks the key's owner holds at its server, counting up to
/// `max` (enough to tell whether it may create another).
pub async fn count(backends: Backends<'_>, key: &TaskKey, max: u32) -> Result<u32, CapabilityError> {
    let page = backends.kv.list(&key.owner_prefix, None, max).await?;
    Ok(u32::try_from(page.keys.len()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord {
            id: "t1".into(),
            tool: "slow".into(),
            arguments: json!({}),
            client_capabilities: json!({}),
            status: Status::InputRequired,
            status_message: None,
            created_ms: 1_700_000_000_123,
            updated_ms: 1_700_000_001_000,
            ttl_ms: 60_000,
            state: Some("s".into()),
            round: 2,
            pending: [("a".to_owned(), json!({"method": "elicitation/create"})), ("b".to_owned(), json!({}))].into(),
            answers: [("a".to_owned(), json!({"action": "accept"}))].into(),
            result: None,
            error: None,
            fuel: 0,
            run_ms: 0,
            checkpoints: 1,
            running_until_ms: None,
        }
    }

    #[test]
    fn wire_shape_lists_only_unanswered_requests_under_round_keys() {
        let task = record().detailed(500);
        assert_eq!(task["createdAt"], "2023-11-14T22:13:20.123Z");
        assert_eq!(task["status"], "input_required");
        assert_eq!(task["inputRequests"].as_object().unwrap().keys().collect::<Vec<_>>(), ["2.b"]);
        assert_eq!(task["pollIntervalMs"], 500);
        assert!(task.get("result").is_none() && task.get("requestState").is_none());
    }

    #[test]
    fn leases_sit_beside_the_owners_tasks() {
        let principal = Principal {
            tenant: crate::names::TenantId::from_static("acme"),
            id: "key:k1".into(),
            role: crate::auth::Role::McpUser,
        };
        let key = TaskKey::new("acme", "calc", &principal, "t1");
        assert!(key.path().starts_with("tasks/acme/calc/") && key.path().ends_with("/t1"));
        assert_eq!(key.lease_path(), "tasks/acme/calc/leases/t1");
        assert_eq!(key.cancel_path(), "tasks/acme/calc/cancelled/t1");
        assert!(!key.lease_path().starts_with(&key.owner_prefix), "a lease is not counted as a task");
    }

    #[test]
    fn guest_keys_belong_to_the_current_round() {
        let record = record();
        assert_eq!(record.guest_key("2.b"), Some("b"));
        assert_eq!(record.guest_key("1.b"), None, "an earlier round's key");
        assert_eq!(record.guest_key("2.c"), None, "never asked");
        assert_eq!(record.guest_key("b"), None);
    }
}
