#!/usr/bin/env bash
# Throughput, latency and memory of tg-proxy against NGINX and HAProxy (not run by CI).
#
#   tests/bench/run.sh [--quick] [--unpinned]
#
# One NGINX backend (1 worker) serves /small ("hello\n") and /1m (1 MiB file). Three
# proxies point at it with upstream keep-alive, one worker/thread each:
#   tg-proxy --workers 1 (build/bin/tg-proxy; skipped with a warning when missing),
#   NGINX (worker_processes 1, upstream keepalive, proxy_http_version 1.1, access_log off),
#   HAProxy (nbthread 1, http-reuse always).
# For every case, wrk -t1 --latency runs against direct backend, tg-proxy, nginx and
# haproxy in turn, ROUNDS times; the table shows medians and tg/peer ratios.
#   a  64 keep-alive connections, small response
#   b  new connection per request (-H "Connection: close"), 64 at a time
#   c  1 MiB responses, 16 connections
#   d  1,000 keep-alive connections, small response
#   e  RSS per idle keep-alive connection, IDLE_CONNS (8,000) connections (idle_conns.py):
#      VmRSS of the serving process before and after, each proxy restarted fresh first;
#      for NGINX the worker only (the master holds no connections and does not change)
#
# CPUs: this machine has 2 cores. The proxy under test is pinned to CPU 1 alone; wrk and
# the backend share CPU 0. The table gives the proxy's CPU use in each run: near 100% means
# the proxy was the bottleneck (the figure compares proxies); well below means the load
# side (CPU 0) was, and the report says so. "direct" (wrk -> backend, no proxy) shows what
# the load side does without a proxy.
#
# Environment:
#   CASES="a b c d e"  cases to run (spaces or commas)     ROUNDS=3   rounds per case
#   SECONDS=10         seconds per wrk run (BENCH_SECONDS works too)
#   IDLE_CONNS=8000    connections for case e
#   BENCH_PROXY_CPUS=1 BENCH_LOAD_CPUS=0   taskset CPU lists; BENCH_PIN=0 disables pinning
#   BENCH_TG_PROXY=build/bin/tg-proxy      binary under test
#   BENCH_TG_BASE=PATH another tg-proxy build run as target "tg-base" in the same rounds
#                      (a before/after comparison: git worktree add /tmp/base <commit>,
#                      build it, point this at its tg-proxy); the table adds tg/tg-base
#   BENCH_TARGETS="tg-proxy tg-base nginx haproxy"  which proxies run (direct always does)
#   BENCH_PEER_HEADERS=1  NGINX/HAProxy do tg-proxy's header work too (X-Forwarded-For,
#                         X-Forwarded-Proto, X-Request-Id generated and echoed); 0 = plain
#   BENCH_NGINX_KEEPALIVE=1024  idle upstream connections NGINX keeps. With the usual 64,
#                      case d (1,000 connections) makes NGINX close and reopen an upstream
#                      connection for most requests (measured: ~14k vs ~23k req/s).
#   BENCH_OUT=DIR      where results go (default: a new /tmp/tg-bench.* directory, kept)
#   BENCH_SKIP_DEPS=1  do not run deploy/install-deps.sh --bench
#   BENCH_WAIT_QUIET=N before each run, wait up to N s for other processes to go quiet
#                      (a shared machine), and repeat a run they disturbed (twice at most);
#                      each run's "other" CPU column shows what remained
#   BENCH_PROBE=1      also record, per measured proxy run, context switches (voluntary /
#                      involuntary), CPU migrations and system calls per request (sched_probe.py:
#                      /proc/PID/task/*/sched and `perf stat` tracepoints when perf can attach), the
#                      same per thread, and before the cases each proxy's threads while idle (3 s).
#                      The tracepoints slow every system call: req/s measured with the probe on
#                      are counts' companions, not throughput figures
# --quick: SECONDS=3 ROUNDS=1 (unless set), no warm-up runs.
# --unpinned: nothing pinned (wrk, backend and proxies all free on every core, as a proxy
#   sharing a machine runs), CASES=a and ROUNDS=5 unless set; the table adds each target's
#   spread (min-max of req/s and p99 over the rounds) beside the medians and the tg/peer
#   ratios. Rounds alternate the targets (direct, tg-proxy, nginx, haproxy, direct, ...).
#
# Everything listens on 127.0.0.1 with ports chosen at run time; every process started
# here is stopped on exit; every wrk run is bounded by SECONDS.

