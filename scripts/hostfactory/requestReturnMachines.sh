#!/bin/sh
# HostFactory provider script: requestReturnMachines (give machines back).
# Called as "requestReturnMachines.sh -f <input file>".
case $0 in */*) orb_script_dir=${0%/*} ;; *) orb_script_dir=. ;; esac
set -- hostfactory requestReturnMachines "$@"
. "$orb_script_dir/run-orb.sh"
