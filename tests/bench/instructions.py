#!/usr/bin/env python3
"""Instructions per proxied request, counted by callgrind (not run by CI).

    tests/bench/instructions.py [--cases a,b,...] [--requests N] [--top N] [--proxy PATH]

Timing on a shared 2-core machine moves by 10-15% between runs; instruction
counts do not, so this is the figure to compare before and after a change to
the request path. For each case tg-proxy (--workers 1) runs under
`valgrind --tool=callgrind` in front of an NGINX backend; a client on this
process sends WARMUP requests, the counters are zeroed (callgrind_control -z),
REQUESTS more requests are sent, and the counters are dumped (-d). The figure
is the dump's instruction total divided by REQUESTS: every thread of the
proxy is included (worker, access-log writer, admin), so is the worker's
10 ms tick, which under valgrind's slowdown adds a few dozen instructions per
request (the `idle` line measures it: the same wait with no requests).

Cases (all GET /small through one route unless said):
  keepalive     REQUESTS requests on one keep-alive connection
  close         one new connection per request (Connection: close)
  post1k        POST with a 1 KiB body, keep-alive
  routes10      10 host routes, the request matches the 5th
  routes10k     10,000 host routes, the request matches the 5,000th
  headers10k    10,000 header-equality routes (X-Tenant), the request matches the 5,000th
  accesslog     keep-alive with --access-log to a file
  least_request, peak_ewma, ring_hash, maglev, round_robin3
                three instances (three NGINX ports), that policy
  outlier3      round_robin3 with an `outlier` section (breakers on, none ejected)
  ratelimit     keepalive with a route rate_limit by route (a fixed bucket, never limiting)
  ratelimit_keyed  keepalive with a route rate_limit by client_ip (a keyed bucket, never limiting)
  tenant_limits keepalive on a tenant's service with limits.rate and max_concurrent (never limiting)
  idle          no requests at all between zero and dump (REQUESTS x the mean
                time per keep-alive request): the cost of the clock alone
  auth_open     keep-alive to a route without auth in a table that has an
                `auth: required` route (the gate registered: a per-route test)
  auth_apikey   keep-alive, X-Api-Key on a route with auth: required
  auth_jwt      keep-alive, one ES256 JWT (verified once, then cached)
  auth_jwt_new  keep-alive, a new ES256 JWT per request (each verified:
                parse, claims, one signature check); minted with `openssl`
  auth_flood    keep-alive, a new ES256 JWT with a bad signature per request
                from one address (401): past the failure limiter's burst each
                is refused by a table lookup, unchecked

--proxy-arg ARG (repeatable) adds ARG to tg-proxy's command line, e.g. telemetry
on and off: --proxy-arg=--control=127.0.0.1:1 --proxy-arg=--telemetry-interval=1s
(or =0). Nothing listens there: the table stream and the telemetry stream
retry with back-off and the batches stay buffered, so the figure holds the
collection every interval (a copy of the counters on the worker, the deltas,
the batch) but not the sending.

--top N also prints the N functions with the most instructions (inclusive
of callees excluded: "self" cost) for each case, from callgrind_annotate.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import base64
import hashlib
import json
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


class Backend:
    """One NGINX process listening on `count` ports, answering /small."""

    def __init__(self, work, count):
        self.ports = [free_port() for _ in range(count)]
        conf = os.path.join(work, "backend.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        listens = "".join(f"    listen 127.0.0.1:{p};\n" for p in self.ports)
        tmp = os.path.join(work, "backend.tmp")
        os.makedirs(tmp, exist_ok=True)
        with open(conf, "w") as f:
            f.write(f"""{user}worker_processes 1;
pid {work}/backend.pid;
error_log {work}/backend.error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  server {{
{listens}    location = /small {{ return 200 "hello\\n"; }}
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
        self.process = subprocess.Popen(["nginx", "-p", work, "-c", conf, "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: all(port_open(p) for p in self.ports), 5, "the NGINX backend")

    def stop(self):
        self.process.terminate()
        self.process.wait(5)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


AUTH_KEY = "tg_bench-api-key"
AUTH_ISSUER = "https://bench.example"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Tokens:
    """ES256 tokens signed by the `openssl` CLI (DER signatures turned into r||s)."""

    def __init__(self, work):
        self.key = os.path.join(work, "bench-ec.pem")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key], check=True)
        pub = subprocess.run(["openssl", "ec", "-in", self.key, "-text", "-noout"], capture_output=True, text=True,
                             check=True).stdout
        hexes = pub.split("pub:")[1].split("ASN1")[0]
        point = bytes.fromhex("".join(c for c in hexes if c in "0123456789abcdef"))
        self.jwks = json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": b64url(point[1:33]),
                                          "y": b64url(point[33:65])}]})

    def sign_der(self, data):
        """The DER ECDSA signature of SHA-256(data) (auth_rps.py swaps in a faster one)."""
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=data,
                              capture_output=True, check=True).stdout

    def mint(self, n, bad=False):
        header = b64url(json.dumps({"alg": "ES256", "kid": "k1"}).encode())
        claims = b64url(json.dumps({"iss": AUTH_ISSUER, "aud": "bench", "exp": int(time.time()) + 3600,
                                    "jti": str(n)}).encode())
        signing_input = f"{header}.{claims}".encode()
        der = self.sign_der(signing_input)
        # SEQUENCE { INTEGER r, INTEGER s } -> r||s, 32 bytes each
        pos = 2 if der[1] < 0x80 else 3
        parts = []
        for _ in range(2):
            length = der[pos + 1]
            parts.append(int.from_bytes(der[pos + 2:pos + 2 + length], "big").to_bytes(32, "big"))
            pos += 2 + length
        signature = parts[0] + parts[1]
        if bad:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        return f"{header}.{claims}.{b64url(signature)}"


