#!/usr/bin/env python3
"""Resilience under failure: tg-proxy against NGINX and HAProxy (not run by CI).

  tests/bench/resilience.py [--quick] [--cases a,b,c] [--targets tg-proxy,nginx,haproxy]
                            [--placement pinned|unpinned|both] [--lb least|round_robin|both]
                            [--client pool|per-connection]

Build first: ninja -C build tg-proxy open-loop-load. A full run (both placements, both
balancings, three cases, three proxies, 3 rounds of 20 s) takes about 45 minutes;
--placement pinned about 22.

Three backend instances, each an NGINX of its own (`master_process off`: one process,
in its own process group, so one instance can be killed or frozen alone) answering
200 "bN" on its own port. Each proxy (one worker/thread) balances over the three
(least connections or round robin, --lb), configured to its best for failures (the
configurations are kept in the results directory):
  tg-proxy: retry { attempts: 3, on: [connect_failure, reset, timeout],
            per_try_timeout: 250ms }, outlier { consecutive_failures: 1 }, connect 250ms
  NGINX:    max_fails=1 fail_timeout, proxy_next_upstream error timeout (3 tries),
            proxy_connect_timeout/proxy_read_timeout 250ms, upstream keepalive
  HAProxy:  retries 3, option redispatch, retry-on conn-failure empty-response
            response-timeout, timeout connect/server 250ms, check inter 500ms
            (fall 1 rise 1), observe layer4 error-limit 1 on-error mark-down,
            http-reuse always
Standalone tg-proxy probes nothing itself (active health checks are tg-control's):
it relies on the passive breaker alone.

Cases (the fault hits the same instance, b1, every time; each proxy is started fresh
for each run, warmed up for 1 s at the rate, then measured):
  a  kill: b1 is SIGKILLed, and restarted on the same port 2 s later, every 5 s
  b  freeze: b1 is SIGSTOPped for 6 s, then SIGCONTinued
  c  baseline: no fault

Load: build/bin/open-loop-load (tests/bench/open_loop_load.cpp): 32 keep-alive
connections, requests at a constant rate, latency measured from each request's
scheduled time (corrected for coordinated omission: a stall is charged to every
request it delays, not only to the one that met it), exact percentiles. The rate is
BENCH_RATE, or BENCH_RATE_SHARE (0.5) of the slowest proxy's capacity, measured
first with wrk (32 connections, no fault, same placement).

Each table gives per proxy: req/s answered, client errors by kind, latency
percentiles, the proxy's CPU use, the machine's (2 cores = 200%), and how long the proxy
and the three backends waited for a CPU while runnable (schedstat): on a shared
machine a few hundred ms of that means stalls the proxy did not cause. Under it, where
the requests over 50 ms were (how many were sent within 0.5 s of a fault's start, which
instance answered them) and, for tg-proxy, its /metrics (upstream errors by instance and
kind, fates, breaker transitions).

Verdict (cases a and b): tg-proxy passes with zero client errors and a p99 at most
max(1.25 x the better peer's p99, the better peer's p99 + 5 ms). For the baseline
(c) the same comparison is printed for information.

Placement: "pinned" runs each proxy on BENCH_PROXY_CPUS (1) and the load generator
and the backends on BENCH_LOAD_CPUS (0), with taskset, as tests/bench/run.sh does;
"unpinned" lets the scheduler place everything. --placement both (the default
without --quick) runs both and prints both.

Environment:
  BENCH_SECONDS=20     measured seconds per run (--quick: 10)
  BENCH_ROUNDS=3       rounds per case (--quick: 1); the targets alternate within a round,
                       the table shows each target's median round by p99, errors summed
  BENCH_RATE=N         requests/s (default: measured, see above)
  BENCH_RATE_SHARE=0.5 share of the slowest proxy's capacity used as the rate
  BENCH_CONNECTIONS=32 load connections
  BENCH_PROXY_CPUS=1 BENCH_LOAD_CPUS=0   taskset CPU lists (pinned placement)
  BENCH_TG_PROXY=build/bin/tg-proxy      BENCH_LOADGEN=build/bin/open-loop-load
  BENCH_OUT=DIR        results directory (default: a new /tmp/tg-resilience.* kept)
  BENCH_SKIP_DEPS=1    do not run deploy/install-deps.sh --bench
  BENCH_WAIT_QUIET=N   before each run wait up to N s for a second in which other
                       processes use under 10% of a core (a shared machine), then go on
  BENCH_TG_EJECTION=2s tg-proxy outlier.base_ejection; BENCH_NGINX_FAIL_TIMEOUT=2s
  BENCH_CLIENT=pool    (--client) how the load generator's requests wait for a connection:
                       "pool", any free one (a client with a connection pool);
                       "per-connection", request i on connection i mod 32 (32 clients
                       of rate/32 each, as wrk2): a connection stuck on a slow answer
                       delays its own next requests
  BENCH_LB=least|round_robin|both   balancing of all three proxies (--lb); "least":
                       tg-proxy least_request, NGINX least_conn, HAProxy leastconn;
                       default: both without --quick, least with it
--quick: BENCH_SECONDS=10, BENCH_ROUNDS=1, pinned only, 1 s capacity probes.

Results directory: configurations (tg-proxy.yaml.<lb>, nginx.conf.<lb>, haproxy.cfg.<lb>,
backend-N.conf),
per run load.<placement>.<lb>.<case>.<target>.txt (the load generator's figures),
.timeline.tsv (per 100 ms: requests, p50, p99, max), .slow.tsv (every request over
50 ms: scheduled time, latency, connection, status, instance that answered),
.faults.txt (fault times from the start of the load), .metrics.txt (tg-proxy's
/metrics after the run: retries, fates, breaker transitions), runs.tsv, summary.txt.
Everything listens on 127.0.0.1 on ports chosen at run time; every process started
here is stopped on exit.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK_TCK = os.sysconf("SC_CLK_TCK")
VICTIM = 1  # the backend instance the faults hit


def say(message):
    print(f"resilience: {message}", flush=True)


def warn(message):
    print(f"resilience: WARNING: {message}", file=sys.stderr, flush=True)


def die(message):
    print(f"resilience: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            return r.status == 200
    except OSError:
        return False


def wait_until(seconds, predicate, step=0.05):
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def machine_busy_ticks():
    """Busy time of all CPUs (all but idle and iowait), in clock ticks."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    values = [int(v) for v in fields[1:9]]
    return sum(values) - values[3] - values[4]


