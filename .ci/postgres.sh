#!/usr/bin/env bash
# A throwaway PostgreSQL for pg_test.ts, on 127.0.0.1, in a temp data dir.
#
#   source .ci/postgres.sh && ppp_pg_start   # from .ci/run: exports PPP_PG_*
#   bash .ci/postgres.sh start [--no-install] # prints `export PPP_PG_…=…` lines
#   bash .ci/postgres.sh stop DATADIR         # stops it and removes DATADIR
#
# Installs Debian's `postgresql` with apt-get when no pg_ctl is found under
# /usr/lib/postgresql/*/bin (unless --no-install). Runs the server as the
# `postgres` user when we are root (initdb refuses root), as ourselves
# otherwise. Trust authentication, loopback only: a test server, not a setup
# to copy.

ppp_pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; fi
}

ppp_pg_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: PostgreSQL is not installed and we are not root" >&2
    return 1
  fi
  echo "postgres.sh: installing PostgreSQL from Debian's packages" >&2
  # no cluster of the package's own: we make ours in a temp dir
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" \
    >/etc/postgresql-common/createcluster.d/ppp-no-main.conf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends postgresql >&2
}

# Runs a command as the server's user.
ppp_pg_as() {
  if [ -n "${PPP_PG_USER:-}" ]; then
    runuser -u "$PPP_PG_USER" -- "$@"
  else
    "$@"
  fi
}

# From 25432 up: outside Linux's ephemeral range (32768-60999), so a restart
# never finds its port taken by an outgoing connection.
ppp_pg_free_port() {
  local port=${1:-25432}
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# Starts a server and exports PPP_PG_URL, PPP_PG_CTL, PPP_PG_DATA,
# PPP_PG_USER, PPP_PG_PORT.
ppp_pg_start() {
  local install=1 bindir port data
  [ "${1:-}" = "--no-install" ] && install=0
  bindir=$(ppp_pg_bindir)
  if [ -z "$bindir" ] && [ "$install" = 1 ]; then
    ppp_pg_install || return 1
    bindir=$(ppp_pg_bindir)
  fi
  if [ -z "$bindir" ]; then
    echo "postgres.sh: no pg_ctl under /usr/lib/postgresql/*/bin" >&2
    return 1
  fi
  if [ "$(id -u)" = 0 ]; then PPP_PG_USER=postgres; else PPP_PG_USER=; fi
  data=$(mktemp -d /tmp/ppp-pg.XXXXXX) || return 1
  chmod 700 "$data"
  [ -n "$PPP_PG_USER" ] && chown "$PPP_PG_USER" "$data"
  port=$(ppp_pg_free_port 25432)
  ppp_pg_as "$bindir/initdb" -D "$data" -U postgres --auth=trust \
    --no-sync -E UTF8 >"$data.initdb.log" 2>&1 || {
    cat "$data.initdb.log" >&2
    return 1
  }
  # connection settings live in the data dir, so a plain
  # `pg_ctl restart` keeps them
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 100
fsync = off
EOF
  ppp_pg_as "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    start >&2 || {
    cat "$data/server.log" >&2
    return 1
  }
  export PPP_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export PPP_PG_CTL="$bindir/pg_ctl"
  export PPP_PG_DATA="$data"
  export PPP_PG_USER
  export PPP_PG_PORT="$port"
  echo "postgres.sh: $("$bindir/pg_ctl" --version) on 127.0.0.1:$port, data in $data" >&2
}

# Stops the server started by ppp_pg_start (or the one in $1) and removes
# its data dir. Never fails.
ppp_pg_stop() {
  local data=${1:-${PPP_PG_DATA:-}}
  [ -n "$data" ] && [ -d "$data" ] || return 0
  local ctl=${PPP_PG_CTL:-$(ppp_pg_bindir)/pg_ctl}
  if [ -z "${PPP_PG_USER+x}" ] && [ "$(id -u)" = 0 ]; then
    PPP_PG_USER=postgres
  fi
  ppp_pg_as "$ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$data" "$data.initdb.log"
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
  start)
    ppp_pg_start "${2:-}"
    for v in PPP_PG_URL PPP_PG_CTL PPP_PG_DATA PPP_PG_USER PPP_PG_PORT; do
      echo "export $v=${!v}"
    done
    ;;
  stop) ppp_pg_stop "${2:-}" ;;
  *)
    echo "usage: $0 start [--no-install] | stop DATADIR" >&2
    exit 2
    ;;
  esac
fi