# Read first: bash takes SECONDS from the environment as the start of its own seconds
# counter, so its value now is the SECONDS override (or 0 when none was given).
env_seconds=$SECONDS
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/tests/bench
source "$root/deploy/lib/processes.sh"

quick=0
unpinned=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --unpinned) unpinned=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

default_cases="a b c d e"
[[ $unpinned == 1 ]] && default_cases=a
cases=${CASES:-$default_cases}
cases=${cases//,/ }
duration=${BENCH_SECONDS:-$env_seconds}
[[ $duration -gt 0 ]] || duration=$([[ $quick == 1 ]] && echo 3 || echo 10)
default_rounds=$([[ $quick == 1 ]] && echo 1 || echo 3)
[[ $unpinned == 1 ]] && default_rounds=5
rounds=${ROUNDS:-$default_rounds}
warmup=$([[ $quick == 1 ]] && echo 0 || echo 1)
clk_tck=$(getconf CLK_TCK)
softirq_pids=$(pgrep '^ksoftirqd/' | tr '\n' ' ' || true)
idle_conns=${IDLE_CONNS:-8000}
proxy_cpus=${BENCH_PROXY_CPUS:-1}
load_cpus=${BENCH_LOAD_CPUS:-0}
tg_bin=${BENCH_TG_PROXY:-$root/build/bin/tg-proxy}
tg_base_bin=${BENCH_TG_BASE:-}
peer_headers=${BENCH_PEER_HEADERS:-1}
nginx_keepalive=${BENCH_NGINX_KEEPALIVE:-1024}

say() { echo "bench: $*"; }
warn() { echo "bench: WARNING: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

if [[ "${BENCH_SKIP_DEPS:-0}" != 1 ]]; then
  "$root/deploy/install-deps.sh" --bench
fi
for tool in nginx haproxy wrk taskset curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (deploy/install-deps.sh --bench)"
done

pin=1
[[ "${BENCH_PIN:-1}" == 0 || $unpinned == 1 || $(nproc) -lt 2 ]] && pin=0
probe=${BENCH_PROBE:-0}
# run_on CPUS CMD...: exec CMD pinned to CPUS (or unpinned).
run_on() {
  local cpus=$1; shift
  if [[ $pin == 1 ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

# Connections for cases d and e need file descriptors (the limit here is 20,000 per process).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
[[ $fd_limit == unlimited ]] && fd_limit=1048576
[[ $fd_limit == unlimited || $fd_limit -gt $((idle_conns + 1000)) ]] ||
  die "open-file limit $fd_limit is too low for IDLE_CONNS=$idle_conns"

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-bench-run.XXXXXX")
chmod 755 "$work"
out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tg-bench.XXXXXX")}
mkdir -p "$out"

pids=()   # every process started here; stopped on exit
cleanup() {
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_pid PID: stop one process started here.
stop_pid() {
  local pid=$1
  stop_processes "$pid"
  local keep=() p
  for p in "${pids[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

http_ok() { curl -sf -o /dev/null --max-time 1 "$1"; }

# The single child (worker) of an NGINX master.
nginx_worker() {
  local master=$1 w=""
  wait_until 5 eval 'w=$(pgrep -P "$master" | head -1); [[ -n $w ]]' || return 1
  echo "$w"
}

# Per target: base URL, the pids whose CPU and RSS are measured, the pid to stop.
declare -A url meas_pids main_pid

# Settings shared by both NGINX instances (paths kept inside $work, error log only).
nginx_common() {
  local name=$1 worker_connections=$2
  [[ $(id -u) -eq 0 ]] && echo "user root;"
  cat <<EOF
worker_processes 1;
worker_rlimit_nofile $fd_limit;
pid $work/$name.pid;
error_log $work/$name.error.log warn;
events { worker_connections $worker_connections; }
EOF
}
nginx_http_common() {
  local name=$1
  cat <<EOF
  access_log off;
  client_body_temp_path $work/$name.tmp/body;
  proxy_temp_path $work/$name.tmp/proxy;
  fastcgi_temp_path $work/$name.tmp/fastcgi;
  uwsgi_temp_path $work/$name.tmp/uwsgi;
  scgi_temp_path $work/$name.tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
EOF
}

# spawn CPUS LOG CMD...: start CMD pinned to CPUS; its pid is in $spawned.
spawn() {
  local cpus=$1 log=$2; shift 2
  (run_on "$cpus" "$@") >"$log" 2>&1 </dev/null &
  spawned=$!
  pids+=("$spawned")
}

start_backend() {
  backend_port=$(free_port)
  mkdir -p "$work/www" "$work/backend.tmp"
  head -c 1048576 /dev/zero | tr '\0' 'x' >"$work/www/1m"
  chmod -R a+rX "$work/www"
  {
    nginx_common backend 4096
    echo "http {"
    nginx_http_common backend
    cat <<EOF
  default_type text/plain;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$backend_port backlog=4096;
    location = /small { return 200 "hello\n"; }
    location / { root $work/www; }
  }
}
EOF
  } >"$work/backend.conf"
  spawn "$load_cpus" "$work/backend.log" nginx -e "$work/backend.error.log" -p "$work" \
    -c "$work/backend.conf" -g 'daemon off;'
  local master=$spawned
  wait_until 10 http_ok "http://127.0.0.1:$backend_port/small" ||
    die "backend NGINX did not start: $(cat "$work/backend.log" "$work/backend.error.log" 2>/dev/null)"
  backend_worker=$(nginx_worker "$master") || die "backend NGINX has no worker"
  url[direct]=http://127.0.0.1:$backend_port
  meas_pids[direct]=$backend_worker
  main_pid[direct]=$master
}

# start_tg TARGET BINARY: tg-proxy (or tg-base, another build) in front of the backend.
start_tg() {
  local name=$1 bin=$2
  if [[ ! -x "$bin" ]]; then
    warn "$bin not found: skipping $name (run deploy/build.sh first)"
    return 1
  fi
  cat >"$work/$name.yaml" <<EOF
tenants:
  - id: bench
services:
  - name: bench
    tenant: bench
    lb: { policy: round_robin }
    instances:
      - { id: backend, address: 127.0.0.1:$backend_port }
routes:
  - name: all
    match: { path_prefix: / }
    service: bench
EOF
  rm -f "$work/$name.ready"
  spawn "$proxy_cpus" "$work/$name.log" "$bin" --config "$work/$name.yaml" --workers 1 \
    --listen 127.0.0.1:0 --admin 127.0.0.1:0 --ready-file "$work/$name.ready" \
    --log-level warn --access-log off --keepalive-timeout 120s
  local pid=$spawned
  if ! wait_until 15 eval '[[ -s "$work/$name.ready" ]] || ! kill -0 '"$pid"' 2>/dev/null' ||
     [[ ! -s "$work/$name.ready" ]]; then
    warn "$name did not start; skipping it. Its output: $(tail -5 "$work/$name.log")"
    stop_pid "$pid"
    return 1
  fi
  url[$name]=http://$(sed -n 's/^listen=//p' "$work/$name.ready")
  meas_pids[$name]=$pid
  main_pid[$name]=$pid
}

start_nginx() {
  local port; port=$(free_port)
  mkdir -p "$work/nginx.tmp"
  local headers=""
  if [[ $peer_headers == 1 ]]; then
    headers='proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
      add_header X-Request-Id $request_id always;'
  fi
  {
    nginx_common nginx $((idle_conns + 2000))
    echo "http {"
    nginx_http_common nginx
    cat <<EOF
  upstream backend {
    server 127.0.0.1:$backend_port;
    keepalive $nginx_keepalive;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      $headers
      # Stream large bodies through the in-memory buffers; never spool them to disk.
      proxy_max_temp_file_size 0;
    }
  }
}
EOF
  } >"$work/nginx.conf"
  spawn "$proxy_cpus" "$work/nginx.log" nginx -e "$work/nginx.error.log" -p "$work" \
    -c "$work/nginx.conf" -g 'daemon off;'
  local master=$spawned
  if ! wait_until 10 http_ok "http://127.0.0.1:$port/small"; then
    warn "NGINX proxy did not start; skipping it: $(cat "$work/nginx.log" "$work/nginx.error.log" 2>/dev/null)"
    stop_pid "$master"
    return 1
  fi
  url[nginx]=http://127.0.0.1:$port
  meas_pids[nginx]=$(nginx_worker "$master")
  main_pid[nginx]=$master
}

start_haproxy() {
  local port; port=$(free_port)
  # HAProxy wants about two descriptors per connection and refuses to start without them.
  local haproxy_maxconn=$((idle_conns + 1000))
  [[ $haproxy_maxconn -le $(( (fd_limit - 200) / 2 )) ]] || haproxy_maxconn=$(( (fd_limit - 200) / 2 ))
  local headers=""
  if [[ $peer_headers == 1 ]]; then
    headers='option forwardfor
  http-request set-header X-Forwarded-Proto http
  unique-id-format %{+X}o%pid-%rt
  unique-id-header X-Request-Id
  http-response set-header X-Request-Id %[unique-id]'
  fi
  cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn $haproxy_maxconn
defaults
  mode http
  option http-keep-alive
  http-reuse always
  backlog 4096
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-request 10s
  timeout http-keep-alive 120s
frontend fe
  bind 127.0.0.1:$port
  $headers
  default_backend be
backend be
  server backend 127.0.0.1:$backend_port
EOF
  spawn "$proxy_cpus" "$work/haproxy.log" haproxy -db -f "$work/haproxy.cfg"
  local pid=$spawned
  if ! wait_until 10 http_ok "http://127.0.0.1:$port/small"; then
    warn "HAProxy did not start; skipping it: $(cat "$work/haproxy.log")"
    stop_pid "$pid"
    return 1
  fi
  url[haproxy]=http://127.0.0.1:$port
  meas_pids[haproxy]=$pid
  main_pid[haproxy]=$pid
}

# check_target NAME: the target serves both bodies intact.
check_target() {
  local base=${url[$1]} small size
  small=$(curl -s --max-time 5 "$base/small" || true)
  size=$(curl -s --max-time 10 "$base/1m" | wc -c)
  if [[ $small != hello || $size != 1048576 ]]; then
    warn "$1 at $base answers wrongly (/small: '${small:0:40}', /1m: $size bytes); skipping it"
    return 1
  fi
}

start_target() {
  case "$1" in
    tg-proxy) start_tg tg-proxy "$tg_bin" ;;
    tg-base) start_tg tg-base "$tg_base_bin" ;;
    nginx) start_nginx ;;
    haproxy) start_haproxy ;;
  esac && check_target "$1"
}
stop_target() { stop_pid "${main_pid[$1]}"; unset 'url[$1]' 'meas_pids[$1]' 'main_pid[$1]'; }

