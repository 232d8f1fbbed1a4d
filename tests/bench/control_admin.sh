#!/usr/bin/env bash
# Control-plane figures (not run by CI): Admin API write throughput and latency,
# and tg-control startup time with 10,000 tenants / 50,000 instances.
#
#   tests/bench/control_admin.sh [--quick]
#
# 1. Startup. A generated YAML file: BENCH_TENANTS tenants (10,000), one service
#    each with BENCH_INSTANCES_PER_SERVICE instances (5, so 50,000) and one route.
#    Times from spawn to the --ready-file (both ports bound, registry loaded and
#    committed), with peak RSS (VmHWM):
#      a. --config FILE on an empty database (parse, validate, apply, commit)
#      b. restart, same database and --config FILE (load the DB, re-apply: all unchanged)
#      c. restart, same database, no --config (load the DB only)
# 2. Writes. tg-bench-admin (built with the tests: tests/bench/control_admin_load.cpp):
#    BENCH_CLIENTS concurrent clients ("1 8 32"), one write in flight each, for
#    BENCH_SECONDS (10) per run: CreateRoute, then RegisterInstance, on an empty
#    registry; then CreateRoute with the 10,000-tenant registry loaded (8 clients).
#    Every write returns after its commit (group commit, synchronous=NORMAL).
#
# Environment:
#   BENCH_BUILD=build-dir  where bin/tg-control and bin/tg-bench-admin are (default build/)
#   BENCH_TENANTS=10000 BENCH_INSTANCES_PER_SERVICE=5 BENCH_CLIENTS="1 8 32" BENCH_SECONDS=10
#   BENCH_OUT=DIR          results and logs (default: a new /tmp/tg-bench-control.* directory, kept)
# --quick: BENCH_SECONDS=3, BENCH_CLIENTS="1 8" (unless set).
#
# Everything listens on 127.0.0.1 with ports picked at run time (port 0 + --ready-file);
# every process started here is stopped on exit.
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
load_bin=$build/bin/tg-bench-admin
tenants=${BENCH_TENANTS:-10000}
per_service=${BENCH_INSTANCES_PER_SERVICE:-5}
seconds=${BENCH_SECONDS:-$([[ $quick == 1 ]] && echo 3 || echo 10)}
clients_list=${BENCH_CLIENTS:-$([[ $quick == 1 ]] && echo "1 8" || echo "1 8 32")}

say() { echo "bench: $*"; }
die() { echo "bench: $*" >&2; exit 1; }
[[ -x $control_bin ]] || die "$control_bin not found (build tg-control, or set BENCH_BUILD)"
[[ -x $load_bin ]] || die "$load_bin not found (build tg-bench-admin with the tests, or set BENCH_BUILD)"

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-control.XXXXXX")}
mkdir -p "$out"
pids=()
cleanup() {
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the big YAML file ------------------------------------------------------
big=$out/big.yaml
python3 "$root/tests/bench/gen_registry.py" "$big" "$tenants" "$per_service"
say "generated $big: $tenants tenants, $tenants services, $((tenants * per_service)) instances, $tenants routes ($(du -h "$big" | cut -f1))"

# start_timed NAME DB [--config FILE]: starts tg-control, waits for its ready file, prints
# "MS RSS_KIB GRPC_ADDRESS PID" (the process keeps running; stop it with stop_processes).
start_timed() {
  local name=$1 db=$2; shift 2
  local ready=$out/$name.ready
  rm -f "$ready"
  python3 - "$ready" "$out/$name.log" "$control_bin" --db "$db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 \
      --ready-file "$ready" --log-level warn "$@" <<'PY'
import os, subprocess, sys, time
ready, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.monotonic()
proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
while True:
    try:
        text = open(ready).read()
    except FileNotFoundError:
        text = ""
    if "grpc=" in text and "http=" in text and text.endswith("\n"):
        break
    if proc.poll() is not None:
        sys.exit(f"tg-control exited ({proc.returncode}) before it was ready; see {log}")
    if time.monotonic() - start > 600:
        proc.kill()
        sys.exit("tg-control not ready within 600 s")
    time.sleep(0.001)
ms = (time.monotonic() - start) * 1000
rss = 0
for line in open(f"/proc/{proc.pid}/status"):
    if line.startswith("VmHWM:"):
        rss = int(line.split()[1])
grpc = [l.split("=", 1)[1] for l in text.splitlines() if l.startswith("grpc=")][0]
print(f"{ms:.0f} {rss} {grpc} {proc.pid}")
PY
}

results=$out/results.txt
: >"$results"
record() { echo "$*" | tee -a "$results"; }

# ---- 1. startup ---------------------------------------------------------------
say "startup with the big file (a: empty DB)"
db=$out/startup.db
read -r ms rss addr pid < <(start_timed startup-a "$db" --config "$big")
pids+=("$pid")
record "startup_yaml_empty_db_ms=$ms peak_rss_kib=$rss"
stop_processes "$pid"
say "restart with the same DB and file (b)"
read -r ms rss addr pid < <(start_timed startup-b "$db" --config "$big")
pids+=("$pid")
record "startup_db_plus_yaml_ms=$ms peak_rss_kib=$rss"
stop_processes "$pid"
say "restart with the DB only (c)"
read -r ms rss addr pid < <(start_timed startup-c "$db")
pids+=("$pid")
record "startup_db_only_ms=$ms peak_rss_kib=$rss"
record "db_size_bytes=$(stat -c %s "$db")"

# ---- 2. writes on the loaded registry -------------------------------------------
say "CreateRoute, 8 clients, ${seconds}s, on the loaded registry"
"$load_bin" --server "$addr" --clients 8 --seconds "$seconds" --kind routes --prefix loaded \
  >"$out/writes-loaded.txt"
record "loaded $(tr '\n' ' ' <"$out/writes-loaded.txt")"
stop_processes "$pid"

# ---- 3. writes on an empty registry ---------------------------------------------
read -r ms rss addr pid < <(start_timed writes "$out/writes.db")
pids+=("$pid")
for kind in routes instances; do
  for clients in $clients_list; do
    say "$kind, $clients clients, ${seconds}s"
    file=$out/writes-$kind-$clients.txt
    "$load_bin" --server "$addr" --clients "$clients" --seconds "$seconds" --kind "$kind" \
      --prefix "$kind-$clients" >"$file"
    record "empty $(tr '\n' ' ' <"$file")"
  done
done
stop_processes "$pid"

say "results in $results (logs in $out)"
