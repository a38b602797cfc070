//! Signed checkpoints of the audit trail, against an attacker who can
//! rewrite the host's store but does not hold the tenant's signing key: a
//! cut tail or a rewritten chain passes the chain check (the attacker made
//! it consistent) and fails against a checkpoint an auditor saved earlier,
//! before and after the host restarts. Shutdown signs one too. And the
//! trail exports as JSON lines with a cursor.

mod support;

use serde_json::Value;
use smcp_core::audit::{self, Record};
use smcp_core::names::TenantId;
use smcp_core::platform::kv::KvStore;
use smcp_core::policy::address::AddressPolicy;
use smcp_native::Storage;
use std::path::Path;

/// Runs `smcp ARGS` (with `--url`/`--key` when given a host): success and stderr.
fn smcp(args: &[&str], host: Option<(&str, &str)>) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_smcp"));
    command.args(args).env_remove("SMCP_URL").env_remove("SMCP_ADMIN_KEY");
    if let Some((url, key)) = host {
        command.args(["--url", url, "--key", key]);
    }
    let output = command.output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn records(storage: &Storage, tenant: &TenantId) -> Vec<Record> {
    futures::executor::block_on(audit::list(&storage.kv, tenant, 0, 100_000)).unwrap()
}

/// What an attacker with the store in hand writes: `record` re-hashed after
/// `prev`, as the host hashes records (blake3 of the previous hash and the
/// record's JSON without its hash).
fn rehashed(mut record: Record, prev: &str) -> Record {
    record.prev = prev.to_owned();
    record.hash = String::new();
    let body = serde_json::to_vec(&record).unwrap();
    record.hash = blake3::Hasher::new().update(prev.as_bytes()).update(&body).finalize().to_hex().to_string();
    record
}

/// Rewrites the trail's stored head to end at `last` (what the attacker
/// does so that the chain check passes after a cut).
fn set_head(storage: &Storage, tenant: &TenantId, last: &Record) {
    let path = format!("audit/{tenant}/head");
    let stored = futures::executor::block_on(storage.kv.get(&path)).unwrap().unwrap();
    let mut head: Value = serde_json::from_slice(&stored).unwrap();
    head["next"] = (last.seq + 1).into();
    head["last"] = last.hash.clone().into();
    futures::executor::block_on(storage.kv.set(&path, head.to_string().into_bytes(), None)).unwrap();
}

fn open(data: &Path) -> Storage {
    Storage::open(data, AddressPolicy::public_only(), None).unwrap()
}

