#!/usr/bin/env python3
"""Requests per second and p99 with authentication and limits (not run by CI).

    tests/bench/auth_rps.py [--cases a,b,...] [--rounds 3] [--seconds 5] [--pool 16384] [--tokens DIR]

The pool is signed through libcrypto (ctypes: a few seconds), or, where that
cannot be loaded, by one `openssl` process per token (minutes on a busy
machine); either way it can be minted once and reused while valid (an hour):

    tests/bench/auth_rps.py --tokens /tmp/tg-tokens --mint-only
    tests/bench/auth_rps.py --tokens /tmp/tg-tokens

instructions.py counts what one request costs under callgrind; this script
measures what that means in throughput: tg-proxy (--workers 1, the same flags
as run.sh) pinned to CPU 1, `wrk -t1 -c64 --latency` (keep-alive) and the
NGINX backend on CPU 0, one proxy per case started at the beginning, the
cases run in turn within each round (ROUNDS rounds of SECONDS each, after a
one-second warm-up per case), so a change of load on the machine touches all
cases alike. The configurations and tokens are instructions.py's (imported).

Cases:
  plain         a route without auth or limits (the reference for the ratios)
  auth_open     a route without auth in a table that has an `auth: required` route
  auth_apikey   X-Api-Key on a route with auth: required
  auth_jwt      one ES256 JWT for every request (verified once, then cached)
  auth_jwt_new  a new ES256 JWT per request: a wrk Lua script cycles a pool of
                --pool (16,384) pre-minted tokens, 4x what the worker's token
                cache holds (--auth-max-cached-tokens, 4,096, LRU in 4-way
                sets), so each request misses the cache and is verified (one
                signature check); the table's "credential checks per request"
                (tg_auth_checks_total) shows it. With a pool of 2x the cache,
                the sets that draw 4 or fewer of the pool's tokens keep them
                (~7% of requests were cache hits).
  ratelimit     a route rate_limit by route, high enough that nothing is refused
  ratelimit_keyed  the same by client_ip (a keyed bucket)
  tenant_limits the service's tenant has limits.rate and max_concurrent (never limiting)
  auth_flood    bad ES256 signatures from one address (all 401): past the failure
                limiter's burst each is refused by a table lookup, unchecked

Each case is checked before it is measured (one request answered with the
expected status); a run with socket errors, or with responses other than
the expected ones, is flagged in the table. The table gives medians over the
rounds, the min-max of req/s, the ratio of the median to `plain`'s, and the
proxy's CPU use (near 100% of its core: the proxy set the figure).
"""
import argparse
import concurrent.futures
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instructions as ins  # noqa: E402  (config, backend and token helpers)
import report  # noqa: E402  (wrk output parser)

