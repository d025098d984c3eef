#!/usr/bin/env bash
# The soak: the kill -9 crash test (tests/fault/projector_crash_test.cpp) with many more
# kills, on SQLite and PostgreSQL, then the PostgreSQL restart tests
# (tests/fault/pg_restart_test.cpp) over and over.
#
#   scripts/soak.sh [KILLS_PER_BACKEND] [PG_RESTART_ROUNDS]     defaults: 100 and 5
#
# Each kill lands in a child that publishes heartbeats (through the bus with time-travel
# reads writing snapshots beside it, or, every third child, through its own server's
# WebSocket gateway) while both built-in process projectors run. Afterwards: every
# acknowledged event is in the log exactly once, every heartbeat has exactly one derived
# process.state, host_stats and processes equal a replay from scratch, and time travel with
# the snapshots the killed children wrote equals a fold without them. CI runs the same test
# with 24 kills per backend (scripts/test.sh); this is the long run (200 kills by default).
#
# Environment: PROM_SKIP_BUILD=1 (use build/release as it is), PROM_SKIP_PG=1 (SQLite only).
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

kills=${1:-100}
rounds=${2:-5}
[[ $kills =~ ^[0-9]+$ && $rounds =~ ^[0-9]+$ ]] || die "usage: scripts/soak.sh [KILLS_PER_BACKEND] [PG_RESTART_ROUNDS]"
started=$SECONDS

if [[ ${PROM_SKIP_BUILD:-0} != 1 ]]; then
  bash scripts/build.sh release --target prom_fault_tests prom_crash_child
fi
binary=build/release/tests/prom_fault_tests
[[ -x $binary ]] || die "$binary not built"

pg_dir=""
cleanup() { [[ -n $pg_dir ]] && bash scripts/pg-throwaway.sh stop "$pg_dir" || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
backends=sqlite
if [[ ${PROM_SKIP_PG:-0} != 1 ]]; then
  pg_env=$(bash scripts/pg-throwaway.sh start)
  eval "$pg_env"
  pg_dir=$PROM_PG_DIR
  backends="sqlite and postgres"
fi

status=0
log "crash test: $kills kills per backend ($backends)"
out=build/release/soak-crash.log
# pipefail: the status is the test binary's.
PROM_CRASH_KILLS=$kills "$binary" --gtest_filter='backends/projector_crash.*' 2>&1 | tee "$out" ||
  status=1

if [[ -n $pg_dir ]]; then
  log "PostgreSQL restarts mid-stream: $rounds rounds"
  "$binary" --gtest_filter='backends/pg_restart.*' --gtest_repeat="$rounds" --gtest_brief=1 ||
    status=1
fi

elapsed=$((SECONDS - started))
grep -E '^\[ crash \]' "$out" >&2 || true
if ((status == 0)); then
  log "soak PASSED in ${elapsed}s: $kills kills per backend ($backends), $rounds PostgreSQL restart rounds"
else
  log "soak FAILED after ${elapsed}s"
fi
exit "$status"
