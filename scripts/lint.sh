#!/usr/bin/env bash
# The lint gate: clang-format over every tracked C++ file, clang-tidy over the changed ones.
#
#   scripts/lint.sh [--all] [--base REV] [--format-only | --tidy-only] [FILE…]
#   scripts/lint.sh --fix-format      reformat every tracked C++ file in place (same binary
#                                     as the check, so the check then passes)
#
# clang-format (--dry-run -Werror, the repo's .clang-format) checks every tracked .cpp/.hpp
# file, or the FILEs given. A reference check fails on comments that point outside the
# repository (a SPEC section or SPEC.md, a path under /work/ or /tmp/) in src/, include/,
# tests/, bench/ and fuzz/: what the code relies on is written down under docs/. clang-tidy (the repo's .clang-tidy, with
# build/release/compile_commands.json) checks the .cpp files changed against REV (default:
# the merge-base with main; nothing to check when HEAD is main), every tracked .cpp file with
# --all, or the FILEs given. Fails (exit 1) on any finding; exit 2 on bad usage or a missing
# tool.
#
# Environment: CLANG_FORMAT (default clang-format), CLANG_TIDY (default clang-tidy-15: the
# code needs clang 15 to parse; see the `fuzz` preset for why -D__cpp_concepts),
# PROM_LINT_BUILD_DIR (default build/release).
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

clang_format=${CLANG_FORMAT:-clang-format}
clang_tidy=${CLANG_TIDY:-clang-tidy-15}
build_dir=${PROM_LINT_BUILD_DIR:-build/release}

all=0
base=""
do_format=1
do_tidy=1
fix_format=0
files=()
while (($#)); do
  case "$1" in
    --all) all=1 ;;
    --base) shift; base=${1:?--base needs a revision} ;;
    --format-only) do_tidy=0 ;;
    --tidy-only) do_format=0 ;;
    --fix-format) fix_format=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option: $1 (try --help)" ;;
    *) files+=("$1") ;;
  esac
  shift
done

tracked_cxx() { git ls-files -- '*.cpp' '*.hpp'; }

if ((fix_format)); then
  command -v "$clang_format" >/dev/null || die "$clang_format not found"
  tracked_cxx | xargs -r "$clang_format" -i --style=file
  log "reformatted $(tracked_cxx | wc -l) files with $($clang_format --version)"
  exit 0
fi

failed=0

if ((do_format)); then
  # Documents outside the repository are not there for the next reader; docs/ is.
  outside_refs=$(git grep -nE 'SPEC ?§|SPEC\.md|SPEC [0-9]|/work/shared|/tmp/notes' \
    -- src include tests bench fuzz || true)
  if [[ -n $outside_refs ]]; then
    log "references to documents outside the repository (point at docs/ instead):"
    printf '  %s\n' "$outside_refs" >&2
    failed=1
  else
    log "references: no document outside the repository is cited"
  fi

  command -v "$clang_format" >/dev/null || die "$clang_format not found (scripts/setup.sh)"
  if ((${#files[@]})); then
    format_files=("${files[@]}")
  else
    mapfile -t format_files < <(tracked_cxx)
  fi
  bad=()
  for f in "${format_files[@]}"; do
    "$clang_format" --dry-run -Werror --style=file "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    log "clang-format: ${#bad[@]} of ${#format_files[@]} files differ from .clang-format:"
    printf '  %s\n' "${bad[@]}" >&2
    log "fix: $clang_format -i FILE… (or scripts/lint.sh --fix-format for the whole tree)"
    failed=1
  else
    log "clang-format: ${#format_files[@]} files ok"
  fi
fi

if ((do_tidy)); then
  if ((${#files[@]})); then
    tidy_files=()
    for f in "${files[@]}"; do [[ $f == *.cpp ]] && tidy_files+=("$f"); done
  elif ((all)); then
    mapfile -t tidy_files < <(git ls-files -- '*.cpp')
  else
    if [[ -z $base ]]; then
      # A checkout without a main branch (a CI's detached clone) has nothing to compare with.
      base=$(git merge-base HEAD main 2>/dev/null) || base=HEAD
    fi
    # Added, copied, modified or renamed files that still exist.
    mapfile -t tidy_files < <(git diff --name-only --diff-filter=ACMR "$base" -- '*.cpp')
  fi
  # Only files the build knows: a file without a compile command cannot be checked (tests
  # of other trees, scripts' snippets).
  [[ -f $build_dir/compile_commands.json ]] ||
    die "$build_dir/compile_commands.json not found: build first (scripts/build.sh release)"
  checked=()
  for f in "${tidy_files[@]}"; do
    grep -qF "\"file\": \"$repo_root/$f\"" "$build_dir/compile_commands.json" && checked+=("$f")
  done
  if ((${#checked[@]} == 0)); then
    log "clang-tidy: no changed .cpp files to check"
  else
    command -v "$clang_tidy" >/dev/null || die "$clang_tidy not found (scripts/setup.sh)"
    log "clang-tidy: checking ${#checked[@]} files"
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    # g++'s -std=c++23 is c++2b to clang 15; for -D__cpp_concepts see CMakePresets.json (fuzz).
    "$clang_tidy" -p "$build_dir" --quiet \
      --extra-arg=-std=c++2b --extra-arg=-D__cpp_concepts=202002L \
      --extra-arg=-Wno-macro-redefined --extra-arg=-Wno-unknown-warning-option \
      "${checked[@]}" >"$out" 2>&1 || true
    # Findings in our own files only (the compiler's own notes about the command line are not).
    findings=$(grep -E "^$repo_root/(src|include|tests|bench|fuzz)/[^:]+:[0-9]+:[0-9]+: (warning|error):" "$out" || true)
    if [[ -n $findings ]]; then
      n=$(wc -l <<<"$findings")
      log "clang-tidy: $n findings:"
      grep -A3 -E "^$repo_root/(src|include|tests|bench|fuzz)/[^:]+:[0-9]+:[0-9]+: (warning|error):" "$out" >&2
      failed=1
    else
      log "clang-tidy: ${#checked[@]} files ok"
    fi
  fi
fi

exit "$failed"
