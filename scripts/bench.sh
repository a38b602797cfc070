#!/usr/bin/env bash
# Runs every benchmark and writes their tables, with the machine they ran on,
# to docs/benchmarks/results.md and results.json (docs/benchmarks.md says
# what each figure means). Not part of ./scripts/test.sh: it takes about
# 15 minutes and wants an otherwise idle machine.
#
#   ./scripts/bench.sh              all of it
#   SMCP_BENCH_SKIP_WORKERD=1 ...   without the Worker (no Node, no wrangler)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prepare_build

results="$CARGO_TARGET_DIR/bench-results"
rm -rf "$results"
mkdir -p "$results" docs/benchmarks
export SMCP_BENCH_DIR="$results"

echo "==> the sandbox: per call, cold load, fuel, capabilities (wasmi vs wasmtime vs native)"
cargo bench -p smcp-tests --bench sandbox --features wasmtime

echo "==> end to end over loopback HTTP, against an rmcp server (in process, then with wrk)"
ensure_wrk
cargo bench -p smcp-native --bench http

echo "==> the host's resident memory"
cargo bench -p smcp-native --bench memory

echo "==> a tenant's scaffold to first call (smcp new, build, deploy, call)"
cargo bench -p smcp-native --bench scaffold

if [ -z "${SMCP_BENCH_SKIP_WORKERD:-}" ]; then
  echo "==> the Worker in workerd"
  ensure_worker_tools
  build_worker
  cargo bench -p smcp-native --bench workerd
fi

cargo run -q -p smcp-tests --bin bench-report -- "$results" docs/benchmarks/results