# CPU accounting of one run, in clock ticks: processes (utime+stime), this shell's reaped
# children (wrk), one CPU's busy/total, and the whole machine's process time.
proc_ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
child_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }
cpu_ticks() {  # "busy total" of the first CPU in a taskset list
  local n=${1%%[,-]*}
  awk -v c="cpu$n" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
# Busy time over all CPUs (all but idle and iowait). Tick accounting charges interrupt
# time to the running process as well, so it is kept here to compare with process times.
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6 }' /proc/stat; }

# wait_quiet: with BENCH_WAIT_QUIET=N, wait up to N s for a second in which other processes
# use under 10% of a core (a shared machine: someone's build), then go on regardless.
wait_quiet() {
  local limit=${BENCH_WAIT_QUIET:-0} m0 m1 deadline
  [[ $limit -gt 0 ]] || return 0
  deadline=$((SECONDS + limit))
  while :; do
    m0=$(machine_ticks); sleep 1; m1=$(machine_ticks)
    [[ $((m1 - m0)) -lt $((clk_tck / 10)) ]] && return 0
    [[ $SECONDS -lt $deadline ]] || { warn "machine still busy after ${limit}s; measuring anyway"; return 0; }
  done
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "-" }'; }

# wrk_run CASE TARGET ROUND CONNS PATH [WRK ARGS...]: one measured run, appended to runs.tsv.
# "other" is CPU time that neither wrk, the backend, the proxy under test nor the kernel's
# softirq threads (loopback traffic of the run itself) used: other processes on this
# machine (a build, say) or the hypervisor. Much of it spoils the figures.
wrk_run() {
  local case=$1 target=$2 round=$3 conns=$4 path=$5; shift 5
  local file=$out/wrk.$case.$target.$round.txt
  local p0 b0 w0 m0 l0 t0 p1 b1 w1 m1 l1 t1 start_ns elapsed attempt
  local proxy backend wrk proxy_cpu backend_cpu wrk_cpu load_busy other_cpu k0 k1
  for attempt in 1 2 3; do
    wait_quiet
    p0=$(proc_ticks ${meas_pids[$target]}); b0=$(proc_ticks "$backend_worker")
    w0=$(child_ticks); m0=$(machine_ticks); k0=$(proc_ticks $softirq_pids)
    read -r l0 t0 < <(cpu_ticks "$load_cpus")
    local probe_pid=""
    if [[ $probe == 1 && $target != direct ]]; then
      # The probe measures from when it says it is ready until wrk ends.
      rm -f "$work/probe.ready"
      python3 "$here/sched_probe.py" measure --pids "$(echo ${meas_pids[$target]} | tr ' ' ,)" \
        --seconds $((duration + 60)) --out "$out/probe.$case.$target.$round.json" \
        --ready "$work/probe.ready" &
      probe_pid=$!
      wait_until 10 test -e "$work/probe.ready" || warn "the probe did not start in 10 s"
    fi
    start_ns=$(date +%s%N)
    (run_on "$load_cpus" timeout $((duration + 30)) wrk -t1 -c"$conns" -d"${duration}s" \
        --timeout 10s --latency "$@" "${url[$target]}$path") >"$file" 2>&1 || true
    if [[ -n $probe_pid ]]; then
      kill -TERM "$probe_pid" 2>/dev/null || true
      wait "$probe_pid" || true
    fi
    elapsed=$(( ($(date +%s%N) - start_ns) * clk_tck / 1000000000 ))
    p1=$(proc_ticks ${meas_pids[$target]}); b1=$(proc_ticks "$backend_worker")
    w1=$(child_ticks); m1=$(machine_ticks); k1=$(proc_ticks $softirq_pids)
    read -r l1 t1 < <(cpu_ticks "$load_cpus")
    proxy=$((p1 - p0)) backend=$((b1 - b0)) wrk=$((w1 - w0))
    [[ $target == direct ]] && proxy=0
    proxy_cpu=-
    [[ $target != direct ]] && proxy_cpu=$(pct "$proxy" "$elapsed")
    backend_cpu=$(pct "$backend" "$elapsed")
    wrk_cpu=$(pct "$wrk" "$elapsed")
    load_busy=$(pct $((l1 - l0)) $((t1 - t0)))
    other_cpu=$(pct $((m1 - m0 - proxy - backend - wrk - (k1 - k0))) "$elapsed")
    # With BENCH_WAIT_QUIET, a run that other processes disturbed is repeated (twice at most).
    if [[ ${BENCH_WAIT_QUIET:-0} -gt 0 && $attempt -lt 3 ]] &&
       awk -v o="$other_cpu" 'BEGIN { exit !(o > 10) }'; then
      warn "$case round $round $target: other processes used ${other_cpu}% of a core; repeating"
      continue
    fi
    break
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$target" "$round" "$file" \
    "$proxy_cpu" "$backend_cpu" "$wrk_cpu" "$load_busy" "$other_cpu" >>"$out/runs.tsv"
  if [[ $probe == 1 && $target != direct && -s $out/probe.$case.$target.$round.json ]]; then
    local requests
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$file")
    printf '%s\t%s\t%s\t%s\t%s\n' "$case" "$target" "$round" "${requests:-0}" \
      "$(python3 "$here/sched_probe.py" row "$out/probe.$case.$target.$round.json" "${requests:-0}")" \
      >>"$out/probe.tsv"
    { echo "$case round $round $target (${requests:-0} requests)"
      python3 "$here/sched_probe.py" threads "$out/probe.$case.$target.$round.json" "${requests:-0}"
    } >>"$out/probe.threads.txt"
  fi
  local cpu_note="load core ${load_busy}%, other ${other_cpu}%"
  [[ $target != direct ]] && cpu_note="proxy cpu ${proxy_cpu}%, $cpu_note"
  printf 'bench:   %s round %s %-9s %s  (%s)\n' "$case" "$round" "$target" \
    "$(python3 "$here/report.py" line "$file")" "$cpu_note"
}

