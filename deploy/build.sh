#!/usr/bin/env bash
# Configure and build tenantgate with CMake + Ninja (+ ccache, which CMakeLists.txt picks up).
#
#   deploy/build.sh               Release                      -> build/
#   deploy/build.sh --sanitize    ASan+UBSan, RelWithDebInfo   -> build-asan/ (no bench tools; -O1 -g1)
#   deploy/build.sh --debug       Debug                        -> build-debug/
#   (--sanitize --debug           ASan+UBSan, Debug            -> build-asan-debug/)
#   deploy/build.sh --fuzz        clang, libFuzzer+ASan+UBSan  -> build-fuzz/
#                                 (only the tests/fuzz targets are built; needs clang++)
#
# Executables land in <dir>/bin/ (tg-proxy). Installs missing Debian packages first
# (deploy/install-deps.sh). Extra arguments after `--` go to the CMake configure step.
# Environment: TG_JOBS (default: nproc), TG_SKIP_DEPS=1 (skip install-deps).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

sanitize=0
debug=0
fuzz=0
cmake_extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --debug) debug=1 ;;
    --fuzz) fuzz=1 ;;
    --) shift; cmake_extra=("$@"); break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "build: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ "${TG_SKIP_DEPS:-0}" != 1 ]]; then
  "$root/deploy/install-deps.sh"
fi

dir=build
build_type=Release
sanitize_flag=OFF
if [[ $sanitize == 1 ]]; then
  dir=build-asan
  build_type=RelWithDebInfo
  sanitize_flag=ON
fi
if [[ $debug == 1 ]]; then
  build_type=Debug
  [[ $sanitize == 1 ]] && dir=build-asan-debug || dir=build-debug
fi

# A directory configured earlier with another generator cannot be reused by CMake:
# drop its cache (not the objects; ccache makes the rebuild cheap).
if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
  echo "build: $dir/ was configured with another generator; removing its CMake cache"
  rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
fi

jobs=${TG_JOBS:-$(nproc)}
if [[ $fuzz == 1 ]]; then
  # A separate clang configuration: libFuzzer needs clang, and the project
  # libraries are compiled with coverage instrumentation (TG_FUZZ) there too.
  dir=build-fuzz
  if ! command -v clang++ >/dev/null; then
    echo "build: --fuzz needs clang++" >&2
    exit 2
  fi
  if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  echo "build: configuring $dir/ (RelWithDebInfo -O1 -g1, clang, TG_FUZZ=ON, TG_SANITIZE=ON)"
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DTG_FUZZ=ON -DTG_SANITIZE=ON -DTG_BUILD_TESTS=ON \
    "${cmake_extra[@]}"
  echo "build: building the fuzz targets in $dir/ with $jobs jobs"
  cmake --build "$dir" -j "$jobs" --target \
    fuzz_request_head fuzz_response_head fuzz_yaml_loader fuzz_route_table
  echo "build: done: $root/$dir/bin/"
  exit 0
fi
echo "build: configuring $dir/ ($build_type, TG_SANITIZE=$sanitize_flag)"
# The sanitizer build is for the test suites: the benchmark tools (run by
# hand against the Release build) are left out of it.
bench_flag=ON
[[ $sanitize == 1 ]] && bench_flag=OFF
# The sanitizer build (RelWithDebInfo) is compiled -O1 -g1: line tables are all
# a sanitizer report needs for file:line, and full debug info for the
# Beast/gRPC-heavy units made objects of ~25 MB each, which cost CI minutes in
# compiling and linking.
relwithdebinfo_flags=()
[[ $sanitize == 1 && $build_type == RelWithDebInfo ]] &&
  relwithdebinfo_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
cmake -S . -B "$dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DTG_SANITIZE="$sanitize_flag" \
  "${relwithdebinfo_flags[@]}" \
  -DTG_BUILD_BENCH="$bench_flag" \
  "${cmake_extra[@]}"
echo "build: building $dir/ with $jobs jobs"
cmake --build "$dir" -j "$jobs"
echo "build: done: $root/$dir/bin/"
