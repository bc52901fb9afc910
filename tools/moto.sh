#!/usr/bin/env bash
# Runs moto, the AWS emulator orb's integration tests use, on loopback for manual
# experiments with orb (the test programs start their own).
#
# Usage: tools/moto.sh start [PORT]   start moto on 127.0.0.1:PORT (default 5000)
#        tools/moto.sh stop           stop the moto this script started
#        tools/moto.sh status         say whether it runs (exit 0) or not (exit 3)
#
# moto comes from tools/fetch-moto.sh (which unpacks it into <repo>/.deps/moto the
# first time). The pid, port and log live in <repo>/.deps/ (moto-server.*). Point
# orb at it with  AWS_ENDPOINT_URL=http://127.0.0.1:PORT  and any credentials, e.g.
# AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1.
set -euo pipefail

readonly PYTHON=/usr/bin/python3

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$repo_root/.deps"
pid_file="$deps/moto-server.pid"
port_file="$deps/moto-server.port"
log_file="$deps/moto-server.log"

die() {
  echo "moto.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
}

# Prints the pid of the moto this script started, if it still runs.
running_pid() {
  [[ -r "$pid_file" ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Only a process that is still moto's server counts (pids are reused).
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'moto.server' || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local port="${1:-5000}"
  [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] ||
    die "port must be a number from 1 to 65535, not '$port'"
  local pid
  if pid="$(running_pid)"; then
    echo "moto already runs on http://127.0.0.1:$(cat "$port_file") (pid $pid)"
    return 0
  fi
  [[ -x "$PYTHON" ]] || die "$PYTHON is missing (apt-get install python3)"
  if port_open "$port"; then
    die "port $port on 127.0.0.1 is already taken; try: tools/moto.sh start <other port>"
  fi
  local dist
  dist="$("$repo_root/tools/fetch-moto.sh")" ||
    die "tools/fetch-moto.sh could not provide moto (see above)"
  mkdir -p "$deps"
  PYTHONPATH="$dist" nohup "$PYTHON" -m moto.server -H 127.0.0.1 -p "$port" \
    >"$log_file" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  echo "$port" >"$port_file"
  local waited=0
  until port_open "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pid_file"
      tail -n 20 "$log_file" >&2 || true
      die "moto exited at start-up (log: $log_file); a missing Python module means:" \
        "run tools/fetch-moto.sh --deps as root"
    fi
    if [[ $waited -ge 300 ]]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$pid_file"
      die "moto did not answer on port $port within 30 s (log: $log_file)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "moto runs on http://127.0.0.1:$port (pid $pid, log $log_file)"
  echo "use it with: AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=testing" \
    "AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file" "$port_file"
    echo "moto is not running"
    return 0
  fi
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null && [[ $waited -lt 50 ]]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file" "$port_file"
  echo "moto stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "moto runs on http://127.0.0.1:$(cat "$port_file") (pid $pid, log $log_file)"
    return 0
  fi
  echo "moto is not running"
  return 3
}

case "${1:-}" in
  start)
    shift
    [[ $# -le 1 ]] || die "start takes at most one argument, the port"
    start "$@"
    ;;
  stop) stop ;;
  status) status ;;
  -h | --help | help) usage ;;
  "")
    usage
    exit 2
    ;;
  *) die "unknown command '$1' (start, stop or status)" ;;
esac
