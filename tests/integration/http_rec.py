#!/usr/bin/python3
"""A small HTTP receiver for the notifier tests (python3 -m http.server takes
no POST).  Binds 127.0.0.1 on a port the kernel picks and writes
"# listening PORT" to OUT; then appends one JSON line per request to OUT:
{"method", "path", "headers", "body"}.  Every request is answered 200,
except the first --fail-first ones, answered 500.  Stops on SIGTERM or
after --max-seconds."""
import argparse
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=170)
    a = ap.parse_args()
    out = open(a.out, "a", buffering=1)
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n > 0 else ""
            out.write(json.dumps({"method": self.command, "path": self.path,
                                  "headers": dict(self.headers.items()), "body": body}) + "\n")
            seen[0] += 1
            code = 500 if seen[0] <= a.fail_first else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = handle_one
        do_GET = handle_one

        def log_message(self, fmt, *args):
            sys.stderr.write("http_rec: " + (fmt % args) + "\n")

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    srv.timeout = 0.1
    out.write("# listening %d\n" % srv.server_address[1])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + a.max_seconds
    while not stop and time.monotonic() < deadline:
        srv.handle_request()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
