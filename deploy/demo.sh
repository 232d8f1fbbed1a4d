#!/usr/bin/env bash
# Quickstart: build tenantgate, run tg-control (the control plane) on an example file
# and tg-proxy subscribed to it, in front of three example tenant backends.
#
#   deploy/demo.sh [--no-build]
#
# Starts deploy/demo/backend.py three times (acme-1, acme-2, globex-1), then tg-control
# with deploy/examples/demo.yaml and its own database in the demo's temporary directory,
# then tg-proxy with --control (its table comes from tg-control; the same YAML serves
# until the first pushed version, and the last pushed table is saved in --state-dir);
# prints curl and tgctl commands to try (a route made with tgctl answers at once), and
# stays in the foreground until Ctrl-C; then it stops everything it started.
#
# Environment (all on 127.0.0.1):
#   TG_DEMO_PORT          proxy listener            (default 8080)
#   TG_DEMO_ADMIN_PORT    proxy admin port          (default 9901)
#   TG_DEMO_BACKEND_PORT  first backend port; the three use it, +1, +2 (default 9001)
#   TG_DEMO_WORKERS       proxy workers             (default 1: each worker balances on its
#                         own, so with one the round robin shows in consecutive requests)
#   TG_DEMO_CONTROL_PORT  tg-control Admin gRPC port (default 7000; tgctl's default server)
#   TG_DEMO_CONTROL_HTTP_PORT  tg-control /healthz /metrics (default 7001)
#   TG_PROXY_BIN          tg-proxy binary           (default build/bin/tg-proxy)
#   TG_CONTROL_BIN        tg-control binary         (default build/bin/tg-control)
#   TGCTL_BIN             tgctl binary              (default build/bin/tgctl)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source "$root/deploy/lib/processes.sh"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

host=127.0.0.1
port=${TG_DEMO_PORT:-8080}
admin_port=${TG_DEMO_ADMIN_PORT:-9901}
backend_base=${TG_DEMO_BACKEND_PORT:-9001}
backend_names=(acme-1 acme-2 globex-1)
backend_ports=("$backend_base" "$((backend_base + 1))" "$((backend_base + 2))")
workers=${TG_DEMO_WORKERS:-1}
control_port=${TG_DEMO_CONTROL_PORT:-7000}
control_http_port=${TG_DEMO_CONTROL_HTTP_PORT:-7001}
proxy_bin=${TG_PROXY_BIN:-$root/build/bin/tg-proxy}
control_bin=${TG_CONTROL_BIN:-$root/build/bin/tg-control}
tgctl_bin=${TGCTL_BIN:-$root/build/bin/tgctl}

die() { echo "demo: $*" >&2; exit 1; }

# wait_ready NAME PID READY_FILE: up to 15 s for the process to write its ready file;
# stops the demo if it exits first or takes longer.
wait_ready() {
  local name=$1 pid=$2 file=$3
  written() {
    [[ -s "$file" ]] && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited during startup (see its messages above)"
    return 1
  }
  wait_until 15 written || die "$name did not write its ready file within 15 s"
}

if [[ $build == 1 ]]; then
  "$root/deploy/build.sh"
fi
for bin in "$proxy_bin" "$control_bin" "$tgctl_bin"; do
  [[ -x "$bin" ]] || die "$bin not found: run deploy/build.sh (or drop --no-build)"
done

