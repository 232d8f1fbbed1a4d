#!/usr/bin/env python3
"""Memory cost of idle keep-alive connections (tests/bench case e; stdlib only).

Opens COUNT keep-alive connections to TARGET, sends one GET on each and reads its
whole response, then holds them all idle. With --pid it reads VmRSS of those
processes (/proc/PID/status) just before opening and again once every connection is
idle, and prints the difference per connection.

    idle_conns.py --target 127.0.0.1:8080 --count 8000 --pid 1234 [--pid 1235]
                  [--path /small] [--hold 2] [--batch 50] [--settle 1]

Last line printed (machine-readable; one key=value per field):
    result conns=8000 rss_before_kb=5120 rss_after_kb=11000 kb_per_conn=0.735

Needs an open-file limit above COUNT (ulimit -n). Every connection is closed when
the program ends; run time is bounded by --timeout per I/O and --hold.
"""
import argparse
import socket
import sys
import time


def rss_kb(pids):
    """Sum of VmRSS (KiB) over pids."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


def response_complete(buf):
    """True once buf holds one whole HTTP/1.1 response (Content-Length or chunked)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].decode("latin-1").lower()
    body = buf[head_end + 4:]
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            return len(body) >= int(value.strip())
        if name.strip() == "transfer-encoding" and "chunked" in value:
            return body.endswith(b"0\r\n\r\n")
    return True  # no body framing: a bodiless response (e.g. 204/304)


def open_batch(host, port, path, n, timeout):
    """Open n connections, send one request on each, read each response whole."""
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "User-Agent: tg-bench-idle\r\n\r\n").encode()
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    for s in socks:
        s.sendall(request)
    for s in socks:
        buf = b""
        while not response_complete(buf):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("server closed a connection before its response ended")
            buf += chunk
        status = buf.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise ConnectionError(f"unexpected response: {status!r}")
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--count", type=int, default=8000)
    ap.add_argument("--path", default="/small")
    ap.add_argument("--pid", type=int, action="append", default=[],
                    help="process whose RSS to measure (repeatable: values are summed)")
    ap.add_argument("--batch", type=int, default=50,
                    help="connections opened, then requests sent, then responses read, at a time")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds to wait once all are idle before reading RSS")
    ap.add_argument("--hold", type=float, default=0.0,
                    help="seconds to keep the idle connections open after measuring")
    ap.add_argument("--timeout", type=float, default=10.0, help="per I/O timeout, seconds")
    args = ap.parse_args()

    host, _, port = args.target.rpartition(":")
    port = int(port)
    before = rss_kb(args.pid) if args.pid else None

    socks = []
    started = time.monotonic()
    try:
        while len(socks) < args.count:
            n = min(args.batch, args.count - len(socks))
            socks += open_batch(host, port, args.path, n, args.timeout)
    except OSError as e:
        print(f"idle_conns: failed after {len(socks)} connections: {e}", file=sys.stderr)
        return 1
    opened_s = time.monotonic() - started
    time.sleep(args.settle)
    after = rss_kb(args.pid) if args.pid else None

    # Every connection must still be open (a server that dropped them freed the memory).
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                print("idle_conns: the server closed idle connections during the test",
                      file=sys.stderr)
                return 1
        except BlockingIOError:
            pass

    fields = [f"conns={len(socks)}", f"open_s={opened_s:.2f}"]
    if args.pid:
        per_conn = (after - before) / len(socks)
        fields += [f"rss_before_kb={before}", f"rss_after_kb={after}",
                   f"kb_per_conn={per_conn:.3f}"]
    print("result " + " ".join(fields), flush=True)
    if args.hold > 0:
        time.sleep(args.hold)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
