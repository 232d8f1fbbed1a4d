#!/usr/bin/env bash
# What table streams that never read, and node ids that churn, cost tg-control
# (not run by CI; figures in docs/performance.md, "Balancer-table stream").
#
#   tests/bench/table_stream_idle.sh
#
# 1. idle: tg-control with a generated registry (BENCH_TENANTS tenants, 5
#    instances each: about 2 MB of table at 5,000); its RSS; then
#    BENCH_STREAMS (300) streams, each on its own connection, send a hello and
#    never read (tg-bench-idle-streams --mode idle): tg-control writes each the
#    whole table, which stays in flight. RSS again once every stream was sent it.
# 2. churn: tg-control on an empty database; BENCH_CHURN (20000) node ids come
#    and go one after the other (--mode churn); RSS and the proxy records kept.
#
# Environment: BENCH_BUILD=build-dir (default build/), BENCH_CONTROL=a tg-control
# binary to measure instead of the build's (e.g. an older one, for before/after),
# BENCH_TENANTS=5000 BENCH_STREAMS=300 BENCH_CHURN=20000, BENCH_OUT=DIR (default:
# a new /tmp/tg-bench-idle.* directory, kept). Ports are picked at run time;
# every process started here is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/deploy/lib/processes.sh"

build=${BENCH_BUILD:-$root/build}
control_bin=${BENCH_CONTROL:-$build/bin/tg-control}
tool=$build/bin/tg-bench-idle-streams
tenants=${BENCH_TENANTS:-5000}
streams=${BENCH_STREAMS:-300}
churn=${BENCH_CHURN:-20000}
for bin in "$control_bin" "$tool"; do
  [[ -x $bin ]] || { echo "bench: $bin not found (build tg-control and tg-bench-idle-streams)" >&2; exit 1; }
done
out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-idle.XXXXXX")}
mkdir -p "$out"
pids=()
cleanup() {
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "bench: $*" >&2; }
record() { echo "$*" | tee -a "$out/results.txt"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# start_control NAME [ARGS...]: sets control_pid, control_grpc, control_http.
start_control() {
  local name=$1; shift
  "$control_bin" --db "$out/$name.db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$out/$name.ready" \
    --log-level warn "$@" >"$out/$name.log" 2>&1 &
  control_pid=$!
  pids+=("$control_pid")
  wait_until 120 grep -qs '^http=' "$out/$name.ready" || { say "tg-control did not start (see $out/$name.log)"; exit 1; }
  control_grpc=$(sed -n 's/^grpc=//p' "$out/$name.ready")
  control_http=$(sed -n 's/^http=//p' "$out/$name.ready")
}

metric() {
  curl -s "http://$control_http/metrics" | awk -v m="$1" '$1 == m {print $2; exit}'
}

# ---- 1. idle streams ----------------------------------------------------------
python3 "$root/tests/bench/gen_registry.py" "$out/registry.yaml" "$tenants" 5
start_control idle --config "$out/registry.yaml"
table_bytes=$(metric tg_control_table_payload_bytes)
sleep 1
before=$(rss_kib "$control_pid")
say "idle: $streams streams that never read, table $table_bytes bytes"
"$tool" --server "$control_grpc" --mode idle --streams "$streams" >"$out/idle.txt" 2>&1 &
tool_pid=$!
pids+=("$tool_pid")
wait_until 180 grep -q '^ready' "$out/idle.txt" || { say "streams not ready: $(cat "$out/idle.txt")"; exit 1; }
sleep 2
after=$(rss_kib "$control_pid")
record "idle streams=$streams table_bytes=$table_bytes control_rss_kib_before=$before control_rss_kib_after=$after" \
  "delta_mib=$(( (after - before) / 1024 ))"
stop_processes "$tool_pid"
stop_processes "$control_pid"

# ---- 2. churning node ids -----------------------------------------------------
start_control churn
before=$(rss_kib "$control_pid")
say "churn: $churn node ids, one after the other"
"$tool" --server "$control_grpc" --mode churn --streams "$churn" >"$out/churn.txt" 2>&1
after=$(rss_kib "$control_pid")
record "churn node_ids=$churn control_rss_kib_before=$before control_rss_kib_after=$after" \
  "delta_mib=$(( (after - before) / 1024 )) $(cat "$out/churn.txt")"
stop_processes "$control_pid"
say "results in $out/results.txt"
