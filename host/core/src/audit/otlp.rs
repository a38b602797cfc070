//! Audit trails as OpenTelemetry logs, for the SIEM an auditor already
//! uses: each record becomes one log record of an OTLP/HTTP logs request
//! (JSON encoding, `POST …/v1/logs`), its body the record exactly as the
//! JSON-lines export gives it, so that the chain can be checked again from
//! what the collector kept. A per-tenant cursor in the store says which
//! records were acknowledged, so shipping resumes after a restart and
//! delivers every record at least once.

use super::{AuditError, Record};
use crate::names::TenantId;
use crate::platform::kv::KvStore;
use serde_json::{Value, json};

/// The instrumentation scope the records are logged under.
pub const SCOPE: &str = "smcp.audit";

/// Records per request at most.
pub const BATCH: u32 = 512;

fn string(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

/// The OTLP/HTTP JSON body carrying `records` of `tenant`'s trail, as
/// logged by `service` (the `service.name` resource attribute).
pub fn logs_request(service: &str, tenant: &TenantId, records: &[Record]) -> Value {
    let log_records: Vec<Value> = records
        .iter()
        .map(|record| {
            let line = serde_json::to_string(record).unwrap_or_default();
            let kind = record.event.kind.as_str();
            // OTLP's JSON encoding writes 64-bit integers as strings.
            let nanos = u128::from(record.at_ms) * 1_000_000;
            json!({
                "timeUnixNano": nanos.to_string(),
                "observedTimeUnixNano": nanos.to_string(),
                "severityNumber": 9,
                "severityText": "INFO",
                "eventName": format!("smcp.audit.{kind}"),
                "body": { "stringValue": line },
                "attributes": [
                    string("smcp.tenant", tenant.as_str()),
                    string("smcp.audit.kind", kind),
                    { "key": "smcp.audit.seq", "value": { "intValue": record.seq.to_string() } },
                    string("smcp.audit.hash", &record.hash),
                    string("smcp.audit.prev", &record.prev),
                ],
            })
        })
        .collect();
    json!({
        "resourceLogs": [{
            "resource": { "attributes": [string("service.name", service), string("smcp.tenant", tenant.as_str())] },
            "scopeLogs": [{
                "scope": { "name": SCOPE, "version": env!("CARGO_PKG_VERSION") },
                "logRecords": log_records,
            }],
        }],
    })
}

fn cursor_path(tenant: &TenantId) -> String {
    format!("audit-export/otlp/{tenant}")
}

/// The first record of `tenant`'s trail not yet acknowledged.
pub async fn cursor(kv: &dyn KvStore, tenant: &TenantId) -> Result<u64, AuditError> {
    Ok(kv.get(&cursor_path(tenant)).await?.and_then(|b| String::from_utf8(b).ok()?.parse().ok()).unwrap_or(0))
}

/// Notes that records before `next` were acknowledged.
pub async fn acknowledge(kv: &dyn KvStore, tenant: &TenantId, next: u64) -> Result<(), AuditError> {
    Ok(kv.set(&cursor_path(tenant), next.to_string().into_bytes(), None).await?)
}

/// Every tenant with a trail in the store: one listing per tenant, each
/// starting past the keys of the one before.
pub async fn tenants_with_trails(kv: &dyn KvStore) -> Result<Vec<TenantId>, AuditError> {
    let mut tenants = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = kv.list("audit/", cursor.as_deref(), 1).await?;
        let Some(key) = page.keys.first() else { return Ok(tenants) };
        let Some(name) = key.strip_prefix("audit/").and_then(|rest| rest.split('/').next()) else {
            return Ok(tenants);
        };
        // Past every key of this tenant ('~' sorts after what follows its
        // name in any audit key).
        cursor = Some(format!("audit/{name}/~"));
        if let Ok(tenant) = TenantId::parse(name) {
            tenants.push(tenant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, append};
    use crate::platform::memory::{ManualClock, MemoryKv};
    use futures::executor::block_on;
    use std::rc::Rc;

    #[test]
    fn records_become_log_records_and_every_trail_is_found() {
        let kv = MemoryKv::new(Rc::new(ManualClock::new(0)));
        let (acme, b, ab) = (TenantId::from_static("acme"), TenantId::from_static("b"), TenantId::from_static("a-b"));
        let event = || Event {
            kind: "server.remove".into(),
            principal: None,
            server: Some("calc".into()),
            detail: Value::Null,
        };
        for tenant in [&acme, &b, &acme, &ab] {
            block_on(append(&kv, tenant, event(), 1_700_000_000_123)).unwrap();
        }
        let mut found = block_on(tenants_with_trails(&kv)).unwrap();
        found.sort();
        assert_eq!(found, vec![ab, acme.clone(), b]);

        let records = block_on(crate::audit::list(&kv, &acme, 0, 10)).unwrap();
        let body = logs_request("smcp", &acme, &records);
        let logs = &body["resourceLogs"][0]["scopeLogs"][0]["logRecords"];
        assert_eq!(logs.as_array().unwrap().len(), 2);
        assert_eq!(logs[1]["timeUnixNano"], "1700000000123000000");
        assert_eq!(logs[1]["attributes"][2]["value"]["intValue"], "1");
        // The body is the record as exported, chain fields included.
        let line: Record = serde_json::from_str(logs[1]["body"]["stringValue"].as_str().unwrap()).unwrap();
        assert_eq!((line.seq, &line.prev), (1, &records[0].hash));

        assert_eq!(block_on(cursor(&kv, &acme)).unwrap(), 0);
        block_on(acknowledge(&kv, &acme, 2)).unwrap();
        assert_eq!(block_on(cursor(&kv, &acme)).unwrap(), 2);
        // The cursor's own key is not a trail.
        assert_eq!(block_on(tenants_with_trails(&kv)).unwrap().len(), 3);
    }
}
