#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests.
#
#   eval "$(scripts/pg-throwaway.sh start)"   # creates + starts it, prints `export` lines
#   scripts/pg-throwaway.sh status [DIR]      # is it running?
#   scripts/pg-throwaway.sh stop [DIR]        # stops it and deletes its directory
#   scripts/pg-throwaway.sh pause [DIR] [MODE] # stops the server, keeps the data (fault
#                                             # tests); MODE fast (default) or immediate (a crash)
#   scripts/pg-throwaway.sh resume [DIR]      # starts a paused server again, same port
#
# `start` creates a fresh cluster in a new temporary directory, listening on 127.0.0.1
# only (TCP, on a free port) plus a unix socket inside that directory, with trust
# authentication, fsync on, and an empty database `prom_test`. Its stdout is only the
# export lines:
#   PROM_TEST_PG_URL        postgresql://postgres@127.0.0.1:PORT/prom_test
#   PROM_TEST_PG_ADMIN_URL  postgresql://postgres@127.0.0.1:PORT/postgres
#   PROM_PG_PORT            PORT
#   PROM_PG_DIR             the temporary directory (what `stop` removes)
# Progress goes to stderr. `stop` takes the directory from its argument or $PROM_PG_DIR.
#
# PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` OS user
# (created by Debian's postgresql package; override with $PROM_PG_OS_USER) and the
# directory belongs to it. Otherwise it runs as the current user. The database
# superuser is named `postgres` in both cases.
#
# This never touches Debian's own cluster (port 5432, /var/lib/postgresql).
set -euo pipefail

log() { printf '[prom] pg: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Marker file that identifies a directory as ours, so `stop` never deletes anything else.
marker=.prom-pg-throwaway

# Variables from the caller's environment would override our settings in initdb,
# pg_ctl and psql.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGPASSWORD

find_bindir() {
  local d
  if [[ -n ${PROM_PG_BINDIR:-} ]]; then
    d=$PROM_PG_BINDIR
  else
    d=/usr/lib/postgresql/15/bin
  fi
  [[ -x $d/initdb && -x $d/pg_ctl ]] ||
    die "no PostgreSQL 15 server binaries in $d (run scripts/setup.sh, or set PROM_PG_BINDIR)"
  printf '%s\n' "$d"
}

# Runs a command as the OS user that owns the cluster. The cd avoids "could not change
# directory" errors when the caller's working directory (say /root/…) is not readable
# by that user.
as_owner() {
  if [[ -n $run_as ]]; then
    (cd / && runuser -u "$run_as" -- "$@")
  else
    "$@"
  fi
}

# True when something already accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  local port=$1
  if command -v ss >/dev/null; then
    # Any listener on that port (127.0.0.1, 0.0.0.0, [::]…) would clash with our bind.
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
  fi
  # No ss (or it found nothing): probe with bash's /dev/tcp. A refused connection means
  # the port is free. timeout guards against a filtered port hanging the connect.
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

pick_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    # Random port in 20000-59999: away from well-known ports, from 5432, and from
    # most of Linux's ephemeral range (32768-60999 overlaps partly; the probe and the
    # start retry cover that).
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "found no free TCP port on 127.0.0.1"
}

