//! The scaffold benchmark: `cargo bench -p smcp-native --bench scaffold`.
//!
//! A tenant's path from nothing to a first tool call, with the `smcp` this
//! build made, timed step by step: `smcp new` (the tool template),
//! `smcp build` with a cold target directory (the cargo registry warm, as
//! on any machine that has built Rust before), `smcp deploy` to a real host
//! on loopback, and the first `tools/call`. Then the edit loop: a changed
//! source file rebuilt. The reference, in the same run: `cargo build
//! --release --target wasm32-wasip2` of the same crate, cold, in a target
//! directory of its own: what `smcp build` adds to the compiler's work.
//!
//! `cargo test` runs this file too (no `--bench` argument), with the tests'
//! shared, warm target directory of projects: the path is checked, not
//! timed.

use smcp_tests::report::{Report, Table, num};
use smcp_tests::tenant;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SMCP: &str = env!("CARGO_BIN_EXE_smcp");

/// Runs `command`, failing the bench with its output when it fails: how
/// long it took and its stdout.
fn timed(what: &str, command: &mut Command) -> (Duration, String) {
    let started = Instant::now();
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{what}:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    (took, stdout)
}

fn secs(d: Duration) -> serde_json::Value {
    num(d.as_secs_f64(), 2)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_, key) = timed(
        "the tenant's admin key",
        Command::new(SMCP)
            .args(["keys", "create", "--tenant", "acme", "--role", "admin", "--data-dir"])
            .arg(data.path()),
    );
    let key = key.trim().to_owned();
    let mut config = smcp_native::Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = smcp_native::spawn(config).expect("the server starts");
    let url = format!("http://127.0.0.1:{}", server.addr.port());

    // Cold: a target directory of its own. Under `cargo test`, the tests' warm one.
    let target = if full { work.path().join("target") } else { tenant::projects_target_dir() };
    let smcp = |args: &[&str]| {
        let mut command = tenant::command_in(SMCP, work.path(), &target);
        command.args(args);
        command
    };
    let (new, _) = timed("smcp new", &mut smcp(&["new", "divider"]));
    let (build, _) = timed("smcp build", &mut smcp(&["build", "divider", "-o", "divider.wasm"]));
    let deploy_args = ["deploy", "divider.wasm", "--server", "divider", "--grant", "divider/grant.toml"];
    let (deploy, _) = timed("smcp deploy", smcp(&deploy_args).args(["--url", &url, "--key", &key]));
    let started = Instant::now();
    let answer = first_call(&url, &key);
    let call = started.elapsed();
    assert_eq!(answer["result"]["structuredContent"]["quotient"], 0.25, "{answer}");

    // The edit loop: one source file changed, built again.
    let source = work.path().join("divider/src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, format!("{text}\n// edited\n")).unwrap();
    let (rebuild, _) = timed("smcp build after an edit", &mut smcp(&["build", "divider", "-o", "divider.wasm"]));
    server.stop();

    let mut table =
        Table::new("Scaffold to first call (the tool template, in Rust)", &["step", "seconds", "vs cargo build alone"]);
    let total = new + build + deploy + call;
    let reference = full.then(|| cargo_alone(&work.path().join("divider")));
    let ratio = |d: Duration| reference.map_or(serde_json::Value::Null, |r| num(d.as_secs_f64() / r.as_secs_f64(), 2));
    table.row(vec!["smcp new".into(), secs(new), serde_json::Value::Null]);
    table.row(vec!["smcp build (cold target directory, warm registry)".into(), secs(build), ratio(build)]);
    table.row(vec!["smcp deploy".into(), secs(deploy), serde_json::Value::Null]);
    table.row(vec!["first tools/call".into(), num(call.as_secs_f64(), 3), serde_json::Value::Null]);
    table.row(vec!["scaffold to first call".into(), secs(total), ratio(total)]);
    table.row(vec!["smcp build after editing src/lib.rs".into(), secs(rebuild), serde_json::Value::Null]);
    if let Some(reference) = reference {
        table.row(vec![
            "reference: cargo build --release --target wasm32-wasip2, cold".into(),
            secs(reference),
            num(1.0, 2),
        ]);
    }
    table.note("The host runs in this process on loopback. `smcp build` includes the review (the component loaded and its tools listed in the sandbox).");
    if !full {
        table.note("A test run (`cargo test`, a debug `smcp`): the tests' warm target directory, so `build` is not cold and no reference was built.");
    }
    let mut report = Report::new("scaffold");
    report.add(table);
    report.finish();
}

/// `tools/call divide {a: 1, b: 4}` on acme's divider, as one 2026-07-28
/// request.
fn first_call(url: &str, key: &str) -> serde_json::Value {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "divide", "arguments": { "a": 1, "b": 4 },
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } });
    let answer = reqwest::blocking::Client::new()
        .post(format!("{url}/t/acme/s/divider/mcp"))
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "divide")
        .json(&body)
        .send()
        .expect("the first call");
    answer.json().expect("a JSON-RPC answer")
}

/// The reference: cargo alone on the same crate, cold, in a target
/// directory of its own.
fn cargo_alone(project: &Path) -> Duration {
    let target = project.with_file_name("reference-target");
    let (took, _) = timed(
        "cargo build alone",
        tenant::command_in("cargo", project, &target).args(["build", "--release", "--target", "wasm32-wasip2"]),
    );
    took
}
