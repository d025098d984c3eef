#!/usr/bin/env bash
# Durable publish over HTTP with many concurrent clients (issue 7): `POST /publish` on
# prom serve over SQLite (synchronous=FULL) and over PostgreSQL, against plain single-row
# INSERT transactions (pgbench) on the same PostgreSQL server, in one run.
#
#   bench/publish/run.sh [-c CONNECTIONS=64] [-d SECONDS=5] [-r ROUNDS=3]
#
# Each answer of prom comes after the commit that holds the event; pgbench's INSERTs are
# committed one by one with synchronous_commit on. Rounds are interleaved and the median is
# reported, because the machine is shared and noisy. Needs wrk and PostgreSQL 15
# (scripts/setup.sh --bench).
set -euo pipefail
log() { printf '[bench] %s\n' "$*" >&2; }

connections=64 duration=5 rounds=3
while getopts "c:d:r:" opt; do
  case $opt in
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

declare -a s_sqlite s_pg s_insert
for r in $(seq "$rounds"); do
  log "round $r/$rounds"
  s_sqlite+=("$(wrk_rps "$port_sqlite")")
  s_pg+=("$(wrk_rps "$port_postgres")")
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