# wrk_case CASE CONNS PATH [WRK ARGS...]: warm-up, then ROUNDS rounds over all targets in turn.
wrk_case() {
  local case=$1 conns=$2 path=$3; shift 3
  local target round
  say "case $case: $conns connections, $path $*"
  if [[ $warmup == 1 ]]; then
    for target in "${targets[@]}"; do
      (run_on "$load_cpus" timeout 30 wrk -t1 -c"$conns" -d1s "$@" "${url[$target]}$path") \
        >/dev/null 2>&1 || true
    done
  fi
  for round in $(seq "$rounds"); do
    for target in "${targets[@]}"; do
      wrk_run "$case" "$target" "$round" "$conns" "$path" "$@"
    done
  done
}

# idle_measure TARGET ROUND: restart TARGET fresh (no slack left from earlier runs), warm it,
# then measure its RSS around IDLE_CONNS idle keep-alive connections (a line in idle.tsv).
idle_measure() {
  local target=$1 round=$2 line
  stop_target "$target"
  start_target "$target" || return 1
  # The warm-up opens as many connections at once as each measured batch does, so
  # buffers a proxy keeps pooled for that concurrency are already in "before".
  python3 "$here/idle_conns.py" --target "${url[$target]#http://}" --count 50 --batch 50 \
    --settle 0 >/dev/null || warn "$target: warm-up connections failed"
  if line=$(timeout 300 python3 "$here/idle_conns.py" --target "${url[$target]#http://}" \
              --count "$idle_conns" --batch 50 --pid ${meas_pids[$target]} | tail -1) &&
     [[ $line == result* ]]; then
    say "  e round $round $target: ${line#result }"
    python3 - "$target" "$round" "$line" >>"$out/idle.tsv" <<'PY'
import sys
f = dict(kv.split("=") for kv in sys.argv[3].split()[1:])
print("\t".join([sys.argv[1], sys.argv[2], f["conns"], f["rss_before_kb"], f["rss_after_kb"],
                 f["kb_per_conn"]]))
PY
  else
    warn "$target: idle connection test failed"
  fi
}

