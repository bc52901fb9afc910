# shellcheck shell=bash
# Sourced by tools/hf-demo.sh and bench/hf_bench.sh: a throw-away HostFactory provider
# instance against a local moto (from Debian's packages), with the five scripts copied
# into their own scriptPath. Defines: $demo (the sandbox dir), $endpoint, $ami,
# $subnet, the HF_* and AWS_* variables, ORB_BIN, and call SCRIPT JSON (one
# HostFactory-style call: a fresh input file, cwd /, answer in $demo/answer.json).
# Requires: $repo and $build set by the caller. Cleans up on exit.

py=/usr/bin/python3
site="$("$repo/tools/fetch-moto.sh" --deps)"
demo="$(mktemp -d /tmp/orb-hf.XXXXXX)"
port="$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PYTHONPATH="$site" $py -m moto.server -H 127.0.0.1 -p "$port" >"$demo/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; wait $moto_pid 2>/dev/null; rm -rf "$demo"' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 150); do
  $py -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/')" 2>/dev/null && break
  sleep 0.2
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
# Every service (EC2, Auto Scaling, STS) at the emulator; IBM's AWS_ENDPOINT_URL in the
# provider config below is the EC2 endpoint only.
export AWS_ENDPOINT_URL="$endpoint"
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
  {"templateId": "OnDemand-T3", "maxNumber": 5000, "imageId": "$ami", "vmType": "t3.medium",
   "subnetId": "$subnet", "instanceTags": "project=demo;owner=hpc"},
  {"templateId": "Fleet-Mixed", "maxNumber": 200, "providerApi": "EC2Fleet", "fleetType": "instant",
   "imageId": "$ami", "vmTypes": {"t3.small": 1, "t3.medium": 2}, "subnetId": "$subnet"},
  {"templateId": "Fleet-T3", "maxNumber": 200, "providerApi": "EC2Fleet", "fleetType": "instant",
   "imageId": "$ami", "vmTypes": {"t3.small": 1}, "subnetId": "$subnet"},
  {"templateId": "Fleet-Request-T3", "maxNumber": 200, "providerApi": "EC2Fleet",
   "fleetType": "request", "imageId": "$ami", "vmTypes": {"t3.small": 1}, "subnetId": "$subnet"},
  {"templateId": "SpotFleet-T3", "maxNumber": 20, "providerApi": "SpotFleet", "fleetType": "maintain",
   "priceType": "spot", "imageId": "$ami", "vmTypes": {"t3.small": 1}, "subnetId": "$subnet"},
  {"templateId": "ASG-Small", "maxNumber": 20, "providerApi": "ASG",
   "imageId": "$ami", "vmType": "t3.small", "subnetId": "$subnet"}
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
  (cd / && "$demo/scripts/$script" -f "$in") >"$demo/answer.json"
  rm -f "$in"
}

# Evaluates a Python expression over the last answer `d`.
field() { $py -c "import json,sys; d=json.load(open('$demo/answer.json')); print(eval(sys.argv[1]))" "$1"; }
