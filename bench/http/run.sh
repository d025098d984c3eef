#!/usr/bin/env bash
# Snapshot API benchmark (docs/benchmarks.md): requests/s of GET 200 and GET 304 (If-None-Match) for
#   prom serve, nginx serving the same bytes as a static file, and the seed's Express code,
# all in one run on this machine, with the peak RSS of each server.
#
#   bench/http/run.sh [-d SECONDS] [-c CONNECTIONS] [-t WRK_THREADS] [-n DOCS] [-r ROUNDS]
#
# The CPUs are shared by the servers and wrk (and whatever else runs), so the servers are
# measured in turn, ROUNDS short runs each, and the median of each is reported. Besides
# requests/s, each run reads the CPU time the server used (utime + stime from /proc) and
# reports CPU microseconds per request: a measure of the server's own cost that does not
# depend on how busy the machine was.
# Needs: build/release/src/cli/prom (scripts/build.sh), wrk, nginx, node + npm (the Express
# seed's dependencies are installed into bench/http/express-seed by `npm install`).
# Prints a Markdown table; paste it into docs/benchmarks.md with the command line.
set -euo pipefail

duration=4
connections=64
wrk_threads=2
docs=10000
rounds=5
while getopts "d:c:t:n:r:" opt; do
  case $opt in
    d) duration=$OPTARG ;;
    c) connections=$OPTARG ;;
    t) wrk_threads=$OPTARG ;;
    n) docs=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) exit 2 ;;
  esac
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/bench/http
prom=$repo/build/release/src/cli/prom
[[ -x $prom ]] || die "$prom not found: run scripts/build.sh release"
for tool in wrk nginx node npm curl; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool not found"
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/prom-bench-http.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${PROM_BENCH_KEEP:-} ]] && trap - EXIT

prom_port=18191
nginx_port=18192
express_port=18193

wait_http() {  # URL: until it answers at all
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  die "no answer from $1"
}

