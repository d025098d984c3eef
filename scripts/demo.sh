#!/usr/bin/env bash
# THE run command: installs what is missing, builds the release preset and starts
# `prom serve --demo` on a fresh throwaway database (extra arguments are passed on to it).
#
#   scripts/demo.sh [extra `prom serve` args…]
#
# PROM_SKIP_SETUP=1 / PROM_SKIP_BUILD=1 skip the first two steps, as in scripts/test.sh.
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

if [[ ${PROM_SKIP_SETUP:-0} == 1 ]]; then
  log "PROM_SKIP_SETUP=1: skipping scripts/setup.sh"
else
  bash scripts/setup.sh
fi
if [[ ${PROM_SKIP_BUILD:-0} == 1 ]]; then
  log "PROM_SKIP_BUILD=1: skipping scripts/build.sh"
else
  bash scripts/build.sh release
fi

prom=build/release/src/cli/prom
if [[ ! -x $prom ]]; then
  log "error: $prom not found: the build did not produce it"
  exit 1
fi
# Each run starts from an empty database in its own throwaway directory, removed when the
# server stops: a database kept between runs would carry earlier runs' processes and
# counts (`seen`, a stale `llm` at once). The commands the server prints use this database.
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/prom-demo.XXXXXX")
cleanup() { rm -rf -- "$demo_dir"; }
trap cleanup EXIT
db="sqlite:$demo_dir/prom.db"
log "starting: $prom serve --demo --db $db $*"
"$prom" serve --demo --db "$db" "$@" &
server=$!
# Signals to this script go on to the server, which shuts down gracefully; then cleanup.
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM
status=0
wait "$server" || status=$?
# `wait` returns early when a trapped signal arrives: wait again for the server to finish.
while kill -0 "$server" 2>/dev/null; do wait "$server" || status=$?; done
exit "$status"
