//! Guests in other languages through the official clients: the JavaScript
//! twin of notes (guests/notes-js, built by componentize-js: StarlingMonkey
//! and a wasip2 adapter, so it imports WASI) and the Python twin of calc
//! (guests/calc-py, built by componentize-py: CPython in 38 core modules)
//! pass the same end-to-end checks as their Rust originals, side by side on
//! one real server (tests/clients/twins.mjs); so does calc's own source built
//! by rustc for wasm32-wasip2 (guests/calc-wasip2), which imports WASI, and
//! notes kept through wasi:keyvalue (guests/notes-keyvalue).

mod support;

use support::DevHost;

#[test]
fn javascript_python_and_wasip2_twins_pass_the_rust_guests_checks() {
    let host = DevHost::start(&["notes", "notes-js", "calc", "calc-py", "calc-wasip2", "notes-keyvalue"], |_| {});
    support::run_twins(&format!("{}/t/dev/s", host.url()), host.key());
    host.stop();
}
