#!/usr/bin/env python3
"""Active health check capacity of tg-control (stdlib only; not run by CI).

Starts the probe targets itself: nginx (one process, --ports ports, a config
written to a temp dir) when it is installed, else --target-procs asyncio
processes sharing the ports with SO_REUSEPORT; both answer 200 and close.
It then writes a config file with --instances instances (explicit ids, spread
over --services services and over the ports) under an HTTP health check with
--interval,
starts tg-control on it (temp database, ports picked at run time, --ready-file),
waits until every instance is a health target and healthy, then lets it probe
for --duration seconds and reads the probes it counted (/metrics,
tg_control_health_probes_total) and its CPU time (/proc/PID/stat).

    health_probes.py [--control-bin build/bin/tg-control] [--instances 10000]
                     [--services 100] [--ports 50] [--interval 5s] [--duration 30]

Last line printed (machine-readable; one key=value per field):
    result instances=10000 probes_per_s=1998.4 control_cpu_pct=23.1 failed=0 target_cpu_pct=61.0

The checker's budget (docs/performance.md): 10,000 instances at a 5 s interval
(~2,000 probes/s) on less than one core, i.e. control_cpu_pct < 100.
"""
import argparse
import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def raise_open_files_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Answer(asyncio.Protocol):
    """Reads a request head, answers 200 and closes (a plain Protocol: no
    coroutine per connection, so one process keeps up with thousands a second)."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            self.transport.write(RESPONSE)
            self.transport.close()

    def connection_lost(self, exc):
        self.transport = None


async def serve(ports, fixed):
    loop = asyncio.get_running_loop()
    servers = []
    bound = []
    for i in range(ports):
        # SO_REUSEPORT: --target-procs processes share the ports (the kernel spreads connections).
        server = await loop.create_server(Answer, "127.0.0.1", fixed[i] if fixed else 0, backlog=4096,
                                          reuse_port=True)
        servers.append(server)
        bound.append(server.sockets[0].getsockname()[1])
    print(" ".join(str(p) for p in bound), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def free_ports(n):
    """n loopback ports free now (bound, then released)."""
    import socket
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_nginx(workdir, count):
    """nginx with one worker answering 200 on `count` loopback ports; (ports, process)."""
    ports = free_ports(count)
    listens = "\n".join(f"    listen 127.0.0.1:{p} backlog=4096;" for p in ports)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
worker_rlimit_nofile 16384;
error_log {workdir}/nginx-error.log;
pid {workdir}/nginx.pid;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_timeout 0;
  client_body_temp_path {workdir}; proxy_temp_path {workdir}; fastcgi_temp_path {workdir};
  uwsgi_temp_path {workdir}; scgi_temp_path {workdir};
  server {{
{listens}
    location / {{ return 200 "ok"; }}
  }}
}}
""")
    process = subprocess.Popen(["nginx", "-p", workdir, "-c", conf, "-g", "daemon off; master_process off;"],
                               stderr=subprocess.DEVNULL)
    import socket
    wait_for("nginx", lambda: socket.socket().connect_ex(("127.0.0.1", ports[-1])) == 0, 10)
    return ports, process


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def metrics(http_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(text, name, labels=""):
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" ([0-9.e+]+)$"
    m = re.search(pattern, text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"health_probes: timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--control-bin", default="build/bin/tg-control")
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--ports", type=int, default=50)
    parser.add_argument("--interval", default="5s")
    parser.add_argument("--timeout", default="1s")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--target", choices=["nginx", "python"], default="nginx" if shutil.which("nginx") else "python",
                        help="the probe targets: nginx (1 worker, a config written here) or asyncio processes")
    parser.add_argument("--target-procs", type=int, default=2, help="python: processes sharing the ports")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: a target process
    parser.add_argument("--serve-ports", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        raise_open_files_limit()
        fixed = [int(p) for p in args.serve_ports.split(",")] if args.serve_ports else []
        asyncio.run(serve(args.serve, fixed))
        return

    workdir = tempfile.mkdtemp(prefix="tg-bench-health-")
    targets = []
    control = None
    try:
        if args.target == "nginx":
            ports, target = start_nginx(workdir, args.ports)
            targets.append(target)
        else:
            target = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(args.ports)],
                                      stdout=subprocess.PIPE, text=True)
            targets.append(target)
            ports = [int(p) for p in target.stdout.readline().split()]
            if len(ports) != args.ports:
                raise SystemExit("health_probes: the target server did not start")
        for _ in range(args.target_procs - 1 if args.target == "python" else 0):
            more = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(args.ports),
                                     "--serve-ports", ",".join(str(p) for p in ports)],
                                    stdout=subprocess.PIPE, text=True)
            targets.append(more)
            more.stdout.readline()
        per_service = max(1, args.instances // args.services)
        lines = ["services:"]
        n = 0
        for s in range(args.services):
            lines.append(f"  - name: svc{s}")
            lines.append(f"    health_check: {{ type: http, path: /healthz, interval: {args.interval}, "
                         f"timeout: {args.timeout}, healthy_threshold: 2, unhealthy_threshold: 3 }}")
            lines.append("    instances:")
            for i in range(per_service):
                if n == args.instances:
                    break
                lines.append(f"      - {{ id: s{s}-i{i}, address: 127.0.0.1:{ports[n % len(ports)]} }}")
                n += 1
        config = os.path.join(workdir, "bench.yaml")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        ready = os.path.join(workdir, "ready")
        control = subprocess.Popen(
            [args.control_bin, "--db", os.path.join(workdir, "tg.db"), "--config", config,
             "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ready-file", ready],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "control.log"), "w"))
        wait_for("tg-control's ready file", lambda: os.path.exists(ready) and "http=" in open(ready).read(), 60)
        http_port = int(re.search(r"http=[^\n]*:(\d+)", open(ready).read()).group(1))
        try:
            wait_for("every instance healthy",
                     lambda: metric(metrics(http_port), "tg_control_instances", 'health="healthy"') >= n, 120)
        except SystemExit:
            text = metrics(http_port)
            print("healthy:", metric(text, "tg_control_instances", 'health="healthy"'),
                  "probes:", metric(text, "tg_control_health_probes_total", 'result="pass"'),
                  metric(text, "tg_control_health_probes_total", 'result="fail"'), file=sys.stderr)
            raise

        text = metrics(http_port)
        probes0 = metric(text, "tg_control_health_probes_total", 'result="pass"') + \
            metric(text, "tg_control_health_probes_total", 'result="fail"')
        failed0 = metric(text, "tg_control_health_probes_total", 'result="fail"')
        cpu0, target0, t0 = cpu_seconds(control.pid), sum(cpu_seconds(t.pid) for t in targets), time.monotonic()
        time.sleep(args.duration)
        text = metrics(http_port)
        cpu1, target1, t1 = cpu_seconds(control.pid), sum(cpu_seconds(t.pid) for t in targets), time.monotonic()
        probes1 = metric(text, "tg_control_health_probes_total", 'result="pass"') + \
            metric(text, "tg_control_health_probes_total", 'result="fail"')
        failed1 = metric(text, "tg_control_health_probes_total", 'result="fail"')
        elapsed = t1 - t0
        print(f"result instances={n} probes_per_s={(probes1 - probes0) / elapsed:.1f} "
              f"control_cpu_pct={100 * (cpu1 - cpu0) / elapsed:.1f} failed={int(failed1 - failed0)} "
              f"target_cpu_pct={100 * (target1 - target0) / elapsed:.1f}")
    finally:
        for process in [control] + targets:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
