#!/bin/sh
# HostFactory provider script: requestMachines (ask for machines of a template).
# Called as "requestMachines.sh -f <input file>".
case $0 in */*) orb_script_dir=${0%/*} ;; *) orb_script_dir=. ;; esac
set -- hostfactory requestMachines "$@"
. "$orb_script_dir/run-orb.sh"
