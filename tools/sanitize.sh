#!/usr/bin/env bash
# Builds orb and every test program with AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer into build-asan and runs the whole ctest suite there
# (gcc; -O1 -g1: line tables for stack traces at a third less compile time than -g,
# and -O0 compiles slower still under ASan; assertions on). A report fails the run,
# from any process: ASan and LSan reports go to files under
# build-asan/sanitizer-reports, checked at the end (an orb process a test expects to
# fail cannot hide one); UBSan's reach stderr whatever log_path says, and the
# test runners of the orb binary (tests/support/sanitizer_report.h) fail on one. No
# suppressions. tools/test.sh runs it.
#
# Usage: tools/sanitize.sh [extra ctest arguments]
# Environment: ORB_ASAN_BUILD_DIR=DIR (default: build-asan)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${ORB_ASAN_BUILD_DIR:-build-asan}
reports="$PWD/$build/sanitizer-reports"
mkdir -p "$build"
rm -rf "$reports"
mkdir -p "$reports"

# Halt at the first error, with a stack trace.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:print_stacktrace=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$reports/asan"
export LSAN_OPTIONS="log_path=$reports/lsan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

start=$SECONDS
echo "sanitize: building in $build" >&2
cmake -S . -B "$build" -G Ninja -DORB_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug \
  "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O1" -DORB_BUILD_BENCH=OFF >&2
cmake --build "$build" -j "$(nproc)" >&2
built=$SECONDS

status=0
# Not the fault campaign (label campaign): 20 concurrent orb processes at sanitizer
# speed overload moto, which then fails inside (HTTP 500 "unable to complete your
# request" after acting), and the ordinary pass runs it already.
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 600 -LE campaign "$@") || status=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: sanitizer reports:" >&2
  for f in "$reports"/*; do
    echo "---- $f" >&2
    cat "$f" >&2
  done
  status=1
fi
echo "sanitize: build $((built - start)) s, tests $((SECONDS - built)) s, exit $status" >&2
exit $status
