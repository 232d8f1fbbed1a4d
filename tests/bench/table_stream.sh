#!/usr/bin/env bash
# Balancer-table stream figures (not run by CI): how fast a registry change
# reaches every tg-proxy subscribed to tg-control, beside the time NGINX takes
# to apply the same change by reload.
#
#   tests/bench/table_stream.sh [--quick]
#
# 1. Small registry. tg-control on an empty database; for each N in
#    BENCH_PROXIES ("1 50"), N tg-proxy processes (--workers 1 --control, their
#    own --state-dir); tg-bench-stream (tests/bench/table_stream_load.cpp):
#      route:  CreateRoute returns → the route answers through EVERY proxy
#              (BENCH_ROUNDS rounds; p50/p90/p99/max). Budget (docs/architecture.md): p99 < 50 ms at 50.
#              Observed twice: by ACK (ListProxies polled until every proxy ACKed,
#              then each proxy checked once over HTTP) and by HTTP alone (every
#              proxy polled until it stops answering 404; on a 2-core machine
#              those probes take CPU from the 50 proxies they wait for).
#      health: SetInstanceState returns → every proxy ACKed the health update.
# 2. Large registry. tg-control started with BENCH_TENANTS tenants (10,000), one
#    service each with BENCH_INSTANCES_PER_SERVICE instances (5: 50,000) and one
#    route: the table build time and size (tg-control /metrics); then for each N
#    in BENCH_LARGE_PROXIES ("1 50"), N cold proxies: the time until they have
#    the table (and the slowest one's transfer + apply, from ListProxies), the
#    route (by ACK and by HTTP), instance and health rounds (every proxy's own
#    ACK time and the update's bytes on the wire), their RSS.
#    Fan-out: BENCH_FANOUT (1000) light subscribers (tg-bench-idle-streams
#    --mode fanout) all ACK a route created, BENCH_FANOUT_ROUNDS rounds; and
#    tg-control's RSS per subscriber.
# 3. Huge registry (only with BENCH_HUGE_TENANTS set, e.g. 100000; written as a
#    directory of --config files of 10,000 tenants each): BENCH_HUGE_TENANTS
#    tenants, 2 instances per service (200,000), one route each: build time and
#    size, then BENCH_HUGE_SUBSCRIBERS (49) light subscribers held beside ONE
#    real proxy (50 real proxies of that size do not fit this machine): the
#    proxy's cold apply, its route and instance rounds by ACK, its RSS.
# 4. Peer: NGINX (1 worker) with the same number of server blocks as routes
#    (10 and BENCH_TENANTS): `nginx -s reload` → the new server block answers.
#
# Environment:
#   BENCH_BUILD=build-dir (default build/)   BENCH_PROXIES="1 50"   BENCH_ROUNDS=100
#   BENCH_TENANTS=10000 BENCH_INSTANCES_PER_SERVICE=5 BENCH_LARGE_PROXIES="1 50" BENCH_LARGE_ROUNDS=10
#   BENCH_FANOUT=1000 BENCH_FANOUT_ROUNDS=20 BENCH_HUGE_TENANTS=0 BENCH_HUGE_SUBSCRIBERS=49
#   BENCH_OUT=DIR  results and logs (default: a new /tmp/tg-bench-stream.* directory, kept)
#   BENCH_SKIP_SMALL=1 skips section 1, BENCH_SKIP_NGINX=1 section 4, BENCH_SKIP_LARGE=1 the proxies of
#   section 2, BENCH_SKIP_FANOUT=1 its fan-out (BENCH_LARGE_PROXIES=1 with these: the single-proxy figures). BENCH_WAIT_CONNECTED=600: seconds cold proxies may take to get the table.
# --quick: BENCH_ROUNDS=20, BENCH_TENANTS=1000, BENCH_LARGE_PROXIES="1 10", BENCH_FANOUT=100
#   (unless set).
#
# Everything listens on 127.0.0.1 with ports picked at run time; every process
# started here is stopped on exit. The machine this ran on has 2 cores: the
# proxies, tg-control and the prober share them (see docs/performance.md).
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
proxy_bin=$build/bin/tg-proxy
load_bin=$build/bin/tg-bench-stream
fanout_bin=$build/bin/tg-bench-idle-streams
proxies_list=${BENCH_PROXIES:-1 50}
rounds=${BENCH_ROUNDS:-$([[ $quick == 1 ]] && echo 20 || echo 100)}
tenants=${BENCH_TENANTS:-$([[ $quick == 1 ]] && echo 1000 || echo 10000)}
per_service=${BENCH_INSTANCES_PER_SERVICE:-5}
large_proxies=${BENCH_LARGE_PROXIES:-$([[ $quick == 1 ]] && echo "1 10" || echo "1 50")}
large_rounds=${BENCH_LARGE_ROUNDS:-10}
fanout=${BENCH_FANOUT:-$([[ $quick == 1 ]] && echo 100 || echo 1000)}
fanout_rounds=${BENCH_FANOUT_ROUNDS:-20}
# Off unless set (several GiB). tg-control --config refuses a YAML document of
# more than 1,000,000 nodes: 100,000 tenants in one file are about 3.3
# million, so the registry is written as a directory of 10,000-tenant files.
huge_tenants=${BENCH_HUGE_TENANTS:-0}
huge_subscribers=${BENCH_HUGE_SUBSCRIBERS:-49}
wait_connected=${BENCH_WAIT_CONNECTED:-600}  # s for cold proxies to get the table (50 on 2 cores: minutes)

say() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
for bin in "$control_bin" "$proxy_bin" "$load_bin" "$fanout_bin"; do
  [[ -x $bin ]] || die "$bin not found (build tg-control, tg-proxy, tg-bench-stream and tg-bench-idle-streams, or set BENCH_BUILD)"
done

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-stream.XXXXXX")}
mkdir -p "$out"
pids=()
cleanup() {
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
  if [[ -f $out/nginx/nginx.pid ]]; then kill "$(cat "$out/nginx/nginx.pid")" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

results=$out/results.txt
: >"$results"
record() { echo "$*" | tee -a "$results"; }

# ready_value FILE KEY: waits (60 s) for KEY=VALUE in FILE, prints VALUE.
ready_value() {
  local file=$1 key=$2 value=""
  for _ in $(seq 6000); do
    value=$(sed -n "s/^$key=//p" "$file" 2>/dev/null || true)
    [[ -n $value ]] && { echo "$value"; return 0; }
    sleep 0.01
  done
  die "no $key= in $file after 60 s"
}

# start_control NAME [ARGS...]: sets control_pid, control_grpc, control_http.
start_control() {
  local name=$1; shift
  rm -f "$out/$name.ready"
  "$control_bin" --db "$out/$name.db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$out/$name.ready" \
    --log-level warn "$@" >"$out/$name.log" 2>&1 &
  control_pid=$!
  pids+=("$control_pid")
  control_grpc=$(ready_value "$out/$name.ready" grpc)
  control_http=$(ready_value "$out/$name.ready" http)
}

# start_proxies NAME N: N subscribed proxies; sets proxy_pids, writes $out/NAME.ports.
start_proxies() {
  local name=$1 n=$2 i
  proxy_pids=()
  : >"$out/$name.ports"
  for i in $(seq "$n"); do
    mkdir -p "$out/$name/$i"
    "$proxy_bin" --workers 1 --listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$out/$name/$i/ready" \
      --control "$control_grpc" --node-id "$name-$i" --state-dir "$out/$name/$i/state" --log-level warn \
      >"$out/$name/$i/log" 2>&1 &
    proxy_pids+=("$!")
    pids+=("$!")
  done
  for i in $(seq "$n"); do
    ready_value "$out/$name/$i/ready" listen | sed 's/.*://' >>"$out/$name.ports"
  done
}

# metric NAME: the value of a series of tg-control's /metrics (first match).
control_metric() {
  python3 - "$control_http" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(sys.argv[2] + " ") or line.startswith(sys.argv[2] + "{"):
        print(line.rsplit(" ", 1)[1]); break
else:
    print("n/a")
PY
}

run_rounds() {  # LABEL PORTS_FILE ROUNDS [NODE_PREFIX]
  local label=$1 ports=$2 n=$3 prefix=${4:-}
  local observe
  for observe in ack http; do
    say "$label: route changes ($n rounds, observed by $observe)"
    "$load_bin" --server "$control_grpc" --proxies "$ports" --mode route --observe "$observe" --rounds "$n" \
      --run "$label-$observe" --node-prefix "$prefix" --wait-connected "$wait_connected" \
      >"$out/$label-route-$observe.txt"
    record "$label route $(tr '\n' ' ' <"$out/$label-route-$observe.txt")"
  done
  say "$label: instances registered ($n rounds)"
  "$load_bin" --server "$control_grpc" --proxies "$ports" --mode instance --rounds "$n" --run "$label" \
    --node-prefix "$prefix" >"$out/$label-instance.txt"
  record "$label instance $(tr '\n' ' ' <"$out/$label-instance.txt")"
  say "$label: health changes ($n rounds)"
  "$load_bin" --server "$control_grpc" --proxies "$ports" --mode health --rounds "$n" --run "$label" \
    --node-prefix "$prefix" >"$out/$label-health.txt"
  record "$label health $(tr '\n' ' ' <"$out/$label-health.txt")"
}

# median_rss PID...: the median VmRSS (KiB) of the processes.
median_rss() {
  for p in "$@"; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# ---- 1. small registry --------------------------------------------------------
if [[ ${BENCH_SKIP_SMALL:-0} != 1 ]]; then
  start_control small
  small_control=$control_pid
  for n in $proxies_list; do
    say "small registry, $n proxies"
    start_proxies "small$n" "$n"
    run_rounds "small-$n-proxies" "$out/small$n.ports" "$rounds"
    stop_processes "${proxy_pids[@]}"
  done
  stop_processes "$small_control"
fi

# ---- 2. large registry --------------------------------------------------------
big=$out/big.yaml
python3 "$root/tests/bench/gen_registry.py" "$big" "$tenants" "$per_service"
say "large registry: $tenants tenants, $((tenants * per_service)) instances, $tenants routes"
start_control large --config "$big"
record "large build_seconds=$(control_metric tg_control_table_build_seconds) table_bytes=$(control_metric tg_control_table_payload_bytes)"
for n in $large_proxies; do
  [[ ${BENCH_SKIP_LARGE:-0} == 1 ]] && break
  say "large registry, $n cold proxies"
  start_proxies "large$n" "$n"
  run_rounds "large-$n-proxies" "$out/large$n.ports" "$large_rounds"
  record "large-$n-proxies proxies_rss_kib=$(median_rss "${proxy_pids[@]}") (median)"
  stop_processes "${proxy_pids[@]}"
done
record "large control_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$control_pid/status)"
if [[ ${BENCH_SKIP_FANOUT:-0} != 1 ]]; then
  say "large registry: fan-out to $fanout light subscribers ($fanout_rounds rounds)"
  "$fanout_bin" --server "$control_grpc" --mode fanout --streams "$fanout" --rounds "$fanout_rounds" \
    --control-pid "$control_pid" >"$out/large-fanout.txt"
  record "large fanout $(tr '\n' ' ' <"$out/large-fanout.txt")"
fi
stop_processes "$control_pid"

# ---- 3. huge registry: one real proxy beside light subscribers ---------------------
if [[ $huge_tenants != 0 ]]; then
  huge=$out/huge.d
  python3 "$root/tests/bench/gen_registry.py" "$huge" "$huge_tenants" 2 10000
  say "huge registry: $huge_tenants tenants, $((huge_tenants * 2)) instances, $huge_tenants routes"
  start_control huge --config "$huge"
  record "huge build_seconds=$(control_metric tg_control_table_build_seconds) table_bytes=$(control_metric tg_control_table_payload_bytes)"
  "$fanout_bin" --server "$control_grpc" --mode fanout --streams "$huge_subscribers" --rounds 0 >"$out/huge-fanout.txt" &
  fanout_pid=$!
  pids+=("$fanout_pid")
  for _ in $(seq 3000); do grep -qs '^ready' "$out/huge-fanout.txt" && break; sleep 0.1; done
  grep -qs '^ready' "$out/huge-fanout.txt" || die "huge: subscribers not ready: $(cat "$out/huge-fanout.txt")"
  start_proxies "huge" 1
  run_rounds "huge-1-proxy" "$out/huge.ports" "$large_rounds" "huge-"
  record "huge-1-proxy proxies_rss_kib=$(median_rss "${proxy_pids[@]}")"
  record "huge control_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$control_pid/status)"
  stop_processes "${proxy_pids[@]}" "$fanout_pid"
  stop_processes "$control_pid"
fi

# ---- 4. peer: NGINX reload --------------------------------------------------------
if [[ ${BENCH_SKIP_NGINX:-0} == 1 ]]; then
  say "NGINX peer skipped"
elif command -v nginx >/dev/null; then
  for blocks in 10 "$tenants"; do
    say "NGINX: reload with $blocks server blocks"
    python3 - "$out/nginx" "$blocks" "$rounds" >"$out/nginx-$blocks.txt" <<'PY'
import os, socket, subprocess, sys, time
d, blocks, rounds = sys.argv[1], int(sys.argv[2]), min(int(sys.argv[3]), 20)
os.makedirs(d, exist_ok=True)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
def write(extra):
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(f"worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; daemon on;\n"
                f"events {{ worker_connections 1024; }}\nhttp {{ access_log off; server_names_hash_max_size 65536;\n"
                f"client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n")
        for i in list(range(blocks)) + extra:
            f.write(f"server {{ listen 127.0.0.1:{port}; server_name h{i}.example; return 200 ok; }}\n")
        f.write(f"server {{ listen 127.0.0.1:{port} default_server; return 404; }}\n}}\n")
def status(host):
    c = socket.create_connection(("127.0.0.1", port), timeout=2)
    c.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = c.recv(100); c.close()
    return int(data.split()[1])
write([])
subprocess.run(["nginx", "-p", d, "-c", f"{d}/nginx.conf"], check=True, stderr=subprocess.DEVNULL)
while True:
    try:
        status("x"); break
    except OSError:
        time.sleep(0.01)
times = []
extra = []
for r in range(rounds):
    extra.append(blocks + 1 + r)
    write(extra)
    t = time.monotonic()
    subprocess.run(["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-s", "reload"], check=True, stderr=subprocess.DEVNULL)
    while True:
        try:
            if status(f"h{extra[-1]}.example") == 200: break
        except OSError:
            pass
    times.append((time.monotonic() - t) * 1000)
subprocess.run(["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-s", "quit"], stderr=subprocess.DEVNULL)
times.sort()
print(f"rounds={rounds} p50_ms={times[len(times)//2]:.1f} max_ms={times[-1]:.1f}")
PY
    record "nginx-reload server_blocks=$blocks $(cat "$out/nginx-$blocks.txt")"
  done
else
  say "nginx not installed: no peer figures"
fi

say "results in $results (logs in $out)"
