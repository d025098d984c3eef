#!/usr/bin/env bash
# Where a durable publish's CPU goes as the number of clients changes (issue 11): one prom
# serve on SQLite, `POST /publish` with one event per request, and for each client count the
# events per commit (the group size, from prom_log_commit_*), the mean commit time, and the
# server's CPU per event split by thread (docs/threads.md, "Thread names").
#
#   bench/publish/group_sizes.sh [-d SECONDS=4] [-r ROUNDS=3] [CLIENTS...=8 16 32 64 128]
#   PROM_BIN=path/to/prom bench/publish/group_sizes.sh      # another build
#
# Rounds go over the client counts in turn (8, 16, …, 8, 16, …) and each row is the round
# with the median rate. Fitting the per-event CPU against 1 / group size splits it into
# what every commit costs once (its transaction, fsync, wake-ups) and what every event
# costs: the last lines print that fit. Needs wrk (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[bench] %s\n' "$*" >&2; }

duration=4 rounds=3
while getopts "d:r:" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
clients=("$@")
((${#clients[@]})) || clients=(8 16 32 64 128)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prom=${PROM_BIN:-$root/build/release/src/cli/prom}
[[ -x $prom ]] || { log "build first: scripts/build.sh release"; exit 1; }
command -v wrk >/dev/null || { log "wrk missing: scripts/setup.sh --bench"; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$prom" serve --db "sqlite:$work/prom.db" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { log "prom did not start"; cat "$work/serve.log" >&2; exit 1; }
hz=$(getconf CLK_TCK)

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
[[ -n $(metric prom_log_commit_events_total) ]] ||
  { log "this prom has no prom_log_commit_* metrics (a build before them)"; exit 1; }
# "name ticks" per thread name, summed over the threads of that name.
thread_ticks() {
  for t in /proc/"$pid"/task/*; do
    printf '%s %s\n' "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{s[$1] += $2} END {for (n in s) print n, s[n]}'
}

# A warm-up, so that the first measured round does not create the table's first pages.
wrk -t2 -c16 -d1s -s "$root/bench/publish/post.lua" "http://127.0.0.1:$port/publish" >/dev/null

: >"$work/rows"
for r in $(seq "$rounds"); do
  for c in "${clients[@]}"; do
    log "round $r/$rounds, $c clients"
    e0=$(metric prom_log_commit_events_total)
    n0=$(metric prom_log_commit_duration_seconds_count)
    s0=$(metric prom_log_commit_duration_seconds_sum)
    thread_ticks >"$work/t0"
    out=$(wrk -t2 -c"$c" -d"${duration}s" -s "$root/bench/publish/post.lua" "http://127.0.0.1:$port/publish")
    thread_ticks >"$work/t1"
    e1=$(metric prom_log_commit_events_total)
    n1=$(metric prom_log_commit_duration_seconds_count)
    s1=$(metric prom_log_commit_duration_seconds_sum)
    if grep -q 'Non-2xx' <<<"$out"; then log "prom answered errors:"; log "$out"; exit 1; fi
    rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    # µs of CPU per event: the network threads, the writer, everything else.
    split=$(join <(sort "$work/t0") <(sort "$work/t1") |
      awk -v n="$reqs" -v hz="$hz" '{d = ($3 - $2) * 1e6 / hz / n
        if ($1 == "prom-net") net += d; else if ($1 == "prom-writer") w += d; else o += d}
        END {printf "%.1f %.1f %.1f %.1f", net + w + o, net, w, o}')
    awk -v c="$c" -v rps="$rps" -v de="$((e1 - e0))" -v dn="$((n1 - n0))" -v ds="$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b - a}')" \
        -v cpu="$split" 'BEGIN {split(cpu, s, " ")
        printf "%s %s %.1f %.2f %s %s %s %s\n", c, rps, de / dn, ds * 1000 / dn, s[1], s[2], s[3], s[4]}' >>"$work/rows"
  done
done

echo "Durable publish, one event per request, by number of clients: the round with the median rate of $rounds ($(nproc) CPUs shared by everything, wrk -t2 -d${duration}s)."
echo
echo "| clients | events/s | events per commit | mean commit ms | server CPU µs/event | network threads | writer | other threads |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in "${clients[@]}"; do
  awk -v c="$c" '$1 == c' "$work/rows" | sort -k2,2n | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}'
done | tee "$work/median" | awk '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}'
echo
# Least squares of CPU per event against 1 / group size, over the median rows.
awk '{x = 1 / $3; y = $5; n++; sx += x; sy += y; sxx += x * x; sxy += x * y}
  END {if (n < 2) exit; b = (n * sxy - sx * sy) / (n * sxx - sx * sx); a = (sy - b * sx) / n
       printf "Fit: server CPU per event = %.1f µs per event + %.0f µs per commit / events per commit\n", a, b}' "$work/median"
