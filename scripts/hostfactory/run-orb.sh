#!/bin/sh
# Runs orb with the given arguments, for the five HostFactory provider scripts beside
# this file. orb is $ORB_BIN, else <prefix>/bin/orb of the installation these scripts
# belong to (<prefix>/share/orb/scripts/hostfactory/), else orb on PATH. stdout carries
# orb's one JSON answer; stderr is left alone, never merged into it.
here=$(dirname "$(readlink -f "$0")")
orb=${ORB_BIN:-}
if [ -z "$orb" ]; then
  if [ -x "$here/../../../../bin/orb" ]; then
    orb="$here/../../../../bin/orb"
  elif ! orb=$(command -v orb); then
    echo '{"message":"orb not found: install it, put it on PATH, or set ORB_BIN"}'
    exit 1
  fi
fi
exec "$orb" "$@"
