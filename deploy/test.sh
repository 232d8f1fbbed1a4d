#!/usr/bin/env bash
# THE test command (CI runs exactly this through .ci/run).
#
#   deploy/test.sh
#
# 1. installs missing Debian packages (deploy/install-deps.sh);
# 2. builds Release into build/ and runs its ctest suite;
# 3. builds ASan+UBSan (RelWithDebInfo) into build-asan/ and runs the same suite there,
#    with leak detection on and any sanitizer report fatal;
# 4. when clang++ is installed: builds the libFuzzer targets (deploy/build.sh --fuzz,
#    build-fuzz/) and runs their ctest suite: each target replays its seed corpus
#    (tests/fuzz/corpus/) and fuzzes a copy of it for 20 s (tests/fuzz/README.md).
# Runs both suites even when the first fails (the second is skipped only when the
# Release build itself fails), then exits non-zero if anything failed.
# Non-interactive (no stdin needed). A suite with no tests counts as a failure.
#
# Environment: TG_TEST_JOBS (ctest -j, default 2: integration tests start processes),
# TG_TEST_TIMEOUT (default per-test timeout in s for tests without their own, default 300),
# TG_TEST_ASAN=0 (skip the sanitizer build), TG_TEST_FUZZ=0 (skip the fuzz stage),
# TG_JOBS (build jobs, default nproc).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec </dev/null
# Each suite tests the tg-proxy of its own build (the integration tests honour this override).
unset TG_PROXY_BIN

test_jobs=${TG_TEST_JOBS:-2}
test_timeout=${TG_TEST_TIMEOUT:-300}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/tg-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

results=()      # one "name: text" line per stage, printed in the summary
failed=0
total_passed=0
total_failed=0

stage_fail() { results+=("$1: $2"); failed=1; }

# run_suite NAME BUILD_DIR [ENV=VALUE...]: ctest in BUILD_DIR, counts parsed from its summary.
run_suite() {
  local name=$1 dir=$2; shift 2
  local log="$logdir/$name.log" rc=0
  echo
  echo "==== test: $name suite (ctest --test-dir $dir -j$test_jobs) ===="
  env "$@" ctest --test-dir "$dir" --output-on-failure --no-tests=error \
      -j "$test_jobs" --timeout "$test_timeout" 2>&1 | tee "$log" || rc=$?
  # ctest: "100% tests passed, 0 tests failed out of 12"
  local line passed=0 nfailed=0 total=0
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  if [[ -n "$line" ]]; then
    nfailed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((total - nfailed))
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + nfailed))
  if [[ $rc -ne 0 || -z "$line" || $nfailed -ne 0 ]]; then
    stage_fail "$name" "FAILED (ctest exit $rc; ${line:-no ctest summary})"
  else
    results+=("$name: ok ($passed tests)")
  fi
}

# build_stage NAME BUILD_ARGS...: returns non-zero (and records it) if the build fails.
build_stage() {
  local name=$1; shift
  echo
  echo "==== test: $name build (deploy/build.sh $*) ===="
  if ! TG_SKIP_DEPS=1 "$root/deploy/build.sh" "$@"; then
    stage_fail "$name build" "FAILED"
    return 1
  fi
}

start=$SECONDS
"$root/deploy/install-deps.sh"

release_built=0
if build_stage release; then
  release_built=1
  run_suite release build
fi

if [[ $release_built == 0 ]]; then
  results+=("asan: skipped (the release build failed)")
elif [[ "${TG_TEST_ASAN:-1}" != 0 ]]; then
  if build_stage asan --sanitize; then
    run_suite asan build-asan \
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fi
else
  results+=("asan: skipped (TG_TEST_ASAN=0)")
fi

if [[ "${TG_TEST_FUZZ:-1}" == 0 ]]; then
  results+=("fuzz: skipped (TG_TEST_FUZZ=0)")
elif ! command -v clang++ >/dev/null; then
  results+=("fuzz: skipped (no clang++)")
elif build_stage fuzz --fuzz; then
  # Each fuzz test is bounded by its own -max_total_time; ctest only lists fuzz tests there.
  run_suite fuzz build-fuzz \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

echo
echo "==== test summary ($((SECONDS - start)) s) ===="
for r in "${results[@]}"; do echo "  $r"; done
if [[ $failed -eq 0 ]]; then
  echo "deploy/test.sh: ALL PASSED"
else
  echo "deploy/test.sh: FAILED"
fi
# Totals over all suites (the unit and integration tests run once per build).
echo "tests: $total_passed passed, $total_failed failed"
exit $failed
