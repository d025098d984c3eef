#!/usr/bin/env bash
# Instructions per published event of `prom serve`, by thread, counted by valgrind's
# callgrind: durable `POST /publish`, one event per request (bench/publish/post.lua), from
# wrk on loopback. The count does not move with the machine's load where rates move 2x, so
# it tells whether a change to the HTTP publish path made the server do less work.
#
#   bench/publish/instructions.sh [SECONDS=10] [CONNECTIONS=8]
#   PROM_BIN=path/to/prom bench/publish/instructions.sh   # another build
#   PROM_WRK_SCRIPT=bench/publish/post_headers.lua bench/publish/instructions.sh   # another body
#
# The server starts under callgrind, takes a warm-up of requests, then its counters are
# zeroed (callgrind_control), wrk runs for SECONDS, and the counters are dumped, one file
# per thread. Each thread is named by what it runs: `network` (the HTTP threads, which parse
# and answer), `writer` (the group commit's transaction), `key index`, `checkpoint`, `other`.
# Under callgrind everything runs ~50x slower and one thread at a time, so groups are
# smaller than at full speed: the network threads' count per request is the one to compare;
# the writer's per event grows as its groups shrink. Needs valgrind and wrk
# (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[instructions] %s\n' "$*" >&2; }

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
if [[ ! ${1:-10} =~ ^[0-9]+$ || ! ${2:-8} =~ ^[0-9]+$ ]]; then
  log "usage: bench/publish/instructions.sh [SECONDS=10] [CONNECTIONS=8] (-h for more)"
  exit 2
fi
seconds=${1:-10}
connections=${2:-8}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prom=${PROM_BIN:-$root/build/release/src/cli/prom}
for tool in valgrind callgrind_control callgrind_annotate wrk curl python3; do
  command -v "$tool" >/dev/null || { log "$tool missing: scripts/setup.sh --bench"; exit 1; }
done
[[ -x $prom ]] || { log "build first: scripts/build.sh release --target prom"; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

log "starting prom serve under callgrind"
(cd "$work" && exec valgrind --tool=callgrind --separate-threads=yes --dump-line=no \
  "$prom" serve --db "sqlite:$work/p.db" --listen "127.0.0.1:$port" >serve.out 2>valgrind.out) &
pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { log "the server did not start: $(tail -3 "$work/valgrind.out")"; exit 1; }

script=${PROM_WRK_SCRIPT:-$root/bench/publish/post.lua}
wrk -t1 -c"$connections" -d2s -s "$script" "http://127.0.0.1:$port/publish" >/dev/null  # warm-up
callgrind_control --zero "$pid" >/dev/null 2>&1
log "publishing for ${seconds}s with $connections connections"
out=$(wrk -t1 -c"$connections" -d"${seconds}s" -s "$script" "http://127.0.0.1:$port/publish")
callgrind_control --dump=measured "$pid" >/dev/null 2>&1
requests=$(awk '/requests in/ {print $1}' <<<"$out")
((requests > 0)) || { log "no request was answered"; exit 1; }

# The dump of each thread since the zeroing: named by the function its thread runs.
role_of() {
  local top
  top=$(callgrind_annotate --inclusive=yes "$1" 2>/dev/null)
  case $top in
    *run_worker*) echo network ;;
    *group_commit::run*) echo writer ;;
    *key_indexer::run*) echo "key index" ;;
    *wal_checkpointer::run*) echo checkpoint ;;
    *) echo other ;;
  esac
}
for f in "$work"/callgrind.out.*; do
  grep -q "^desc: Trigger: .*measured" "$f" || continue
  ir=$(sed -n 's/^summary: //p' "$f")
  [[ -n $ir && $ir != 0 ]] && printf '%s\t%s\n' "$(role_of "$f")" "$ir"
done | awk -F'\t' -v n="$requests" '
  { ir[$1] += $2; total += $2 }
  END {
    printf "%d requests (one event each)\n\n| threads | instructions | per request |\n|---|---:|---:|\n", n
    for (k in ir) printf "| %s | %.0f | %.0f |\n", k, ir[k], ir[k] / n
    printf "| all | %.0f | %.0f |\n", total, total / n
  }'
