#!/bin/sh
# HostFactory provider script: getReturnRequests (hosts the cloud took or is taking back).
# Called as "getReturnRequests.sh -f <input file>".
case $0 in */*) orb_script_dir=${0%/*} ;; *) orb_script_dir=. ;; esac
set -- hostfactory getReturnRequests "$@"
. "$orb_script_dir/run-orb.sh"
