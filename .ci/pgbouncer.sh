#!/usr/bin/env bash
# A throwaway PgBouncer for pg_fleet_test.ts, on 127.0.0.1, in front of the
# PostgreSQL that .ci/postgres.sh started (PPP_PG_* variables), its config,
# pid file and log in a temp dir.
#
#   source .ci/pgbouncer.sh && ppp_bouncer_start  # from .ci/run: exports PPP_BOUNCER_*
#   bash .ci/pgbouncer.sh start [--no-install]    # prints `export PPP_BOUNCER_…=…` lines
#   bash .ci/pgbouncer.sh down DIR                # stops it, keeps DIR (and its port)
#   bash .ci/pgbouncer.sh up DIR                  # starts it again from DIR, same port
#   bash .ci/pgbouncer.sh stop DIR                # stops it and removes DIR
#
# Installs Debian's `pgbouncer` with apt-get when /usr/sbin/pgbouncer is
# missing (unless --no-install). PgBouncer refuses to run as root: when we
# are root it runs as the `postgres` user, as ourselves otherwise.
# Transaction pooling, 5 server connections per (database, user),
# every database name passed through to the server (`*`), trust
# authentication for the users in its userlist (the server's user), which
# is also the admin of the `pgbouncer` console (SHOW CLIENTS, SHOW POOLS).
# A test setup, not one to copy.

PPP_BOUNCER_BIN=${PPP_BOUNCER_BIN:-/usr/sbin/pgbouncer}

ppp_bouncer_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "pgbouncer.sh: PgBouncer is not installed and we are not root" >&2
    return 1
  fi
  echo "pgbouncer.sh: installing PgBouncer from Debian's packages" >&2
  # the package would start its own PgBouncer on port 6432: a policy-rc.d
  # that answers 101 keeps it from starting any service
  local policy=/usr/sbin/policy-rc.d ours=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends pgbouncer >&2 || rc=$?
  [ "$ours" = 1 ] && rm -f "$policy"
  return "$rc"
}

