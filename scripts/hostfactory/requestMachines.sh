#!/bin/sh
# HostFactory provider script: requestMachines (ask for machines of a template).
# Called as "requestMachines.sh -f <input file>".
exec "$(dirname "$(readlink -f "$0")")/run-orb.sh" machines request "$@"
