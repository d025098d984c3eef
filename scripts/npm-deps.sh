#!/usr/bin/env bash
# Installs the dashboard's npm packages (ui/package.json: uPlot, built into `prom serve`;
# playwright-core, which drives Debian's chromium in the browser tests) into
# ui/node_modules. Does nothing when they are installed and package.json has not changed
# since. Run by scripts/setup.sh and, when they are missing, by scripts/build.sh.
#
#   scripts/npm-deps.sh [--check]   --check: only report whether they are missing (exit 1)
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root/ui"
stamp=node_modules/.prom-npm-installed
if [[ -f $stamp && $stamp -nt package.json ]]; then
  exit 0
fi
if [[ ${1:-} == --check ]]; then
  log "npm packages of ui/package.json are not installed (scripts/npm-deps.sh)"
  exit 1
fi
command -v npm >/dev/null || { log "error: npm not found: run scripts/setup.sh"; exit 1; }
log "npm install (ui/package.json: exact versions, no lockfile)"
npm install --no-package-lock --no-audit --no-fund --loglevel=error
touch "$stamp"
