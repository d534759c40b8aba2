"""A forwarding HTTP proxy that adds a fixed delay to every request, to
stand in for the network distance to AWS in front of moto (which answers
on loopback in about a millisecond).

    python bench/latency_proxy.py LISTEN_PORT UPSTREAM_URL [DELAY_MS]

Each request is held DELAY_MS (default 40) before it is forwarded, then
answered with the upstream's reply, byte for byte. Requests are served on
their own threads, so concurrent callers each pay the delay once, as they
would against a real endpoint; each thread keeps one keep-alive connection
to the upstream.
"""

import http.client
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LISTEN = int(sys.argv[1])
UPSTREAM = urllib.parse.urlsplit(sys.argv[2])
DELAY = (float(sys.argv[3]) if len(sys.argv) > 3 else 40.0) / 1000.0
# Hop-by-hop headers are the proxy's own business, not the upstream's.
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
local = threading.local()


def upstream():
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=300)
        local.conn = conn
    return conn


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without this, Nagle plus delayed
    # ACKs would add their own 40 ms on top of the intended one.
    disable_nagle_algorithm = True

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        time.sleep(DELAY)
        for attempt in (1, 2):
            conn = upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # A kept-alive upstream connection the server closed: once more on a new one.
                conn.close()
                local.conn = None
                if attempt == 2:
                    raise
        self.send_response_only(reply.status, reply.reason)
        for k, v in reply.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", LISTEN), Handler)
server.daemon_threads = True
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
