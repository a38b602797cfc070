//! The audit trail: per tenant, append-only records of what matters (keys
//! made and revoked, refused requests, tool calls, deployments), each
//! chained to the one before by blake3 so that changing, removing or
//! reordering any record is detected by [`verify`]. Records older than the
//! retention are pruned from the front; the last pruned record's hash is
//! kept as the anchor the chain is verified from.
//!
//! Records hold no secrets: ids of principals and keys, names of tools,
//! outcomes, never arguments, keys or tokens.
//!
//! Records are written in batches (a front end flushes the queue every few
//! tens of milliseconds), and the chain's head is written in the same write
//! as each batch: removing records from the end of the trail leaves a head
//! that names them, so [`verify`] detects it like any other gap. Someone
//! who can rewrite the store could rewrite the head too; the signed
//! checkpoints ([`checkpoint`]) are what such a cut cannot get past.

pub mod checkpoint;
pub mod otlp;

use crate::names::TenantId;
use crate::platform::CapabilityError;
use crate::platform::kv::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long records are kept by default: 30 days.
pub const DEFAULT_RETENTION_MS: u64 = 30 * 24 * 3600 * 1000;

/// What happened, as the caller reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `key.create`, `key.revoke`, `auth.refused`, `tool.call`, …
    pub kind: String,
    /// Who did it, when known (`key:<id>`, `jwt:<iss>#<sub>`).
    pub principal: Option<String>,
    pub server: Option<String>,
    /// Kind-specific facts; never secrets.
    pub detail: Value,
}

/// A stored record: the event, its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: Event,
    /// Hash of the record before (hex); zeros for the first.
    pub prev: String,
    /// blake3 of `prev` and this record without `hash` (hex).
    pub hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Head {
    /// Seq of the next record.
    next: u64,
    /// Hash of the last record (hex).
    last: String,
    /// First seq still kept, and the hash of the record before it.
    first: u64,
    anchor: String,
}

/// Why a chain does not verify: the first record that breaks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("record {seq} is broken: {why}")]
    Broken { seq: u64, why: &'static str },
    #[error("storage: {0}")]
    Storage(String),
}

impl From<CapabilityError> for AuditError {
    fn from(e: CapabilityError) -> Self {
        AuditError::Storage(e.to_string())
    }
}

const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record_path(tenant: &TenantId, seq: u64) -> String {
    format!("audit/{tenant}/r/{seq:020}")
}

fn head_path(tenant: &TenantId) -> String {
    format!("audit/{tenant}/head")
}

/// Where pruning keeps the first record still kept and the hash before it.
/// Only pruning writes it: a writer whose cached head predates a prune
/// cannot move the anchor back.
fn anchor_path(tenant: &TenantId) -> String {
    format!("audit/{tenant}/anchor")
}

/// The first kept record and the hash of the one before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Anchor {
    first: u64,
    anchor: String,
}

/// The hash a record must carry.
fn hash_of(record: &Record) -> String {
    let mut unsigned = record.clone();
    unsigned.hash = String::new();
    let body = serde_json::to_vec(&unsigned).unwrap_or_default();
    let mut hasher = blake3::Hasher::new();
    hasher.update(record.prev.as_bytes()).update(&body);
    hasher.finalize().to_hex().to_string()
}

/// Why `record` does not stand at `seq` after a record hashing to `prev`;
/// `None` when it does. [`verify`] and [`checkpoint::check`] both walk
/// chains with it.
fn misplaced(record: &Record, seq: u64, prev: &str) -> Option<&'static str> {
    if record.seq != seq {
        Some("out of order")
    } else if record.prev != prev {
        Some("does not follow the record before")
    } else if hash_of(record) != record.hash {
        Some("altered")
    } else {
        None
    }
}

