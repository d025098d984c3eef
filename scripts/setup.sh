#!/usr/bin/env bash
# Installs the Debian 12 packages prom needs, only those that are missing, and then the npm
# packages of ui/ and clients/ts/ (scripts/npm-deps.sh, also only when missing).
#
#   scripts/setup.sh                 build + test dependencies
#   scripts/setup.sh --bench         ... plus the benchmark tools (wrk, nginx, node, redis)
#   scripts/setup.sh [--bench] PKG…  ... plus any extra packages named on the command line
#   scripts/setup.sh --check [...]   only report what is missing (exit 1 if anything is)
#
# Then the npm packages of ui/ and clients/ts/ (scripts/npm-deps.sh).
#
# Extra packages can also come from $PROM_SETUP_EXTRA_PACKAGES (space separated).
# Idempotent: when everything is present it touches nothing (no apt-get update).
# Runs as root, or through sudo when not root.
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Build and test dependencies.
# Boost: ONLY the versioned 1.81 packages. The unversioned libboost-*-dev
# metapackages could drag in a different Boost next to 1.81 and make
# find_package(Boost) pick a mix of headers and libraries.
# postgresql: the server binaries (initdb, pg_ctl) for the throwaway test cluster of
# scripts/pg-throwaway.sh. The package also creates and starts Debian's own cluster on
# port 5432; nothing here uses or touches that one.
# ca-certificates: named explicitly because we install without Recommends, and curl,
# git and npm need it for https.
base_packages=(
  g++ cmake ninja-build ccache pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev liblua5.4-dev
  libvalijson-dev  # JSON Schema validation of topic payloads (docs/schemas.md), header-only
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev
  libjemalloc-dev  # the programs' allocator (CMakeLists.txt, PROM_JEMALLOC)
  curl postgresql
  nodejs node-ws  # the WebSocket interop test runs a client nobody here wrote
  npm             # clients/ts: TypeScript and the ws package (scripts/ts-client-test.sh; tests/ts uses its tsc)
  # The dashboard (docs/dashboard.md): npm installs uPlot for the build, playwright-core
  # for the browser tests (label `browser`), which drive Debian's chromium headless.
  chromium
  # The fuzz preset (fuzz/README.md) and the lint gate (scripts/lint.sh): g++ stays the main
  # compiler; clang 15 builds the libFuzzer targets and is the oldest clang-tidy that parses
  # our C++23 (clang-tidy 14 cannot read libstdc++ 12's std::expected).
  clang-15 libfuzzer-15-dev clang-tidy-15 clang-format
)
bench_packages=(wrk nginx-light nodejs npm redis-server valgrind)  # redis: bench/publish_vs_redis; valgrind: bench/instructions.sh

check_only=0
want_bench=0
extra_packages=()
while (($#)); do
  case "$1" in
    --bench) want_bench=1 ;;
    --check) check_only=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option: $1 (try --help)" ;;
    *) extra_packages+=("$1") ;;
  esac
  shift
done
# Word splitting is intended: the variable is a space separated list.
# shellcheck disable=SC2206
extra_packages+=(${PROM_SETUP_EXTRA_PACKAGES:-})

packages=("${base_packages[@]}")
((want_bench)) && packages+=("${bench_packages[@]}")
((${#extra_packages[@]})) && packages+=("${extra_packages[@]}")

# Refuse unversioned Boost dev packages, even when asked for on the command line.
for p in "${packages[@]}"; do
  if [[ $p == libboost* && ! $p =~ [0-9]+\.[0-9]+ ]]; then
    die "refusing unversioned Boost package '$p': use the 1.81 one (e.g. libboost-json1.81-dev)"
  fi
done

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script targets Debian 12"

is_installed() {
  # ${Status} is "install ok installed" once a package is fully installed. A
  # Multi-Arch: same package installed for several architectures prints one status
  # per architecture back to back, hence the match on the end of the string.
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == *"ok installed" ]]
}

# Names provided (Provides:) by installed packages. Example: NodeSource's nodejs build
# bundles npm, Provides "npm" and Conflicts with Debian's npm package, so asking apt
# for npm there would fail although npm is present.
provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ && $2 != "" { n = split($2, a, ","); for (i = 1; i <= n; i++) {
    sub(/\(.*/, "", a[i]); gsub(/[ \t]/, "", a[i]); print a[i] } }' | sort -u)

is_provided() { grep -qxF -- "$1" <<<"$provided"; }

missing=()
for p in "${packages[@]}"; do
  if is_installed "$p"; then
    continue
  elif is_provided "$p"; then
    log "$p: not installed itself, but provided by an installed package; fine"
  else
    missing+=("$p")
  fi
done

# The npm packages of ui/ and clients/ts/, by scripts/npm-deps.sh (also idempotent).
npm_deps() {
  if ((check_only)); then
    bash "$(dirname "${BASH_SOURCE[0]}")/npm-deps.sh" --check
  else
    bash "$(dirname "${BASH_SOURCE[0]}")/npm-deps.sh"
  fi
}

if ((${#missing[@]} == 0)); then
  log "all ${#packages[@]} required Debian packages are already installed"
  npm_deps
  exit $?
fi

log "missing Debian packages (${#missing[@]}): ${missing[*]}"
if ((check_only)); then
  npm_deps || true
  exit 1
fi

if ((EUID == 0)); then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
  log "not root: using sudo for apt-get"
else
  die "not root and sudo is not available: install as root: apt-get install ${missing[*]}"
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
log "apt-get install ${missing[*]}"
# --no-install-recommends keeps the machine lean and, above all, keeps Recommends from
# pulling in unversioned Boost packages.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

# Paranoia: make sure apt really left everything installed.
still_missing=()
for p in "${missing[@]}"; do
  is_installed "$p" || still_missing+=("$p")
done
((${#still_missing[@]} == 0)) || die "still not installed after apt-get: ${still_missing[*]}"
log "installed ${#missing[@]} package(s); all ${#packages[@]} required packages present"
npm_deps
