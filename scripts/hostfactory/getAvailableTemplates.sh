#!/bin/sh
# HostFactory provider script: getAvailableTemplates (the templates HostFactory may request).
# Called as "getAvailableTemplates.sh -f <input file>".
case $0 in */*) orb_script_dir=${0%/*} ;; *) orb_script_dir=. ;; esac
set -- hostfactory getAvailableTemplates "$@"
. "$orb_script_dir/run-orb.sh"
