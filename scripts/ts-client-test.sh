#!/usr/bin/env bash
# The TypeScript client's tests (clients/ts, docs/clients.md): compiles the package and its
# tests with the package's own TypeScript, then runs them with Node's test runner against a
# real `prom serve` each test file starts ($PROM_BIN; ctest passes the binary of its tree).
#
#   scripts/ts-client-test.sh [OUT_DIR]
#
# OUT_DIR (default build/clients-ts) receives the compiled JavaScript, so that two build
# trees testing at once do not share it. Needs clients/ts/node_modules, which
# scripts/setup.sh installs (npm install); after that it runs offline.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pkg=$repo_root/clients/ts
out=${1:-$repo_root/build/clients-ts}

if [[ ! -x $pkg/node_modules/.bin/tsc || ! -d $pkg/node_modules/ws ]]; then
  echo "clients/ts/node_modules is missing: run scripts/setup.sh (it runs npm install there)" >&2
  exit 1
fi
export PROM_BIN=${PROM_BIN:-$repo_root/build/release/src/cli/prom}
[[ -x $PROM_BIN ]] || { echo "no prom binary at $PROM_BIN: build it first (scripts/build.sh)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
# The compiled files are ES modules that import `ws`: give them the package's type and
# dependencies where Node looks for them.
cp "$pkg/package.json" "$out/package.json"
ln -s "$pkg/node_modules" "$out/node_modules"
"$pkg/node_modules/.bin/tsc" -p "$pkg/tsconfig.json" --outDir "$out/dist"
"$pkg/node_modules/.bin/tsc" -p "$pkg/tsconfig.test.json" --outDir "$out/dist-test"
# One file at a time: each starts its own server, and the machine is small.
exec node --test --test-concurrency=1 "$out"/dist-test/test/*.test.js
