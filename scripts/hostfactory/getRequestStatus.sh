#!/bin/sh
# HostFactory provider script: getRequestStatus (progress of acquire and return requests).
# Called as "getRequestStatus.sh -f <input file>".
case $0 in */*) orb_script_dir=${0%/*} ;; *) orb_script_dir=. ;; esac
set -- hostfactory getRequestStatus "$@"
. "$orb_script_dir/run-orb.sh"