TOKENS = {}  # case -> list of Authorization values, one per request (cycled)


def auth_yaml(case, work):
    jwks = os.path.join(work, "bench.jwks")
    with open(jwks, "w") as f:
        f.write(TOKENS["jwks"])
    digest = hashlib.sha256(AUTH_KEY.encode()).hexdigest()
    return (f"tenants:\n  - id: bench\n    credentials: [ {{ name: k, kind: api_key, sha256: {digest} }} ]\n"
            f"    jwt: {{ issuer: \"{AUTH_ISSUER}\", audiences: [bench], jwks_file: {jwks} }}\n")


def config_yaml(case, ports, work=""):
    services, routes = [], []
    if case in ("least_request", "peak_ewma", "ring_hash", "maglev", "round_robin3", "outlier3"):
        policy = "round_robin" if case in ("round_robin3", "outlier3") else case
        key = "\n    hash_key: { header: X-User }" if case in ("ring_hash", "maglev") else ""
        if case == "outlier3":
            key = "\n    outlier: { consecutive_failures: 5, base_ejection: 10s }"
        instances = "".join(f"\n      - {{ id: i{n}, address: 127.0.0.1:{p} }}" for n, p in enumerate(ports))
        services.append(f"  - name: svc\n    lb: {{ policy: {policy} }}{key}\n    instances:{instances}")
    elif case.startswith("auth_"):
        services.append(f"  - name: svc\n    tenant: bench\n    instances:\n      - {{ address: 127.0.0.1:{ports[0]} }}")
    else:
        services.append(f"  - name: svc\n    instances:\n      - {{ address: 127.0.0.1:{ports[0]} }}")
    if case in ("routes10", "routes10k"):
        count = 10 if case == "routes10" else 10000
        for n in range(count):
            routes.append(f"  - {{ name: r{n}, match: {{ host: h{n}.example }}, service: svc }}")
    elif case == "headers10k":
        for n in range(10000):
            routes.append(f"  - {{ name: r{n}, match: {{ header: {{ name: X-Tenant, value: t{n} }} }}, service: svc }}")
    elif case in ("ratelimit", "ratelimit_keyed"):
        by = "route" if case == "ratelimit" else "client_ip"
        routes.append("  - { name: all, match: { path_prefix: / }, service: svc, "
                      f"rate_limit: {{ rate: 1000000000/s, by: {by} }} }}")
    elif case == "auth_open":
        routes.append("  - { name: open, match: { path_prefix: /small }, service: svc }")
        routes.append("  - { name: secured, match: { path_prefix: /secured }, service: svc, auth: required }")
    elif case.startswith("auth_"):
        routes.append("  - { name: secured, match: { path_prefix: /small }, service: svc, auth: required }")
    else:
        routes.append("  - { name: all, match: { path_prefix: / }, service: svc }")
    tenants = auth_yaml(case, work) if case.startswith("auth_") else ""
    if case == "tenant_limits":
        tenants = ("tenants:\n  - id: t1\n    limits: { rate: 1000000000/s, max_concurrent: 1000 }\n")
        services[0] = services[0].replace("  - name: svc\n", "  - name: svc\n    tenant: t1\n", 1)
    return tenants + "services:\n" + "\n".join(services) + "\nroutes:\n" + "\n".join(routes) + "\n"


