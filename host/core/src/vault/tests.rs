use super::*;
use crate::names::TenantId;
use crate::platform::memory::{ManualClock, MemoryKv, SeededRandom};
use futures::executor::block_on;
use std::rc::Rc;

fn store() -> MemoryKv {
    MemoryKv::new(Rc::new(ManualClock::new(0)))
}

fn vault<'a>(kv: &'a MemoryKv, keys: &str) -> Vault<&'a MemoryKv> {
    Vault::new(kv, Some(Keyring::parse(keys).unwrap()), Box::new(SeededRandom::new(7)))
}

fn key(id: &str, byte: u8) -> String {
    Keyring::format(id, &[byte; 32])
}

#[test]
fn round_trip_and_nothing_in_the_clear() {
    let kv = store();
    let v = vault(&kv, &key("m1", 1));
    block_on(v.put(&TenantId::from_static("acme"), "weather", "API_KEY", "s3cr3t-value")).unwrap();
    assert_eq!(
        block_on(v.read(&TenantId::from_static("acme"), "weather", "API_KEY")).unwrap().unwrap().as_str(),
        "s3cr3t-value"
    );
    assert_eq!(block_on(v.read(&TenantId::from_static("acme"), "weather", "OTHER")).unwrap(), None);
    assert_eq!(kv.raw_keys(), ["vault/acme/data-key", "vault/acme/secrets/weather/API_KEY"]);
    for path in kv.raw_keys() {
        let bytes = block_on(kv.get(&path)).unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cr3t"), "plaintext stored at {path}");
    }
}

#[test]
fn ciphertexts_are_bound_to_their_place() {
    let kv = store();
    let v = vault(&kv, &key("m1", 1));
    block_on(v.put(&TenantId::from_static("acme"), "weather", "A", "one")).unwrap();
    block_on(v.put(&TenantId::from_static("acme"), "weather", "B", "two")).unwrap();
    // Copy A's ciphertext over B: it must not decrypt as B.
    let a = block_on(kv.get("vault/acme/secrets/weather/A")).unwrap().unwrap();
    block_on(kv.set("vault/acme/secrets/weather/B", a, None)).unwrap();
    assert_eq!(
        block_on(v.read(&TenantId::from_static("acme"), "weather", "B")).unwrap_err(),
        VaultError::Corrupt("secret")
    );
    // A flipped byte fails authentication too.
    let mut record: serde_json::Value =
        serde_json::from_slice(&block_on(kv.get("vault/acme/secrets/weather/A")).unwrap().unwrap()).unwrap();
    let mut ct = B64.decode(record["ct"].as_str().unwrap()).unwrap();
    ct[0] ^= 1;
    record["ct"] = B64.encode(ct).into();
    block_on(kv.set("vault/acme/secrets/weather/A", record.to_string().into_bytes(), None)).unwrap();
    assert!(block_on(v.read(&TenantId::from_static("acme"), "weather", "A")).is_err());
}

#[test]
fn rotation_rewraps_without_downtime() {
    let kv = store();
    block_on(vault(&kv, &key("old", 1)).put(&TenantId::from_static("acme"), "s", "K", "v1")).unwrap();
    block_on(vault(&kv, &key("old", 1)).put(&TenantId::from_static("beta"), "s", "K", "v2")).unwrap();
    // New key first, old still listed: everything reads during rotation.
    let both = vault(&kv, &format!("{},{}", key("new", 2), key("old", 1)));
    assert_eq!(block_on(both.read(&TenantId::from_static("acme"), "s", "K")).unwrap().unwrap().as_str(), "v1");
    assert_eq!(block_on(both.rotate()).unwrap(), Rotation { rewrapped: 2, already_current: 0 });
    assert_eq!(block_on(both.rotate()).unwrap(), Rotation { rewrapped: 0, already_current: 2 });
    // The old key can go.
    let new_only = vault(&kv, &key("new", 2));
    assert_eq!(block_on(new_only.read(&TenantId::from_static("beta"), "s", "K")).unwrap().unwrap().as_str(), "v2");
    let old_only = vault(&kv, &key("old", 1));
    let error = block_on(old_only.read(&TenantId::from_static("acme"), "s", "K")).unwrap_err();
    assert_eq!(error, VaultError::UnknownMasterKey { tenant: TenantId::from_static("acme"), id: "new".into() });
}

#[test]
fn names_cannot_escape_and_errors_say_nothing_secret() {
    let kv = store();
    let v = vault(&kv, &key("m", 3));
    assert!(TenantId::parse("a/b").is_err(), "a tenant id cannot name another path");
    let a = TenantId::from_static("a");
    for (server, name) in [("..", "n"), ("s", "x/../../y"), ("s", "")] {
        assert!(matches!(block_on(v.put(&a, server, name, "v")), Err(VaultError::InvalidName { .. })));
    }
    block_on(v.put(&TenantId::from_static("a"), "s", "n", "value")).unwrap();
    let none = Vault::new(&kv, None, Box::new(SeededRandom::new(1)));
    assert_eq!(block_on(none.put(&TenantId::from_static("a"), "s", "n", "v")).unwrap_err(), VaultError::NoKeyring);
    let from_guest = block_on(SecretStore::get(&none, &TenantId::from_static("a"), "s", "n")).unwrap_err();
    assert_eq!(from_guest, CapabilityError::Unavailable("the secret store cannot read this secret".into()));
}

#[test]
fn a_tenants_first_secrets_put_at_once_both_stay_readable() {
    let kv = store();
    let shared = crate::platform::memory::Interleaving(&kv);
    let keys = Keyring::parse(&key("m1", 1)).unwrap();
    let one = Vault::new(&shared, Some(keys.clone()), Box::new(SeededRandom::new(1)));
    let two = Vault::new(&shared, Some(keys), Box::new(SeededRandom::new(2)));
    let acme = TenantId::from_static("acme");
    let (a, b) = block_on(futures::future::join(one.put(&acme, "s", "A", "first"), two.put(&acme, "s", "B", "second")));
    a.unwrap();
    b.unwrap();
    assert_eq!(block_on(one.read(&acme, "s", "A")).unwrap().unwrap().as_str(), "first");
    assert_eq!(block_on(one.read(&acme, "s", "B")).unwrap().unwrap().as_str(), "second");
}
