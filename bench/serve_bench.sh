#!/usr/bin/env bash
# Measures `orb serve` under wrk (64 connections, 2 threads) on a store of 100
# completed requests x 10 machines: requests/s and latency percentiles for /health,
# GET /api/v1/requests/{id} and POST /api/v1/requests/status with 100 ids, then the
# server's peak RSS. wrk runs on the same machine and competes for its cores. Prints a
# Markdown table and writes bench/serve_results.json.
#
# Usage: bench/serve_bench.sh [BUILD_DIR] [SECONDS]   (default: build, 10)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${2:-10}
orb="$PWD/$build/orb"
seed="$PWD/$build/seed_store"
for f in "$orb" "$PWD/$build/orb-server" "$seed"; do
  [[ -x $f ]] || { echo "serve_bench: $f not built; run tools/setup.sh" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "serve_bench: wrk missing; run tools/setup.sh" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export HF_PROVIDER_CONFDIR="$PWD/examples/awsinst" HF_PROVIDER_NAME=awsinst
export HF_PROVIDER_WORKDIR="$work/work" HF_PROVIDER_LOGDIR="$work/log"
export ORB_SERVER_RATE_LIMIT=off ORB_LOG_LEVEL=warn
mkdir -p "$work/work"
"$seed" "$work/work/orb.db" 100 10 >"$work/ids"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$orb" serve --port "$port" >"$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break
  sleep 0.05
done

first=$(head -n 1 "$work/ids")
python3 - "$work/ids" >"$work/status.lua" <<'PY'
import json, sys
ids = [l.strip() for l in open(sys.argv[1]) if l.strip()]
body = json.dumps({"request_ids": ids[:100]})
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(body))
PY

run() {  # name, url, [wrk args...]
  local name=$1 url=$2
  shift 2
  wrk -t2 -c64 -d"${seconds}s" --latency "$@" "$url" >"$work/$name.txt"
}
run health "http://127.0.0.1:$port/health"
run request "http://127.0.0.1:$port/api/v1/requests/$first"
run status "http://127.0.0.1:$port/api/v1/requests/status" -s "$work/status.lua"
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")

python3 - "$work" "$rss_kib" "$seconds" <<'PY'
import json, re, sys
work, rss, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
results, rows = {"connections": 64, "threads": 2, "seconds": seconds, "peak_rss_kib": rss}, []
for name, label in [("health", "GET /health"), ("request", "GET /api/v1/requests/{id} (10 machines)"),
                    ("status", "POST /api/v1/requests/status (100 ids x 10 machines)")]:
    text = open(f"{work}/{name}.txt").read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non2xx = int(errors.group(1)) if errors else 0
    results[name] = {"requests_per_second": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": non2xx}
    rows.append(f"| {label} | {rps:,.0f} | {p50:.2f} ms | {p99:.2f} ms | {non2xx} |")
json.dump(results, open("bench/serve_results.json", "w"), indent=2)
print("| orb serve, wrk -t2 -c64 | requests/s | p50 | p99 | non-2xx |")
print("| --- | --- | --- | --- | --- |")
print("\n".join(rows))
print(f"\npeak RSS of orb-server: {rss / 1024:.1f} MiB (store: 100 requests, 1,000 machines)")
PY
