#!/usr/bin/env bash
# Builds the Cloudflare Worker (host/worker) on a fresh machine: installs
# worker-build, the wasm-bindgen CLI, wrangler and esbuild when missing, builds
# with rustup's wasm32 target or Debian's Rust (std from source), and checks
# the bundle's size. Then `cd host/worker && npx wrangler dev` serves it
# locally in workerd (docs/worker.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_rust
ensure_wasm_toolchain
ensure_worker_tools
build_worker
