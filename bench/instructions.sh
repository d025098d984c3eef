#!/usr/bin/env bash
# Instructions per event of prom and of its floor, counted by valgrind's callgrind: the same
# count run after run, whatever else the machine is doing, where rates and CPU times here
# move 2x between runs minutes apart. Use it to tell whether a change to the write path
# made prom do less work; the rate benchmarks still say how fast it is.
#
#   bench/instructions.sh projector [EVENTS=5000]   # bench/projector_bench: prom's projection
#                                                   # against the hand-written upserts
#   bench/instructions.sh append [SECONDS=12]       # bench/append_bench (c) against (d):
#                                                   # batches of 1000 against the bare INSERT
#   PROM_BUILD=build/other bench/instructions.sh …  # the benches of another build tree
#
# Each bench marks its measured part (bench_util.hpp, instructions_from_here): loading, the
# process start and the exit are not counted; every thread's work in the part is (the
# writer's, the projector's read-ahead). Instructions are not time: a cache miss or an fsync
# counts as nothing, so compare two builds with this and a rate benchmark together. Under
# callgrind everything runs ~50x slower and on one thread at a time. Needs valgrind
# (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[instructions] %s\n' "$*" >&2; }

what=${1:-}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PROM_BUILD:-$root/build/release}
command -v valgrind >/dev/null || { log "valgrind missing: scripts/setup.sh --bench"; exit 1; }

case $what in
  projector) bench=(projector_bench "${2:-5000}" 5 1) ;;
  append) bench=(append_bench "${2:-12}" 1 cd) ;;
  *)
    log "usage: bench/instructions.sh projector [EVENTS] | append [SECONDS]"
    log "(HTTP publish by thread of a running server: bench/publish/instructions.sh -h)"
    exit 2
    ;;
esac
exe=$build/bench/${bench[0]}
[[ -x $exe ]] || { log "build first: scripts/build.sh release --target ${bench[0]}"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "running ${bench[*]} under callgrind (about a minute)"
(cd "$work" && valgrind --tool=callgrind --dump-line=no \
  "$exe" "${bench[@]:1}" >bench.out 2>valgrind.out) || {
  log "the bench failed under callgrind: $(tail -3 "$work/valgrind.out")"
  exit 1
}

# One file per dump, every thread's instructions together since the dump before. The bench
# dumps "setup" where its measured part starts and "<name> events=<n>" where it ends.
grep -l "Client Request:" "$work"/callgrind.out.* 2>/dev/null | while read -r f; do
  label=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
  [[ $label == setup ]] && continue
  ir=$(sed -n 's/^summary: //p' "$f")
  echo "$label ${ir:-0}"
done | awk '
  { split($2, e, "="); events[$1] = e[2]; ir[$1] += $3 }
  END {
    if (!("prom" in ir) || !("floor" in ir)) { print "no labelled counts found"; exit 1 }
    printf "| part | events | instructions | per event |\n|---|---:|---:|---:|\n"
    for (k in ir) printf "| %s | %d | %.0f | %.0f |\n", k, events[k], ir[k], ir[k] / events[k]
    p = ir["prom"] / events["prom"]; f = ir["floor"] / events["floor"]
    printf "\nfloor / prom, instructions per event: %.2fx\n", f / p
  }'
