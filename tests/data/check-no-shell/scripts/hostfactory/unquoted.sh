#!/bin/sh
# A planted violation for tools/check-no-shell.sh (ctest no_shell_detects_a_shell).
exec orb hostfactory requestMachines $@
