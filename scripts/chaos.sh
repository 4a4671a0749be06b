#!/usr/bin/env bash
# The chaos suite, full form: `./scripts/chaos.sh [alfred-chaos options]`.
#
# Builds `alfred` and `alfred-chaos` with --release and runs `alfred-chaos` against the release
# binary: three replicas on a private Redis (AOF) and a private Postgres cluster, each behind an
# in-process TCP fault proxy, a fake Graph API, 10,000 signed webhooks from 500 conversations at
# 40/s round-robin over the replicas, while it injects, spread over the run: SIGKILL of a replica
# three times, a SIGSTOP past the claim time (35 s), a Graph API 429/503 storm, a Redis restart,
# proxy latency, a Postgres restart, a proxy cut, slow Graph answers and a rolling SIGTERM restart
# of all replicas; 1 % of the messages are poison. Prints the report (text) and writes it as JSON
# to $CHAOS_JSON [target/chaos/report.json]; exits non-zero when a message was lost or answered
# twice, a poison message was not dead-lettered or something stayed stuck (with
# --require-order, also when a conversation was answered out of order).
#
# Options go to alfred-chaos (see `target/release/alfred-chaos --help`), e.g.
#   ./scripts/chaos.sh --replicas 1 --require-order
#   ./scripts/chaos.sh --messages 2000 --conversations 100 --faults kill,redis
#
# Environment: CHAOS_SKIP_BUILD=1 uses the binaries already in target/release (CARGO_TARGET_DIR
# honoured). Needs redis-server and the Postgres server tools (initdb, pg_ctl), as
# ./scripts/test.sh does. The run takes the load's length (10,000 / 40 s ≈ 4 min) plus the
# settling; the figures are recorded in RELIABILITY.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
json=${CHAOS_JSON:-$target_dir/chaos/report.json}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi
command -v redis-server >/dev/null || { echo "error: redis-server is not on the PATH (apt-get install redis-server)" >&2; exit 1; }
if [[ ${CHAOS_SKIP_BUILD:-0} != 1 ]]; then
    echo "==> cargo build --release -p alfred -p alfred-chaos" >&2
    cargo build --release -p alfred -p alfred-chaos
fi
mkdir -p "$(dirname "$json")"
echo "==> machine: $(nproc) cores, $(uname -r); $(redis-server --version | cut -d' ' -f3)" >&2
exec "$target_dir/release/alfred-chaos" --alfred "$target_dir/release/alfred" --json "$json" "$@"
