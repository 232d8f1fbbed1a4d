#!/usr/bin/env bash
# Fails when a Catch2 test name would not survive CTest: catch_discover_tests
# splits names at ';' (the test then never runs, and CTest reports the halves
# as passed), and Catch takes a name starting with '-' for an option.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bad=$(grep -rnE 'TEST_CASE\("([^"]*;|-)' "$root/tests" --include='*.cpp' || true)
if [[ -n $bad ]]; then
  echo "test names with ';' or a leading '-' (CTest cannot run them):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "test names ok"
