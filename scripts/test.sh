#!/usr/bin/env bash
# THE test command: installs what is missing, builds the release preset (and the `fuzz`
# preset, a second build tree with clang-15), starts a throwaway PostgreSQL for the
# PostgreSQL backend tests, runs the whole ctest suite of both trees and always removes the
# cluster again (also on failure or Ctrl-C).
#
#   scripts/test.sh [extra ctest args…]        e.g. scripts/test.sh -L unit
#
# The ctest args go to both trees. Labels: unit, contract, integration, fault, ts (the
# TypeScript client), install (examples/embed against the installed package) (release
# tree), lint (release tree, scripts/lint.sh) and fuzz (fuzz tree: each target 30 s). The
# fuzz tree is only built and run when the args select no tests (-L/-R/-I absent) or
# mention "fuzz"; PostgreSQL and the main tree are skipped when they only select fuzz.
#
# Environment:
#   PROM_PRESET=NAME    the main preset instead of release (e.g. tsan, asan); the fuzz tree
#                       is not run then unless PROM_FUZZ=1. With tsan and asan every
#                       sanitizer report (of the tests and of the processes they start)
#                       lands in build/PRESET/sanitizer-reports/ and fails the run; the
#                       lint entry is left out (it checks sources, not the build).
#                       docs/testing.md has the commands.
#   PROM_SKIP_SETUP=1   skip scripts/setup.sh          (quick re-runs)
#   PROM_SKIP_BUILD=1   skip scripts/build.sh          (quick re-runs; both trees)
#   PROM_SKIP_FUZZ=1    never build or run the fuzz tree
#   PROM_SKIP_PG=1      do not start a throwaway PostgreSQL; whatever PROM_TEST_PG_URL
#                       is in the environment (if any) is passed on untouched
# The tests see PROM_TEST_PG_URL (database prom_test) and PROM_TEST_PG_ADMIN_URL
# (database postgres, superuser) from scripts/pg-throwaway.sh.
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
started=$SECONDS
preset=${PROM_PRESET:-release}
build_dir=build/$preset

# Which trees the ctest args select: the fuzz tree when nothing is selected or "fuzz" is
# named; the main tree unless every selection names only fuzz.
selecting=0
main_wanted=0
fuzz_named=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -L|-R|-I|--label-regex|--tests-regex|--tests-information)
      selecting=1
      value=${args[i + 1]:-}
      [[ $value == *fuzz* ]] && fuzz_named=1
      [[ $value =~ ^fuzz(\..*)?$ ]] || main_wanted=1
      ;;
  esac
done
((selecting)) || main_wanted=1
fuzz_wanted=0
if [[ ${PROM_SKIP_FUZZ:-0} != 1 ]] && { ! ((selecting)) || ((fuzz_named)); }; then
  if [[ $preset == release || ${PROM_FUZZ:-0} == 1 ]]; then
    fuzz_wanted=1
  fi
fi

if [[ ${PROM_SKIP_SETUP:-0} == 1 ]]; then
  log "PROM_SKIP_SETUP=1: skipping scripts/setup.sh"
else
  log "step 1/4: dependencies (scripts/setup.sh)"
  bash scripts/setup.sh
fi

if [[ ${PROM_SKIP_BUILD:-0} == 1 ]]; then
  log "PROM_SKIP_BUILD=1: skipping scripts/build.sh"
else
  if ((main_wanted)); then
    log "step 2/4: build (scripts/build.sh $preset)"
    bash scripts/build.sh "$preset"
  fi
  if ((fuzz_wanted)); then
    log "step 2/4: build the fuzz targets (scripts/build.sh fuzz)"
    bash scripts/build.sh fuzz
  fi
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
    if [[ $ctest_status != 0 && -f $PROM_PG_DIR/log/postgres.log && -d $build_dir ]]; then
      mkdir -p "$build_dir/Testing/Temporary"
      cp "$PROM_PG_DIR/log/postgres.log" "$build_dir/Testing/Temporary/postgres.log" 2>/dev/null &&
        log "PostgreSQL server log kept in $build_dir/Testing/Temporary/postgres.log"
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

if ! ((main_wanted)); then
  log "only fuzz tests selected: no PostgreSQL"
elif [[ ${PROM_SKIP_PG:-0} == 1 ]]; then
  log "PROM_SKIP_PG=1: not starting PostgreSQL (PROM_TEST_PG_URL=${PROM_TEST_PG_URL:-<unset>})"
else
  log "step 3/4: throwaway PostgreSQL (scripts/pg-throwaway.sh start)"
  # Captured first, then eval'ed: `eval "$(…)"` alone would ignore a failed start.
  pg_env=$(bash scripts/pg-throwaway.sh start)
  eval "$pg_env"
  pg_started=1
fi

ctest_status=0
sanitizer=0
ctest_extra=()
case $preset in
  tsan | asan)
    sanitizer=1
    ctest_extra=(-LE lint)
    reports=$build_dir/sanitizer-reports
    rm -rf "$reports"
    mkdir -p "$reports"
    ;;
esac
if ((main_wanted)); then
  [[ -d $build_dir ]] || log "warning: $build_dir does not exist; ctest will fail (did the build run?)"
  log "step 4/4: ctest --preset $preset --output-on-failure -j2 ${ctest_extra[*]} $*"
  ctest --preset "$preset" --output-on-failure -j2 "${ctest_extra[@]}" "$@" || ctest_status=$?
  if ((sanitizer)); then
    # A report fails the run even when the process that wrote it was a child whose exit
    # status no test looked at.
    shopt -s nullglob
    found=("$reports"/*)
    shopt -u nullglob
    if ((${#found[@]})); then
      log "${#found[@]} sanitizer report(s) in $reports:"
      for f in "${found[@]}"; do
        log "--- $f"
        head -60 "$f" >&2
      done
      ((ctest_status)) || ctest_status=1
    else
      log "no sanitizer reports"
    fi
  fi
fi
if ((fuzz_wanted)); then
  # Two fuzzers at a time: each is one process on one core.
  log "step 4/4: ctest --preset fuzz --output-on-failure -j2 $*"
  fuzz_status=0
  ctest --preset fuzz --output-on-failure -j2 "$@" || fuzz_status=$?
  ((ctest_status)) || ctest_status=$fuzz_status
fi

elapsed=$((SECONDS - started))
if ((ctest_status == 0)); then
  log "summary: tests PASSED in ${elapsed}s"
else
  log "summary: tests FAILED (ctest exit status $ctest_status) after ${elapsed}s; details in $build_dir/Testing/Temporary/LastTest.log (and build/fuzz/ for fuzz)"
fi
exit "$ctest_status"
