#!/usr/bin/env python3
"""Tiny example tenant backend for deploy/demo.sh (python3 standard library only).

Answers every request (any method, any path) with a small JSON object naming this
instance and echoing what the gateway sent: method, path, Host, X-Forwarded-For,
X-Forwarded-Proto, X-Request-Id and X-Tenant-ID. Speaks HTTP/1.1 with keep-alive.

    backend.py --name acme-1 --port 9001 [--host 127.0.0.1] [--log]
"""
import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "tg-demo-backend"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length > 0 else b""
        reply = {
            "instance": self.server.instance_name,
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "x_request_id": self.headers.get("X-Request-Id"),
            "x_tenant_id": self.headers.get("X-Tenant-ID"),
            "body_bytes": len(body_in),
        }
        body = (json.dumps(reply, indent=2) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        if self.server.log_requests:
            sys.stderr.write("[%s] %s\n" % (self.server.instance_name, fmt % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="instance name echoed in every reply")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log", action="store_true", help="log each request to stderr")
    args = parser.parse_args()

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.instance_name = args.name
    server.log_requests = args.log
    # SIGTERM (demo.sh's cleanup) and SIGINT end the process quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
