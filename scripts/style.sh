#!/usr/bin/env bash
# The house style, checked in every workspace: formatted as rustfmt.toml says
# (`cargo fmt --all` fixes it) and clippy-clean with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  command -v rustup >/dev/null 2>&1 && rustup component add rustfmt clippy >/dev/null
fi

# The host and tests, the Worker (checked natively: it has no wasm-only
# lints), the guest SDK, the guests and the fuzz targets.
workspaces=(Cargo.toml host/worker/Cargo.toml guest-sdk/Cargo.toml guests/Cargo.toml tests/fuzz/Cargo.toml)
for manifest in "${workspaces[@]}"; do
  echo "==> style: $(dirname "$manifest")"
  cargo fmt --manifest-path "$manifest" --all --check
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/clippy" cargo clippy -q --manifest-path "$manifest" --workspace --all-targets -- -D warnings
done
# The Worker as the tests build it, too.
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/clippy" cargo clippy -q --manifest-path host/worker/Cargo.toml --all-targets \
  --features backend-suite -- -D warnings
# The core's API docs: every intra-doc link resolves.
echo "==> style: the core's doc links"
RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links -A rustdoc::private_intra_doc_links" \
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/clippy" cargo doc -q -p smcp-core --no-deps --features memory-backends,backend-suite
