#!/usr/bin/env bash
# Sets up what the tests need, then runs them all: the workspace's tests
# (which build every guest in guests/ from source), and a wasm32 build of the
# core, which the Cloudflare Worker embeds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_wasm_toolchain

echo "==> cargo test (builds the guests, then runs unit and end-to-end tests)"
cargo test --workspace --all-targets

echo "==> the guest SDK's own tests"
cargo test --manifest-path guest-sdk/Cargo.toml

echo "==> the core builds for wasm32-unknown-unknown"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-core" wasm_cargo build -p smcp-core --release
