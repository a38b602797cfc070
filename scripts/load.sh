#!/usr/bin/env bash
# The load test: 1,000 sessions open at once × 100 requests against the native host,
# both protocol eras: without a hostile tenant, with one spinning at its fuel
# limit, and with one flooding capability calls (host/native/benches/load.rs).
#
#   ./scripts/load.sh                 the load test (about a minute)
#   ./scripts/load.sh --soak 30       the soak: 30 minutes of the same mix,
#                                     the host's memory sampled each minute
#
# Results are printed, and written to $SMCP_BENCH_DIR/{load,soak}.json when
# that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
prepare_build
cargo bench -p smcp-native --bench load -- --bench "$@"
