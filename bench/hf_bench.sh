#!/usr/bin/env bash
# Wall time of each HostFactory script call, process start to exit, through the real
# scripts against a local moto (hyperfine, 30 runs each), and the AWS calls orb makes
# for one getRequestStatus covering 100 open requests of 10 machines each. The times
# include moto's own answer time for calls that reach it; moto is far slower than AWS
# per call, so they bound orb's cost from above.
#
# Usage: bench/hf_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/${1:-build}"
[[ -x "$build/orb" ]] || { echo "hf_bench: $build/orb not built; run tools/setup.sh" >&2; exit 1; }
# shellcheck source=tools/lib/hf-sandbox.sh
source "$repo/tools/lib/hf-sandbox.sh"

# A finished request, a healthy fleet of hosts, and the input files for each call.
call requestMachines.sh '{"template": {"templateId": "OnDemand-T3", "machineCount": 2}}'
req=$(field 'd["requestId"]')
call getRequestStatus.sh "{\"requests\": [{\"requestId\": \"$req\"}]}"
echo '{}' >"$demo/empty.json"
echo '{"template": {"templateId": "OnDemand-T3", "machineCount": 1}}' >"$demo/request.json"
echo "{\"requests\": [{\"requestId\": \"$req\"}]}" >"$demo/status.json"
field 'json.dumps({"machines": [{"name": m["name"], "machineId": m["machineId"]} for m in d["requests"][0]["machines"]]})' >"$demo/machines.json"

s="$demo/scripts"
cd /
hyperfine -N --warmup 3 --runs 30 --export-json "$demo/hf.json" \
  -n getAvailableTemplates "$s/getAvailableTemplates.sh -f $demo/empty.json" \
  -n getRequestStatus_terminal "$s/getRequestStatus.sh -f $demo/status.json" \
  -n getReturnRequests_input "$s/getReturnRequests.sh -f $demo/machines.json" \
  -n requestMachines "$s/requestMachines.sh -f $demo/request.json" >&2
# requestReturnMachines with a machine that is already gone: the call's own cost.
echo '{"machines": [{"name": "ip-10-9-9-9.ec2.internal", "machineId": "i-0000000000000dead"}]}' \
  >"$demo/return.json"
hyperfine -N --warmup 3 --runs 30 --export-json "$demo/hf2.json" \
  -n requestReturnMachines_unknown "$s/requestReturnMachines.sh -f $demo/return.json" >&2

# 100 open requests of 10 machines, then one status call over all of them.
ids=()
for _ in $(seq 100); do
  call requestMachines.sh '{"template": {"templateId": "OnDemand-T3", "machineCount": 10}}'
  ids+=("{\"requestId\": \"$(field 'd["requestId"]')\"}")
done
input="{\"requests\": [$(IFS=,; echo "${ids[*]}")]}"
call getRequestStatus.sh "$input"
calls=$(grep 'getRequestStatus exit=0' "$HF_PROVIDER_LOGDIR/orb.log" | tail -1 | sed 's/.*cloud_calls=\([0-9]*\).*/\1/')
machines=$(field 'sum(len(r["machines"]) for r in d["requests"])')

$py - "$demo/hf.json" "$demo/hf2.json" "$calls" "$machines" <<'PY'
import json, statistics, sys
rows = []
for f in sys.argv[1:3]:
    for r in json.load(open(f))["results"]:
        t = sorted(x * 1000 for x in r["times"])
        rows.append((r["command"], statistics.median(t), t[-1]))
print("| HostFactory call (through its script) | median | max |")
print("| --- | --- | --- |")
for name, med, mx in rows:
    print(f"| {name} | {med:.1f} ms | {mx:.1f} ms |")
print(f"\ngetRequestStatus over 100 open requests x 10 machines ({sys.argv[4]} machines): "
      f"{sys.argv[3]} AWS call(s)")
PY