peak_rss_kb() {  # PIDs…: the sum of their VmHWM
  local total=0 kb
  for p in "$@"; do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

cpu_ticks() {  # PIDs…: the sum of their utime + stime, in clock ticks
  local total=0 f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" || continue
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

tick_us=$((1000000 / $(getconf CLK_TCK)))

run_wrk() {  # "PIDS" URL [header]: prints "requests/s cpu-µs-per-request"
  local pids=$1 url=$2 out before after requests rps
  shift 2
  before=$(cpu_ticks $pids)
  if [[ $# -gt 0 ]]; then
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" -H "$1" "$url")
  else
    out=$(wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" "$url")
  fi
  after=$(cpu_ticks $pids)
  echo "$out" >>"$work/wrk.log"
  if grep -q "Non-2xx or 3xx" <<<"$out"; then
    log "warning: error responses from $url"
  fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$out")
  awk -v rps="$rps" -v req="$requests" -v t=$((after - before)) -v us="$tick_us" \
    'BEGIN { printf "%d %.2f\n", rps, (req > 0 ? t * us / req : 0) }'
}

# ---- prom: seed documents through the real pipeline (heartbeats → projectors → processes)
log "starting prom serve on 127.0.0.1:$prom_port"
cat >"$work/prom.json" <<JSON
{"listen":"127.0.0.1:$prom_port","db":"sqlite:$work/prom.db","durable":false,
 "stale_after_ms":86400000}
JSON
"$prom" serve --config "$work/prom.json" 2>"$work/prom.log" &
prom_pid=$!
pids+=("$prom_pid")
wait_http "http://127.0.0.1:$prom_port/healthz"

log "publishing $docs heartbeats (batches of 500)"
batch=500
for ((start = 0; start < docs; start += batch)); do
  body='{"events":['
  for ((i = start; i < start + batch && i < docs; i++)); do
    ((i > start)) && body+=','
    body+="{\"topic\":\"heartbeat.received\",\"payload\":{\"pid\":$i,\"name\":\"proc-$i\",\"host\":\"bench-host\",\"cpu_pct\":$((i % 100)).5,\"mem_mb\":$((100 + i % 900))}}"
  done
  body+=']}'
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary "$body" \
    "http://127.0.0.1:$prom_port/publish" || die "publish failed"
done
log "waiting for the projectors to write $docs documents"
for _ in $(seq 1 600); do
  count=$(curl -s "http://127.0.0.1:$prom_port/list?offset=$((docs - 1))&limit=1" |
    sed -n 's/.*"count":\([0-9]*\).*/\1/p')
  [[ $count == 1 ]] && break
  sleep 0.1
done
[[ $count == 1 ]] || die "the projectors did not write $docs documents"

key="bench-host:proc-4242:4242"
url_path="/snap/$key"
curl -sf -D "$work/prom.head" -o "$work/doc.json" "http://127.0.0.1:$prom_port$url_path" ||
  die "GET $url_path failed"
prom_etag=$(tr -d '\r' <"$work/prom.head" | sed -n 's/^ETag: //Ip')

# Every document, one per line, for the Express seed's Map.
: >"$work/docs.ndjson"
for ((off = 0; off < docs; off += 1000)); do
  curl -s "http://127.0.0.1:$prom_port/list?offset=$off&limit=1000" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const d of JSON.parse(s).items)console.log(JSON.stringify(d))})' \
      >>"$work/docs.ndjson"
done

# ---- nginx: the same bytes as a static file
mkdir -p "$work/www/snap" "$work/tmp"
# nginx workers run as an unprivileged user when started as root: let them read the file.
chmod 755 "$work" "$work/www" "$work/www/snap"
cp "$work/doc.json" "$work/www/snap/$key"
chmod 644 "$work/www/snap/$key"
workers=$(nproc)
sed -e "s|@DIR@|$work|g" -e "s|@PORT@|$nginx_port|g" -e "s|@WORKERS@|$workers|g" \
  "$here/nginx.conf.in" >"$work/nginx.conf"
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" -g 'daemon on;' ||
  die "nginx did not start"
wait_http "http://127.0.0.1:$nginx_port$url_path"
curl -s -D "$work/nginx.head" -o "$work/nginx.body" "http://127.0.0.1:$nginx_port$url_path"
cmp -s "$work/nginx.body" "$work/doc.json" || die "nginx does not serve the same bytes"
nginx_etag=$(tr -d '\r' <"$work/nginx.head" | sed -n 's/^ETag: //Ip')

# ---- the seed's Express implementation
if [[ ! -d $here/express-seed/node_modules/express ]]; then
  log "installing the Express seed's dependencies (npm install)"
  (cd "$here/express-seed" && npm install --no-audit --no-fund --no-package-lock >/dev/null)
fi
node "$here/express-seed/server.js" "$express_port" "$work/docs.ndjson" >"$work/express.log" 2>&1 &
express_pid=$!
pids+=("$express_pid")
wait_http "http://127.0.0.1:$express_port$url_path"
express_etag=$(curl -s -D - -o /dev/null "http://127.0.0.1:$express_port$url_path" | tr -d '\r' |
  sed -n 's/^ETag: //Ip')

for name in prom nginx express; do
  var=${name}_etag
  [[ -n ${!var} ]] || die "no ETag from $name"
  port_var=${name}_port
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: ${!var}" \
    "http://127.0.0.1:${!port_var}$url_path")
  [[ $code == 304 ]] || die "$name does not answer 304 to its own ETag (got $code)"
done

# ---- measure, one server at a time, in the same run, ROUNDS times
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
nginx_master=$(cat "$work/nginx.pid")
nginx_pids="$nginx_master $(pgrep -P "$nginx_master" | tr '\n' ' ')"
declare -A pids_of=([prom]="$prom_pid" [nginx]="$nginx_pids" [express]="$express_pid")
declare -A samples
log "wrk -t$wrk_threads -c$connections -d${duration}s, GET 200 and GET 304, $rounds rounds"
for ((round = 1; round <= rounds; round++)); do
  line="round $round:"
  for name in prom nginx express; do
    port_var=${name}_port
    etag_var=${name}_etag
    url="http://127.0.0.1:${!port_var}$url_path"
    read -r rps cpu < <(run_wrk "${pids_of[$name]}" "$url")
    samples[${name}_200]+=" $rps"
    samples[${name}_200_cpu]+=" $cpu"
    read -r rps304 cpu304 < <(run_wrk "${pids_of[$name]}" "$url" "If-None-Match: ${!etag_var}")
    samples[${name}_304]+=" $rps304"
    samples[${name}_304_cpu]+=" $cpu304"
    line+=" $name $rps/$rps304"
  done
  log "$line"
done
for k in "${!samples[@]}"; do
  printf -v "$k" '%s' "$(median <<<"${samples[$k]}")"
done

prom_rss=$(peak_rss_kb "$prom_pid")
nginx_rss=$(peak_rss_kb $nginx_pids)
express_rss=$(peak_rss_kb "$express_pid")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

cat <<EOF

Snapshot GET of one $(wc -c <"$work/doc.json")-byte document among $docs, keep-alive,
\`wrk -t$wrk_threads -c$connections -d${duration}s\`, median of $rounds interleaved rounds,
$(nproc) CPUs shared by the servers, wrk and everything else on the machine.

| server | GET 200 req/s | GET 304 req/s | CPU µs/req 200 | CPU µs/req 304 | peak RSS |
|---|---:|---:|---:|---:|---:|
| prom serve | $prom_200 | $prom_304 | $prom_200_cpu | $prom_304_cpu | $((prom_rss / 1024)) MiB |
| nginx $($nginx_bin -v 2>&1 | sed 's/.*nginx\///') ($workers workers, static file) | $nginx_200 | $nginx_304 | $nginx_200_cpu | $nginx_304_cpu | $((nginx_rss / 1024)) MiB (all processes) |
| seed Express (node $(node --version)) | $express_200 | $express_304 | $express_200_cpu | $express_304_cpu | $((express_rss / 1024)) MiB |

| ratio (higher: prom better) | GET 200 req/s | GET 304 req/s | GET 200 CPU/req | GET 304 CPU/req |
|---|---:|---:|---:|---:|
| prom vs nginx | $(ratio "$prom_200" "$nginx_200") | $(ratio "$prom_304" "$nginx_304") | $(ratio "$nginx_200_cpu" "$prom_200_cpu") | $(ratio "$nginx_304_cpu" "$prom_304_cpu") |
| prom vs Express seed | $(ratio "$prom_200" "$express_200") | $(ratio "$prom_304" "$express_304") | $(ratio "$express_200_cpu" "$prom_200_cpu") | $(ratio "$express_304_cpu" "$prom_304_cpu") |
EOF