/// The stored head, moved forward over the records appended since.
async fn head(kv: &dyn KvStore, tenant: &TenantId) -> Result<Head, AuditError> {
    let mut head = match kv.get(&head_path(tenant)).await? {
        Some(bytes) => {
            serde_json::from_slice(&bytes).map_err(|_| AuditError::Broken { seq: 0, why: "unreadable head" })?
        }
        None => Head { next: 0, last: ZERO.into(), first: 0, anchor: ZERO.into() },
    };
    if let Some(bytes) = kv.get(&anchor_path(tenant)).await? {
        let pruned: Anchor =
            serde_json::from_slice(&bytes).map_err(|_| AuditError::Broken { seq: 0, why: "unreadable anchor" })?;
        if pruned.first > head.first {
            (head.first, head.anchor) = (pruned.first, pruned.anchor);
            head.next = head.next.max(head.first);
        }
    }
    // Every stored record counts, whatever it holds: `verify` judges it.
    while let Some(bytes) = kv.get(&record_path(tenant, head.next)).await? {
        head.last = serde_json::from_slice::<Record>(&bytes).map(|r| r.hash).unwrap_or_default();
        head.next += 1;
    }
    Ok(head)
}

/// The writer of the trails: keeps each tenant's head in memory. One per
/// process; appends must not run concurrently (the engine serializes them).
#[derive(Default)]
pub struct Trails {
    heads: std::collections::HashMap<TenantId, Head>,
}

impl Trails {
    /// Appends `event` to `tenant`'s trail.
    pub async fn append(
        &mut self,
        kv: &dyn KvStore,
        tenant: &TenantId,
        event: Event,
        now_ms: u64,
    ) -> Result<Record, AuditError> {
        let mut records = self.append_all(kv, vec![(tenant.to_owned(), event, now_ms)]).await?;
        records.pop().ok_or(AuditError::Storage("nothing appended".into()))
    }

    /// Appends events of any tenants, in order, in one write: what a host
    /// that queues events flushes.
    pub async fn append_all(
        &mut self,
        kv: &dyn KvStore,
        events: Vec<(TenantId, Event, u64)>,
    ) -> Result<Vec<Record>, AuditError> {
        let mut writes = Vec::new();
        let mut records = Vec::with_capacity(events.len());
        let mut touched: Vec<TenantId> = Vec::new();
        for (tenant, event, at_ms) in events {
            if !touched.contains(&tenant) {
                touched.push(tenant.clone());
            }
            if !self.heads.contains_key(&tenant) {
                let loaded = head(kv, &tenant).await?;
                self.heads.insert(tenant.clone(), loaded);
            }
            let Some(head) = self.heads.get_mut(&tenant) else { continue };
            let mut record = Record { seq: head.next, at_ms, event, prev: head.last.clone(), hash: String::new() };
            record.hash = hash_of(&record);
            writes.push((
                record_path(&tenant, record.seq),
                serde_json::to_vec(&record).map_err(|e| AuditError::Storage(e.to_string()))?,
            ));
            head.next = record.seq + 1;
            head.last = record.hash.clone();
            records.push(record);
        }
        // Each touched tenant's head once, after its records, in the same write.
        for tenant in &touched {
            if let Some(head) = self.heads.get(tenant) {
                let bytes = serde_json::to_vec(head).map_err(|e| AuditError::Storage(e.to_string()))?;
                writes.push((head_path(tenant), bytes));
            }
        }
        // Bookkeeping durability: a crash may cut the newest records off the
        // tail (which the stored head bounds), never tear one.
        if let Err(e) = kv.set_many_relaxed(writes).await {
            // The cached heads ran ahead of what is stored: reload them.
            self.heads.clear();
            return Err(e.into());
        }
        Ok(records)
    }

    /// Forgets the cached heads (after pruning elsewhere).
    pub fn forget(&mut self, tenant: &TenantId) {
        self.heads.remove(tenant);
    }
}

/// An event waiting to be written: its tenant, the event, when it happened (ms).
type Queued = (TenantId, Event, u64);

/// The process's audit writer. Events are queued as they happen and written
/// by [`flush`](Recorder::flush), which front ends run every few tens of
/// milliseconds and at shutdown: one write for many records keeps requests
/// fast. A failed write does not fail the request it records.
#[derive(Default)]
pub struct Recorder {
    queue: std::sync::Mutex<Vec<Queued>>,
    /// Serializes appends in this process: a chain has one writer.
    trails: futures_util::lock::Mutex<Trails>,
    /// Trails this process moved since their last checkpoint.
    to_checkpoint: Rounds,
    /// Trails this process wrote to since it started, for retention.
    to_retain: Rounds,
    /// Trails this process moved since an exporter last asked.
    to_export: Rounds,
}

