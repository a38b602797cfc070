//! Objects as a guest sees them: denied without a grant, keys and metadata
//! under its own prefix, object size and the per-call write budget.

use super::grant::ObjectsGrant;
use crate::capabilities::bindings::objects::Host;
use crate::capabilities::testing::{Call, run};
use crate::capabilities::{CapabilityError, Grant};
use crate::names::TenantId;

fn granted(objects: ObjectsGrant) -> Call {
    Call::of(&TenantId::from_static("acme"), "files", Grant { objects: Some(objects), ..Grant::default() })
}

#[test]
fn without_a_grant_every_call_is_denied() {
    let mut call = Call::new(Grant::default());
    let mut host = call.host();
    assert!(matches!(run(host.put("a".into(), vec![1], None)), Err(CapabilityError::Denied(_))));
    assert!(matches!(run(host.list_objects(String::new(), None, 10)), Err(CapabilityError::Denied(_))));
}

#[test]
fn objects_come_back_with_their_own_keys() {
    let mut call = granted(ObjectsGrant::default());
    let mut host = call.host();
    let meta = run(host.put("docs/a.txt".into(), b"hello".to_vec(), Some("text/plain".into()))).unwrap();
    assert_eq!((meta.key.as_str(), meta.size, meta.content_type.as_deref()), ("docs/a.txt", 5, Some("text/plain")));
    let object = run(host.get("docs/a.txt".into())).unwrap().unwrap();
    assert_eq!((object.meta.key.as_str(), object.body.as_slice()), ("docs/a.txt", &b"hello"[..]));
    assert_eq!(run(host.head("docs/a.txt".into())).unwrap().unwrap().etag, meta.etag);
    let page = run(host.list_objects("docs/".into(), None, 10)).unwrap();
    assert_eq!(page.objects.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["docs/a.txt"]);
    run(host.delete("docs/a.txt".into())).unwrap();
    assert_eq!(run(host.get("docs/a.txt".into())).unwrap(), None);
    assert!(matches!(run(host.get("../x".into())), Err(CapabilityError::InvalidInput(_))));
}

#[test]
fn size_and_bytes_written_per_call_are_bounded() {
    let mut call = granted(ObjectsGrant { max_object_bytes: 8, max_bytes_written_per_call: 12, ..Default::default() });
    let mut host = call.host();
    assert!(matches!(run(host.put("big".into(), vec![0; 9], None)), Err(CapabilityError::TooLarge(_))));
    run(host.put("a".into(), vec![0; 8], None)).unwrap();
    let over = run(host.put("b".into(), vec![0; 8], None)).unwrap_err();
    assert_eq!(over, CapabilityError::QuotaExceeded("at most 12 bytes written per request".into()));
    run(host.put("c".into(), vec![0; 4], None)).unwrap();
    drop(host);
    assert_eq!(call.memory.objects.raw_keys(), ["t/acme/s/files/objects/a", "t/acme/s/files/objects/c"]);
}
