# Sourced by the five HostFactory provider scripts beside this file, with the orb
# command to run already in "$@": finds orb and execs it, so the script's process
# becomes orb's. orb is $ORB_BIN, else <prefix>/bin/orb of the installation these
# scripts belong to (<prefix>/share/orb/scripts/hostfactory/, also through a symlinked
# scriptPath), else orb on PATH. stdout carries orb's one JSON answer; stderr is left
# alone, never merged into it. Only shell built-ins on the common path: HostFactory
# starts a script for every call.
if [ -z "${ORB_BIN:-}" ]; then
  orb_here=$orb_script_dir
  if [ -L "$0" ]; then
    orb_here=$(dirname "$(readlink -f "$0")")
  fi
  if [ -x "$orb_here/../../../../bin/orb" ]; then
    ORB_BIN="$orb_here/../../../../bin/orb"
  elif ! ORB_BIN=$(command -v orb); then
    echo '{"message":"orb not found: install it, put it on PATH, or set ORB_BIN"}'
    exit 1
  fi
fi
exec "$ORB_BIN" "$@"
