#!/bin/sh
# HostFactory provider script: requestReturnMachines (give machines back).
# Called as "requestReturnMachines.sh -f <input file>".
exec "$(dirname "$(readlink -f "$0")")/run-orb.sh" machines return "$@"
