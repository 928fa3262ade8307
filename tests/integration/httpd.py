#!/usr/bin/env python3
"""Small threaded HTTP/1.1 test server (stdlib only).

usage: httpd.py BIND_ADDR PORT DIR

GET/HEAD  serve files from DIR; GET /whoami answers "<client ip> <client port>\n".
PUT/POST  stream the request body (Content-Length or chunked), answer
          "<sha256 hex> <byte count>\n" without storing anything.
"""
import hashlib
import http.server
import socketserver
import sys
from functools import partial

CHUNK = 256 * 1024


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("httpd %s %s\n" % (self.client_address[0], fmt % args))

    def _read_chunked(self, digest):
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ConnectionError("eof in chunk size")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return total
            total += self._read_exact(size, digest)
            self.rfile.readline(8)

    def _read_exact(self, length, digest):
        left = length
        while left > 0:
            data = self.rfile.read(min(CHUNK, left))
            if not data:
                raise ConnectionError("eof after %d of %d bytes" % (length - left, length))
            digest.update(data)
            left -= len(data)
        return length

    def _sink(self):
        digest = hashlib.sha256()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            total = self._read_chunked(digest)
        else:
            total = self._read_exact(int(self.headers.get("Content-Length", "0")), digest)
        body = ("%s %d\n" % (digest.hexdigest(), total)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/whoami":
            return super().do_GET()
        body = ("%s %d\n" % self.client_address[:2]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = _sink
    do_POST = _sink


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = Server((addr, port), partial(Handler, directory=root))
    sys.stderr.write("httpd listening on %s:%d serving %s\n" % (addr, port, root))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