idle_case() {
  say "case e: RSS per idle keep-alive connection, $idle_conns connections per proxy"
  local target round still
  for round in $(seq "$rounds"); do
    still=(direct)
    for target in "${targets[@]}"; do
      [[ $target == direct ]] && continue
      idle_measure "$target" "$round" && still+=("$target")
    done
    targets=("${still[@]}")   # a proxy that failed to restart takes no further part
  done
}

say "results in $out"
# Other work on the machine skews every figure: look for it before starting.
m0=$(machine_ticks); sleep 2; m1=$(machine_ticks)
busy=$(pct $((m1 - m0)) $((2 * clk_tck)))
if awk -v b="$busy" 'BEGIN { exit !(b > 10) }'; then
  warn "the machine is busy before the benchmark starts (${busy}% of a core used by other"
  warn "processes): the figures will be unreliable. Top CPU users:"
  ps -eo pcpu,pid,comm --sort=-pcpu | head -6 >&2
fi
say "cases: $cases; ${duration}s per run, $rounds round(s), wrk -t1 --latency"
if [[ $pin == 1 ]]; then
  say "CPUs: $(nproc) cores shared by wrk, the backend and the proxy. Proxy under test pinned"
  say "      to CPU $proxy_cpus; wrk and the backend NGINX (1 worker) share CPU $load_cpus. A proxy"
  say "      near 100% cpu is the bottleneck; well below, the load side is. Override with"
  say "      BENCH_PROXY_CPUS / BENCH_LOAD_CPUS, or BENCH_PIN=0."
