#!/usr/bin/env bash
# Configures and builds prom with a CMake preset (CMakePresets.json).
#
#   scripts/build.sh [PRESET] [extra `cmake --build` args…]
#
# PRESET is debug, release (default), asan, tsan or fuzz (CMakePresets.json); the binary
# dir is build/PRESET.
# Example: scripts/build.sh release --target prom
# $PROM_BUILD_JOBS sets the number of parallel compile jobs (default: Ninja's choice).
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

preset=release
if (($#)) && [[ $1 != -* ]]; then
  preset=$1
  shift
fi

command -v cmake >/dev/null || die "cmake not found: run scripts/setup.sh first"
command -v ninja >/dev/null || die "ninja not found: run scripts/setup.sh first"

# The dashboard embeds uPlot from ui/node_modules (docs/dashboard.md).
bash scripts/npm-deps.sh

configure_args=(--preset "$preset")
if ccache_bin=$(command -v ccache); then
  # CMakeLists.txt also picks ccache up by itself; passing the launcher here keeps the
  # script independent of that.
  configure_args+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$ccache_bin")
  log "using ccache ($ccache_bin)"
else
  log "ccache not found: building without it"
fi

build_args=(--build --preset "$preset")
if [[ -n ${PROM_BUILD_JOBS:-} ]]; then
  build_args+=(--parallel "$PROM_BUILD_JOBS")
fi

start=$SECONDS
log "configuring: cmake ${configure_args[*]}"
cmake "${configure_args[@]}"
log "building: cmake ${build_args[*]} $*"
cmake "${build_args[@]}" "$@"
log "build of preset '$preset' done in $((SECONDS - start))s (build/$preset)"
