#!/usr/bin/env bash
# Checks that orb never starts a process: no shell (system, popen, wordexp) and no
# exec/spawn/fork anywhere in the product code (src/, unit tests beside it excepted),
# so no user-provided string can ever reach a shell. Two files are allowed what they
# need, and nothing else: src/cli/server_handoff.cc replaces orb with its own server
# program (a fixed path beside orb, no shell, no $PATH search), and
# src/api/server_command.cc forks `orb server start` into the background. Also checks that the HostFactory
# provider scripts pass their arguments on as "$@" and never eval anything. Run by
# ctest (test no_shell); exits 1 naming every offending line.
#
# Usage: tools/check-no-shell.sh [ROOT]   (ROOT defaults to the source tree)
set -euo pipefail

root=${1:-"$(dirname "$0")/.."}
status=0

# A call (not a mention in a comment) of a function that runs a program or a shell.
calls='\b(system|popen|wordexp|execl|execlp|execle|execv|execve|execvp|execvpe|fexecve|posix_spawn|posix_spawnp|fork|vfork|clone|clone3)\s*\('
found=$(grep -rnP --include='*.cc' --include='*.h' --include='*.inc' \
          --exclude='*_test.cc' "^(?!\s*(//|\*|/\*)).*${calls}" "$root/src" |
          grep -vE '^[^:]*src/cli/server_handoff\.cc:[0-9]+:.*\bexecv\(|^[^:]*src/api/server_command\.cc:[0-9]+:.*\bfork\(' ||
          true)
if [[ -n $found ]]; then
  echo "check-no-shell: orb must not start processes or shells; found:" >&2
  echo "$found" >&2
  status=1
fi

# The provider scripts: arguments passed on quoted, nothing evaluated.
scripts="$root/scripts/hostfactory"
if [[ -d $scripts ]]; then
  found=$(grep -HnE '(^|[^"])\$@|\$\*|(^|[;&|[:space:]])(eval|sh -c|bash -c)([[:space:]]|$)|`' \
            "$scripts"/*.sh || true)
  if [[ -n $found ]]; then
    echo "check-no-shell: provider scripts must pass \"\$@\" quoted and never eval:" >&2
    echo "$found" >&2
    status=1
  fi
fi

if [[ $status -eq 0 ]]; then
  echo "check-no-shell: no process or shell started by orb; provider scripts quote \"\$@\""
fi
exit $status