/// Tenants to visit on a timer: noted as their trails are written, handed
/// out once the interval has passed (the first time at once).
#[derive(Default)]
struct Rounds {
    tenants: std::sync::Mutex<Vec<TenantId>>,
    last_ms: std::sync::atomic::AtomicU64,
}

impl Rounds {
    fn note(&self, tenant: &TenantId) {
        if let Ok(mut tenants) = self.tenants.lock()
            && !tenants.contains(tenant)
        {
            tenants.push(tenant.clone());
        }
    }

    /// The noted tenants when `every_ms` has passed since the last round
    /// (or `now`), forgetting them unless `keep`; empty otherwise.
    fn due(&self, now_ms: u64, every_ms: u64, now: bool, keep: bool) -> Vec<TenantId> {
        use std::sync::atomic::Ordering;
        if !now && now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed)) < every_ms {
            return Vec::new();
        }
        self.last_ms.store(now_ms, Ordering::Relaxed);
        let Ok(mut tenants) = self.tenants.lock() else { return Vec::new() };
        if keep { tenants.clone() } else { std::mem::take(&mut *tenants) }
    }
}

impl Recorder {
    /// Queues `event` for `tenant`'s trail.
    pub fn record(&self, tenant: &TenantId, event: Event, now_ms: u64) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push((tenant.to_owned(), event, now_ms));
        }
    }

    /// Writes the queued events, one write per tenant so that one trail's
    /// failure loses only its own events; what fails stays lost (the error
    /// is returned for the front end to log).
    pub async fn flush(&self, kv: &dyn KvStore) -> Result<usize, AuditError> {
        let mut trails = self.trails.lock().await;
        let events = self.queue.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default();
        let mut by_tenant: Vec<(TenantId, Vec<Queued>)> = Vec::new();
        for event in events {
            match by_tenant.iter_mut().find(|(tenant, _)| *tenant == event.0) {
                Some((_, group)) => group.push(event),
                None => by_tenant.push((event.0.clone(), vec![event])),
            }
        }
        let (mut written, mut failure) = (0, None);
        for (tenant, group) in by_tenant {
            // A refused write means another writer moved the trail on (a
            // Worker's other isolates; the store refuses to overwrite a
            // record): the heads were reloaded, so one retry appends after it.
            let result = match trails.append_all(kv, group.clone()).await {
                Err(_) => trails.append_all(kv, group).await,
                ok => ok,
            };
            match result {
                Ok(records) => {
                    written += records.len();
                    self.to_checkpoint.note(&tenant);
                    self.to_retain.note(&tenant);
                    self.to_export.note(&tenant);
                }
                Err(e) => failure = Some(e),
            }
        }
        failure.map_or(Ok(written), Err)
    }
}

impl Recorder {
    /// The tenants whose trails moved since they were last taken, when a
    /// checkpoint is due: every [`checkpoint::EVERY_MS`], or now when
    /// `now` is set (shutdown). Empty when none is due.
    pub fn due_for_checkpoint(&self, now_ms: u64, now: bool) -> Vec<TenantId> {
        self.to_checkpoint.due(now_ms, checkpoint::EVERY_MS, now, false)
    }

    /// The tenants whose trails this process moved since the last call,
    /// for an exporter to ship (see [`otlp`]).
    pub fn moved_for_export(&self) -> Vec<TenantId> {
        self.to_export.due(0, 0, true, false)
    }
}

/// Appends `event` to `tenant`'s trail without a cache (tools, tests).
pub async fn append(kv: &dyn KvStore, tenant: &TenantId, event: Event, now_ms: u64) -> Result<Record, AuditError> {
    Trails::default().append(kv, tenant, event, now_ms).await
}

/// Records from `from` on, at most `limit`.
pub async fn list(kv: &dyn KvStore, tenant: &TenantId, from: u64, limit: u32) -> Result<Vec<Record>, AuditError> {
    let head = head(kv, tenant).await?;
    let mut records = Vec::new();
    for seq in from.max(head.first)..head.next {
        if records.len() >= limit as usize {
            break;
        }
        let bytes = kv.get(&record_path(tenant, seq)).await?.ok_or(AuditError::Broken { seq, why: "missing" })?;
        records.push(serde_json::from_slice(&bytes).map_err(|_| AuditError::Broken { seq, why: "unreadable" })?);
    }
    Ok(records)
}

