#!/usr/bin/env bash
# A complete HostFactory cycle through the five provider scripts, exactly as Symphony
# drives them, against a local AWS emulator (moto, from Debian's packages) with orb's
# embedded SQLite store. Prints each call and its answer.
#
# Usage: tools/hf-demo.sh [BUILD_DIR]   (default: build; run tools/setup.sh first)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/${1:-build}"
[[ -x "$build/orb" ]] || { echo "hf-demo: $build/orb not built; run tools/setup.sh" >&2; exit 1; }
# shellcheck source=tools/lib/hf-sandbox.sh
source "$repo/tools/lib/hf-sandbox.sh"

# Shows each call and its answer.
show() {
  echo "==> $1 -f <$2>" >&2
  call "$1" "$2"
  $py -m json.tool <"$demo/answer.json" >&2
}

show getAvailableTemplates.sh '{}'
show requestMachines.sh '{"template": {"templateId": "OnDemand-T3", "machineCount": 2}}'
req1=$(field 'd["requestId"]')
show requestMachines.sh '{"template": {"templateId": "Fleet-Mixed", "machineCount": 2}}'
req2=$(field 'd["requestId"]')
show requestMachines.sh '{"template": {"templateId": "ASG-Small", "machineCount": 2}}'
req3=$(field 'd["requestId"]')
poll() {
  for _ in $(seq 15); do
    show getRequestStatus.sh "{\"requests\": [$1]}"
    [[ $(field 'all(r["status"] != "running" for r in d["requests"])') == True ]] && return
    sleep 1
  done
  echo "hf-demo: requests still running after 15 polls" >&2
  exit 1
}
poll "{\"requestId\": \"$req1\"}, {\"requestId\": \"$req2\"}, {\"requestId\": \"$req3\"}"
machines=$(field 'json.dumps([{"name": m["name"], "machineId": m["machineId"]} for r in d["requests"] for m in r["machines"]])')
show getReturnRequests.sh '{}'
show requestReturnMachines.sh "{\"machines\": $machines}"
ret=$(field 'd["requestId"]')
poll "{\"requestId\": \"$ret\"}"
echo "==> cycle complete: $req1, $req2 and $req3 acquired and returned; state in $HF_PROVIDER_WORKDIR/orb.db" >&2
