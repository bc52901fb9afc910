#!/usr/bin/env bash
# Measures orb's start-up cost as HostFactory pays it (a new process per call) and its
# peak memory, plus the micro benchmarks. Prints a Markdown table and writes
# bench/results.json. Budgets are checked here, never in unit tests.
#
# Usage: bench/run.sh [BUILD_DIR]   (default: build; run tools/setup.sh first)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build}
orb="$PWD/$build/orb"
[[ -x $orb ]] || { echo "bench: $orb not built; run tools/setup.sh" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing; run tools/setup.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HF_PROVIDER_CONFDIR="$PWD/examples/awsinst" HF_PROVIDER_NAME=awsinst
export HF_PROVIDER_WORKDIR="$work/work" HF_PROVIDER_LOGDIR="$work/log"

"$orb" storage health >/dev/null  # create the store outside the timings

hyperfine -N --warmup 20 --runs 300 --export-json "$work/hyperfine.json" \
  -n version "$orb --version" \
  -n templates_list "$orb templates list --format json --hf" \
  -n requests_list "$orb requests list --format json" >&2

peak_kib() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
rss_version=$(peak_kib "$orb" --version)
rss_templates=$(peak_kib "$orb" templates list --format json --hf)
size=$(stat -c %s "$orb")

"$PWD/$build/model_bench" --benchmark_format=json --benchmark_out="$work/micro.json" \
  --benchmark_out_format=json >/dev/null

python3 - "$work/hyperfine.json" "$work/micro.json" "$size" "$rss_version" "$rss_templates" <<'PY'
import json, statistics, sys
hf = json.load(open(sys.argv[1]))
micro = json.load(open(sys.argv[2]))
size, rss_v, rss_t = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
budgets = {"version": 2.0, "templates_list": 5.0, "requests_list": 5.0}
rows, results, ok = [], {"processes": {}, "micro": {}}, True
for r in hf["results"]:
    times = sorted(t * 1000 for t in r["times"])
    med = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    budget = budgets.get(r["command"])
    within = budget is None or med <= budget
    ok &= within
    results["processes"][r["command"]] = {"median_ms": med, "p99_ms": p99, "budget_median_ms": budget}
    rows.append(f"| `{r['command']}` | {med:.2f} ms | {p99:.2f} ms | ≤ {budget} ms | {'ok' if within else 'OVER'} |")
for b in micro["benchmarks"]:
    results["micro"][b["name"]] = {"real_time": b["real_time"], "unit": b["time_unit"]}
results["binary_bytes"] = size
results["peak_rss_kib"] = {"version": rss_v, "templates_list": rss_t}
json.dump(results, open("bench/results.json", "w"), indent=2)
print("| process | median | p99 | budget | |")
print("| --- | --- | --- | --- | --- |")
print("\n".join(rows))
print(f"\nbinary: {size/1e6:.2f} MB; peak RSS: --version {rss_v} KiB, templates list {rss_t} KiB (budget 20480 KiB)")
print("\n| micro benchmark | time |\n| --- | --- |")
for b in micro["benchmarks"]:
    print(f"| {b['name']} | {b['real_time']:.1f} {b['time_unit']} |")
ok &= rss_t <= 20480
sys.exit(0 if ok else 1)
PY
