#!/usr/bin/env bash
# Fetches Debian trixie's python3-moto package (the AWS emulator orb's integration tests
# run against, and the source of src/model/instance_types_data.inc) and unpacks it.
#
# Usage: tools/fetch-moto.sh [--deps] [DIR]
#
#   DIR     where to unpack the package (default: <repo>/.deps/moto)
#   --deps  also apt-get install the Debian 12 Python packages moto needs to run
#           (as root, or through sudo)
#
# On success prints one line on stdout: the dist-packages folder to put on PYTHONPATH,
# e.g.  PYTHONPATH="$(tools/fetch-moto.sh)" /usr/bin/python3 -m moto.server -p 5000
# Everything else goes to stderr. Running it again when DIR already holds an unpacked
# moto does nothing but print the path.
#
# The .deb comes from the trixie suite of the Debian mirror this machine's apt is
# already configured with: no mirror host is written down here. apt runs with its own
# temporary sources list, lists and cache, so the machine's apt state is not touched.
set -euo pipefail

readonly PACKAGE=python3-moto
readonly SUITE=trixie
# What moto needs at run time, from Debian 12 (see docs in /work/shared/AWS.md).
readonly RUNTIME_DEPS=(python3-boto3 python3-botocore python3-werkzeug python3-flask
  python3-flask-cors python3-jinja2 python3-xmltodict python3-responses python3-requests
  python3-dateutil python3-cryptography python3-yaml python3-pyparsing)

die() {
  echo "fetch-moto: error: $*" >&2
  exit 1
}
note() { echo "fetch-moto: $*" >&2; }

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
}

want_deps=0
dest=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --deps) want_deps=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option '$1' (try --help)" ;;
    *)
      [[ -z "$dest" ]] || die "more than one folder given ('$dest' and '$1')"
      dest="$1"
      ;;
  esac
  shift
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${dest:-$repo_root/.deps/moto}"
mkdir -p "$dest" || die "cannot create folder '$dest'"
dest="$(cd "$dest" && pwd)"
dist="$dest/usr/lib/python3/dist-packages"

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Installs moto's run-time dependencies from the machine's own (Debian 12) sources.
install_runtime_deps() {
  local missing=() pkg
  for pkg in "${RUNTIME_DEPS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    note "moto's run-time dependencies are already installed"
    return
  fi
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null ||
      die "installing ${missing[*]} needs root (or sudo); run as root or install them yourself"
    sudo=(sudo)
  fi
  note "installing ${missing[*]}"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends "${missing[@]}" >&2; then
    note "apt-get install failed; refreshing the package lists and trying once more"
    "${sudo[@]}" apt-get update >&2 || die "apt-get update failed (is the network or the mirror down?)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      "${missing[@]}" >&2 || die "apt-get install failed for: ${missing[*]}"
  fi
}

# Prints "URI KEYRING" for the machine's main Debian archive: the first `deb` source
# whose suites are not a -security/-updates/-backports suite. KEYRING may be empty.
find_mirror() {
  local f
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    # deb822: stanzas separated by blank lines; fields "Name: value"; '#' comments.
    awk '
      function flush() {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "" && enabled !~ /^[Nn]o/) {
          n = split(suites, s, /[ \t]+/); main = 0
          for (i = 1; i <= n; i++)
            if (s[i] != "" && s[i] !~ /-(security|updates|backports|proposed-updates)$/) main = 1
          if (main) { split(uris, u, /[ \t]+/); print u[1], signed; found = 1; exit }
        }
        types = uris = suites = signed = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        line = $0; sub(/^[ \t]+/, "", line)
        key = tolower(line); sub(/:.*/, "", key)
        val = line; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "signed-by" && val ~ /^\//) signed = val
        else if (key == "enabled") enabled = val
      }
      END { if (!found) flush() }
    ' "$f" | head -n 1
  done
  if [[ -r /etc/apt/sources.list ]]; then
    # One-line format: deb [opt=value ...] URI SUITE COMPONENT...
    awk '
      $1 != "deb" { next }
      {
        signed = ""; i = 2
        if ($2 ~ /^\[/) {
          for (; i <= NF; i++) {
            if ($i ~ /^\[?signed-by=/) {
              signed = $i; sub(/^\[?signed-by=/, "", signed); sub(/\]$/, "", signed)
            }
            if ($i ~ /\]$/) { i++; break }
          }
        }
        if ($(i + 1) ~ /-(security|updates|backports)$/) next
        print $i, signed; exit
      }
    ' /etc/apt/sources.list
  fi
}

moto_present() {
  [[ -f "$dist/moto/__init__.py" && -f "$dist/moto/ec2/resources/instance_types.json.gz" ]]
}

fetch_moto() {
  command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian system"
  command -v dpkg >/dev/null || die "dpkg not found: this script needs a Debian system"

  local mirror_line uri keyring
  mirror_line="$(find_mirror | head -n 1)"
  [[ -n "$mirror_line" ]] ||
    die "no Debian 'deb' source found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  uri="${mirror_line%% *}"
  keyring="${mirror_line#* }"
  [[ "$keyring" != "$mirror_line" ]] || keyring=""
  if [[ -z "$keyring" || ! -r "$keyring" ]]; then
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  [[ -r "$keyring" ]] ||
    die "no Debian archive keyring at $keyring (apt-get install debian-archive-keyring)"
  note "using the $SUITE suite of the configured mirror $uri (keys: $keyring)"

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-moto.XXXXXX")" || die "cannot create a temporary folder"
  # shellcheck disable=SC2064  # expand $work now
  trap "rm -rf '$work'" EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  chmod 755 "$work"
  if is_root && id _apt >/dev/null 2>&1; then
    # apt downloads as the unprivileged _apt user when run as root.
    chown -R _apt "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  fi
  cat >"$work/sources.list" <<EOF
deb [signed-by=$keyring] $uri $SUITE main
EOF

  local apt_opts=(
    -o "Dir::Etc::sourcelist=$work/sources.list"
    -o "Dir::Etc::sourceparts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "Acquire::Check-Valid-Until=false"
    -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=false"
  )
  note "reading the $SUITE package index"
  apt-get "${apt_opts[@]}" update >&2 ||
    die "apt-get update for suite '$SUITE' of $uri failed (network down, or mirror without $SUITE?)"
  note "downloading $PACKAGE"
  (cd "$work/deb" && apt-get "${apt_opts[@]}" download "$PACKAGE" >&2) ||
    die "apt-get download $PACKAGE from suite '$SUITE' failed"

  local deb
  deb="$(find "$work/deb" -maxdepth 1 -name "${PACKAGE}_*.deb" | head -n 1)"
  [[ -n "$deb" ]] || die "apt-get download reported success but left no ${PACKAGE}_*.deb"
  note "unpacking $(basename "$deb") into $dest"
  dpkg -x "$deb" "$dest" || die "dpkg -x $deb $dest failed"
  # The version, for attribution (NOTICE) and tools/gen-instance-types.py.
  dpkg-deb -f "$deb" Version >"$dest/.moto-version" ||
    die "cannot read the package version of $deb"
  moto_present || die "unpacked $PACKAGE but found no moto package under $dist"
}

if moto_present; then
  note "moto already unpacked in $dest"
else
  fetch_moto
fi
if [[ $want_deps -eq 1 ]]; then
  install_runtime_deps
fi
echo "$dist"
