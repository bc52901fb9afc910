#!/usr/bin/env bash
# Builds orb's libFuzzer targets (fuzz/*_fuzz.cc) with clang 14, ASan and UBSan into
# build-fuzz, installing what is missing from Debian's packages, and runs each for a
# while on a copy of its seed corpus (fuzz/corpus/<target>). Prints one line per
# target: executions, executions per second, corpus size, crashes. Exits non-zero
# when any target crashed, leaked, hung or broke an invariant, keeping the input
# that did it (its path is printed, with the command that replays it).
#
# Usage: tools/fuzz.sh [--seconds N] [--jobs J] [--fresh] [target...]
#   --seconds N  run each target for N seconds (default 30; 0 = build only)
#   --jobs J     run J targets at a time (default: 1; the build uses every core)
#   --fresh      start from the seed corpus alone, dropping what earlier runs found
#   target       hf_input, template_file, config_file, ec2_response, ... (default: all)
# Everything a run writes stays under build-fuzz/: the working corpus
# (build-fuzz/corpus/<target>, kept between runs unless --fresh), logs
# (build-fuzz/fuzz-logs/<target>.log) and crashing inputs (build-fuzz/artifacts/<target>/).
# The repository's seed corpus is only read.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds=30
jobs=1
fresh=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --fresh) fresh=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: --seconds needs a whole number" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --jobs needs a number >= 1" >&2; exit 2; }

say() { echo "fuzz: $*" >&2; }

all_targets=()
for f in fuzz/*_fuzz.cc; do
  name=$(basename "$f" _fuzz.cc)
  all_targets+=("$name")
done
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  [[ -f fuzz/${t}_fuzz.cc ]] || { say "no target '$t' (have: ${all_targets[*]})"; exit 2; }
done

# clang, libFuzzer and the sanitizer runtimes, llvm-symbolizer for readable stacks,
# and what the libraries need to build (as tools/setup.sh installs).
readonly PACKAGES=(
  clang-14 libclang-rt-14-dev llvm-14
  cmake ninja-build pkg-config ccache
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libcurl4-openssl-dev libssl-dev
  libpugixml-dev libsqlite3-dev libsqlitecpp-dev libspdlog-dev libfmt-dev libcpp-httplib-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

build=build-fuzz
# Compiler caches hit across clones of the repository too.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
say "building ${targets[*]} in $build"
build_started=$(date +%s)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORB_FUZZ=ON -DORB_BUILD_TESTS=OFF \
    -DORB_BUILD_BENCH=OFF >&2
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >&2
say "built in $(( $(date +%s) - build_started )) s"
[[ $seconds -gt 0 ]] || exit 0

symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:symbolize=1}
[[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer UBSAN_SYMBOLIZER_PATH=$symbolizer

# Runs one target; its summary goes to $build/fuzz-logs/<target>.summary.
run_one() {
  local t=$1
  local corpus=$build/corpus/$t artifacts=$build/artifacts/$t log=$build/fuzz-logs/$t.log
  [[ $fresh -eq 1 ]] && rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts" "$build/fuzz-logs"
  [[ -d fuzz/corpus/$t ]] && cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  local before
  before=$(find "$corpus" -type f | wc -l)
  local args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
              -artifact_prefix="$artifacts/")
  [[ -f fuzz/dict/$t.dict ]] && args+=(-dict="fuzz/dict/$t.dict")
  local rc=0
  "$build/fuzz/fuzz_$t" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  local runs per_s after crashes
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  after=$(find "$corpus" -type f | wc -l)
  crashes=$(grep -c "Test unit written to" "$log" || true)
  if [[ $rc -ne 0 && $crashes -eq 0 ]]; then crashes=1; fi
  {
    printf '%-22s %10s runs %7s exec/s  corpus %5s files (%+d)  crashes %s\n' "$t" \
      "${runs:-?}" "${per_s:-?}" "$after" "$((after - before))" "$crashes"
    if [[ $rc -ne 0 ]]; then
      grep -E "^==[0-9]+==ERROR|^SUMMARY:|runtime error:|FUZZ INVARIANT BROKEN|^  detail:|ERROR: libFuzzer" \
        "$log" | head -8 | sed 's/^/    /'
      grep -o "Test unit written to .*" "$log" | sed 's/^Test unit written to /    kept input: /'
      local unit
      unit=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/^Test unit written to //')
      [[ -n $unit ]] && echo "    replay: $build/fuzz/fuzz_$t $unit"
      echo "    log: $log (exit $rc)"
    fi
  } >"$build/fuzz-logs/$t.summary"
  return "$rc"
}

say "running ${#targets[@]} target(s) for ${seconds} s each, ${jobs} at a time"
pids=()
failed=0
for t in "${targets[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
  run_one "$t" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

for t in "${targets[@]}"; do cat "$build/fuzz-logs/$t.summary"; done
if [[ $failed -ne 0 ]]; then
  say "FAILED: a target crashed, leaked, hung or broke an invariant (see above)"
  exit 1
fi
say "no crash in ${#targets[@]} target(s)"
