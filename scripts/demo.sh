#!/usr/bin/env bash
# THE run command: installs what is missing, builds the release preset and starts
# `prom serve --demo` (extra arguments are passed on to it).
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
log "starting: $prom serve --demo $*"
# exec: the server replaces this shell, so Ctrl-C and signals reach it directly.
exec "$prom" serve --demo "$@"