/// Checks `tenant`'s whole chain from its anchor; returns how many records
/// it holds, or the first broken one.
pub async fn verify(kv: &dyn KvStore, tenant: &TenantId) -> Result<u64, AuditError> {
    let head = head(kv, tenant).await?;
    // Records past a gap: the gap is a deleted record.
    let past = kv.list(&format!("audit/{tenant}/r/"), Some(&record_path(tenant, head.next)), 1).await?;
    if !past.keys.is_empty() {
        return Err(AuditError::Broken { seq: head.next, why: "missing" });
    }
    let mut prev = head.anchor.clone();
    for seq in head.first..head.next {
        let bytes = kv.get(&record_path(tenant, seq)).await?.ok_or(AuditError::Broken { seq, why: "missing" })?;
        let record: Record =
            serde_json::from_slice(&bytes).map_err(|_| AuditError::Broken { seq, why: "unreadable" })?;
        if let Some(why) = misplaced(&record, seq, &prev) {
            return Err(AuditError::Broken { seq, why });
        }
        prev = record.hash;
    }
    if prev != head.last {
        return Err(AuditError::Broken { seq: head.next, why: "the head does not match the last record" });
    }
    Ok(head.next - head.first)
}

/// One pruning pass: records older than `retention_ms` at `now_ms` go, at
/// most `max` of them.
#[derive(Debug, Clone, Copy)]
pub struct Pruning {
    pub retention_ms: u64,
    pub now_ms: u64,
    pub max: u64,
}

/// Removes the records `pass` selects, moving the anchor; returns how many
/// it removed. The anchor is written before the records are deleted: a
/// crash in between leaves records before the anchor, which nothing reads,
/// never a gap.
pub async fn prune(kv: &dyn KvStore, tenant: &TenantId, pass: Pruning) -> Result<u64, AuditError> {
    let Pruning { retention_ms, now_ms, max } = pass;
    let head = head(kv, tenant).await?;
    let mut kept = Anchor { first: head.first, anchor: head.anchor.clone() };
    while kept.first < head.next && kept.first - head.first < max {
        let Some(bytes) = kv.get(&record_path(tenant, kept.first)).await? else { break };
        let record: Record =
            serde_json::from_slice(&bytes).map_err(|_| AuditError::Broken { seq: kept.first, why: "unreadable" })?;
        if now_ms.saturating_sub(record.at_ms) < retention_ms {
            break;
        }
        kept = Anchor { first: kept.first + 1, anchor: record.hash };
    }
    let removed = kept.first - head.first;
    if removed == 0 {
        return Ok(0);
    }
    let bytes = serde_json::to_vec(&kept).map_err(|e| AuditError::Storage(e.to_string()))?;
    kv.set(&anchor_path(tenant), bytes, None).await?;
    for seq in head.first..kept.first {
        kv.delete(&record_path(tenant, seq)).await?;
    }
    Ok(removed)
}

impl Recorder {
    /// Prunes `tenant`'s trail (see [`prune`]) with this process's appends
    /// held off, and forgets its cached head.
    pub async fn prune(&self, kv: &dyn KvStore, tenant: &TenantId, pass: Pruning) -> Result<u64, AuditError> {
        let mut trails = self.trails.lock().await;
        let removed = prune(kv, tenant, pass).await;
        trails.forget(tenant);
        removed
    }

    /// Every tenant whose trail this process wrote to since it started,
    /// when a retention pass is due (every [`RETENTION_EVERY_MS`]); empty
    /// otherwise.
    pub fn due_for_retention(&self, now_ms: u64) -> Vec<TenantId> {
        self.to_retain.due(now_ms, RETENTION_EVERY_MS, false, true)
    }
}