# A port we cannot bind is fatal: say which one and which variable moves it.
port_free() {
  python3 - "$host" "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
PY
}
check_port() {
  port_free "$1" || die "port $host:$1 is already in use; set $2 to another port"
}
check_port "$port" TG_DEMO_PORT
check_port "$admin_port" TG_DEMO_ADMIN_PORT
check_port "$control_port" TG_DEMO_CONTROL_PORT
check_port "$control_http_port" TG_DEMO_CONTROL_HTTP_PORT
for p in "${backend_ports[@]}"; do check_port "$p" TG_DEMO_BACKEND_PORT; done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/tg-demo.XXXXXX")
pids=()
cleanup() {
  trap - EXIT INT TERM
  if [[ ${#pids[@]} -gt 0 ]]; then
    echo
    echo "demo: stopping (pids ${pids[*]})"
    stop_processes "${pids[@]}"
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The example file names 127.0.0.1:9001-9003; move them if TG_DEMO_BACKEND_PORT says so.
config=$root/deploy/examples/demo.yaml
if [[ $backend_base != 9001 ]]; then
  config=$workdir/demo.yaml
  sed -e 's/127\.0\.0\.1:9001/@B0@/; s/127\.0\.0\.1:9002/@B1@/; s/127\.0\.0\.1:9003/@B2@/' \
      -e "s/@B0@/$host:${backend_ports[0]}/; s/@B1@/$host:${backend_ports[1]}/; s/@B2@/$host:${backend_ports[2]}/" \
      "$root/deploy/examples/demo.yaml" >"$config"
fi

backend_pids=()
for i in "${!backend_names[@]}"; do
  python3 "$root/deploy/demo/backend.py" --name "${backend_names[$i]}" \
    --host "$host" --port "${backend_ports[$i]}" &
  pids+=($!)
  backend_pids+=($!)
done
for i in "${!backend_names[@]}"; do
  wait_until 10 curl -sf -o /dev/null "http://$host:${backend_ports[$i]}/" ||
    die "backend ${backend_names[$i]} did not start on $host:${backend_ports[$i]}"
done
echo "demo: backends acme-1, acme-2, globex-1 on $host:${backend_ports[0]}-${backend_ports[2]}"

# The control plane: the same example file, its own database under the demo's var/.
mkdir -p "$workdir/var"
control_ready=$workdir/control.ready
"$control_bin" --db "$workdir/var/tenantgate.db" --config "$config" \
  --grpc "$host:$control_port" --http "$host:$control_http_port" \
  --ready-file "$control_ready" --log-level warn &
control_pid=$!
pids+=("$control_pid")
wait_ready tg-control "$control_pid" "$control_ready"

"$proxy_bin" --check --config "$config" || die "tg-proxy rejected $config"
ready=$workdir/ready
"$proxy_bin" --config "$config" --control "$host:$control_port" --node-id demo-proxy \
  --state-dir "$workdir/proxy-state" --listen "$host:$port" --admin "$host:$admin_port" \
  --workers "$workers" --access-log - --ready-file "$ready" &
proxy_pid=$!
pids+=("$proxy_pid")
wait_ready tg-proxy "$proxy_pid" "$ready"
proxy_subscribed() { curl -s "http://$host:$admin_port/metrics" | grep -q '^tg_control_connected 1'; }
wait_until 15 proxy_subscribed || die "tg-proxy did not subscribe to tg-control within 15 s"

p="http://$host:$port"
a="http://$host:$admin_port"
c="http://$host:$control_http_port"
tgctl="$tgctl_bin"
[[ $control_port == 7000 ]] || tgctl="$tgctl_bin --server $host:$control_port"
cat <<MSG

demo: tg-proxy is serving on $p (admin $a), its table pushed by tg-control
(which loaded $config). Try (in another terminal):

  # tenant acme by Host: round robin over acme-1 and acme-2 (run it twice).
  # Round robin is per worker: this proxy runs $workers worker(s) (TG_DEMO_WORKERS);
  # with more, each keeps its own rotation and a new connection may land on any
  # worker, so two curls in a row can reach the same instance.
  curl -s -H 'Host: acme.localhost' $p/hello
  # tenant globex by path prefix; the backend sees /orders/42 (strip_prefix /globex)
  curl -s $p/globex/orders/42
  # tenant acme by header X-Tenant-ID, under /api/ (the backend sees /users)
  curl -s -H 'X-Tenant-ID: acme' $p/api/users
  # a client's request id is kept only from --trusted-proxies (or with
  # --trust-request-id): here a new one is generated and echoed
  curl -si -H 'Host: acme.localhost' -H 'X-Request-Id: demo-123' $p/
  # a trailing dot in Host routes like the name without it; a bad port is a 400
  curl -s -H 'Host: acme.localhost.' $p/hello
  curl -si -H 'Host: acme.localhost:evil' $p/hello
  # a body up to limits.buffer_body (64KiB) is received whole before an upstream
  # is chosen: one that stops arriving gets 408 and reaches no backend
  # (the service's idle timeout, 60 s):
  bash -c 'exec 3<>/dev/tcp/$host/$port; printf "PUT /slow HTTP/1.1\r\nHost: acme.localhost\r\nContent-Length: 10\r\n\r\nhalf" >&3; timeout 70 cat <&3'
  # no route: a JSON 404
  curl -si $p/nowhere
  # tenant auth: without a credential 401 (with WWW-Authenticate); with globex's
  # API key 200, and the backend sees X-Tenant-ID: globex, not the client's
  curl -si $p/secure/orders
  curl -s -H 'X-Api-Key: demo-globex-key' -H 'X-Tenant-ID: acme' $p/secure/orders
  # rate limit 5/s per client address, burst 5: a quick loop spends the burst,
  # then gets 429 (with Retry-After) except for the one request the rate refills
  for i in \$(seq 12); do curl -s -o /dev/null -w '%{http_code} ' $p/limited/x; done; echo
  curl -s $a/metrics | grep -E 'tg_auth_failures_total|tg_proxy_rate_limited_total'
  # admin port: Prometheus metrics, the table served (with its tg-control version), health
  curl -s $a/metrics | grep tg_control_
  curl -s $a/config
  curl -s $a/healthz

demo: tg-control (control plane) is serving the Admin API on $host:$control_port
(HTTP $c), registry in $workdir/var/tenantgate.db; tg-proxy is subscribed to it.
Try (docs/tgctl.md has every command):

  # the proxies, with the registry (database) their table came from and the last
  # update each answered (after the route below: a delta of a few hundred bytes)
  $tgctl proxies list
  # this database's registry id: a proxy refuses a table of another registry
  # (a tg-control started on a wrong or empty --db) unless it is adopted
  $tgctl registry show
  $tgctl routes list
  # a route made through the API answers through the proxy right away
  $tgctl routes create demo-new --service acme-web --path-prefix /new/ --strip-prefix /new
  curl -s $p/new/hello
  $tgctl proxies list
  # take acme-1 out of rotation: every request goes to acme-2; then back
  $tgctl instances set-state acme-1 disabled
  curl -s -H 'Host: acme.localhost' $p/
  $tgctl instances set-state acme-1 active
  # active health checks: stop acme-2's backend and within ~2 s tg-control marks it
  # unhealthy (an event), every proxy stops sending to it; continue it and it is back
  kill -STOP ${backend_pids[1]}
  $tgctl instances discover acme-web
  $tgctl events list --service acme-web
  curl -s -H 'Host: acme.localhost' $p/
  kill -CONT ${backend_pids[1]}
  # an API key for acme: the secret is printed once, only its hash is kept and
  # pushed to the proxies; deleting it revokes it on every proxy (acme belongs
  # to the config file: the API edit takes it over)
  $tgctl tenants credentials create acme ci --kind api_key --take-ownership
  $tgctl tenants credentials list acme
  # every Admin call also as HTTP JSON on the HTTP port (docs/api.md)
  curl -s -X POST -H 'Content-Type: application/json' -d '{}' $c/v1/admin/ListTenants
  curl -s -X POST -H 'Content-Type: application/json' -d '{"service":"acme-web"}' $c/v1/admin/DiscoverInstances
  # monitoring: every proxy reports its request outcomes each second; tg-control
  # sums them over all proxies (send a few requests above first)
  $tgctl top
  $tgctl top --by instance --sort rate
  $tgctl metrics series requests --route acme-host --since 10m --step 10s
  curl -s $c/metrics | grep '^tg_control_tenant_requests_total'
  # a tenant container reports a business exception with acme's ingest credential:
  # messages that differ only in ids group together (count 2 below)
  curl -s -X POST -H 'Authorization: Bearer demo-acme-ingest' -H 'Content-Type: application/json' \
    -d '{"service":"acme-web","instance":"acme-1","kind":"PaymentDeclined","level":"error","message":"order 1234 declined"}' \
    $c/v1/ingest/events
  curl -s -X POST -H 'Authorization: Bearer demo-acme-ingest' -H 'Content-Type: application/json' \
    -d '{"service":"acme-web","instance":"acme-2","kind":"PaymentDeclined","level":"error","message":"order 98 declined"}' \
    $c/v1/ingest/events
  $tgctl events list --tenant acme --grouped
  $tgctl events list --tenant acme --level error
  # the same with tgctl report, and a container's status (cpu, memory, restarts)
  printf demo-acme-ingest > $workdir/acme-ingest.token
  $tgctl report status --http $host:$control_http_port --token-file $workdir/acme-ingest.token --instance acme-1 --cpu 0.4 --memory-bytes 134217728 --restarts 0 --load 2
  $tgctl metrics series memory_bytes --instance acme-1 --since 10m --step 10s
  # acme's credential cannot speak for globex's service: 403, nothing stored
  curl -s -X POST -H 'Authorization: Bearer demo-acme-ingest' -H 'Content-Type: application/json' \
    -d '{"service":"globex-api","kind":"x","level":"error","message":"m"}' $c/v1/ingest/events
  # objects from the config file belong to it: this is refused, naming the file
  $tgctl routes patch acme-host --method GET
  $tgctl audit list --limit 5
  curl -s $c/metrics | grep tg_control_table_
  # ready: the process is up and its gRPC port completes calls (a self-probe)
  curl -s $c/ready

Access log lines (JSON) appear below. Press Ctrl-C to stop.
MSG

# Stay in the foreground until Ctrl-C or until tg-proxy exits on its own.
rc=0
wait "$proxy_pid" || rc=$?
echo "demo: tg-proxy exited with status $rc"
exit "$rc"
