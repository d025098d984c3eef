#!/usr/bin/env bash
# Durable publish, one event per request, 64 keep-alive clients: `POST /publish` on
# prom serve over SQLite (synchronous=FULL) against Redis `XADD` with `appendonly yes`
# and `appendfsync always`, on the same machine and disk, in one run (issue 11).
#
#   bench/publish_vs_redis/run.sh [-c CONNECTIONS=64] [-d SECONDS=5] [-r ROUNDS=3]
#                                 [-n REDIS_REQUESTS=200000] [-p PRELOAD_EVENTS=0]
#   PROM_BIN=path/to/prom bench/publish_vs_redis/run.sh   # measure another build
#   PROM_LOADED_DB=file.db bench/publish_vs_redis/run.sh -p N   # use a database pre-loaded
#       earlier with the same SQL (N events in bench.http); it is appended to, not copied
#
# Rounds are interleaved (prom, redis, prom, redis, …) and the median round is reported,
# with each server's CPU time per event (utime + stime of the server process from /proc,
# over its measured rounds only), the bytes it gave the disk per event (write_bytes of
# /proc/PID/io over the same rounds: the log, WAL, checkpoints and key index for prom, the
# AOF for Redis) and peak RSS (VmHWM). Both servers answer a client only
# after fsync: prom after the commit that holds the event, Redis after the AOF write with
# appendfsync always (it fsyncs once per event loop iteration, so it groups too).
#
# -p N adds a second prom serve whose topic already holds N events, measured in the same
# interleaved rounds, and prints its rate against the empty topic's. The events are written
# straight into its SQLite file with one INSERT … SELECT over a recursive CTE (10,000 keys;
# the topic's row and the latest-per-key rows set to match; then the WAL is checkpointed, as
# a long-running log's would be), which takes seconds where publishing them would take hours. Needs wrk, redis-server and redis-benchmark (scripts/setup.sh --bench).
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
disk_bytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }  # sent towards the disk
rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
hz=$(getconf CLK_TCK)

# ---- prom: one server on an empty database, and with -p a second one on a pre-loaded one
preload_db() {  # path → N events in bench.http, the WAL checkpointed (as a long-running log's would be)
  "$prom" publish bench.http '{"warm":true}' --db "sqlite:$1" --key k >/dev/null
  sqlite3 "$1" >/dev/null <<SQL
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
  # `latest` is filled up to topics.keyed_seq; the key index is filled too, so that the
  # measured server does not spend its first minutes indexing the pre-loaded log. Schema 8
  # keeps it in the keys file beside the database (keys.key_events, up to
  # keys.key_progress); schemas 5-7 in key_events, up to topics.keyed_seq
  # (docs/storage-schema.md); an older prom (PROM_BIN=) has neither, and its index on events
  # is already filled.
  sqlite3 "$1" >/dev/null 2>&1 <<SQL || true
UPDATE topics SET keyed_seq = last_seq WHERE name = 'bench.http';
SQL
  if [[ -f $1-keys ]]; then
    sqlite3 "$1" >/dev/null <<SQL
ATTACH '$1-keys' AS keys;
PRAGMA keys.journal_mode=WAL;
BEGIN;
INSERT OR IGNORE INTO keys.key_events(topic, key, ts, seq)
SELECT topic, key, ts, seq FROM main.events WHERE topic = 'bench.http' ORDER BY key, ts, seq;
INSERT INTO keys.key_progress(topic, seq) SELECT name, last_seq FROM main.topics
WHERE name = 'bench.http' ON CONFLICT(topic) DO UPDATE SET seq = excluded.seq;
COMMIT;
PRAGMA keys.wal_checkpoint(TRUNCATE);
SQL
  else
    sqlite3 "$1" >/dev/null 2>&1 <<SQL || true
BEGIN;
INSERT OR IGNORE INTO key_events(topic, key, ts, seq)
SELECT topic, key, ts, seq FROM events WHERE topic = 'bench.http' ORDER BY key, ts, seq;
COMMIT;
SQL
  fi
  sqlite3 "$1" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
}
start_prom() {  # name db → sets port_<name>, pid_<name>
  local name=$1 db=$2 port
  port=$(free_port)
  "$prom" serve --db "sqlite:$db" --listen "127.0.0.1:$port" ${PROM_BENCH_CONFIG:+--config "$PROM_BENCH_CONFIG"} 2>"$work/$name.log" &
  pids+=($!)
  printf -v "pid_$name" '%s' $!
  printf -v "port_$name" '%s' "$port"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  log "prom ($name) did not start"; cat "$work/$name.log" >&2; exit 1
}
db=$work/prom.db
start_prom prom "$db"
if ((preload > 0)); then
  log "pre-loading $preload events into bench.http"
  if [[ -n ${PROM_LOADED_DB:-} ]]; then
    log "using $PROM_LOADED_DB ($(du -m "$PROM_LOADED_DB" | cut -f1) MiB)"
    start_prom loaded "$PROM_LOADED_DB"
  else
    t_load=$(date +%s)
    preload_db "$work/loaded.db"
    log "pre-loaded in $(( $(date +%s) - t_load )) s ($(du -m "$work/loaded.db" | cut -f1) MiB)"
    start_prom loaded "$work/loaded.db"
  fi
