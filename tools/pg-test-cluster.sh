#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for orb's tests, from Debian's postgresql package:
# its own data directory, loopback only, a random port, password authentication over
# TCP for a role "orb" with a random password, and a database "orb_test".
#
# Usage: tools/pg-test-cluster.sh start DIR   start one; DIR receives `url` (a
#                                             postgresql:// URL without password) and
#                                             `password` (mode 0600)
#        tools/pg-test-cluster.sh stop DIR    stop it and remove its data
#
# ctest runs `start` and `stop` as the fixture "postgres" around the tests that need
# it. Run as root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

die() {
  echo "pg-test-cluster.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The newest installed server's programs.
bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/initdb" ]] ||
    die "no PostgreSQL server found under /usr/lib/postgresql (tools/setup.sh installs Debian's postgresql)"
  echo "$dir"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Runs a command with no descriptor but stdin, stdout and stderr: the server it starts
# outlives this script and must not keep a caller's lock or pipe open.
without_inherited_fds() {
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd="${fd##*/}"
      if [[ "$fd" -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    "$@"
  )
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir="$1" bin data port password
  bin="$(bin_dir)"
  stop "$dir" 2>/dev/null || true
  mkdir -p "$dir"
  # The data directory lives under /tmp: the owner must reach it whatever the
  # permissions of the build tree.
  data="$(mktemp -d /tmp/orb-pg-XXXXXX)"
  echo "$data" >"$dir/data_dir"
  password="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 32)"
  (umask 077 && printf '%s\n' "$password" >"$dir/password")
  printf '%s\n' "$password" >"$data/pwfile"
  if [[ "$(id -u)" == 0 ]]; then chown -R postgres: "$data"; fi
  as_owner "$bin/initdb" -D "$data/cluster" -U orb --pwfile="$data/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    die "initdb failed; see $dir/initdb.log"
  rm -f "$data/pwfile"
  port="$(free_port)"
  # fsync off: a test kills orb's processes, never the server; 200 connections for
  # the concurrency tests.
  without_inherited_fds as_owner "$bin/pg_ctl" -D "$data/cluster" -l "$data/server.log" -w -t 60 \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >"$dir/pg_ctl.log" 2>&1 || {
    cat "$data/server.log" >&2 2>/dev/null || true
    die "the server did not start; see $dir/pg_ctl.log"
  }
  as_owner "$bin/psql" -X -q -h "$data" -p "$port" -U orb -d postgres \
    -c "CREATE DATABASE orb_test" >/dev/null || die "cannot create the database orb_test"
  echo "postgresql://orb@127.0.0.1:$port/orb_test" >"$dir/url"
  echo "pg-test-cluster.sh: PostgreSQL on 127.0.0.1:$port (data $data)"
}

stop() {
  local dir="$1" bin data
  [[ -r "$dir/data_dir" ]] || return 0
  data="$(cat "$dir/data_dir")"
  rm -f "$dir/url" "$dir/password" "$dir/data_dir"
  [[ "$data" == /tmp/orb-pg-* ]] || die "refusing to remove $data"
  bin="$(bin_dir)"
  if [[ -d "$data/cluster" ]]; then
    as_owner "$bin/pg_ctl" -D "$data/cluster" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$data"
}

[[ $# == 2 ]] || usage
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