def request_bytes(case, n):
    host = "t"
    extra = ""
    if case == "routes10":
        host = "h5.example"
    elif case == "routes10k":
        host = "h5000.example"
    elif case == "headers10k":
        extra = "X-Tenant: t5000\r\n"
    elif case in ("ring_hash", "maglev"):
        extra = f"X-User: user-{n % 1000}\r\n"
    elif case == "auth_apikey":
        extra = f"X-Api-Key: {AUTH_KEY}\r\n"
    elif case in ("auth_jwt", "auth_jwt_new", "auth_flood"):
        tokens = TOKENS[case]
        extra = f"Authorization: Bearer {tokens[n % len(tokens)]}\r\n"
    if case == "post1k":
        body = b"b" * 1024
        return (f"POST /small HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1024\r\n{extra}\r\n").encode() + body
    if case == "close":
        return f"GET /small HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n".encode()
    return f"GET /small HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def read_response(sock, buffer, expect=b"HTTP/1.1 200"):
    """Reads one response with a Content-Length body; returns the rest of `buffer`."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before a response head")
        buffer += chunk
    head, rest = buffer.split(b"\r\n\r\n", 1)
    if not head.startswith(expect):
        raise RuntimeError("unexpected response: " + head.decode(errors="replace")[:200])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed inside a body")
        rest += chunk
    return rest[length:]


def send_requests(case, port, count, offset=0):
    if case == "close":
        for n in range(count):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(request_bytes(case, n))
                read_response(s, b"")
        return
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rest = b""
        expect = b"HTTP/1.1 401" if case == "auth_flood" else b"HTTP/1.1 200"
        for n in range(count):
            s.sendall(request_bytes(case, offset + n))
            rest = read_response(s, rest, expect)


def total_instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def run_case(case, args, backend, work):
    case_dir = os.path.join(work, case)
    os.makedirs(case_dir)
    config = os.path.join(case_dir, "tg.yaml")
    with open(config, "w") as f:
        f.write(config_yaml(case, backend.ports, case_dir))
    ready = os.path.join(case_dir, "ready")
    out = os.path.join(case_dir, "callgrind.out")
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", args.proxy,
               "--config", config, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
               "--workers", "1", "--log-level", "warn", "--ready-file", ready]
    if case == "accesslog":
        command += ["--access-log", os.path.join(case_dir, "access.log")]
    command += args.proxy_arg
    log = open(os.path.join(case_dir, "proxy.log"), "w")
    proxy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(ready), 300, "tg-proxy under valgrind")
        port = int(open(ready).read().split("listen=")[1].split("\n")[0].rsplit(":", 1)[1])
        load_case = "keepalive" if case == "idle" else case
        send_requests(load_case, port, args.warmup)
        subprocess.run(["callgrind_control", "-z", str(proxy.pid)], check=True, stdout=subprocess.DEVNULL)
        start = time.monotonic()
        if case == "idle":
            time.sleep(args.idle_seconds)
        else:
            send_requests(case, port, args.requests, args.warmup)
        elapsed = time.monotonic() - start
        subprocess.run(["callgrind_control", "-d", str(proxy.pid)], check=True, stdout=subprocess.DEVNULL)
        dumps = sorted(p for p in os.listdir(case_dir) if p.startswith("callgrind.out") and p != "callgrind.out")
        dump = os.path.join(case_dir, dumps[-1]) if dumps else None
        wait_for(lambda: dump is not None and os.path.getsize(dump) > 0, 30, "the callgrind dump")
        instructions = total_instructions(dump)
    finally:
        proxy.terminate()
        try:
            proxy.wait(30)
        except subprocess.TimeoutExpired:
            proxy.kill()
    top = ""
    if args.top:
        annotated = subprocess.run(["callgrind_annotate", "--threshold=100", dump], capture_output=True, text=True).stdout
        lines = [l for l in annotated.splitlines() if l.strip() and (l.strip()[0].isdigit())]
        top = "\n".join("      " + l.strip()[:150] for l in lines[1:args.top + 1])
    return instructions, elapsed, top


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="keepalive,close,post1k,accesslog,routes10,routes10k,headers10k,"
                                            "round_robin3,outlier3,least_request,peak_ewma,ring_hash,maglev,ratelimit,"
                                            "ratelimit_keyed,tenant_limits,idle")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--proxy", default=os.environ.get("BENCH_TG_PROXY", os.path.join(ROOT, "build/bin/tg-proxy")))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--proxy-arg", action="append", default=[], help="an extra tg-proxy argument (repeatable)")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"instructions.py: {tool} not found (deploy/install-deps.sh --bench; valgrind is a Debian package)")
    if not os.path.exists(args.proxy):
        sys.exit(f"instructions.py: {args.proxy} not found (deploy/build.sh)")
    work = tempfile.mkdtemp(prefix="tg-instructions.")
    backend = Backend(work, 3)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if any(c.startswith("auth_") for c in cases):
        tokens = Tokens(work)
        TOKENS["jwks"] = tokens.jwks
        TOKENS["auth_jwt"] = [tokens.mint(0)]
        total = args.warmup + args.requests
        if "auth_jwt_new" in cases:
            # Warm-up and measured requests each get their own token.
            TOKENS["auth_jwt_new"] = [tokens.mint(n) for n in range(total)]
        if "auth_flood" in cases:
            TOKENS["auth_flood"] = [tokens.mint(n, bad=True) for n in range(min(total, 200))]
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"tg-proxy {args.proxy} (commit {commit}), {args.requests} requests per case after {args.warmup} warm-up")
        print(f"{'case':<14} {'instructions/request':>22} {'wall s':>8}")
        for case in cases:
            instructions, elapsed, top = run_case(case, args, backend, work)
            if case == "idle":
                print(f"{case:<14} {instructions:>22,} {elapsed:>8.1f}  (total over {args.idle_seconds:.0f} s without requests)")
            else:
                print(f"{case:<14} {instructions / args.requests:>22,.0f} {elapsed:>8.1f}")
            if top:
                print(top)
            sys.stdout.flush()
    finally:
        backend.stop()
        if args.keep:
            print("work directory:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