else
  warn "CPU pinning off: wrk, backend and proxy compete for the same cores"
  [[ $unpinned == 1 ]] && say "unpinned mode: $rounds alternating rounds; medians and spread (min-max)"
fi
say "NGINX/HAProxy header work like tg-proxy's (XFF, X-Forwarded-Proto, X-Request-Id): $([[ $peer_headers == 1 ]] && echo yes || echo no)"
printf 'case\ttarget\tround\twrk_file\tproxy_cpu_pct\tbackend_cpu_pct\twrk_cpu_pct\tload_core_busy_pct\tother_cpu_pct\n' >"$out/runs.tsv"
printf 'target\tround\tconns\trss_before_kb\trss_after_kb\tkb_per_conn\n' >"$out/idle.tsv"
[[ $probe == 1 ]] && printf 'case\ttarget\tround\trequests\t%s\n' \
  "vcsw ivcsw migrations syscalls recv recv_eagain send epoll_wait epoll_wait_empty epoll_ctl futex timerfd_settime" \
  | tr ' ' '\t' >"$out/probe.tsv"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cases=$cases seconds=$duration rounds=$rounds idle_conns=$idle_conns pin=$pin unpinned_mode=$unpinned probe=$probe proxy_cpus=$proxy_cpus load_cpus=$load_cpus peer_headers=$peer_headers nginx_keepalive=$nginx_keepalive"
  echo "tg-proxy: $tg_bin"
  nginx -v 2>&1; haproxy -v 2>&1 | head -1; wrk -v 2>&1 | head -1
  uname -r; nproc
} >"$out/environment.txt" || true   # wrk -v exits 1

