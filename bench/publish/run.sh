#!/usr/bin/env bash
# Durable publish over HTTP with many concurrent clients (issue 7): `POST /publish` on
# prom serve over SQLite (synchronous=FULL) and over PostgreSQL, against plain single-row
# INSERT transactions (pgbench) on the same PostgreSQL server, in one run.
#
#   bench/publish/run.sh [-c CONNECTIONS=64] [-d SECONDS=5] [-r ROUNDS=3] [-p PRELOAD_EVENTS=0]
#
# -p N adds a third prom serve on the same PostgreSQL server, in its own schema, whose topic
# already holds N events, measured in the same interleaved rounds. The events are written
# by one INSERT … SELECT FROM generate_series (distinct ids, 10,000 keys, the same payload),
# with the topic's row and the latest-per-key rows set to match, then VACUUM (ANALYZE) and CHECKPOINT
# (as a long-running log's tables would be).
#
# Each answer of prom comes after the commit that holds the event; pgbench's INSERTs are
# committed one by one with synchronous_commit on. Rounds are interleaved and the median is
# reported, because the machine is shared and noisy. Needs wrk and PostgreSQL 15
# (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[bench] %s\n' "$*" >&2; }

connections=64 duration=5 rounds=3 preload=0
while getopts "c:d:r:p:" opt; do
  case $opt in
    p) preload=$OPTARG ;;
    c) connections=$OPTARG ;;
    d) duration=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prom=$root/build/release/src/cli/prom
pgbin=/usr/lib/postgresql/15/bin
[[ -x $prom ]] || { log "build first: scripts/build.sh release"; exit 1; }
command -v wrk >/dev/null || { log "wrk missing: scripts/setup.sh --bench"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$root/scripts/pg-throwaway.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

eval "$(bash "$root/scripts/pg-throwaway.sh" start)"
pg_url=$PROM_TEST_PG_URL

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_prom() {  # name db → sets port_<name>, pid_<name>
  local name=$1 db=$2 port
  port=$(free_port)
  "$prom" serve --db "$db" --listen "127.0.0.1:$port" ${PROM_BENCH_CONFIG:+--config "$PROM_BENCH_CONFIG"} 2>"$work/$name.log" &
  pids+=($!)
  printf -v "pid_$name" '%s' $!
  printf -v "port_$name" '%s' "$port"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  log "prom ($name) did not start"; exit 1
}

start_prom sqlite "sqlite:$work/prom.db"
start_prom postgres "$pg_url?schema=bench_prom"
if ((preload > 0)); then
  start_prom loaded "$pg_url?schema=bench_loaded"
  curl -sf -X POST "http://127.0.0.1:$port_loaded/publish" -H 'Content-Type: application/json' \
    -d '{"topic":"bench.http","key":"k","payload":{"warm":true}}' >/dev/null
  log "pre-loading $preload events into bench_loaded.events"
  t_load=$(date +%s)
  "$pgbin/psql" -q "$pg_url" <<SQL
SET search_path TO bench_loaded;
INSERT INTO events(topic, seq, id, key, ts, payload, headers)
SELECT 'bench.http', i, 'preload-' || lpad(i::text, 12, '0'), 'k' || (i % 10000), 1700000000000 + i,
       '{"cpu_pct":12.5,"host":"alpha","mem_mb":512}', '{}' FROM generate_series(2, $preload + 1) AS i;
INSERT INTO latest(topic, key, seq)
SELECT 'bench.http', 'k' || r, $preload + 1 - ((($preload + 1) - r) % 10000) FROM generate_series(0, 9999) AS r
ON CONFLICT (topic, key) DO UPDATE SET seq = excluded.seq;
UPDATE topics SET last_seq = $preload + 1, count = $preload + 1 WHERE name = 'bench.http';
-- As autovacuum would have, not during the rounds. Only this schema's tables: an ANALYZE of
-- the empty node's tables makes its id lookups read whole topics for a minute, until
-- autovacuum analyzes them again (docs/benchmarks.md, 2026-12-07 night).
VACUUM (ANALYZE) events, latest, topics;
CHECKPOINT;
SQL
  log "pre-loaded in $(( $(date +%s) - t_load )) s"
fi

"$pgbin/psql" -q "$pg_url" -c "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, topic text, key text, ts bigint, payload jsonb)"
cat >"$work/insert.sql" <<'SQL'
INSERT INTO bench_insert(topic, key, ts, payload) VALUES ('bench.sql', 'k', 0, '{"host":"alpha","cpu_pct":12.5,"mem_mb":512}');
SQL

wrk_rps() {  # port → requests/s of POST /publish
  wrk -t2 -c"$connections" -d"${duration}s" -s "$root/bench/publish/post.lua" "http://127.0.0.1:$1/publish" |
    awk '/^Requests\/sec:/ {printf "%d", $2}'
}
pgbench_tps() {
  "$pgbin/pgbench" -n -c "$connections" -j 2 -T "$duration" -f "$work/insert.sql" "$pg_url" 2>/dev/null |
    awk '/^tps = / {printf "%d", $3}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a s_sqlite s_pg s_insert s_loaded
for r in $(seq "$rounds"); do
  log "round $r/$rounds"
  s_sqlite+=("$(wrk_rps "$port_sqlite")")
  s_pg+=("$(wrk_rps "$port_postgres")")
  if ((preload > 0)); then s_loaded+=("$(wrk_rps "$port_loaded")"); fi
  s_insert+=("$(pgbench_tps)")
done
m_sqlite=$(printf '%s\n' "${s_sqlite[@]}" | median)
m_pg=$(printf '%s\n' "${s_pg[@]}" | median)
m_insert=$(printf '%s\n' "${s_insert[@]}" | median)
rss() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

cat <<EOF2
Durable publish, $connections concurrent clients, ${duration}s per measurement, median of $rounds interleaved rounds, $(nproc) CPUs shared by everything.

| publisher | events/s | vs single-row INSERTs | rounds | peak RSS MiB |
|---|---:|---:|---|---:|
| prom serve, POST /publish, SQLite (synchronous=FULL) | $m_sqlite | $(awk -v a="$m_sqlite" -v b="$m_insert" 'BEGIN{printf "%.2f", a/b}')× | ${s_sqlite[*]} | $(rss "$pid_sqlite") |
| prom serve, POST /publish, PostgreSQL 15 | $m_pg | $(awk -v a="$m_pg" -v b="$m_insert" 'BEGIN{printf "%.2f", a/b}')× | ${s_pg[*]} | $(rss "$pid_postgres") |
| pgbench, one INSERT per transaction, same server | $m_insert | 1.00× | ${s_insert[*]} | — |
EOF2
if ((preload > 0)); then
  m_loaded=$(printf '%s\n' "${s_loaded[@]}" | median)
  cat <<EOF2
| prom serve, POST /publish, PostgreSQL 15, topic pre-loaded with $preload events | $m_loaded | $(awk -v a="$m_loaded" -v b="$m_insert" 'BEGIN{printf "%.2f", a/b}')× ($(awk -v a="$m_loaded" -v b="$m_pg" 'BEGIN{printf "%.2f", a/b}')× the empty topic) | ${s_loaded[*]} | $(rss "$pid_loaded") |
EOF2
fi
