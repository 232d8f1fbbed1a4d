#!/usr/bin/env bash
# How long tg-control's start-up integrity check takes on a large registry
# (not run by CI; docs/operations.md, "Store integrity and disk full").
#
#   tests/bench/integrity_check.sh [TENANTS [INSTANCES_PER_SERVICE]]   (default 10000 5)
#
# Builds the database with tg-control --config (tests/bench/gen_registry.py:
# TENANTS tenants, one service and one route each, INSTANCES_PER_SERVICE
# instances per service), stops it, starts it again on that database and
# prints the "integrity check ... passed in N ms" line, then the same start
# with --skip-integrity-check for the load time alone, and the time of a
# whole-file `PRAGMA integrity_check` with the sqlite3 shell for comparison.
#
# Environment: BENCH_BUILD=build-dir (default build/), BENCH_OUT=DIR (default a
# new /tmp/tg-bench-integrity.* directory, kept).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BENCH_BUILD:-$root/build}
control_bin=$build/bin/tg-control
tenants=${1:-10000}
per_service=${2:-5}
out=${BENCH_OUT:-$(mktemp -d /tmp/tg-bench-integrity.XXXXXX)}
mkdir -p "$out"
pid=

say() { echo "bench: $*" >&2; }
cleanup() { if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

# run NAME ARGS...: starts tg-control, waits (at most 300 s) for the ready file, stops it with SIGTERM.
run() {
  local name=$1
  shift
  rm -f "$out/ready"
  "$control_bin" --db "$out/tg.db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$out/ready" "$@" \
    >"$out/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 3000); do
    [[ -s $out/ready ]] && break
    kill -0 "$pid" 2>/dev/null || { say "tg-control exited; see $out/$name.log"; exit 1; }
    sleep 0.1
  done
  [[ -s $out/ready ]] || { say "tg-control not ready after 300 s; see $out/$name.log"; exit 1; }
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}

say "registry: $tenants tenants, $((tenants * per_service)) instances (output in $out)"
python3 "$root/tests/bench/gen_registry.py" "$out/registry.yaml" "$tenants" "$per_service"
run create --config "$out/registry.yaml"
say "database: $(du -h "$out/tg.db" | cut -f1)"
run checked
grep -o 'integrity check of the registry tables passed in [0-9]* ms' "$out/checked.log"
grep -o 'registry loaded in [0-9]* ms' "$out/checked.log"
run skipped --skip-integrity-check
grep -o 'registry loaded in [0-9]* ms' "$out/skipped.log" | sed 's/$/ (--skip-integrity-check)/'
if command -v sqlite3 >/dev/null; then
  start=$(date +%s%N)
  result=$(sqlite3 "$out/tg.db" 'PRAGMA integrity_check')
  echo "sqlite3 PRAGMA integrity_check (whole file): $result in $(( ($(date +%s%N) - start) / 1000000 )) ms"
fi