#[test]
fn a_saved_checkpoint_catches_a_cut_tail_and_a_rewritten_chain_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let tenant = TenantId::from_static("dev");
    let server = support::serve(data.path(), &["calc"], |_| {});
    let (url, key) = (format!("http://{}", server.addr), server.dev_key.clone().unwrap());
    let host = Some((url.as_str(), key.as_str()));
    for name in ["a", "b", "c", "d"] {
        assert!(smcp(&["keys", "create", "--role", "read-only", "--name", name], host).0);
    }
    let saved = data.path().join("checkpoint.json");
    let (ok, err) = smcp(&["audit", "checkpoint", "--now", "-o", saved.to_str().unwrap()], host);
    assert!(ok, "{err}");
    assert!(smcp(&["keys", "create", "--role", "read-only", "--name", "after"], host).0);
    let (ok, err) = smcp(&["audit", "verify", "--checkpoint", saved.to_str().unwrap()], host);
    assert!(ok && err.contains("holds"), "{err}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    let signed_seq = audit::checkpoint::verify_token(file["token"].as_str().unwrap(), &file["jwks"]).unwrap().seq;
    // Signed by the key that signs access tokens, a checkpoint is still no
    // credential: it has no audience and no expiry.
    let as_bearer = reqwest::blocking::Client::new()
        .post(format!("{url}/t/dev/s/calc/mcp"))
        .bearer_auth(file["token"].as_str().unwrap())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .unwrap();
    assert_eq!(as_bearer.status(), 401, "a checkpoint was taken as a bearer token");
    server.stop();

    // Shutdown signed the trail as it ended.
    let storage = open(data.path());
    let trail = records(&storage, &tenant);
    let latest = futures::executor::block_on(audit::checkpoint::latest(&storage.kv, &tenant)).unwrap().unwrap();
    let jwks = futures::executor::block_on(smcp_core::oauth::signing_keys::jwks(storage.backends(), &tenant)).unwrap();
    let at_shutdown = audit::checkpoint::verify_token(&latest, &jwks).unwrap();
    assert_eq!(at_shutdown.seq, trail.last().unwrap().seq, "the shutdown checkpoint reaches the last record");
    assert!(signed_seq < at_shutdown.seq);

    // The attacker cuts the trail two records before the saved checkpoint
    // and makes the head agree: the chain check is satisfied…
    let cut = signed_seq - 2;
    for record in trail.iter().filter(|r| r.seq > cut) {
        futures::executor::block_on(storage.kv.delete(&format!("audit/{tenant}/r/{:020}", record.seq))).unwrap();
    }
    set_head(&storage, &tenant, &trail[cut as usize]);
    drop(storage);
    let dir = ["--data-dir", data.path().to_str().unwrap(), "--tenant", "dev"];
    let (ok, err) = smcp(&[&["audit", "verify"], &dir[..]].concat(), None);
    assert!(ok, "the chain alone cannot tell: {err}");
    // …the saved checkpoint is not, in the data directory or through the
    // restarted host.
    let with_checkpoint = [&["audit", "verify", "--checkpoint", saved.to_str().unwrap()], &dir[..]].concat();
    let (ok, err) = smcp(&with_checkpoint, None);
    assert!(!ok && err.contains("lost its tail"), "{err}");
    let server = support::serve(data.path(), &["calc"], |_| {});
    let url = format!("http://{}", server.addr);
    let (ok, err) = smcp(&["audit", "verify", "--checkpoint", saved.to_str().unwrap()], Some((&url, &key)));
    assert!(!ok && err.contains("lost its tail"), "after a restart: {err}");
    server.stop();

    // The attacker puts records back, but altered: the first one changed and
    // every later one re-hashed so that the chain is whole.
    let storage = open(data.path());
    // (The restarted host appended records of its own after the cut.)
    for record in records(&storage, &tenant).iter().filter(|r| r.seq >= cut) {
        futures::executor::block_on(storage.kv.delete(&format!("audit/{tenant}/r/{:020}", record.seq))).unwrap();
    }
    let mut prev = trail[cut as usize].prev.clone();
    let mut forged = Vec::new();
    for record in trail.iter().filter(|r| r.seq >= cut && r.seq <= signed_seq) {
        let mut record = record.clone();
        if record.seq == cut {
            record.event.kind = "nothing.happened".into();
        }
        let record = rehashed(record, &prev);
        prev = record.hash.clone();
        forged.push(record);
    }
    for record in &forged {
        let path = format!("audit/{tenant}/r/{:020}", record.seq);
        futures::executor::block_on(storage.kv.set(&path, serde_json::to_vec(record).unwrap(), None)).unwrap();
    }
    set_head(&storage, &tenant, forged.last().unwrap());
    drop(storage);
    let (ok, err) = smcp(&[&["audit", "verify"], &dir[..]].concat(), None);
    assert!(ok, "the chain alone cannot tell: {err}");
    let (ok, err) = smcp(&with_checkpoint, None);
    assert!(!ok && err.contains("not the one the checkpoint signed"), "{err}");

    // Keys the auditor pinned that do not hold the signing key: refused.
    let other = data.path().join("other-jwks.json");
    std::fs::write(&other, r#"{"keys": []}"#).unwrap();
    let pinned = [&with_checkpoint[..], &["--jwks", other.to_str().unwrap()]].concat();
    let (ok, err) = smcp(&pinned, None);
    assert!(!ok && err.contains("key the given keys do not hold"), "{err}");
}

/// `GET …/audit/export` pages through the trail as JSON lines; the
/// `smcp-audit-next` header is where the next page starts, and past the end
/// the page is empty and the cursor stays.
#[test]
fn the_trail_exports_as_json_lines_with_a_cursor() {
    let data = tempfile::tempdir().unwrap();
    let server = support::serve(data.path(), &["calc"], |_| {});
    let (url, key) = (format!("http://{}", server.addr), server.dev_key.clone().unwrap());
    for name in ["a", "b", "c"] {
        assert!(smcp(&["keys", "create", "--role", "read-only", "--name", name], Some((&url, &key))).0);
    }
    let client = reqwest::blocking::Client::new();
    let page = |from: u64, limit: u64| {
        let response = client
            .get(format!("{url}/admin/v1/tenants/dev/audit/export?from={from}&limit={limit}"))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let next: u64 = response.headers()["smcp-audit-next"].to_str().unwrap().parse().unwrap();
        let text = response.text().unwrap();
        let seqs: Vec<u64> = text.lines().map(|l| serde_json::from_str::<Record>(l).unwrap().seq).collect();
        (seqs, next)
    };
    let (all, end) = page(0, 10_000);
    assert!(all.len() >= 3 && all.windows(2).all(|w| w[1] == w[0] + 1), "{all:?}");
    let (first, next) = page(0, 2);
    assert_eq!((first.as_slice(), next), (&all[..2], all[1] + 1));
    let (rest, after) = page(next, 10_000);
    assert_eq!((rest.as_slice(), after), (&all[2..], end));
    assert_eq!(page(end, 10), (vec![], end), "nothing newer: an empty page, the same cursor");
    server.stop();
}