fi

# ---- redis: its own directory, no RDB snapshots, AOF fsynced before every answer
port_redis=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$port_redis" --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync always --daemonize no --logfile "$work/redis.log" &
pid_redis=$!
pids+=("$pid_redis")
for _ in $(seq 100); do redis-cli -p "$port_redis" ping >/dev/null 2>&1 && break; sleep 0.1; done

prom_round() {  # port pid → "events/s cpu_ticks events disk_bytes"
  local t0 t1 b0 b1 out rps reqs
  t0=$(cpu_ticks "$2") b0=$(disk_bytes "$2")
  out=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$root/bench/publish/post.lua" "http://127.0.0.1:$1/publish")
  t1=$(cpu_ticks "$2") b1=$(disk_bytes "$2")
  if grep -q 'Non-2xx' <<<"$out"; then log "prom answered errors:"; log "$out"; exit 1; fi
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $((t1 - t0)) $reqs $((b1 - b0))"
}
redis_round() {
  local t0 t1 b0 b1 rps
  t0=$(cpu_ticks "$pid_redis") b0=$(disk_bytes "$pid_redis")
  rps=$(redis-benchmark -p "$port_redis" -c "$connections" -n "$redis_n" --csv \
          XADD bench.http '*' key k host alpha cpu_pct 12.5 mem_mb 512 |
        awk -F, 'NR == 2 {gsub(/"/, "", $2); printf "%d", $2}')
  t1=$(cpu_ticks "$pid_redis") b1=$(disk_bytes "$pid_redis")
  echo "$rps $((t1 - t0)) $redis_n $((b1 - b0))"
}

declare -a s_prom s_redis s_loaded
prom_ticks=0 prom_events=0 redis_ticks=0 redis_events=0 loaded_ticks=0 loaded_events=0
prom_bytes=0 redis_bytes=0 loaded_bytes=0
for r in $(seq "$rounds"); do
  log "round $r/$rounds"
  read -r rps ticks n bytes < <(prom_round "$port_prom" "$pid_prom")
  s_prom+=("$rps"); prom_ticks=$((prom_ticks + ticks)); prom_events=$((prom_events + n))
  prom_bytes=$((prom_bytes + bytes))
  read -r rps ticks n bytes < <(redis_round)
  s_redis+=("$rps"); redis_ticks=$((redis_ticks + ticks)); redis_events=$((redis_events + n))
  redis_bytes=$((redis_bytes + bytes))
  if ((preload > 0)); then
    read -r rps ticks n bytes < <(prom_round "$port_loaded" "$pid_loaded")
    s_loaded+=("$rps"); loaded_ticks=$((loaded_ticks + ticks)); loaded_events=$((loaded_events + n))
    loaded_bytes=$((loaded_bytes + bytes))
  fi
done
us() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN{printf "%.1f", t * 1e6 / hz / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
per_event() { awk -v b="$1" -v n="$2" 'BEGIN{printf "%d", b / n}'; }
m_prom=$(printf '%s\n' "${s_prom[@]}" | median)
m_redis=$(printf '%s\n' "${s_redis[@]}" | median)
in_topic=$(sqlite3 "$db" "SELECT count FROM topics WHERE name = 'bench.http'" 2>/dev/null || echo '?')

cat <<EOF
Durable publish, one event per request, $connections clients, median of $rounds interleaved rounds ($(nproc) CPUs shared by everything).

| publisher | events/s | vs Redis | rounds | server CPU µs/event | disk B/event | peak RSS MiB |
|---|---:|---:|---|---:|---:|---:|
| prom serve, POST /publish, SQLite synchronous=FULL, empty topic (wrk -t2 -c$connections -d${duration}s; $in_topic events at the end) | $m_prom | $(ratio "$m_prom" "$m_redis")× | ${s_prom[*]} | $(us "$prom_ticks" "$prom_events") | $(per_event "$prom_bytes" "$prom_events") | $(rss_mib "$pid_prom") |
EOF
if ((preload > 0)); then
  m_loaded=$(printf '%s\n' "${s_loaded[@]}" | median)
  echo "| prom serve, same, topic pre-loaded with $preload events | $m_loaded | $(ratio "$m_loaded" "$m_redis")× | ${s_loaded[*]} | $(us "$loaded_ticks" "$loaded_events") | $(per_event "$loaded_bytes" "$loaded_events") | $(rss_mib "$pid_loaded") |"
fi
cat <<EOF
| Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') XADD, appendonly yes, appendfsync always (redis-benchmark -c$connections -n$redis_n) | $m_redis | 1.00× | ${s_redis[*]} | $(us "$redis_ticks" "$redis_events") | $(per_event "$redis_bytes" "$redis_events") | $(rss_mib "$pid_redis") |
EOF
if ((preload > 0)); then
  echo
  echo "pre-loaded / empty topic: $(ratio "$m_loaded" "$m_prom")× events/s"
fi
