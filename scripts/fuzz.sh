#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (fuzz/README.md) for a while each.
#
#   scripts/fuzz.sh [--no-build] [--build-dir DIR] [TARGET|all] [SECONDS]
#
# TARGET is one of fuzz/CMakeLists.txt's PROM_FUZZ_TARGETS (default: all of them, one after
# the other); SECONDS is per target (default 300). Builds the `fuzz` preset first unless
# --no-build. Each target starts from its seed corpus fuzz/corpus/TARGET (read only) plus
# what earlier runs found (DIR/fuzz-work/TARGET, grown by this run), with fuzz/dict/TARGET.dict.
# A finding (crash, leak, UB, timeout, out of memory) is written to DIR/fuzz-findings/TARGET/
# and makes the script fail; keep it as a regression input in fuzz/corpus/TARGET once fixed.
# Every run appends a line to DIR/fuzz-log.tsv (date, target, seconds, runs, result), from
# which fuzz/README.md's CPU-seconds are totalled.
# $PROM_FUZZ_ARGS adds libFuzzer options (e.g. "-jobs=2 -workers=2").
set -euo pipefail

log() { printf '[prom] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

build=1
build_dir=$repo_root/build/fuzz
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --build-dir) shift; build_dir=$1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option: $1 (try --help)" ;;
    *) break ;;
  esac
  shift
done
build_dir=$(realpath -m "$build_dir")  # the fuzzer runs from a folder of its own (below)
target=${1:-all}
seconds=${2:-300}
[[ $seconds =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, not '$seconds'"

all_targets=$(sed -n 's/^set(PROM_FUZZ_TARGETS \(.*\))$/\1/p' fuzz/CMakeLists.txt)
if [[ $target == all ]]; then
  targets=$all_targets
elif [[ " $all_targets " == *" $target "* ]]; then
  targets=$target
else
  die "unknown fuzz target '$target' (one of: $all_targets)"
fi

if ((build)); then
  bash scripts/build.sh fuzz
fi

# Leaks count as findings; UB already aborts (-fno-sanitize-recover in the preset).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Stack traces with function names and lines.
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi

failed=()
for t in $targets; do
  binary=$build_dir/fuzz/fuzz_$t
  [[ -x $binary ]] || die "$binary not built (scripts/build.sh fuzz)"
  work=$build_dir/fuzz-work/$t
  findings=$build_dir/fuzz-findings/$t
  mkdir -p "$work" "$findings"
  # With -jobs, libFuzzer writes each worker's log as fuzz-N.log in its working folder: that
  # is this one, emptied first, not the repository.
  jobs=$build_dir/fuzz-work/$t.jobs
  rm -rf "$jobs" && mkdir -p "$jobs"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$findings/")
  [[ -f fuzz/dict/$t.dict ]] && args+=(-dict="$repo_root/fuzz/dict/$t.dict")
  # Word splitting is intended: a list of options.
  # shellcheck disable=SC2206
  args+=(${PROM_FUZZ_ARGS:-})
  log "fuzzing $t for ${seconds}s"
  out=$build_dir/fuzz-work/$t.log
  status=0
  (cd "$jobs" && "$binary" "${args[@]}" "$work" "$repo_root/fuzz/corpus/$t") >"$out" 2>&1 ||
    status=$?
  # The workers' logs when there were workers, else the run's own; executions summed over them.
  logs=("$jobs"/fuzz-*.log)
  [[ -e ${logs[0]} ]] || logs=("$out")
  runs=$(for l in "${logs[@]}"; do sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -1; done |
    awk '{ n += $1 } END { if (NR) print n }')
  result=ok
  ((status == 0)) || result="finding (exit $status)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "${runs:-?}" "$result" \
    >>"$build_dir/fuzz-log.tsv"
  if ((status == 0)); then
    log "$t: ${runs:-?} runs, no finding"
  else
    # The sanitizer report: what libFuzzer printed from the first report on.
    for l in "${logs[@]}"; do
      grep -n -m1 -E '^==[0-9]+==|runtime error|deadly signal|ERROR: libFuzzer' "$l" >/dev/null &&
        sed -n '/^==[0-9]*==\|runtime error\|deadly signal\|ERROR: libFuzzer/,$p' "$l" | head -80 >&2
    done
    log "$t: FINDING (exit $status); input in $findings/, full log ${logs[*]}"
    failed+=("$t")
  fi
done

if ((${#failed[@]})); then
  log "findings in: ${failed[*]}"
  exit 1
fi
log "no findings"
