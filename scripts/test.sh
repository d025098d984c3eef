#!/usr/bin/env bash
# THE test command: installs what is missing, builds the release preset, starts a
# throwaway PostgreSQL for the PostgreSQL backend tests, runs the whole ctest suite and
# always removes the cluster again (also on failure or Ctrl-C).
#
#   scripts/test.sh [extra ctest args…]        e.g. scripts/test.sh -L unit
#
# Environment:
#   PROM_SKIP_SETUP=1   skip scripts/setup.sh          (quick re-runs)
#   PROM_SKIP_BUILD=1   skip scripts/build.sh release  (quick re-runs)
#   PROM_SKIP_PG=1      do not start a throwaway PostgreSQL; whatever PROM_TEST_PG_URL
#                       is in the environment (if any) is passed on untouched
# The tests see PROM_TEST_PG_URL (database prom_test) and PROM_TEST_PG_ADMIN_URL
# (database postgres, superuser) from scripts/pg-throwaway.sh.
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
started=$SECONDS

if [[ ${PROM_SKIP_SETUP:-0} == 1 ]]; then
  log "PROM_SKIP_SETUP=1: skipping scripts/setup.sh"
else
  log "step 1/4: dependencies (scripts/setup.sh)"
  bash scripts/setup.sh
fi

if [[ ${PROM_SKIP_BUILD:-0} == 1 ]]; then
  log "PROM_SKIP_BUILD=1: skipping scripts/build.sh"
else
  log "step 2/4: build (scripts/build.sh release)"
  bash scripts/build.sh release
fi

pg_started=0
cleaned=0
ctest_status=""
# shellcheck disable=SC2317  # only ever invoked through the traps below
cleanup() {
  # Runs once, from whichever of EXIT / INT / TERM / HUP comes first.
  ((cleaned)) && return 0
  cleaned=1
  if ((pg_started)); then
    # Keep the server log next to ctest's logs when the tests failed or were cut short:
    # the cluster directory (and the log in it) is about to be deleted.
    if [[ $ctest_status != 0 && -f $PROM_PG_DIR/log/postgres.log && -d build/release ]]; then
      mkdir -p build/release/Testing/Temporary
      cp "$PROM_PG_DIR/log/postgres.log" build/release/Testing/Temporary/postgres.log 2>/dev/null &&
        log "PostgreSQL server log kept in build/release/Testing/Temporary/postgres.log"
    fi
    bash scripts/pg-throwaway.sh stop "$PROM_PG_DIR" || log "warning: could not stop the throwaway PostgreSQL in $PROM_PG_DIR"
  fi
}
trap cleanup EXIT
# An explicit exit on signals makes the EXIT trap (cleanup) run, and gives the usual
# 128+signal status.
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'log "hangup"; exit 129' HUP

if [[ ${PROM_SKIP_PG:-0} == 1 ]]; then
  log "PROM_SKIP_PG=1: not starting PostgreSQL (PROM_TEST_PG_URL=${PROM_TEST_PG_URL:-<unset>})"
else
  log "step 3/4: throwaway PostgreSQL (scripts/pg-throwaway.sh start)"
  # Captured first, then eval'ed: `eval "$(…)"` alone would ignore a failed start.
  pg_env=$(bash scripts/pg-throwaway.sh start)
  eval "$pg_env"
  pg_started=1
fi

[[ -d build/release ]] || log "warning: build/release does not exist; ctest will fail (did the build run?)"

log "step 4/4: ctest --preset release --output-on-failure -j2 $*"
ctest_status=0
ctest --preset release --output-on-failure -j2 "$@" || ctest_status=$?

elapsed=$((SECONDS - started))
if ((ctest_status == 0)); then
  log "summary: tests PASSED in ${elapsed}s"
else
  log "summary: tests FAILED (ctest exit status $ctest_status) after ${elapsed}s; details in build/release/Testing/Temporary/LastTest.log"
fi
exit "$ctest_status"
