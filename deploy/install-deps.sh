#!/usr/bin/env bash
# Install the Debian 12 packages that the build and the tests need, only when missing.
#
#   deploy/install-deps.sh            build + test dependencies
#   deploy/install-deps.sh --bench    also nginx, haproxy and wrk (tests/bench/run.sh and
#                                     tests/bench/resilience.py; taskset is util-linux's)
#
# Non-interactive; runs `apt-get update` at most once, and only when something is
# missing. Works as root (CI) or through sudo. Safe to run repeatedly: when every
# package is present it does nothing and prints one line.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libspdlog-dev catch2 libcli11-dev libxxhash-dev libssl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev libsqlitecpp-dev
  curl python3 clang libclang-rt-14-dev
  prometheus  # promtool: the tests lint both /metrics pages with `promtool check metrics`
  prometheus-alertmanager  # alertmanager + amtool: the delivery tests post to a real Alertmanager
)
bench_packages=(nginx haproxy wrk util-linux)

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

for arg in "$@"; do
  case "$arg" in
    --bench) packages+=("${bench_packages[@]}") ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and not root, and no sudo to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" \
  --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: done"
