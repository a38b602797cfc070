//! kv as a guest sees it: denied without a grant, its keys under its own
//! prefix, the grant's bounds and the per-call operation budget.

use super::grant::KvGrant;
use crate::capabilities::bindings::kv::Host;
use crate::capabilities::testing::{Call, run};
use crate::capabilities::{CapabilityError, Grant};
use crate::names::TenantId;

fn granted(kv: KvGrant) -> Call {
    Call::new(Grant { kv: Some(kv), ..Grant::default() })
}

#[test]
fn without_a_grant_every_call_is_denied() {
    let mut call = Call::new(Grant::default());
    let mut host = call.host();
    assert!(matches!(run(host.get("a".into())), Err(CapabilityError::Denied(_))));
    assert!(matches!(run(host.set("a".into(), b"v".to_vec(), None)), Err(CapabilityError::Denied(_))));
    drop(host);
    assert!(call.memory.kv.raw_keys().is_empty());
}

#[test]
fn keys_live_under_the_servers_prefix_and_come_back_without_it() {
    let mut call = Call::of(&TenantId::from_static("acme"), "notes", Grant::default());
    call.grant.kv = Some(KvGrant::default());
    let mut host = call.host();
    run(host.set("a/1".into(), b"one".to_vec(), None)).unwrap();
    run(host.set("b".into(), b"two".to_vec(), None)).unwrap();
    assert_eq!(run(host.get("a/1".into())).unwrap(), Some(b"one".to_vec()));
    let page = run(host.list_keys("a/".into(), None, 10)).unwrap();
    assert_eq!((page.keys, page.cursor), (vec!["a/1".to_owned()], None));
    for escape in ["../x", "a/../../b", "", "a\\b", "%2e%2e/x"] {
        assert!(matches!(run(host.get(escape.into())), Err(CapabilityError::InvalidInput(_))), "{escape:?}");
    }
    drop(host);
    assert_eq!(call.memory.kv.raw_keys(), ["t/acme/s/notes/kv/a/1", "t/acme/s/notes/kv/b"]);
}

#[test]
fn values_and_operations_are_bounded_by_the_grant() {
    let mut call = granted(KvGrant { max_value_bytes: 4, max_ops_per_call: 3, ..KvGrant::default() });
    let mut host = call.host();
    assert!(matches!(run(host.set("k".into(), vec![0; 5], None)), Err(CapabilityError::TooLarge(_))));
    run(host.set("k".into(), vec![0; 4], None)).unwrap();
    run(host.delete("k".into())).unwrap();
    let over = run(host.get("k".into())).unwrap_err();
    assert_eq!(
        over,
        CapabilityError::QuotaExceeded(
            "at most 3 kv operations per request (the grant's [kv] max_ops_per_call)".into()
        )
    );
    drop(host);
    let mut next = call.host();
    assert_eq!(run(next.get("k".into())).unwrap(), None, "the budget is per call");
}

#[test]
fn get_many_reads_in_order_and_counts_every_key() {
    let mut call = granted(KvGrant { max_ops_per_call: 4, ..KvGrant::default() });
    let mut host = call.host();
    run(host.set("a".into(), b"1".to_vec(), None)).unwrap();
    let values = run(host.get_many(vec!["a".into(), "missing".into(), "a".into()])).unwrap();
    assert_eq!(values, vec![Some(b"1".to_vec()), None, Some(b"1".to_vec())]);
    drop(host);
    let mut next = call.host();
    let keys: Vec<String> = (0..5).map(|i| format!("k{i}")).collect();
    assert!(matches!(run(next.get_many(keys)), Err(CapabilityError::QuotaExceeded(_))), "5 keys over a budget of 4");
    drop(next);
    let mut fresh = call.host();
    assert!(matches!(run(fresh.get_many(vec!["../x".into()])), Err(CapabilityError::InvalidInput(_))));
}
