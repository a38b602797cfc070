//! Signed checkpoints of a trail: the host signs the head of each tenant's
//! trail (its last record's seq and hash) now and then and at shutdown, as
//! a JWT under the tenant's signing key. Whoever keeps a checkpoint can later
//! prove, from the records alone, that nothing up to it was altered,
//! reordered or removed, and that the trail still reaches it: a store
//! rewritten by someone without the signing key cannot meet both.
//!
//! The engine signs (it holds the keys, [`crate::oauth`]); this module
//! says what is signed and checks records against it.

use super::{AuditError, Head, Record};
use crate::names::TenantId;
use crate::platform::kv::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JWT `typ` of a checkpoint.
pub const TOKEN_TYPE: &str = "smcp-audit-checkpoint+jwt";
/// The JWT `sub` of a checkpoint: what it is about.
pub const SUBJECT: &str = "audit-checkpoint";
/// How often a moved trail is checkpointed (and at shutdown).
pub const EVERY_MS: u64 = 60_000;

/// What a checkpoint states: the trail of `tenant` ended at record `seq`
/// (hash `head`) when it was signed, its oldest kept record being `first`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub tenant: String,
    pub seq: u64,
    pub head: String,
    pub first: u64,
    /// The hash before `first`: where the kept chain starts (zeros until
    /// records are pruned).
    pub anchor: String,
    /// When it was signed (ms).
    pub at_ms: u64,
}

fn path(tenant: &TenantId) -> String {
    format!("audit/{tenant}/checkpoint")
}

/// The checkpoint `tenant`'s trail is at now; `None` while it is empty.
pub async fn current(kv: &dyn KvStore, tenant: &TenantId, now_ms: u64) -> Result<Option<Checkpoint>, AuditError> {
    let Head { next, last, first, anchor } = super::head(kv, tenant).await?;
    if next == 0 || first >= next {
        return Ok(None);
    }
    Ok(Some(Checkpoint { tenant: tenant.to_string(), seq: next - 1, head: last, first, anchor, at_ms: now_ms }))
}

/// The claims a checkpoint is signed as, by `issuer`.
pub fn claims(checkpoint: &Checkpoint, issuer: &str) -> Value {
    serde_json::json!({
        "iss": issuer,
        "sub": SUBJECT,
        "iat": checkpoint.at_ms / 1000,
        "tenant": checkpoint.tenant,
        "seq": checkpoint.seq,
        "head": checkpoint.head,
        "first": checkpoint.first,
        "anchor": checkpoint.anchor,
        "at_ms": checkpoint.at_ms,
    })
}

/// Keeps `token`, the latest signed checkpoint of `tenant`.
pub async fn store(kv: &dyn KvStore, tenant: &TenantId, token: &str) -> Result<(), AuditError> {
    Ok(kv.set(&path(tenant), token.as_bytes().to_vec(), None).await?)
}

/// The latest signed checkpoint of `tenant`, if one was made.
pub async fn latest(kv: &dyn KvStore, tenant: &TenantId) -> Result<Option<String>, AuditError> {
    Ok(kv.get(&path(tenant)).await?.and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// Why a checkpoint does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint is not a valid signed checkpoint: {0}")]
    Token(String),
    #[error("the checkpoint is signed by a key the given keys do not hold")]
    UnknownKey,
    #[error("the trail lost its tail: the checkpoint reaches record {seq}, the trail only {reaches:?}")]
    TailLost { seq: u64, reaches: Option<u64> },
    #[error("record {seq} is not the one the checkpoint signed: {why}")]
    Diverged { seq: u64, why: &'static str },
    #[error("the records up to the checkpoint (record {seq}) were pruned: check a later checkpoint")]
    Pruned { seq: u64 },
}

/// Checks `token` against the signing keys in `jwks` (a JWKS document)
/// and returns what it states. The caller decides where `jwks` comes from:
/// pinned by the auditor, or the host's own.
pub fn verify_token(token: &str, jwks: &Value) -> Result<Checkpoint, CheckpointError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| CheckpointError::Token(e.to_string()))?;
    if header.typ.as_deref() != Some(TOKEN_TYPE) {
        return Err(CheckpointError::Token(format!("its type is {:?}, not {TOKEN_TYPE}", header.typ)));
    }
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(jwks.clone()).map_err(|e| CheckpointError::Token(format!("the keys: {e}")))?;
    let kid = header.kid.ok_or_else(|| CheckpointError::Token("it names no key".into()))?;
    let jwk = set.find(&kid).ok_or(CheckpointError::UnknownKey)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| CheckpointError::Token(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_exp = false;
    validation.required_spec_claims = ["iss", "sub"].into_iter().map(String::from).collect();
    validation.sub = Some(SUBJECT.into());
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => CheckpointError::UnknownKey,
        _ => CheckpointError::Token(e.to_string()),
    })?;
    serde_json::from_value(data.claims).map_err(|e| CheckpointError::Token(e.to_string()))
}

