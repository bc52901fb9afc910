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
py=/usr/bin/python3

site="$(python3 -c 'import sys; print(sys.argv[1])' "$("$repo/tools/fetch-moto.sh" --deps)")"
demo="$(mktemp -d /tmp/orb-hf-demo.XXXXXX)"
port="$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PYTHONPATH="$site" $py -m moto.server -H 127.0.0.1 -p "$port" >"$demo/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; wait $moto_pid 2>/dev/null; rm -rf "$demo"' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
  $py -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/')" 2>/dev/null && break
  sleep 0.2
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
# An AMI and a subnet of the emulator's default VPC for the templates.
read -r ami subnet < <(PYTHONPATH="$site" $py - "$endpoint" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1")
ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
print(ami, subnet)
PY
)

# The provider instance directory, as HostFactory's hostProviders.json points at it.
mkdir -p "$demo/conf" "$demo/work" "$demo/log" "$demo/scripts"
cat >"$demo/conf/awsinstprov_config.json" <<JSON
{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "$endpoint"}
JSON
cat >"$demo/conf/awsinstprov_templates.json" <<JSON
{"templates": [
  {"templateId": "OnDemand-T3", "maxNumber": 10, "imageId": "$ami", "vmType": "t3.medium",
   "subnetId": "$subnet", "instanceTags": "project=demo;owner=hpc"},
  {"templateId": "Fleet-Mixed", "maxNumber": 20, "providerApi": "EC2Fleet", "fleetType": "instant",
   "imageId": "$ami", "vmTypes": {"t3.small": 1, "t3.medium": 2}, "subnetId": "$subnet"}
]}
JSON
cp "$repo"/scripts/hostfactory/*.sh "$demo/scripts/"
export HF_PROVIDER_NAME=awsinst HF_PROVIDER_CONFDIR="$demo/conf" HF_PROVIDER_WORKDIR="$demo/work"
export HF_PROVIDER_LOGDIR="$demo/log" ORB_BIN="$build/orb"

# Calls one script the way HostFactory does: a fresh input file, an unrelated cwd.
call() {
  local script=$1 input=$2 in
  in="$(mktemp /tmp/hf_in_XXXXXX)"
  printf '%s' "$input" >"$in"
  echo "==> $script -f <$input>" >&2
  (cd / && "$demo/scripts/$script" -f "$in") | tee "$demo/answer.json" | $py -m json.tool >&2
  rm -f "$in"
}
field() { $py -c "import json,sys; d=json.load(open('$demo/answer.json')); print(eval(sys.argv[1]))" "$1"; }

call getAvailableTemplates.sh '{}'
call requestMachines.sh '{"template": {"templateId": "OnDemand-T3", "machineCount": 2}}'
req1=$(field 'd["requestId"]')
call requestMachines.sh '{"template": {"templateId": "Fleet-Mixed", "machineCount": 4}}'
req2=$(field 'd["requestId"]')
poll() {
  for _ in $(seq 15); do
    call getRequestStatus.sh "{\"requests\": [$1]}"
    [[ $(field 'all(r["status"] != "running" for r in d["requests"])') == True ]] && return
    sleep 1
  done
  echo "hf-demo: requests still running after 15 polls" >&2
  exit 1
}
poll "{\"requestId\": \"$req1\"}, {\"requestId\": \"$req2\"}"
machines=$(field 'json.dumps([{"name": m["name"], "machineId": m["machineId"]} for r in d["requests"] for m in r["machines"]])')
call getReturnRequests.sh '{}'
call requestReturnMachines.sh "{\"machines\": $machines}"
ret=$(field 'd["requestId"]')
poll "{\"requestId\": \"$ret\"}"
echo "==> cycle complete: $req1 and $req2 acquired and returned; state in $HF_PROVIDER_WORKDIR/orb.db" >&2
