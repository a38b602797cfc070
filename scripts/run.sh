#!/usr/bin/env bash
# Sets up, builds the example guests into components, and runs them through
# the sandbox: lists each server's tools and calls a few.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_wasm_toolchain
cargo run -q -p smcp-tests --example demo
