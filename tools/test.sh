#!/usr/bin/env bash
# Builds orb with warnings as errors (installing what is missing) and runs every test.
#
# Usage: tools/test.sh [extra ctest arguments, e.g. -R Config]
set -euo pipefail

cd "$(dirname "$0")/.."
ORB_WERROR=ON tools/setup.sh
cd "${ORB_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300 "$@"