/// Checks `records` (ascending, as listed) against `checkpoint`: they reach
/// its record, that record's hash is the signed head, and every record from
/// the first listed to the last follows the one before (so nothing up to
/// the checkpoint was altered, reordered or removed, and what came after
/// follows it). Returns how many records the checkpoint vouches for.
pub fn check(checkpoint: &Checkpoint, records: &[Record]) -> Result<u64, CheckpointError> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Err(CheckpointError::TailLost { seq: checkpoint.seq, reaches: None });
    };
    if last.seq < checkpoint.seq {
        return Err(CheckpointError::TailLost { seq: checkpoint.seq, reaches: Some(last.seq) });
    }
    if first.seq > checkpoint.seq {
        return Err(CheckpointError::Pruned { seq: checkpoint.seq });
    }
    if first.seq == checkpoint.first && first.prev != checkpoint.anchor {
        return Err(CheckpointError::Diverged { seq: first.seq, why: "does not follow the signed anchor" });
    }
    // The first listed record is checked against its own `prev`: only the
    // anchor, above, vouches for what came before it.
    let (mut seq, mut prev) = (first.seq, first.prev.as_str());
    for record in records {
        if let Some(why) = super::misplaced(record, seq, prev) {
            return Err(CheckpointError::Diverged { seq, why });
        }
        if record.seq == checkpoint.seq && record.hash != checkpoint.head {
            return Err(CheckpointError::Diverged { seq, why: "its hash is not the signed head" });
        }
        (seq, prev) = (record.seq + 1, record.hash.as_str());
    }
    Ok(checkpoint.seq + 1 - first.seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, Trails};
    use crate::platform::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;

    fn trail(n: u64) -> (MemoryKv, Vec<Record>) {
        let kv = MemoryKv::new(std::rc::Rc::new(ManualClock::new(0)));
        let tenant = TenantId::from_static("acme");
        let mut trails = Trails::default();
        let records = (0..n)
            .map(|i| {
                let event = Event { kind: "k".into(), principal: None, server: None, detail: serde_json::json!(i) };
                block_on(trails.append(&kv, &tenant, event, i)).unwrap()
            })
            .collect();
        (kv, records)
    }

    #[test]
    fn records_are_checked_against_the_signed_head() {
        let (kv, records) = trail(6);
        let at = block_on(current(&kv, &TenantId::from_static("acme"), 9)).unwrap().unwrap();
        assert_eq!((at.seq, at.first), (5, 0));
        let earlier = Checkpoint { seq: 3, head: records[3].hash.clone(), ..at.clone() };
        let moved_anchor = Checkpoint { anchor: records[2].hash.clone(), ..earlier.clone() };
        assert!(matches!(check(&moved_anchor, &records), Err(CheckpointError::Diverged { seq: 0, .. })));
        assert_eq!(check(&earlier, &records), Ok(4));
        assert_eq!(check(&earlier, &records[2..]), Ok(2), "pruned before it: what is kept still checks");
        assert_eq!(check(&earlier, &records[..3]), Err(CheckpointError::TailLost { seq: 3, reaches: Some(2) }));
        assert_eq!(check(&earlier, &[]), Err(CheckpointError::TailLost { seq: 3, reaches: None }));
        assert_eq!(check(&earlier, &records[4..]), Err(CheckpointError::Pruned { seq: 3 }));
        let mut gap = records.clone();
        gap.remove(2);
        assert!(matches!(check(&earlier, &gap), Err(CheckpointError::Diverged { seq: 2, .. })));
        let mut altered = records.clone();
        altered[1].event.kind = "other".into();
        assert!(matches!(check(&earlier, &altered), Err(CheckpointError::Diverged { seq: 1, why: "altered" })));
        let wrong_head = Checkpoint { head: records[2].hash.clone(), ..earlier };
        assert!(matches!(check(&wrong_head, &records), Err(CheckpointError::Diverged { seq: 3, .. })));
    }
}