CASES = ["plain", "auth_open", "auth_apikey", "auth_jwt", "auth_jwt_new", "ratelimit", "ratelimit_keyed",
         "tenant_limits", "auth_flood"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def config_case(case):
    """instructions.py's case name for the configuration of `case`."""
    return "keepalive" if case == "plain" else case


def pin_tree(pid, cpus):
    """Pins `pid` and its children (an NGINX master and its worker) to `cpus`."""
    os.sched_setaffinity(pid, cpus)
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for child in children:
        os.sched_setaffinity(int(child), cpus)


def proc_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def lua_escape(token):
    return token.replace("\\", "\\\\").replace('"', '\\"')


def write_wrk_script(path, case):
    """A wrk script: fixed headers for most cases, a cycled token pool for the JWT ones."""
    with open(path, "w") as f:
        if case == "auth_apikey":
            f.write(f'wrk.headers["X-Api-Key"] = "{ins.AUTH_KEY}"\n')
        elif case == "auth_jwt":
            f.write(f'wrk.headers["Authorization"] = "Bearer {lua_escape(ins.TOKENS["auth_jwt"][0])}"\n')
        elif case in ("auth_jwt_new", "auth_flood"):
            # One request() call per request: a new Authorization header each time.
            f.write("local tokens = {\n")
            for token in ins.TOKENS[case]:
                f.write(f'  "Bearer {lua_escape(token)}",\n')
            f.write("}\nlocal n = 0\n")
            f.write("request = function()\n  n = n % #tokens + 1\n"
                    "  return wrk.format(nil, nil, { [\"Host\"] = \"t\", [\"Authorization\"] = tokens[n] })\nend\n")


class Proxy:
    def __init__(self, case, args, backend, work):
        self.case = case
        self.dir = os.path.join(work, case)
        os.makedirs(self.dir)
        config = os.path.join(self.dir, "tg.yaml")
        with open(config, "w") as f:
            f.write(ins.config_yaml(config_case(case), backend.ports, self.dir))
        self.script = os.path.join(self.dir, "wrk.lua")
        write_wrk_script(self.script, case)
        ready = os.path.join(self.dir, "ready")
        command = [args.proxy, "--config", config, "--workers", "1", "--listen", "127.0.0.1:0",
                   "--admin", "127.0.0.1:0", "--ready-file", ready, "--log-level", "warn",
                   "--access-log", "off", "--keepalive-timeout", "120s"] + args.proxy_arg
        if args.pin:
            command = ["taskset", "-c", args.proxy_cpus] + command
        self.log = open(os.path.join(self.dir, "proxy.log"), "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        ins.wait_for(lambda: os.path.exists(ready) and "listen=" in open(ready).read()
                     or self.process.poll() is not None, 15, f"tg-proxy for {case}")
        if self.process.poll() is not None:
            raise RuntimeError(f"tg-proxy for {case} exited: {open(self.log.name).read()[-500:]}")
        text = open(ready).read()
        address = text.split("listen=")[1].split("\n")[0]
        self.admin = text.split("admin=")[1].split("\n")[0] if "admin=" in text else None
        self.url = "http://" + address
        self.port = int(address.rsplit(":", 1)[1])
        # Answered as expected (200, or 401 for the flood) before anything is measured.
        ins.send_requests(config_case(case), self.port, 3)

    def auth_checks(self):
        """tg_auth_checks_total from /metrics: credentials actually checked (hashed, verified)."""
        if not self.admin:
            return None
        try:
            with urllib.request.urlopen(f"http://{self.admin}/metrics", timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("tg_auth_checks_total "):
                        return float(line.split()[1])
        except OSError:
            return None
        return 0.0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def wrk(args, proxy, seconds, out):
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", proxy.script, proxy.url + "/small"]
    if args.pin:
        command = ["taskset", "-c", args.load_cpus] + command
    with open(out, "w") as f:
        subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, timeout=seconds + 30)


class FastSigner:
    """ES256 signatures through libcrypto (ctypes, standard library) with the key of an
    instructions.Tokens: ~0.1 ms each where one `openssl` process per token takes ~10 ms.
    None when libcrypto cannot be loaded (then Tokens.mint is used)."""

    @staticmethod
    def load(key_path):
        try:
            return FastSigner(key_path)
        except (OSError, AttributeError, RuntimeError):
            return None

    def __init__(self, key_path):
        lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        lib.BIO_new_mem_buf.restype = vp
        lib.BIO_new_mem_buf.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.PEM_read_bio_PrivateKey.restype = vp
        lib.PEM_read_bio_PrivateKey.argtypes = [vp, vp, vp, vp]
        lib.BIO_free.argtypes = [vp]
        lib.EVP_sha256.restype = vp
        lib.EVP_MD_CTX_new.restype = vp
        lib.EVP_MD_CTX_free.argtypes = [vp]
        lib.EVP_DigestSignInit.argtypes = [vp, vp, vp, vp, vp]
        lib.EVP_DigestSign.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(sz), ctypes.c_char_p, sz]
        pem = open(key_path, "rb").read()
        bio = lib.BIO_new_mem_buf(pem, len(pem))
        self.key = lib.PEM_read_bio_PrivateKey(bio, None, None, None)
        lib.BIO_free(bio)
        if not self.key:
            raise RuntimeError("cannot read " + key_path)
        self.lib = lib

    def sign_der(self, data):
        lib = self.lib
        ctx = lib.EVP_MD_CTX_new()
        try:
            if lib.EVP_DigestSignInit(ctx, None, lib.EVP_sha256(), None, self.key) != 1:
                raise RuntimeError("EVP_DigestSignInit failed")
            out = ctypes.create_string_buffer(80)
            length = ctypes.c_size_t(len(out))
            if lib.EVP_DigestSign(ctx, out, ctypes.byref(length), data, len(data)) != 1:
                raise RuntimeError("EVP_DigestSign failed")
            return out.raw[:length.value]
        finally:
            lib.EVP_MD_CTX_free(ctx)


