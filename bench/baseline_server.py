"""The baseline for bench/local-http.sh: the same handler behind Python's own
threading HTTP server, with a minimal API Gateway-like event and response
mapping and no process boundary. What fnctl dev costs beyond this is its
overhead per request (Runtime API round trip, event building, routing)."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, sys.argv[2])
from handler import hello  # noqa: E402


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without this, Nagle plus delayed
    # ACKs add 40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        event = {
            "resource": "/hello/{name}",
            "path": self.path,
            "httpMethod": "GET",
            "headers": dict(self.headers),
            "pathParameters": {"name": parts[-1]},
            "body": None,
            "isBase64Encoded": False,
        }
        result = hello(event, None)
        body = result["body"].encode()
        self.send_response(result["statusCode"])
        for k, v in result["headers"].items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True  # exit promptly on a signal, open connections or not
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
