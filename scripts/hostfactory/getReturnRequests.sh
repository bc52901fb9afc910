#!/bin/sh
# HostFactory provider script: getReturnRequests (hosts the cloud took or is taking back).
# Called as "getReturnRequests.sh -f <input file>".
exec "$(dirname "$(readlink -f "$0")")/run-orb.sh" requests list-returns "$@"
