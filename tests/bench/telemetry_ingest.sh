#!/usr/bin/env bash
# Telemetry ingest figures (not run by CI): how many simulated proxies x series
# per second tg-control keeps up with (every batch acked within its interval,
# nothing refused or failed), and its CPU and memory meanwhile.
#
#   tests/bench/telemetry_ingest.sh [--quick]
#
# For each "PROXIESxSERIES" in BENCH_LOADS (default "10x100 100x100 100x1000
# 100x2000 100x4000"): a fresh tg-control (empty database, --http for
# /metrics), tg-bench-telemetry (tests/bench/telemetry_ingest_load.cpp) with
# that many proxies, each sending one batch of SERIES route series per second
# for BENCH_SECONDS (20); tg-control's CPU (utime + stime from /proc over the
# run, in cores), its RSS at the end, the ack latency (send to ack), the
# stored rate against the offered one, and the largest lag tg-control
# reports (tg_control_telemetry_lag_seconds). "keeps up" = stored batches/s
# within 2% of offered and no stream failure.
#
# Environment: BENCH_BUILD=build-dir (default build/), BENCH_LOADS, BENCH_SECONDS,
# BENCH_OUT=DIR (results and logs; default a new /tmp/tg-bench-telemetry.* directory, kept).
# --quick: BENCH_LOADS="10x100 100x1000", BENCH_SECONDS=10 (unless set).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ ${1:-} == --quick ]]; then
  : "${BENCH_LOADS:=10x100 100x1000}"
  : "${BENCH_SECONDS:=10}"
fi
build=${BENCH_BUILD:-$root/build}
loads=${BENCH_LOADS:-10x100 100x100 100x1000 100x2000 100x4000}
seconds=${BENCH_SECONDS:-20}
out=${BENCH_OUT:-$(mktemp -d /tmp/tg-bench-telemetry.XXXXXX)}
mkdir -p "$out"
control_bin=$build/bin/tg-control
load_bin=$build/bin/tg-bench-telemetry
[[ -x $control_bin && -x $load_bin ]] || { echo "build tg-control and tg-bench-telemetry first ($build)" >&2; exit 2; }

control_pid=
cleanup() { [[ -n $control_pid ]] && kill "$control_pid" 2>/dev/null && wait "$control_pid" 2>/dev/null; true; }
trap cleanup EXIT

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

printf '%-10s %8s %10s %10s %9s %9s %9s %7s %8s %s\n' load offered/s stored/s series/s ack_p50 ack_p99 lag_max cpu rss_mb keeps_up | tee "$out/results.txt"
for load in $loads; do
  proxies=${load%x*}
  series=${load#*x}
  dir=$out/$load
  rm -rf "$dir"
  mkdir -p "$dir"
  "$control_bin" --db "$dir/tg.db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$dir/ready" \
    --log-level warn > "$dir/control.log" 2>&1 &
  control_pid=$!
  for _ in $(seq 200); do [[ -s $dir/ready ]] && break; sleep 0.05; done
  grpc=$(sed -n 's/^grpc=//p' "$dir/ready")
  http=$(sed -n 's/^http=//p' "$dir/ready")
  before=$(ticks "$control_pid")
  started=$(date +%s.%N)
  "$load_bin" --target "$grpc" --proxies "$proxies" --series "$series" --seconds "$seconds" > "$dir/load.txt" 2>&1 || true
  ended=$(date +%s.%N)
  after=$(ticks "$control_pid")
  rss_kb=$(awk '/VmRSS/ { print $2 }' "/proc/$control_pid/status")
  lag=$(curl -s "http://$http/metrics" | awk '/^tg_control_telemetry_lag_seconds/ { if ($2 > m) m = $2 } END { print m + 0 }')
  cleanup
  control_pid=
  line=$(cat "$dir/load.txt")
  field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
  offered=$(field offered_batches_s)
  stored=$(field stored_batches_s)
  failures=$(field stream_failures)
  cpu=$(awk -v a="$before" -v b="$after" -v hz="$hz" -v s="$started" -v e="$ended" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')
  keeps=$(awk -v o="$offered" -v s="$stored" -v f="${failures:-1}" 'BEGIN { print (s >= 0.98 * o && f == 0) ? "yes" : "no" }')
  printf '%-10s %8s %10s %10s %9s %9s %9s %7s %8s %s\n' "$load" "$offered" "$stored" "$(field stored_series_s)" \
    "$(field ack_p50_ms)" "$(field ack_p99_ms)" "$lag" "$cpu" "$((rss_kb / 1024))" "$keeps" | tee -a "$out/results.txt"
done
echo "results and logs: $out"
