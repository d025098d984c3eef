#!/usr/bin/env bash
# Durable publish, one event per request, 64 keep-alive clients: `POST /publish` on
# prom serve over SQLite (synchronous=FULL) against Redis `XADD` with `appendonly yes`
# and `appendfsync always`, on the same machine and disk, in one run (issue 11).
#
#   bench/publish_vs_redis/run.sh [-c CONNECTIONS=64] [-d SECONDS=5] [-r ROUNDS=3]
#                                 [-n REDIS_REQUESTS=200000] [-p PRELOAD_EVENTS=0]
#   PROM_BIN=path/to/prom bench/publish_vs_redis/run.sh   # measure another build
#
# Rounds are interleaved (prom, redis, prom, redis, …) and the median round is reported,
# with each server's CPU time per event (utime + stime of the server process from /proc,
# over its measured rounds only) and peak RSS (VmHWM). Both servers answer a client only
# after fsync: prom after the commit that holds the event, Redis after the AOF write with
# appendfsync always (it fsyncs once per event loop iteration, so it groups too).
#
# -p N pre-loads N events into the benchmark topic before the first round (straight into
# the SQLite file with one INSERT … SELECT over a recursive CTE, 10,000 keys; the topic's
# row and the latest-per-key rows are set to match), to see the rate on a topic that is
# not empty. Needs wrk, redis-server and redis-benchmark (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[bench] %s\n' "$*" >&2; }

connections=64 duration=5 rounds=3 redis_n=200000 preload=0
while getopts "c:d:r:n:p:" opt; do
  case $opt in
    c) connections=$OPTARG ;;
    d) duration=$OPTARG ;;
    r) rounds=$OPTARG ;;
    n) redis_n=$OPTARG ;;
    p) preload=$OPTARG ;;
    *) exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prom=${PROM_BIN:-$root/build/release/src/cli/prom}  # PROM_BIN: another build, e.g. the code before a change
[[ -x $prom ]] || { log "build first: scripts/build.sh release"; exit 1; }
for tool in wrk redis-server redis-benchmark sqlite3; do
  command -v "$tool" >/dev/null || { log "$tool missing: scripts/setup.sh --bench"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hz=$(getconf CLK_TCK)

# ---- prom
db=$work/prom.db
if ((preload > 0)); then
  log "pre-loading $preload events into bench.http"
  "$prom" publish bench.http '{"warm":true}' --db "sqlite:$db" --key k >/dev/null
  sqlite3 "$db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < $preload + 1)
INSERT INTO events(topic, seq, id, key, ts, payload, headers)
SELECT 'bench.http', i, printf('preload-%012d', i), 'k' || (i % 10000), 1700000000000 + i,
       '{"cpu_pct":12.5,"host":"alpha","mem_mb":512}', '{}' FROM n;
INSERT INTO latest(topic, key, seq)
SELECT topic, key, max(seq) FROM events WHERE topic = 'bench.http' GROUP BY key
ON CONFLICT(topic, key) DO UPDATE SET seq = excluded.seq;
UPDATE topics SET last_seq = $preload + 1, count = $preload + 1 WHERE name = 'bench.http';
COMMIT;
SQL
fi
port_prom=$(free_port)
"$prom" serve --db "sqlite:$db" --listen "127.0.0.1:$port_prom" ${PROM_BENCH_CONFIG:+--config "$PROM_BENCH_CONFIG"} 2>"$work/prom.log" &
pid_prom=$!
pids+=("$pid_prom")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port_prom/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port_prom/healthz" >/dev/null || { log "prom did not start"; cat "$work/prom.log" >&2; exit 1; }

# ---- redis: its own directory, no RDB snapshots, AOF fsynced before every answer
port_redis=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$port_redis" --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync always --daemonize no --logfile "$work/redis.log" &
pid_redis=$!
pids+=("$pid_redis")
for _ in $(seq 100); do redis-cli -p "$port_redis" ping >/dev/null 2>&1 && break; sleep 0.1; done

prom_round() {  # → "events/s cpu_ticks events"
  local t0 t1 out rps reqs
  t0=$(cpu_ticks "$pid_prom")
  out=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$root/bench/publish/post.lua" "http://127.0.0.1:$port_prom/publish")
  t1=$(cpu_ticks "$pid_prom")
  if grep -q 'Non-2xx' <<<"$out"; then log "prom answered errors:"; log "$out"; exit 1; fi
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $((t1 - t0)) $reqs"
}
redis_round() {
  local t0 t1 rps
  t0=$(cpu_ticks "$pid_redis")
  rps=$(redis-benchmark -p "$port_redis" -c "$connections" -n "$redis_n" --csv \
          XADD bench.http '*' key k host alpha cpu_pct 12.5 mem_mb 512 |
        awk -F, 'NR == 2 {gsub(/"/, "", $2); printf "%d", $2}')
  t1=$(cpu_ticks "$pid_redis")
  echo "$rps $((t1 - t0)) $redis_n"
}

declare -a s_prom s_redis
prom_ticks=0 prom_events=0 redis_ticks=0 redis_events=0
for r in $(seq "$rounds"); do
  log "round $r/$rounds"
  read -r rps ticks n < <(prom_round)
  s_prom+=("$rps"); prom_ticks=$((prom_ticks + ticks)); prom_events=$((prom_events + n))
  read -r rps ticks n < <(redis_round)
  s_redis+=("$rps"); redis_ticks=$((redis_ticks + ticks)); redis_events=$((redis_events + n))
done
m_prom=$(printf '%s\n' "${s_prom[@]}" | median)
m_redis=$(printf '%s\n' "${s_redis[@]}" | median)
us_prom=$(awk -v t="$prom_ticks" -v n="$prom_events" -v hz="$hz" 'BEGIN{printf "%.1f", t * 1e6 / hz / n}')
us_redis=$(awk -v t="$redis_ticks" -v n="$redis_events" -v hz="$hz" 'BEGIN{printf "%.1f", t * 1e6 / hz / n}')
in_topic=$(sqlite3 "$db" "SELECT count FROM topics WHERE name = 'bench.http'" 2>/dev/null || echo '?')

cat <<EOF
Durable publish, one event per request, $connections clients, median of $rounds interleaved rounds ($(nproc) CPUs shared by everything; pre-loaded: $preload events; in the topic at the end: $in_topic).

| publisher | events/s | vs Redis | rounds | server CPU µs/event | peak RSS MiB |
|---|---:|---:|---|---:|---:|
| prom serve, POST /publish, SQLite synchronous=FULL (wrk -t2 -c$connections -d${duration}s) | $m_prom | $(awk -v a="$m_prom" -v b="$m_redis" 'BEGIN{printf "%.2f", a/b}')× | ${s_prom[*]} | $us_prom | $(rss_mib "$pid_prom") |
| Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') XADD, appendonly yes, appendfsync always (redis-benchmark -c$connections -n$redis_n) | $m_redis | 1.00× | ${s_redis[*]} | $us_redis | $(rss_mib "$pid_redis") |
EOF
