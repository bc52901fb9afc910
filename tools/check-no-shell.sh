#!/usr/bin/env bash
# Checks that orb never starts a process: no shell (system, popen, wordexp) and no
# exec/spawn/fork anywhere in the product code (src/, unit tests beside it excepted),
# so no user-provided string can ever reach a shell. Also checks that the HostFactory
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
          --exclude='*_test.cc' "^(?!\s*(//|\*|/\*)).*${calls}" "$root/src" || true)
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
