# Shared by the scripts: toolchain detection and a cargo that builds wasm32.
# Sourced, not run.

# Builds reuse one target directory outside the clone (CI keeps it warm).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smcp/target}"

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
