#!/bin/sh
# HostFactory provider script: getRequestStatus (progress of acquire and return requests).
# Called as "getRequestStatus.sh -f <input file>".
exec "$(dirname "$(readlink -f "$0")")/run-orb.sh" requests status "$@"
