#!/usr/bin/env bash
# The install test (ctest entry `install_embed`, label `install`; docs/clients.md): installs
# a build tree into a temporary prefix with `cmake --install`, then builds examples/embed
# against that prefix alone — once through the CMake package (find_package(prom), prom::prom)
# and once through pkg-config — runs both programs, and checks that nothing of src/ or of
# the build tree leaked into the installed package.
#
#   scripts/install-test.sh BUILD_DIR
#
# The example gets the build tree's compiler, flags and launcher (ccache), so that a
# sanitizer tree links its sanitized libraries. Removes the prefix afterwards.
set -euo pipefail

log() { printf '[install-test] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$(cd "${1:?usage: scripts/install-test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/prom-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -1; }
cxx=$(cache_value CMAKE_CXX_COMPILER)
cxx_flags=$(cache_value CMAKE_CXX_FLAGS)
link_flags=$(cache_value CMAKE_EXE_LINKER_FLAGS)
launcher=$(cache_value CMAKE_CXX_COMPILER_LAUNCHER)

log "cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log" >&2; die "cmake --install"; }

for f in include/prom/store.hpp include/prom/harness.hpp lib/libprom.a lib/libprom_server.a \
  lib/cmake/prom/promConfig.cmake lib/pkgconfig/prom.pc bin/prom; do
  [[ -e $prefix/$f ]] || die "not installed: $f"
done
# Only the public headers, and no path into the source or build tree.
if find "$prefix/include" -type f ! -path "$prefix/include/prom/*.hpp" | grep -q .; then
  die "installed headers outside include/prom: $(find "$prefix/include" -type f ! -path "$prefix/include/prom/*.hpp")"
fi
if grep -rlF -e "$repo_root" -e "$build_dir" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then
  die "the installed package names the source or build tree (above)"
fi

log "examples/embed through find_package(prom CONFIG REQUIRED)"
cmake -S "$repo_root/examples/embed" -B "$work/embed-cmake" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxx_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$link_flags" ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} \
  >"$work/configure.log" || { cat "$work/configure.log" >&2; die "configure examples/embed"; }
cmake --build "$work/embed-cmake" || die "build examples/embed against the installed package"
"$work/embed-cmake/embed" --db "$work/cmake.db" || die "examples/embed (CMake build) failed"

log "examples/embed through pkg-config --cflags --libs prom"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# Word splitting of the flags is intended.
# shellcheck disable=SC2046,SC2086
$launcher "$cxx" $cxx_flags $(pkg-config --cflags prom) "$repo_root/examples/embed/main.cpp" \
  -o "$work/embed-pc" $link_flags $(pkg-config --libs prom) || die "build examples/embed with pkg-config"
"$work/embed-pc" --db "$work/pc.db" || die "examples/embed (pkg-config build) failed"
log "ok: installed package builds and runs examples/embed (CMake package and pkg-config)"