def mint_tokens(args, work, cases):
    """Mints the tokens (openssl, ~10 ms each), or loads them from --tokens DIR when it
    holds enough that stay valid for the next half hour (mint once, measure often)."""
    saved = os.path.join(args.tokens, "tokens.json") if args.tokens else None
    if saved and os.path.exists(saved):
        with open(saved) as f:
            data = json.load(f)
        if len(data["auth_jwt_new"]) >= args.pool and data["expires"] > time.time() + 1800:
            ins.TOKENS.update({k: v for k, v in data.items() if k != "expires"})
            ins.TOKENS["auth_jwt_new"] = data["auth_jwt_new"][:args.pool]
            print(f"loaded {args.pool} tokens from {saved}")
            return
    tokens = ins.Tokens(args.tokens or work)
    signer = FastSigner.load(tokens.key)
    if signer:
        tokens.sign_der = signer.sign_der
    ins.TOKENS["jwks"] = tokens.jwks
    ins.TOKENS["auth_jwt"] = [tokens.mint(0)]
    expires = time.time() + 3600
    with concurrent.futures.ThreadPoolExecutor(max_workers=1 if signer else os.cpu_count() or 2) as pool:
        started = time.monotonic()
        pool_size = args.pool if "auth_jwt_new" in cases or saved else 0
        ins.TOKENS["auth_jwt_new"] = list(pool.map(tokens.mint, range(1, pool_size + 1)))
        ins.TOKENS["auth_flood"] = list(pool.map(lambda n: tokens.mint(n, bad=True), range(200)))
        print(f"minted {pool_size + 201} tokens in {time.monotonic() - started:.1f} s")
    if saved:
        with open(saved, "w") as f:
            json.dump(dict(ins.TOKENS, expires=expires), f)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool", type=int, default=16384,
                        help="tokens cycled by auth_jwt_new: 4x --auth-max-cached-tokens (4,096), so that "
                        "hardly any of the cache's 4-way sets holds all of its share of the pool")
    parser.add_argument("--tokens", metavar="DIR", help="keep the minted tokens (and their key) in DIR and reuse "
                        "them on the next run (minting at the start of every run takes a few seconds to minutes)")
    parser.add_argument("--proxy", default=os.environ.get("BENCH_TG_PROXY", os.path.join(ins.ROOT, "build/bin/tg-proxy")))
    parser.add_argument("--proxy-cpus", default=os.environ.get("BENCH_PROXY_CPUS", "1"))
    parser.add_argument("--load-cpus", default=os.environ.get("BENCH_LOAD_CPUS", "0"))
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="run everything unpinned")
    parser.add_argument("--proxy-arg", action="append", default=[], help="an extra tg-proxy argument (repeatable)")
    parser.add_argument("--mint-only", action="store_true", help="with --tokens: mint (or check) the tokens and stop")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (wrk outputs, logs)")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        sys.exit(f"auth_rps.py: unknown case(s) {', '.join(unknown)} (cases: {', '.join(CASES)})")
    for tool in ("wrk", "nginx", "openssl", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"auth_rps.py: {tool} not found (deploy/install-deps.sh --bench)")
    if not os.path.exists(args.proxy):
        sys.exit(f"auth_rps.py: {args.proxy} not found (deploy/build.sh)")
    if (os.cpu_count() or 1) < 2:
        args.pin = False
    load_cpus = {int(c) for c in args.load_cpus.split(",")}

    work = tempfile.mkdtemp(prefix="tg-auth-rps.")
    backend, proxies = None, {}
    try:
        if args.tokens:
            os.makedirs(args.tokens, exist_ok=True)
        mint_tokens(args, work, cases)
        if args.mint_only:
            return
        backend = ins.Backend(work, 1)
        if args.pin:
            pin_tree(backend.process.pid, load_cpus)
        for case in cases:
            proxies[case] = Proxy(case, args, backend, work)
        commit = subprocess.run(["git", "-C", ins.ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, tg-proxy {args.proxy} (commit {commit}), "
              f"--workers 1; wrk -t1 -c{args.connections} keep-alive, {args.rounds} rounds x {args.seconds} s")
        print("pinning: " + (f"proxy on CPU {args.proxy_cpus}, wrk and the backend on CPU {args.load_cpus}"
                             if args.pin else "none"))
        for case in cases:  # warm-up: connections, caches, the failure limiter's burst
            wrk(args, proxies[case], 1, os.path.join(work, case, "warmup.txt"))
        results = {case: [] for case in cases}
        checks_before = {case: proxies[case].auth_checks() for case in cases}
        for round_ in range(1, args.rounds + 1):
            for case in cases:
                proxy = proxies[case]
                out = os.path.join(work, case, f"wrk.{round_}.txt")
                t0, p0 = time.monotonic(), proc_ticks(proxy.process.pid)
                wrk(args, proxy, args.seconds, out)
                cpu = 100.0 * (proc_ticks(proxy.process.pid) - p0) / CLK_TCK / (time.monotonic() - t0)
                r = report.parse_wrk(out)
                m = re.search(r"(\d+) requests in", open(out).read())
                r["requests"] = int(m.group(1)) if m else 0
                r["cpu"] = cpu
                results[case].append(r)
                p99 = f"{r['p99']:.2f} ms" if r["p99"] is not None else "-"
                print(f"  round {round_} {case:<15} {r['rps'] or 0:>10,.0f} req/s  p99 {p99:>9}  "
                      f"proxy cpu {cpu:.0f}%  errors {r['errors']}  non-2xx {r['non2xx']}")
                sys.stdout.flush()
        checks = {}
        for case in cases:
            before, after = checks_before[case], proxies[case].auth_checks()
            if before is not None and after is not None:
                checks[case] = after - before
        print_table(cases, results, args, checks)
    finally:
        for proxy in proxies.values():
            proxy.stop()
        if backend:
            backend.stop()
        if args.keep:
            print("work directory:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def print_table(cases, results, args, checks):
    base = None
    if "plain" in cases:
        base = statistics.median(r["rps"] or 0 for r in results["plain"])
    print()
    print(f"| case | req/s (median) | req/s min-max | p99 ms (median) | vs plain | proxy cpu | notes |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        rs = results[case]
        rps = [r["rps"] or 0 for r in rs]
        p99s = [r["p99"] for r in rs if r["p99"] is not None]
        median = statistics.median(rps)
        ratio = f"x{median / base:.2f}" if base else "-"
        notes = []
        errors = sum(r["errors"] for r in rs)
        non2xx = sum(r["non2xx"] for r in rs)
        if errors:
            notes.append(f"{errors} socket errors")
        if case == "auth_flood":
            total = sum(r["requests"] for r in rs)
            if non2xx < total:
                notes.append(f"only {non2xx} of {total:,} answered 401")
            else:
                notes.append("all 401")
        elif non2xx:
            notes.append(f"{non2xx} non-2xx")
        served = sum(r["requests"] for r in rs)
        if case.startswith("auth_") and case in checks and served:
            notes.append(f"{checks[case] / served:.2f} credential checks per request")
        p99 = f"{statistics.median(p99s):.2f}" if p99s else "-"
        cpu = statistics.median(r["cpu"] for r in rs)
        print(f"| {case} | {median:,.0f} | {min(rps):,.0f}-{max(rps):,.0f} | {p99} | {ratio} | {cpu:.0f}% | "
              f"{', '.join(notes)} |")


if __name__ == "__main__":
    main()
