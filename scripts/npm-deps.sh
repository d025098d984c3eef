#!/usr/bin/env bash
# Installs the npm packages of the repository's JavaScript parts, each into its own
# node_modules: ui/ (uPlot, built into `prom serve`; playwright-core, which drives Debian's
# chromium in the browser tests) and clients/ts/ (TypeScript and ws for the TypeScript
# client and its tests). Does nothing for a part whose packages are installed and whose
# package.json has not changed since, so a machine that has them needs no network. Run by
# scripts/setup.sh and, when they are missing, by scripts/build.sh.
#
#   scripts/npm-deps.sh [--check]   --check: only report what is missing (exit 1 if anything)
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
parts=(ui clients/ts)
check_only=0
[[ ${1:-} == --check ]] && check_only=1

missing=0
for part in "${parts[@]}"; do
  dir=$repo_root/$part
  [[ -f $dir/package.json ]] || continue
  stamp=$dir/node_modules/.prom-npm-installed
  [[ -f $stamp && $stamp -nt $dir/package.json ]] && continue
  if ((check_only)); then
    log "npm packages of $part/package.json are not installed (scripts/npm-deps.sh)"
    missing=1
    continue
  fi
  command -v npm >/dev/null || { log "error: npm not found: run scripts/setup.sh"; exit 1; }
  log "npm install in $part (no lockfile: the versions package.json names)"
  (cd "$dir" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
  touch "$stamp"
done
exit "$missing"
