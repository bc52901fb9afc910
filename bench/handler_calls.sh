#!/usr/bin/env bash
# AWS calls orb makes per handler to acquire, poll and return 100 machines, through
# the HostFactory scripts against a local moto (counted from orb's per-call log line).
#
# Usage: bench/handler_calls.sh [BUILD_DIR]   (default: build)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/${1:-build}"
[[ -x "$build/orb" ]] || { echo "handler_calls: $build/orb not built; run tools/setup.sh" >&2; exit 1; }
# shellcheck source=tools/lib/hf-sandbox.sh
source "$repo/tools/lib/hf-sandbox.sh"
# Room for 100 machines in every template.
$py - "$HF_PROVIDER_CONFDIR/awsinstprov_templates.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["templates"]:
    t["maxNumber"] = 1000
json.dump(d, open(sys.argv[1], "w"))
PY

log="$HF_PROVIDER_LOGDIR/orb.log"
calls_since() {
  tail -n +"$1" "$log" | sed -n 's/.* exit=[0-9]* .*cloud_calls=\([0-9]*\).*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }'
}
lines() { if [[ -f $log ]]; then wc -l <"$log"; else echo 0; fi; }

echo "| handler (template) | acquire | status polls until complete | return + its polls |"
echo "| --- | --- | --- | --- |"
for spec in "RunInstances:OnDemand-T3:100" "EC2Fleet-instant:Fleet-T3:100" \
            "EC2Fleet-request:Fleet-Request-T3:100" "SpotFleet:SpotFleet-T3:100" "ASG:ASG-Small:100"; do
  IFS=: read -r api tmpl count <<<"$spec"
  start=$(( $(lines) + 1 ))
  call requestMachines.sh "{\"template\": {\"templateId\": \"$tmpl\", \"machineCount\": $count}}"
  req=$(field 'd["requestId"]')
  acquire=$(calls_since "$start")
  start=$(( $(lines) + 1 ))
  for _ in $(seq 20); do
    call getRequestStatus.sh "{\"requests\": [{\"requestId\": \"$req\"}]}"
    [[ $(field 'd["requests"][0]["status"]') != running ]] && break
  done
  status=$(calls_since "$start")
  machines=$(field 'json.dumps([{"name": m["name"], "machineId": m["machineId"]} for m in d["requests"][0]["machines"]])')
  start=$(( $(lines) + 1 ))
  call requestReturnMachines.sh "{\"machines\": $machines}"
  ret=$(field 'd["requestId"]')
  for _ in $(seq 20); do
    call getRequestStatus.sh "{\"requests\": [{\"requestId\": \"$ret\"}]}"
    [[ $(field 'd["requests"][0]["status"]') != running ]] && break
  done
  returned=$(calls_since "$start")
  echo "| $api ($tmpl, $count) | $acquire | $status | $returned |"
done