/// How often a process prunes the trails it writes.
pub const RETENTION_EVERY_MS: u64 = 3_600_000;
/// Records one prune removes per trail, so that a long backlog is worked
/// off over several passes instead of stalling one.
pub const PRUNE_BATCH: u64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;
    use serde_json::json;
    use std::rc::Rc;

    fn event(n: u64) -> Event {
        Event {
            kind: "tool.call".into(),
            principal: Some("key:abc".into()),
            server: Some("notes".into()),
            detail: json!({ "n": n }),
        }
    }

    fn filled(n: u64) -> MemoryKv {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let mut trails = Trails::default();
        for i in 0..n {
            block_on(trails.append(&kv, &TenantId::from_static("acme"), event(i), i * 1000)).unwrap();
        }
        kv
    }

    fn rewrite(kv: &MemoryKv, seq: u64, change: impl FnOnce(&mut Value)) {
        let path = record_path(&TenantId::from_static("acme"), seq);
        let mut record: Value = serde_json::from_slice(&block_on(kv.get(&path)).unwrap().unwrap()).unwrap();
        change(&mut record);
        block_on(kv.set(&path, record.to_string().into_bytes(), None)).unwrap();
    }

    #[test]
    fn an_intact_chain_verifies() {
        let kv = filled(5);
        assert_eq!(block_on(verify(&kv, &TenantId::from_static("acme"))), Ok(5));
        assert_eq!(kv.raw_keys().len(), 6, "five records and the head stored once");
        assert_eq!(
            block_on(list(&kv, &TenantId::from_static("acme"), 3, 10))
                .unwrap()
                .iter()
                .map(|r| r.seq)
                .collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(block_on(verify(&kv, &TenantId::from_static("other"))), Ok(0));
    }

    #[test]
    fn tampering_names_the_first_broken_record() {
        let kv = filled(5);
        rewrite(&kv, 2, |r| r["detail"]["n"] = json!(99));
        assert_eq!(
            block_on(verify(&kv, &TenantId::from_static("acme"))),
            Err(AuditError::Broken { seq: 2, why: "altered" })
        );

        // Re-hashing the altered record does not help: the next one no longer follows.
        let kv = filled(5);
        rewrite(&kv, 2, |r| {
            r["detail"]["n"] = json!(99);
            let mut record: Record = serde_json::from_value(r.clone()).unwrap();
            record.hash = hash_of(&record);
            *r = serde_json::to_value(record).unwrap();
        });
        assert_eq!(
            block_on(verify(&kv, &TenantId::from_static("acme"))),
            Err(AuditError::Broken { seq: 3, why: "does not follow the record before" })
        );

        // Swapping two records.
        let kv = filled(5);
        let (a, b) = (
            block_on(kv.get(&record_path(&TenantId::from_static("acme"), 1))).unwrap().unwrap(),
            block_on(kv.get(&record_path(&TenantId::from_static("acme"), 2))).unwrap().unwrap(),
        );
        block_on(kv.set(&record_path(&TenantId::from_static("acme"), 1), b, None)).unwrap();
        block_on(kv.set(&record_path(&TenantId::from_static("acme"), 2), a, None)).unwrap();
        assert_eq!(
            block_on(verify(&kv, &TenantId::from_static("acme"))),
            Err(AuditError::Broken { seq: 1, why: "out of order" })
        );

        // Deleting one.
        let kv = filled(5);
        block_on(kv.delete(&record_path(&TenantId::from_static("acme"), 3))).unwrap();
        assert_eq!(
            block_on(verify(&kv, &TenantId::from_static("acme"))),
            Err(AuditError::Broken { seq: 3, why: "missing" })
        );

        // Cutting off the newest records: the head, written with them,
        // still names them.
        let kv = filled(70);
        for seq in 67..70 {
            block_on(kv.delete(&record_path(&TenantId::from_static("acme"), seq))).unwrap();
        }
        assert_eq!(
            block_on(verify(&kv, &TenantId::from_static("acme"))),
            Err(AuditError::Broken { seq: 67, why: "missing" })
        );
    }

    #[test]
    fn pruning_keeps_the_rest_verifiable() {
        let kv = filled(6);
        let pass = |max| Pruning { retention_ms: 3000, now_ms: 5000, max };
        assert_eq!(block_on(prune(&kv, &TenantId::from_static("acme"), pass(2))), Ok(2), "at most `max` a pass");
        assert_eq!(block_on(prune(&kv, &TenantId::from_static("acme"), pass(10))), Ok(1));
        assert_eq!(block_on(verify(&kv, &TenantId::from_static("acme"))), Ok(3));
        block_on(append(&kv, &TenantId::from_static("acme"), event(9), 9000)).unwrap();
        assert_eq!(block_on(verify(&kv, &TenantId::from_static("acme"))), Ok(4));
        assert_eq!(block_on(list(&kv, &TenantId::from_static("acme"), 0, 10)).unwrap()[0].seq, 3);
    }
}
