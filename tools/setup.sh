#!/usr/bin/env bash
# Installs orb's build dependencies from Debian 12 packages (only those missing; the
# PostgreSQL server is for the tests, which start a throw-away cluster of it), the
# npm packages of package.json (Swagger UI's files for /docs, the OpenAPI linter and
# the headless-browser test driver, the MCP SDK for the MCP tests; `npm ci`, only when
# package-lock.json changed), and
# builds orb into ./build. Safe to run again: it installs and rebuilds only what changed.
#
# Usage: tools/setup.sh
# Environment:
#   ORB_WERROR=ON      treat compiler warnings as errors (tools/test.sh and CI set it)
#   ORB_BUILD_DIR=DIR  build directory (default: build)
#   ORB_BUILD_TYPE=T   CMake build type (default: RelWithDebInfo)
set -euo pipefail

cd "$(dirname "$0")/.."

readonly PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libcurl4-openssl-dev libssl-dev
  libpugixml-dev libsqlite3-dev libsqlitecpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev prometheus-cpp-dev libjwt-dev
  libpq-dev postgresql
  hyperfine time python3 sqlite3 openssl wrk curl chromium
)

say() { echo "setup: $*" >&2; }

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm: Debian's, unless the machine already has them (a nodejs package of
# another origin bundles npm, and Debian's npm package would conflict with it).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

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

# npm packages, exactly as package-lock.json pins them, from the registry npm is
# configured with. No install scripts run and no browser is downloaded: the tests
# drive Debian's chromium.
if ! cmp -s package-lock.json node_modules/.orb-installed-package-lock.json; then
  say "installing npm packages (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 SCARF_ANALYTICS=false \
    npm ci --no-audit --no-fund --ignore-scripts >&2
  cp package-lock.json node_modules/.orb-installed-package-lock.json
fi

build_dir=${ORB_BUILD_DIR:-build}
say "building in ${build_dir}"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${ORB_BUILD_TYPE:-RelWithDebInfo}" \
  -DORB_WERROR="${ORB_WERROR:-OFF}" >&2
cmake --build "$build_dir" -j "$(nproc)" >&2
say "done: ${build_dir}/orb"