def process_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def run_queue_wait_ms(pids):
    """Time the processes spent runnable but waiting for a CPU (schedstat), in ms: what
    other processes on a shared machine took from them."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")  # every thread (tg-proxy's worker is one)
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return total / 1e6


def median_run(runs):
    """A target's row over its rounds: the round with the median p99 (its figures kept
    together), with the errors of all rounds summed and every round's p99 listed."""
    ordered = sorted(runs, key=lambda f: float(f["p99_ms"]))
    row = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        kinds = {}
        for f in runs:
            for k, v in f.items():
                if k.startswith("error_"):
                    kinds[k] = kinds.get(k, 0) + int(v)
        row = {k: v for k, v in row.items() if not k.startswith("error_")}
        row.update(kinds)
        row["errors"] = str(sum(int(f["errors"]) for f in runs))
        row["p99_rounds"] = " / ".join(f"{float(f['p99_ms']):.1f}" for f in runs)
    return row


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def parse_duration_ms(text):
    m = re.fullmatch(r"(\d+)(ms|s)", text)
    if not m:
        die(f"bad duration '{text}' (e.g. 500ms, 2s)")
    return int(m.group(1)) * (1 if m.group(2) == "ms" else 1000)


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.seconds = float(os.environ.get("BENCH_SECONDS", 10 if self.quick else 20))
        self.rounds = int(os.environ.get("BENCH_ROUNDS", 1 if self.quick else 3))
        self.connections = int(os.environ.get("BENCH_CONNECTIONS", 32))
        self.rate_share = float(os.environ.get("BENCH_RATE_SHARE", 0.5))
        self.proxy_cpus = os.environ.get("BENCH_PROXY_CPUS", "1")
        self.load_cpus = os.environ.get("BENCH_LOAD_CPUS", "0")
        self.wait_quiet_s = int(os.environ.get("BENCH_WAIT_QUIET", 0))
        self.tg_bin = os.environ.get("BENCH_TG_PROXY", os.path.join(ROOT, "build/bin/tg-proxy"))
        self.loadgen = os.environ.get("BENCH_LOADGEN", os.path.join(ROOT, "build/bin/open-loop-load"))
        self.tg_ejection = os.environ.get("BENCH_TG_EJECTION", "2s")
        self.nginx_fail_timeout = os.environ.get("BENCH_NGINX_FAIL_TIMEOUT", "2s")
        self.lb = "least"
        self.client = args.client
        parse_duration_ms(self.tg_ejection)
        parse_duration_ms(self.nginx_fail_timeout)
        self.work = tempfile.mkdtemp(prefix="tg-resilience-run.")
        os.chmod(self.work, 0o755)
        self.out = os.environ.get("BENCH_OUT") or tempfile.mkdtemp(prefix="tg-resilience.")
        os.makedirs(self.out, exist_ok=True)
        self.processes = []  # (Popen, name): every process started here
        self.backend_ports = [free_port() for _ in range(3)]
        self.backends = [None, None, None]
        self.nginx_port = free_port()
        self.haproxy_port = free_port()
        self.pin = os.environ.get("BENCH_PIN", "1") != "0" and os.cpu_count() >= 2
        self.placement = "pinned"

    # ---- processes -------------------------------------------------------------------

    def spawn(self, name, argv, cpus):
        """Start argv in its own process group, pinned to cpus in the pinned placement."""
        if self.placement == "pinned" and self.pin:
            argv = ["taskset", "-c", cpus] + argv
        log = open(os.path.join(self.work, f"{name}.log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        self.processes.append((p, name))
        return p

    def stop(self, p, grace=5.0):
        if p is None or p.poll() is not None:
            self.processes = [(q, n) for q, n in self.processes if q is not p]
            return
        try:
            os.killpg(p.pid, signal.SIGCONT)  # a frozen process cannot exit
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.processes = [(q, n) for q, n in self.processes if q is not p]

    def stop_all(self):
        for p, _ in list(self.processes):
            self.stop(p, grace=2.0)

    # ---- backends --------------------------------------------------------------------

    def nginx_paths(self, name):
        tmp = os.path.join(self.work, f"{name}.tmp")
        os.makedirs(tmp, exist_ok=True)
        user = "user root;\n" if os.getuid() == 0 else ""
        return user, f"""pid {self.work}/{name}.pid;
error_log {self.work}/{name}.error.log warn;
"""

    def nginx_http_common(self, name):
        tmp = os.path.join(self.work, f"{name}.tmp")
        return f"""  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
"""

    def write_backend_configs(self):
        for i, port in enumerate(self.backend_ports):
            name = f"backend-{i}"
            user, paths = self.nginx_paths(name)
            conf = f"""{user}master_process off;
daemon off;
worker_processes 1;
{paths}events {{ worker_connections 4096; }}
http {{
{self.nginx_http_common(name)}  default_type text/plain;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ return 200 "b{i}\\n"; }}
  }}
}}
"""
            self.write_config(f"{name}.conf", conf)

    def write_config(self, name, text, out_name=None):
        for d, n in ((self.work, name), (self.out, out_name or name)):
            with open(os.path.join(d, n), "w") as f:
                f.write(text)

    def start_backend(self, i):
        name = f"backend-{i}"
        self.backends[i] = self.spawn(name, ["nginx", "-e", f"{self.work}/{name}.error.log",
                                             "-p", self.work, "-c", f"{self.work}/{name}.conf"],
                                      self.load_cpus)

    def backends_ready(self):
        return all(http_ok(f"http://127.0.0.1:{p}/") for p in self.backend_ports)

    def start_backends(self):
        for i in range(3):
            self.start_backend(i)
        if not wait_until(10, self.backends_ready):
            die(f"backends did not start: {self.read_logs('backend')}")

    def ensure_backends(self):
        """Every backend running and answering (after a fault)."""
        for i, p in enumerate(self.backends):
            if p.poll() is not None:
                self.processes = [(q, n) for q, n in self.processes if q is not p]
                self.start_backend(i)
            else:
                os.killpg(p.pid, signal.SIGCONT)
        if not wait_until(10, self.backends_ready):
            die("backends do not answer after a fault")

    def read_logs(self, prefix):
        text = []
        for name in sorted(os.listdir(self.work)):
            if name.startswith(prefix) and name.endswith(".log"):
                with open(os.path.join(self.work, name), errors="replace") as f:
                    text.append(f"{name}: {f.read()[-500:]}")
        return "\n".join(text)

    # ---- proxies ---------------------------------------------------------------------

    def write_proxy_configs(self):
        b = self.backend_ports
        instances = "\n".join(f"      - {{ id: b{i}, address: 127.0.0.1:{p} }}" for i, p in enumerate(b))
        self.write_config("tg-proxy.yaml", out_name=f"tg-proxy.yaml.{self.lb}", text=f"""tenants:
  - id: bench
services:
  - name: bench
    tenant: bench
    lb: {{ policy: {"least_request" if self.lb == "least" else "round_robin"} }}
    instances:
{instances}
    retry: {{ attempts: 3, on: [connect_failure, reset, timeout], per_try_timeout: 250ms, budget_percent: 100, min_retries_per_second: 1000 }}
    outlier: {{ consecutive_failures: 1, base_ejection: {self.tg_ejection}, max_ejection: 30s, max_ejection_percent: 34, half_open_probes: 1 }}
    timeouts: {{ connect: 250ms, response_headers: 10s, idle: 120s }}
routes:
  - name: all
    match: {{ path_prefix: / }}
    service: bench
""")
        user, paths = self.nginx_paths("nginx")
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout={self.nginx_fail_timeout};" for p in b)
        self.write_config("nginx.conf", out_name=f"nginx.conf.{self.lb}", text=f"""{user}worker_processes 1;
{paths}events {{ worker_connections 4096; }}
http {{
{self.nginx_http_common("nginx")}  upstream backends {{
{"    least_conn;" + chr(10) if self.lb == "least" else ""}{servers}
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{self.nginx_port} backlog=4096;
    location / {{
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 250ms;
      proxy_read_timeout 250ms;
      proxy_send_timeout 250ms;
    }}
  }}
}}
""")
        servers = "\n".join(f"  server b{i} 127.0.0.1:{p}" for i, p in enumerate(b))
        self.write_config("haproxy.cfg", out_name=f"haproxy.cfg.{self.lb}", text=f"""global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  backlog 4096
  timeout connect 250ms
  timeout server 250ms
  timeout check 250ms
  timeout client 120s
  timeout http-request 10s
  timeout http-keep-alive 120s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
frontend fe
  bind 127.0.0.1:{self.haproxy_port}
  default_backend be
backend be
  balance {"leastconn" if self.lb == "least" else "roundrobin"}
  option httpchk GET /
  default-server check inter 500ms fall 1 rise 1 observe layer4 error-limit 1 on-error mark-down
{servers}
""")

    def start_proxy(self, target):
        """Start one proxy; returns (process, base URL, admin URL or None, measured pid)."""
        if target == "tg-proxy":
            ready = os.path.join(self.work, "tg-proxy.ready")
            if os.path.exists(ready):
                os.unlink(ready)
            lock_dir = os.path.join(self.work, "lock")
            os.makedirs(lock_dir, exist_ok=True)
            p = self.spawn("tg-proxy", [self.tg_bin, "--config", f"{self.work}/tg-proxy.yaml",
                                        "--workers", "1", "--listen", "127.0.0.1:0",
                                        "--admin", "127.0.0.1:0", "--ready-file", ready,
                                        "--lock-dir", lock_dir, "--log-level", "warn",
                                        "--access-log", "off", "--keepalive-timeout", "120s"],
                           self.proxy_cpus)
            if not wait_until(15, lambda: (os.path.exists(ready) and os.path.getsize(ready) > 0)
                              or p.poll() is not None) or p.poll() is not None:
                die(f"tg-proxy did not start: {self.read_logs('tg-proxy')}")
            fields = dict(line.split("=", 1) for line in open(ready).read().split())
            url, admin, pid = f"http://{fields['listen']}", f"http://{fields['admin']}", p.pid
        elif target == "nginx":
            p = self.spawn("nginx", ["nginx", "-e", f"{self.work}/nginx.error.log", "-p", self.work,
                                     "-c", f"{self.work}/nginx.conf", "-g", "daemon off;"],
                           self.proxy_cpus)
            url, admin = f"http://127.0.0.1:{self.nginx_port}", None
            pid = None
        else:
            p = self.spawn("haproxy", ["haproxy", "-db", "-f", f"{self.work}/haproxy.cfg"],
                           self.proxy_cpus)
            url, admin, pid = f"http://127.0.0.1:{self.haproxy_port}", None, p.pid
        if not wait_until(10, lambda: http_ok(url + "/")):
            die(f"{target} does not answer: {self.read_logs(target)}")
        if target == "nginx":  # the worker serves; the master only watches it
            children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
            pid = int(children.stdout.split()[0]) if children.stdout.split() else p.pid
        return p, url, admin, pid

    # ---- load ------------------------------------------------------------------------

    def loadgen_argv(self, url, rate, seconds, prefix=None):
        argv = [self.loadgen, "--target", url.removeprefix("http://"), "--rate", str(rate),
                "--seconds", str(seconds), "--connections", str(self.connections),
                "--timeout", "10"]
        if self.client == "per-connection":
            argv.append("--per-connection")
        if prefix:
            argv += ["--timeline", prefix + ".timeline.tsv", "--slow-ms", "50",
                     "--slow-log", prefix + ".slow.tsv"]
        if self.placement == "pinned" and self.pin:
            argv = ["taskset", "-c", self.load_cpus] + argv
        return argv

    def capacity(self, url, seconds):
        argv = ["wrk", "-t1", f"-c{self.connections}", f"-d{seconds}s", url + "/"]
        if self.placement == "pinned" and self.pin:
            argv = ["taskset", "-c", self.load_cpus] + argv
        r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
        return float(m.group(1)) if m else 0.0

    def wait_quiet(self):
        if self.wait_quiet_s <= 0:
            return
        deadline = time.monotonic() + self.wait_quiet_s
        while True:
            m0 = machine_busy_ticks()
            time.sleep(1)
            if machine_busy_ticks() - m0 < CLK_TCK / 10:
                return
            if time.monotonic() >= deadline:
                warn(f"machine still busy after {self.wait_quiet_s}s (load {load_average()}); "
                     "measuring anyway")
                return

    # ---- faults ----------------------------------------------------------------------

    def fault_plan(self, case):
        """(offset s, action) from the start of the measured load."""
        if case == "a":
            plan, t = [], 1.5
            while t + 2 < self.seconds - 0.5:
                plan += [(t, "kill"), (t + 2, "restart")]
                t += 5
            return plan
        if case == "b":
            start = 2.0 if self.seconds <= 12 else 4.0
            return [(start, "stop"), (start + 6, "cont")]
        return []

    def run_faults(self, plan, t0, log, done):
        for offset, action in plan:
            delay = t0 + offset - time.monotonic()
            if delay > 0 and done.wait(delay):
                return
            p = self.backends[VICTIM]
            if action == "kill":
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                self.processes = [(q, n) for q, n in self.processes if q is not p]
            elif action == "restart":
                self.start_backend(VICTIM)
            elif action == "stop":
                os.killpg(p.pid, signal.SIGSTOP)
            elif action == "cont":
                os.killpg(p.pid, signal.SIGCONT)
            log.append((time.monotonic(), action))

    # ---- one run ---------------------------------------------------------------------

    def measure(self, case, target, rate, round_no):
        self.ensure_backends()
        p, url, admin, pid = self.start_proxy(target)
        try:
            # Warm-up: upstream connections open, caches warm.
            subprocess.run(self.loadgen_argv(url, rate, 1), capture_output=True, timeout=60)
            self.wait_quiet()
            prefix = os.path.join(self.out, f"load.{self.placement}.{self.lb}.{case}.{target}.{round_no}")
            plan = self.fault_plan(case)
            fault_log, done = [], threading.Event()
            busy0, proxy0, la0 = machine_busy_ticks(), process_ticks(pid), load_average()
            backends0 = {b.pid: run_queue_wait_ms([b.pid]) for b in self.backends if b.poll() is None}
            proxy_wait0 = run_queue_wait_ms([pid])
            t0 = time.monotonic()
            load = subprocess.Popen(self.loadgen_argv(url, rate, self.seconds, prefix),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            faults = threading.Thread(target=self.run_faults, args=(plan, t0, fault_log, done))
            faults.start()
            try:
                output, _ = load.communicate(timeout=self.seconds + 60)
            finally:
                if load.poll() is None:  # interrupted: the load generator goes too
                    load.kill()
                    load.wait()
                done.set()
            done.set()
            faults.join()
            elapsed = time.monotonic() - t0
            busy = (machine_busy_ticks() - busy0) / CLK_TCK / elapsed * 100
            proxy_cpu = (process_ticks(pid) - proxy0) / CLK_TCK / elapsed * 100
            proxy_wait = run_queue_wait_ms([pid]) - proxy_wait0
            # Backends alive throughout only (a killed and restarted one has a new pid).
            backends_wait = sum(run_queue_wait_ms([b.pid]) - backends0[b.pid]
                                for b in self.backends if b.pid in backends0 and b.poll() is None)
            with open(prefix + ".txt", "w") as f:
                f.write(output)
            figures = dict(line.split("=", 1) for line in output.split() if "=" in line)
            # Fault times on the load generator's schedule (it starts a little after t0).
            start = int(figures.get("start_monotonic_ns", int(t0 * 1e9))) / 1e9
            faults_at = [(at - start, action) for at, action in fault_log]
            with open(prefix + ".faults.txt", "w") as f:
                f.write("seconds_from_load_start\taction\tinstance\n" + "".join(
                    f"{at:.3f}\t{action}\tb{VICTIM}\n" for at, action in faults_at))
            if admin:
                try:
                    with urllib.request.urlopen(admin + "/metrics", timeout=5) as r:
                        metrics = r.read().decode()
                    keep = [line for line in metrics.splitlines()
                            if re.search(r"retr|fate|breaker|eject|gateway_error|upstream_error", line)
                            and not line.startswith("#")]
                    with open(prefix + ".metrics.txt", "w") as f:
                        f.write("\n".join(keep) + "\n")
                except OSError as e:
                    warn(f"tg-proxy /metrics: {e}")
        finally:
            self.stop(p)
        if "p99_ms" not in figures:
            die(f"load generator failed against {target}: {output[-500:]}")
        figures.update(case=case, target=target, placement=self.placement, lb=self.lb, round=round_no,
                       analysis=self.analyse(prefix, faults_at),
                       proxy_cpu=f"{proxy_cpu:.0f}", machine_busy=f"{busy:.0f}",
                       proxy_wait=f"{proxy_wait:.0f}", backends_wait=f"{backends_wait:.0f}",
                       loadavg=la0, file=prefix + ".txt")
        return figures

    @staticmethod
    def analyse(prefix, faults_at):
        """Where the slow requests (over 50 ms) were: near a fault's start, and which
        instance answered them; for tg-proxy, what /metrics says about retries and
        the breaker."""
        slow = []
        with open(prefix + ".slow.tsv") as f:
            for line in f.readlines()[1:]:
                fields = line.rstrip("\n").split("\t")
                slow.append((float(fields[0]), float(fields[1]), fields[5] or fields[4]))
        parts = []
        if slow or faults_at:
            starts = [t * 1000 for t, action in faults_at if action in ("kill", "stop")]
            near = sum(1 for t, _, _ in slow if any(0 <= t - s0 < 500 for s0 in starts))
            by = {}
            for _, _, who in slow:
                by[who] = by.get(who, 0) + 1
            where = f", {near} of them sent in the 0.5 s after a fault began" if starts else ""
            parts.append(f"{len(slow)} requests over 50 ms{where}; answered by " +
                         (", ".join(f"{k} {v}" for k, v in sorted(by.items())) or "-"))
        if os.path.exists(prefix + ".metrics.txt"):
            counts = {}
            for line in open(prefix + ".metrics.txt"):
                m = re.match(r'(\w+)\{(.*)\} (\S+)$', line.strip())
                if not m or float(m.group(3)) == 0 or "_state" in m.group(1):
                    continue
                labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
                key = labels.get("kind") or labels.get("fate") or labels.get("reason") or m.group(1)
                if "instance" in labels:
                    key = f"{labels['instance']} {key}"
                counts[key] = counts.get(key, 0) + int(float(m.group(3)))
            if counts:
                parts.append("metrics: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return "; ".join(parts)

    # ---- report ----------------------------------------------------------------------

    @staticmethod
    def error_text(f):
        kinds = [f"{k[6:]}:{v}" for k, v in f.items() if k.startswith("error_")]
        return f["errors"] + (" (" + " ".join(kinds) + ")" if kinds else "")

    def table(self, case, runs):
        names = {"a": "a  kill b1 for 2 s every 5 s", "b": "b  freeze b1 (SIGSTOP) for 6 s",
                 "c": "c  baseline, no fault"}
        lines = [f"case {names[case]} [{self.placement}, balancing {self.lb}, client {self.client}, {runs[0]['rate']} req/s offered, "
                 f"{self.connections} connections, {self.seconds:g} s, median of {self.rounds} round(s)]",
                 f"  {'target':<9} {'req/s':>7} {'errors (by kind)':<26} {'p50':>8} {'p99':>8} "
                 f"{'p99.9':>8} {'max':>8}  {'proxy cpu':>9} {'machine':>7}  {'waited for a CPU (proxy/backends)':>8}"]
        for f in runs:
            reqs = float(f["completed"]) / float(f["seconds"])
            lines.append(f"  {f['target']:<9} {reqs:>7.0f} {self.error_text(f):<26} "
                         f"{float(f['p50_ms']):>6.2f}ms {float(f['p99_ms']):>6.2f}ms "
                         f"{float(f['p999_ms']):>6.2f}ms {float(f['max_ms']):>6.1f}ms  "
                         f"{f['proxy_cpu']:>8}% {f['machine_busy']:>6}%  "
                         f"{f['proxy_wait']} / {f['backends_wait']} ms")
        tg = next((f for f in runs if f["target"] == "tg-proxy"), None)
        peers = [f for f in runs if f["target"] != "tg-proxy"]
        if tg and peers:
            best = min(peers, key=lambda f: float(f["p99_ms"]))
            bp99 = float(best["p99_ms"])
            limit = max(1.25 * bp99, bp99 + 5)
            p99, errors = float(tg["p99_ms"]), int(tg["errors"])
            ok = errors == 0 and p99 <= limit
            if case == "c":
                lines.append(f"  baseline (information): tg-proxy p99 {p99:.2f} ms vs better peer "
                             f"{best['target']} {bp99:.2f} ms")
            else:
                verdict = "PASS" if ok else "MISS"
                lines.append(f"  verdict: {verdict}: tg-proxy {errors} errors (target 0), p99 "
                             f"{p99:.2f} ms (target <= max(1.25 x, +5 ms) of {best['target']}'s "
                             f"{bp99:.2f} ms = {limit:.2f} ms)")
        for f in runs:
            parts = ([f"p99 by round {f['p99_rounds']} ms"] if "p99_rounds" in f else []) + \
                ([f["analysis"]] if f["analysis"] else [])
            if parts:
                lines.append(f"    {f['target']}: " + "; ".join(parts))
        late = [f"{f['target']} {float(f['late_start_ms']):.1f} ms" for f in runs
                if float(f.get("late_start_ms", 0)) > 5]
        if late:
            lines.append("  note: the load generator fell behind its schedule by up to " +
                         ", ".join(late) + " (the load side was short of CPU; such delay is "
                         "charged to the proxy)")
        busy = max(int(f["machine_busy"]) for f in runs)
        if busy > 190:
            lines.append(f"  note: the machine's CPUs were {busy}% busy in a run (2 cores = 200%):"
                         " the load side may have been starved")
        return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", default=os.environ.get("CASES", "a,b,c"))
    parser.add_argument("--targets", default=os.environ.get("BENCH_TARGETS", "tg-proxy,nginx,haproxy"))
    parser.add_argument("--placement", choices=["pinned", "unpinned", "both"])
    parser.add_argument("--client", choices=["pool", "per-connection"],
                        default=os.environ.get("BENCH_CLIENT", "pool"))
    parser.add_argument("--lb", choices=["least", "round_robin", "both"], default=os.environ.get("BENCH_LB"))
    args = parser.parse_args()
    cases = [c for c in re.split(r"[ ,]+", args.cases) if c]
    targets = [t for t in re.split(r"[ ,]+", args.targets) if t]
    for c in cases:
        if c not in ("a", "b", "c"):
            die(f"unknown case '{c}' (cases are a b c)")
    for t in targets:
        if t not in ("tg-proxy", "nginx", "haproxy"):
            die(f"unknown target '{t}' (tg-proxy, nginx, haproxy)")
    placement = args.placement or ("pinned" if args.quick else "both")
    placements = ["pinned", "unpinned"] if placement == "both" else [placement]
    lb = args.lb or ("least" if args.quick else "both")
    if lb not in ("least", "round_robin", "both"):
        die(f"BENCH_LB={lb}: least, round_robin or both")
    lbs = ["least", "round_robin"] if lb == "both" else [lb]

    if os.environ.get("BENCH_SKIP_DEPS", "0") != "1":
        subprocess.run([os.path.join(ROOT, "deploy/install-deps.sh"), "--bench"], check=True)
    for tool in ("nginx", "haproxy", "wrk", "taskset"):
        if not shutil.which(tool):
            die(f"{tool} not found (deploy/install-deps.sh --bench)")

    bench = Bench(args)
    for binary in (bench.loadgen,) + ((bench.tg_bin,) if "tg-proxy" in targets else ()):
        if not os.access(binary, os.X_OK):
            die(f"{binary} not found (build it: ninja -C build tg-proxy open-loop-load)")

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    summary = []
    try:
        say(f"results in {bench.out}; load average {load_average()} at start")
        with open(os.path.join(bench.out, "environment.txt"), "w") as f:
            f.write(f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
                    f"cases={','.join(cases)} targets={','.join(targets)} placements={placements} "
                    f"seconds={bench.seconds:g} connections={bench.connections} "
                    f"proxy_cpus={bench.proxy_cpus} load_cpus={bench.load_cpus} "
                    f"loadavg_start={load_average()}\ntg-proxy: {bench.tg_bin}\n")
            for argv in (["nginx", "-v"], ["haproxy", "-v"], ["uname", "-r"]):
                r = subprocess.run(argv, capture_output=True, text=True)
                f.write((r.stdout + r.stderr).splitlines()[0] + "\n")
        bench.write_backend_configs()
        for lb_mode in lbs:
            bench.lb = lb_mode
            bench.write_proxy_configs()
        say(f"backends b0 b1 b2 on ports {bench.backend_ports}; faults hit b{VICTIM}")
        say(f"configurations: {bench.out}/{{tg-proxy.yaml,nginx.conf,haproxy.cfg}}.<lb>")
        with open(os.path.join(bench.out, "runs.tsv"), "w") as f:
            f.write("placement\tlb\tcase\tround\ttarget\trate\tcompleted\terrors\tp50_ms\tp99_ms\t"
                    "p999_ms\tmax_ms\tproxy_cpu_pct\tmachine_busy_pct\tproxy_cpu_wait_ms\t"
                    "backends_cpu_wait_ms\tloadavg\n")
        for placement in placements:
            bench.placement = placement
            if placement == "pinned" and bench.pin:
                say(f"pinned: proxies on CPU {bench.proxy_cpus}; load generator and backends on "
                    f"CPU {bench.load_cpus}")
            else:
                say("unpinned: the scheduler places proxies, backends and load generator")
            bench.stop_all()  # backends move with the placement
            bench.backends = [None, None, None]
            bench.start_backends()
            bench.lb = lbs[0]
            bench.write_proxy_configs()
            rate = os.environ.get("BENCH_RATE")
            if rate:
                rate = int(float(rate))
                say(f"rate {rate} req/s (BENCH_RATE)")
                summary.append(f"[{placement}] rate {rate} req/s (BENCH_RATE)")
            else:
                caps = {}
                for target in targets:
                    bench.wait_quiet()
                    p, url, _, _ = bench.start_proxy(target)
                    try:
                        caps[target] = bench.capacity(url, 1 if bench.quick else 3)
                    finally:
                        bench.stop(p)
                slowest = min(caps, key=caps.get)
                rate = int(caps[slowest] * bench.rate_share) // 100 * 100
                line = ("capacity (wrk -t1 -c32, no fault, balancing " + lbs[0] + "): " +
                        ", ".join(f"{t} {c:.0f} req/s" for t, c in caps.items()) +
                        f"; rate {rate} req/s = {bench.rate_share:g} x {slowest}'s")
                say(line)
                summary.append(f"[{placement}] {line}")
            for lb_mode in lbs:
                bench.lb = lb_mode
                bench.write_proxy_configs()
                for case in cases:
                    rounds = {t: [] for t in targets}
                    for round_no in range(1, bench.rounds + 1):
                        for target in targets:  # targets alternate within each round
                            f = bench.measure(case, target, rate, round_no)
                            rounds[target].append(f)
                            say(f"  {placement} {lb_mode} {case} round {round_no} {target}: "
                                f"{float(f['completed']) / float(f['seconds']):.0f} req/s, errors "
                                f"{bench.error_text(f)}, p50 {f['p50_ms']} p99 {f['p99_ms']} p99.9 "
                                f"{f['p999_ms']} max {f['max_ms']} ms (proxy cpu {f['proxy_cpu']}%, "
                                f"machine {f['machine_busy']}%, load {f['loadavg']})")
                            with open(os.path.join(bench.out, "runs.tsv"), "a") as out:
                                out.write("\t".join(str(f.get(k, "")) for k in (
                                    "placement", "lb", "case", "round", "target", "rate", "completed",
                                    "errors", "p50_ms", "p99_ms", "p999_ms", "max_ms", "proxy_cpu",
                                    "machine_busy", "proxy_wait", "backends_wait", "loadavg")) + "\n")
                    summary.append(bench.table(case, [median_run(rounds[t]) for t in targets]))
        text = "\n\n".join(summary) + f"\n\nload average at the end: {load_average()}\n"
        print()
        print(text)
        with open(os.path.join(bench.out, "summary.txt"), "w") as f:
            f.write(text)
        say(f"raw outputs, configurations, runs.tsv and summary.txt are in {bench.out}")
    except KeyboardInterrupt:
        warn("interrupted")
        return 130
    finally:
        bench.stop_all()
        shutil.rmtree(bench.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
