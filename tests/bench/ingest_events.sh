#!/usr/bin/env bash
# Ingest figures (not run by CI): events per second tg-control takes on
# POST /v1/ingest/events, batches of 100, with tg-control pinned to one core
# (taskset -c 0) and the load tool on another (-c 1).
#
#   tests/bench/ingest_events.sh [--quick]
#
# Runs, each on a fresh database: grouped (every event the same message: one
# group whose count grows, plus an occurrence per event) and distinct (a new
# group per event), with BENCH_CLIENTS concurrent clients (4), BENCH_SECONDS (10)
# each. Every request is answered after its COMMIT (group commit,
# synchronous=NORMAL), so the figure is durable events per second.
#
# Environment:
#   BENCH_BUILD=build-dir  where bin/tg-control, bin/tgctl, bin/tg-bench-ingest are (default build/)
#   BENCH_CLIENTS=4 BENCH_SECONDS=10 BENCH_BATCH=100
#   BENCH_OUT=DIR          results and logs (default: a new /tmp/tg-bench-ingest.* directory, kept)
# --quick: BENCH_SECONDS=3 (unless set).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/deploy/lib/processes.sh"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

build=${BENCH_BUILD:-$root/build}
control_bin=$build/bin/tg-control
tgctl_bin=$build/bin/tgctl
load_bin=$build/bin/tg-bench-ingest
clients=${BENCH_CLIENTS:-4}
seconds=${BENCH_SECONDS:-$([[ $quick == 1 ]] && echo 3 || echo 10)}
batch=${BENCH_BATCH:-100}
cores=$(nproc)
pin_control=() pin_load=()
if [[ $cores -ge 2 ]] && command -v taskset >/dev/null; then
  pin_control=(taskset -c 0) pin_load=(taskset -c 1)
fi

say() { echo "bench: $*"; }
die() { echo "bench: $*" >&2; exit 1; }
for bin in "$control_bin" "$tgctl_bin" "$load_bin"; do [[ -x $bin ]] || die "$bin not found (set BENCH_BUILD)"; done

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-ingest.XXXXXX")}
mkdir -p "$out"
pids=()
cleanup() {
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

results=$out/results.txt
: >"$results"
for mode in grouped distinct; do
  db=$out/$mode.db
  ready=$out/$mode.ready
  rm -f "$db" "$ready"
  "${pin_control[@]}" "$control_bin" --db "$db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$ready" \
    --log-level warn >"$out/$mode.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_until 15 test -s "$ready" || die "tg-control did not start; see $out/$mode.log"
  grpc=$(sed -n 's/^grpc=//p' "$ready")
  http=$(sed -n 's/^http=//p' "$ready")
  printf 'tenants:\n  - id: acme\nservices:\n  - { name: web, tenant: acme }\n' >"$out/world.yaml"
  "$tgctl_bin" --server "$grpc" apply -f "$out/world.yaml" >/dev/null
  "$tgctl_bin" --server "$grpc" tenants credentials create acme bench --kind ingest | grep '^tg_' >"$out/token"
  flag=()
  [[ $mode == grouped ]] && flag=(--grouped)
  say "$mode: $clients clients, batches of $batch, ${seconds}s"
  line=$("${pin_load[@]}" "$load_bin" --http "$http" --token-file "$out/token" --clients "$clients" \
    --seconds "$seconds" --batch "$batch" "${flag[@]}")
  echo "$mode $line" | tee -a "$results"
  stop_processes "$pid"
done
say "results in $results"