start_backend
say "backend NGINX on ${url[direct]} (worker pid $backend_worker)"
targets=(direct)
default_targets="tg-proxy nginx haproxy"
[[ -n $tg_base_bin ]] && default_targets="tg-proxy tg-base nginx haproxy"
for target in ${BENCH_TARGETS:-$default_targets}; do
  if start_target "$target"; then
    targets+=("$target")
    say "$target on ${url[$target]} (measured pid ${meas_pids[$target]})"
  fi
done

# Idle threads: what each proxy does with no requests (wake-ups per second).
if [[ $probe == 1 ]]; then
  for target in "${targets[@]}"; do
    [[ $target == direct ]] && continue
    python3 "$here/sched_probe.py" measure --pids "$(echo ${meas_pids[$target]} | tr ' ' ,)" --seconds 3 \
      --out "$out/probe.idle.$target.json" || true
    { echo "idle $target (3 s, no requests)"
      python3 "$here/sched_probe.py" threads "$out/probe.idle.$target.json"
    } | tee -a "$out/probe.threads.txt"
  done
fi

for c in $cases; do
  case "$c" in
    a) wrk_case a 64 /small ;;
    b) wrk_case b 64 /small -H "Connection: close" ;;
    c) wrk_case c 16 /1m ;;
    d) wrk_case d 1000 /small ;;
    e) idle_case ;;
    *) warn "unknown case '$c' (cases are a b c d e)" ;;
  esac
done

python3 "$here/report.py" table "$out" | tee "$out/summary.txt"
echo
say "raw wrk outputs, runs.tsv, idle.tsv and summary.txt are in $out"
