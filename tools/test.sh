#!/usr/bin/env bash
# Builds orb with warnings as errors (installing what is missing) and runs every test,
# fuzzes for a short while, then runs the whole suite again built with ASan and UBSan
# (tools/sanitize.sh, in build-asan; ORB_SANITIZE=off skips it).
#
# Usage: tools/test.sh [extra ctest arguments, e.g. -R Config]
set -euo pipefail

cd "$(dirname "$0")/.."
ORB_WERROR=ON tools/setup.sh
# The AWS integration tests run against moto, from Debian's packages (each test
# program starts its own server on a free loopback port).
tools/fetch-moto.sh --deps >/dev/null
cd "${ORB_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300 "$@"
# Then a short fuzzing pass over every parser fed from outside (docs/reliability.md).
cd "$OLDPWD" && tools/fuzz.sh --seconds "${ORB_FUZZ_SECONDS:-15}" --jobs "$(nproc)"
# Then the whole suite again built with ASan and UBSan, in build-asan.
[[ ${ORB_SANITIZE:-} == off ]] || tools/sanitize.sh "$@"
