#!/bin/sh
# HostFactory provider script: getAvailableTemplates (the templates HostFactory may request).
# Called as "getAvailableTemplates.sh -f <input file>".
exec "$(dirname "$(readlink -f "$0")")/run-orb.sh" templates list "$@"