cmd_start() {
  local bindir base dir port attempt url admin_url
  bindir=$(find_bindir)

  run_as=""
  if ((EUID == 0)); then
    run_as=${PROM_PG_OS_USER:-postgres}
    id -u "$run_as" >/dev/null 2>&1 ||
      die "running as root but OS user '$run_as' does not exist (install the postgresql package: scripts/setup.sh)"
  fi

  # The unix socket path (DIR/sock/.s.PGSQL.PORT) must fit in 107 bytes, and as root the
  # postgres user must be able to reach the directory; fall back to /tmp otherwise.
  base=${PROM_PG_TMPDIR:-${TMPDIR:-/tmp}}
  if ((${#base} > 60)) || [[ ! -d $base ]]; then
    base=/tmp
  fi
  dir=$(mktemp -d "$base/prom-pg.XXXXXX")
  if [[ -n $run_as ]]; then
    chown "$run_as:" "$dir"
    if ! runuser -u "$run_as" -- test -w "$dir" 2>/dev/null && [[ $base != /tmp ]]; then
      rmdir "$dir"
      dir=$(mktemp -d /tmp/prom-pg.XXXXXX)
      chown "$run_as:" "$dir"
    fi
  fi

  # From here on, any failure removes what we made (server included).
  # shellcheck disable=SC2064  # expand $dir now, on purpose
  trap "log 'start failed, cleaning up'; PROM_PG_DIR='$dir' cmd_stop >/dev/null 2>&1 || true" EXIT

  touch "$dir/$marker"
  mkdir "$dir/sock" "$dir/log"
  [[ -z $run_as ]] || chown -R "$run_as:" "$dir"
  chmod 700 "$dir"

  log "initdb in $dir/data (as ${run_as:-$(id -un)})"
  # --no-locale + UTF8: same, predictable collation on every machine. --no-sync only
  # skips flushing initdb's own files: the server itself runs with fsync on.
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
    --no-locale -E UTF8 --no-sync --no-instructions >"$dir/log/initdb.log" 2>&1; then
    cat "$dir/log/initdb.log" >&2
    die "initdb failed"
  fi

  # Only loopback TCP and our own unix socket, both trusted; nothing else may connect.
  as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<'EOF'
# prom throwaway test cluster: trust on the private unix socket and on 127.0.0.1 only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<'EOF'

# --- prom throwaway test cluster ---
include = 'prom_throwaway.conf'
EOF

  for ((attempt = 1; ; attempt++)); do
    port=$(pick_port)
    # Rewritten on every attempt, since only the port changes.
    as_owner tee "$dir/data/prom_throwaway.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/sock'
fsync = on
logging_collector = off
EOF
    log "starting on 127.0.0.1:$port (attempt $attempt)"
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log/postgres.log" \
      -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    # Another process may have grabbed the port between the probe and the bind: retry
    # with a new one. Any other failure is fatal.
    if ((attempt < 5)) && grep -q 'could not bind\|Address already in use' "$dir/log/postgres.log"; then
      log "port $port was taken meanwhile, retrying"
      continue
    fi
    tail -n 30 "$dir/log/postgres.log" >&2 || true
    die "pg_ctl start failed (log above)"
  done

  url="postgresql://postgres@127.0.0.1:$port/prom_test"
  admin_url="postgresql://postgres@127.0.0.1:$port/postgres"
  # Over TCP, exactly as the tests will connect, so a bad URL fails here and not there.
  "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$admin_url" -c 'CREATE DATABASE prom_test' >/dev/null ||
    die "could not create database prom_test"
  "$bindir/psql" -X -q -At "$url" -c 'select 1' >/dev/null || die "prom_test does not answer"

  trap - EXIT
  log "ready: $url (dir $dir)"
  printf 'export PROM_TEST_PG_URL=%q\n' "$url"
  printf 'export PROM_TEST_PG_ADMIN_URL=%q\n' "$admin_url"
  printf 'export PROM_PG_PORT=%q\n' "$port"
  printf 'export PROM_PG_DIR=%q\n' "$dir"
}

# Resolves and validates the cluster directory for stop/status.
target_dir() {
  local dir=${1:-${PROM_PG_DIR:-}}
  [[ -n $dir ]] || die "no cluster directory: pass it as an argument or set PROM_PG_DIR"
  printf '%s\n' "$dir"
}

set_owner_of() {
  run_as=""
  if ((EUID == 0)) && [[ -d $1/data ]]; then
    run_as=$(stat -c %U "$1/data")
    [[ $run_as != root ]] || run_as=""
  fi
}

cmd_stop() {
  local dir bindir pid
  dir=$(target_dir "${1:-}")
  if [[ ! -e $dir ]]; then
    log "$dir does not exist: nothing to stop"
    return 0
  fi
  [[ -f $dir/$marker ]] || die "$dir is not a prom throwaway cluster (no $marker): not touching it"
  bindir=$(find_bindir)
  set_owner_of "$dir"

  if [[ -f $dir/data/postmaster.pid ]]; then
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    log "stopping server (pid $pid) in $dir"
    # fast: roll back open transactions, disconnect clients, shut down cleanly.
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      # Still there (or pg_ctl failed): immediate mode, then, as a last resort, SIGKILL
      # the postmaster, but only if that pid really is the postgres of this directory
      # (a stale postmaster.pid may name a pid reused by an unrelated process).
      if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 &&
        [[ $pid =~ ^[0-9]+$ ]] &&
        tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-D $dir/data"; then
        log "pg_ctl could not stop pid $pid: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
      fi
    fi
  else
    log "server in $dir is not running"
  fi
  rm -rf -- "$dir"
  log "removed $dir"
}

# pause/resume: the database going away and coming back, for the restart fault tests.
cmd_pause() {
  local dir bindir mode=${2:-fast}
  [[ $mode == fast || $mode == immediate ]] || die "pause mode must be fast or immediate"
  dir=$(target_dir "${1:-}")
  [[ -f $dir/$marker ]] || die "$dir is not a prom throwaway cluster"
  bindir=$(find_bindir)
  set_owner_of "$dir"
  log "pausing the server in $dir ($mode)"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null
}

cmd_resume() {
  local dir bindir
  dir=$(target_dir "${1:-}")
  [[ -f $dir/$marker ]] || die "$dir is not a prom throwaway cluster"
  bindir=$(find_bindir)
  set_owner_of "$dir"
  log "resuming the server in $dir"
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log/postgres.log" -w -t 60 start >/dev/null
}

cmd_status() {
  local dir bindir
  dir=$(target_dir "${1:-}")
  [[ -f $dir/$marker ]] || die "$dir is not a prom throwaway cluster"
  bindir=$(find_bindir)
  set_owner_of "$dir"
  as_owner "$bindir/pg_ctl" -D "$dir/data" status
}

run_as=""
case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  pause) shift; cmd_pause "$@" ;;
  resume) shift; cmd_resume "$@" ;;
  *) printf 'usage: %s start|stop [DIR]|status [DIR]|pause [DIR]|resume [DIR]\n' "$0" >&2; exit 2 ;;
esac