# Runs a command as the owner of DIR ($1) when we are root and DIR is not
# ours (PgBouncer refuses root), as ourselves otherwise.
ppp_bouncer_as() {
  local dir=$1 owner
  shift
  owner=$(stat -c %U "$dir")
  if [ "$(id -u)" = 0 ] && [ "$owner" != root ]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

# From 26432 up: outside Linux's ephemeral range (32768-60999), so a
# restart never finds its port taken by an outgoing connection.
ppp_bouncer_free_port() {
  local port=${1:-26432}
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# The signal of an immediate shutdown: SIGTERM up to 1.22, SIGQUIT from
# 1.23 on (where SIGTERM waits for every client to leave).
ppp_bouncer_stop_signal() {
  local v major minor
  v=$("$PPP_BOUNCER_BIN" --version 2>/dev/null | sed -n 's/^PgBouncer \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  read -r major minor <<<"${v:-1 0}"
  if [ "$major" -gt 1 ] || [ "$minor" -ge 23 ]; then echo QUIT; else echo TERM; fi
}

# Whether process $1 runs: a zombie does not (in a container whose init
# reaps late, an exited daemon stays one for a while).
ppp_bouncer_alive() {
  local state
  if [ -r "/proc/$1/stat" ]; then
    state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
  else
    kill -0 "$1" 2>/dev/null
  fi
}

# Starts PgBouncer from the config in DIR ($1) as a daemon; returns once
# its port accepts connections.
ppp_bouncer_up() {
  local dir=${1:-${PPP_BOUNCER_DIR:-}} port i
  [ -n "$dir" ] && [ -f "$dir/pgbouncer.ini" ] || {
    echo "pgbouncer.sh: no pgbouncer.ini in '$dir'" >&2
    return 1
  }
  port=$(sed -n 's/^listen_port = //p' "$dir/pgbouncer.ini")
  ppp_bouncer_as "$dir" "$PPP_BOUNCER_BIN" -d -q "$dir/pgbouncer.ini" >&2 || {
    cat "$dir/pgbouncer.log" >&2
    return 1
  }
  for ((i = 0; i < 500; i++)); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.01
  done
  echo "pgbouncer.sh: PgBouncer is not listening on 127.0.0.1:$port after 5 s" >&2
  tail -n 20 "$dir/pgbouncer.log" >&2
  return 1
}

# Stops the PgBouncer of DIR ($1) at once (clients and servers are cut),
# keeping DIR; returns once the process is gone. Never fails.
ppp_bouncer_down() {
  local dir=${1:-${PPP_BOUNCER_DIR:-}} pid i
  [ -n "$dir" ] && [ -f "$dir/pgbouncer.pid" ] || return 0
  pid=$(cat "$dir/pgbouncer.pid" 2>/dev/null)
  [ -n "$pid" ] || return 0
  kill -s "$(ppp_bouncer_stop_signal)" "$pid" 2>/dev/null || true
  for ((i = 0; i < 500; i++)); do
    ppp_bouncer_alive "$pid" || break
    sleep 0.01
  done
  ppp_bouncer_alive "$pid" && kill -s KILL "$pid" 2>/dev/null
  rm -f "$dir/pgbouncer.pid"
  return 0
}

# Starts PgBouncer in front of the server of PPP_PG_PORT (and PPP_PG_URL's
# user) and exports PPP_BOUNCER_URL, PPP_BOUNCER_PORT, PPP_BOUNCER_DIR.
ppp_bouncer_start() {
  local install=1 port dir pgport pguser runas
  [ "${1:-}" = "--no-install" ] && install=0
  if [ ! -x "$PPP_BOUNCER_BIN" ] && [ "$install" = 1 ]; then
    ppp_bouncer_install || return 1
  fi
  if [ ! -x "$PPP_BOUNCER_BIN" ]; then
    echo "pgbouncer.sh: no $PPP_BOUNCER_BIN" >&2
    return 1
  fi
  pgport=${PPP_PG_PORT:-}
  if [ -z "$pgport" ]; then
    echo "pgbouncer.sh: no PPP_PG_PORT: start PostgreSQL first (.ci/postgres.sh)" >&2
    return 1
  fi
  # the user of postgres://USER@host…, else postgres
  pguser=$(sed -n 's|^postgres\(ql\)\{0,1\}://\([^:@/]*\)[:@].*|\2|p' <<<"${PPP_PG_URL:-}")
  pguser=${pguser:-postgres}
  if [ "$(id -u)" = 0 ]; then runas=${PPP_PG_USER:-postgres}; else runas=; fi
  dir=$(mktemp -d /tmp/ppp-bouncer.XXXXXX) || return 1
  [ -n "$runas" ] && chown "$runas" "$dir"
  port=$(ppp_bouncer_free_port 26432)
  echo "\"$pguser\" \"\"" >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $pguser
pool_mode = transaction
default_pool_size = 5
max_client_conn = 1000
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
EOF
  [ -n "$runas" ] && chown "$runas" "$dir"/*
  ppp_bouncer_up "$dir" || {
    ppp_bouncer_down "$dir"
    rm -rf "$dir"
    return 1
  }
  export PPP_BOUNCER_URL="postgres://$pguser@127.0.0.1:$port/postgres"
  export PPP_BOUNCER_PORT="$port"
  export PPP_BOUNCER_DIR="$dir"
  echo "pgbouncer.sh: $("$PPP_BOUNCER_BIN" --version | head -n 1) on 127.0.0.1:$port, in front of 127.0.0.1:$pgport, dir $dir" >&2
}

# Stops the PgBouncer started by ppp_bouncer_start (or the one in $1) and
# removes its dir. Never fails.
ppp_bouncer_stop() {
  local dir=${1:-${PPP_BOUNCER_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  ppp_bouncer_down "$dir"
  rm -rf "$dir"
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
  start)
    ppp_bouncer_start "${2:-}"
    for v in PPP_BOUNCER_URL PPP_BOUNCER_PORT PPP_BOUNCER_DIR; do
      echo "export $v=${!v}"
    done
    ;;
  up) ppp_bouncer_up "${2:-}" ;;
  down) ppp_bouncer_down "${2:-}" ;;
  stop) ppp_bouncer_stop "${2:-}" ;;
  *)
    echo "usage: $0 start [--no-install] | up DIR | down DIR | stop DIR" >&2
    exit 2
    ;;
  esac
fi
