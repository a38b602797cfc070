//! docs/tenant-guide.md, run as a tenant runs it: every block marked
//! `<!-- run -->`, in order, in one empty directory, by bash with the built
//! `smcp` first on the path, against a real host on loopback. Only the
//! guide's stand-ins are replaced: its data directory and host URL by the
//! test's, and the admin key by the one its first block printed. Python
//! blocks run in the same shell, with the official Python SDK of
//! tests/clients; `mcp-inspector` is the Inspector installed there.

mod support;

use support::guide::{bash, runnable, text};

const GUIDE: &str = include_str!("../../../docs/tenant-guide.md");

#[test]
fn the_tenant_guide_runs_as_written() {
    let blocks = runnable(GUIDE);
    assert!(blocks.len() >= 8, "the guide marks its walk-through to run");
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let place = |text: &str| text.replace("/var/lib/smcp", data.path().to_str().unwrap());

    // 0. The operator's first key, made with the server stopped.
    let first = &blocks[0];
    assert!(first.text.contains("--data-dir"), "the guide starts with the operator's key: {}", first.text);
    let made = bash(work.path(), &place(&first.text));
    assert!(made.status.success(), "{}", text(&made.stderr));
    let admin_key = text(&made.stdout).trim().to_owned();
    assert!(admin_key.starts_with("smcp_acme_"), "{admin_key}");

    // The host as an operator runs it: with master keys for the secrets.
    let master = bash(work.path(), "smcp secrets new-key k1");
    assert!(master.status.success(), "{}", text(&master.stderr));
    let mut config = smcp_native::Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.master_keys = Some(text(&master.stdout).trim().to_owned());
    let server = smcp_native::spawn(config).expect("the server starts");
    let url = format!("http://127.0.0.1:{}", server.addr.port());

    // Then everything else, in one shell, as one tenant would type it.
    // The secret the guide sets, as the tenant's shell would hold it.
    let mut script = String::from("export TOKEN=a-token-from-the-provider\n");
    for (i, block) in blocks.iter().enumerate().skip(1) {
        let body = place(&block.text).replace("https://mcp.example.com", &url).replace("smcp_acme_…", &admin_key);
        script.push_str(&format!("echo '==> block {i}' >&2\n"));
        match block.lang.as_str() {
            "sh" => script.push_str(&body),
            "python" => script.push_str(&format!("python3 - <<'PY'\n{body}\nPY")),
            other => panic!("block {i}: no way to run `{other}`"),
        }
        script.push('\n');
    }
    let ran = bash(work.path(), &script);
    let (out, err) = (text(&ran.stdout), text(&ran.stderr));
    assert!(ran.status.success(), "the guide's commands:\n{script}\n--- stdout\n{out}\n--- stderr\n{err}");
    server.stop();

    // What the guide says each step shows.
    let shows = [
        ("smcp build reviews with the project's grant", "divide"),
        ("smcp deploy prints the endpoint", "/t/acme/s/my-server/mcp"),
        ("curl's initialize", "\"serverInfo\""),
        ("the Inspector calls the tool", "\"quotient\": 0.25"),
        ("the Python SDK lists the tool", "['divide']"),
        ("and calls it", "{'quotient': 0.25}"),
    ];
    for (what, expected) in shows {
        assert!(out.contains(expected) || err.contains(expected), "{what}: no `{expected}` in\n{out}\n{err}");
    }
    assert!(!out.contains(&admin_key) && !err.contains(&admin_key), "no step prints the admin key again");
}
