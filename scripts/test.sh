#!/usr/bin/env bash
# Sets up what the tests need, then runs them all: the house style (rustfmt and
# clippy in every workspace), a wasm32 build of the core,
# the Cloudflare Worker (built, size-checked, then tested in workerd), the guest SDK's and guests' own tests,
# and the workspace's tests, which build every guest in guests/ from source;
# then a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prepare_build
ensure_clients

./scripts/style.sh

echo "==> the core builds for wasm32-unknown-unknown"
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-core" wasm_cargo build -p smcp-core --release

# The Worker, which host/native/tests/worker.rs serves in workerd through
# wrangler dev, with the storage suite the tests run inside it (a feature
# deployments leave out); the build fails if the bundle is over 3 MiB gzipped.
ensure_worker_tools
build_worker --features backend-suite

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "==> the guest SDK's own tests"
cargo test --manifest-path guest-sdk/Cargo.toml 2>&1 | tee -a "$log"

echo "==> the guests' own unit tests (natively)"
cargo test --manifest-path guests/Cargo.toml --workspace 2>&1 | tee -a "$log"

echo "==> cargo test (builds the guests, then runs unit and end-to-end tests)"
cargo test --workspace --all-targets 2>&1 | tee -a "$log"

# One closing line over every test binary above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "Total: %d passed, %d failed\n", p, f }' "$log"

# Every fuzz target for a few seconds over its seeds and the inputs that
# once crashed it (tests/fuzz/regressions); the long run is
# ./scripts/fuzz.sh long.
./scripts/fuzz.sh smoke 10
