#!/usr/bin/env bash
# Sets up, then starts the native host in dev mode: it builds the example
# guests (calc, notes, files, fetcher) into components and serves each over
# MCP at http://127.0.0.1:8787/t/dev/s/<name>/mcp until Ctrl-C. State is
# kept in $SMCP_DATA_DIR (default ~/.local/share/smcp-dev); further
# arguments go to `smcp serve` (e.g. --listen 127.0.0.1:9000).
# `scripts/run.sh demo` runs the in-process demo instead: it loads the
# guests and calls a few tools without HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prepare_build
if [ "${1:-}" = demo ]; then
  exec cargo run -q -p smcp-tests --example demo
fi
exec cargo run -p smcp-native --release -- serve --dev --data-dir "${SMCP_DATA_DIR:-$HOME/.local/share/smcp-dev}" "$@"
