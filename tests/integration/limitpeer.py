#!/usr/bin/env python3
"""Anonymous peers that test the edge's limits (stdlib only; HTTP/2 framing from
h2connect.py, HPACK decoding from masque.py). Every mode is bounded by --timeout.

  limitpeer.py preface HOST:PORT [--tls --ca FILE --sni NAME]
      the HTTP/2 preface, then silence (no SETTINGS, no request); prints
      "closed after S s goaway=CODE" once the edge closes the connection
  limitpeer.py idle HOST:PORT --tls --ca FILE --sni NAME --host H
      one GET for H (END_STREAM), then silence; prints "status=N closed goaway=CODE"
  limitpeer.py streams HOST:PORT --tls --ca FILE --sni NAME --host H --count N
      N GET streams for H left open (no END_STREAM), our SETTINGS never acknowledged;
      prints "responses=R refused=F other=O" once each stream has an answer or a reset
  limitpeer.py posts HOST:PORT --tls --ca FILE --sni NAME --host H --count N --answers A
      N POST streams (content-length 10, no body sent yet); waits for A answers and
      prints "SID:STATUS:PROXY-STATUS" for each, then closes
  limitpeer.py flood HOST:PORT --host H --count N
      N HTTP/1.1 GETs for H on one keep-alive connection; prints "STATUS xN"
  limitpeer.py settings HOST:PORT [--tls --ca FILE --sni NAME]
      the HTTP/2 preface and an empty SETTINGS; prints the server's first SETTINGS as
      "streams=S window=W frame=F"
  limitpeer.py reach HOST:PORT --ca FILE --sni NAME [--token T] [--count N]
      a reach connection (ALPN subtunnel-reach): prints the edge's first SETTINGS as
      "anon streams=S window=W frame=F"; then up to N CONNECT streams each reset at once
      (RST_STREAM CANCEL), with the token T if given; prints "authed streams=S window=W
      frame=F" when a second SETTINGS comes, and "goaway=CODE" when the edge ends the
      connection
Exit 0 when the expected end arrived, 1 otherwise (message on stderr)."""
import argparse
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2connect import (  # noqa: E402
    ACK, CONT, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, RST, SETTINGS, Conn, H2Error,
    hpack_literal,
)
from masque import HpackDecoder  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
REFUSED_STREAM = 7


def connect(args):
    host, port = args.target.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=args.timeout)
    if args.tls:
        ctx = ssl.create_default_context(cafile=args.ca)
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=args.sni or args.host)
        if sock.selected_alpn_protocol() != "h2":
            raise H2Error("no ALPN h2 (%r)" % sock.selected_alpn_protocol())
    return sock


def request(method, host, extra=()):
    block = (hpack_literal(":method", method) + hpack_literal(":scheme", "https")
             + hpack_literal(":authority", host) + hpack_literal(":path", "/"))
    for name, value in extra:
        block += hpack_literal(name, value)
    return block


def until_closed(conn, deadline):
    """Reads frames until EOF; returns the GOAWAY error code seen (None: no GOAWAY)."""
    goaway = None
    while time.monotonic() < deadline:
        try:
            ftype, flags, sid, payload = conn.read_frame()
        except H2Error:
            return goaway
        if ftype == GOAWAY:
            goaway = struct.unpack(">I", payload[4:8])[0]
        elif ftype == PING and not flags & ACK:
            conn.frame(PING, ACK, 0, payload)
    raise H2Error("the edge did not close the connection in time")


def mode_preface(args):
    sock = connect(args)
    start = time.monotonic()
    sock.sendall(PREFACE)
    goaway = until_closed(Conn(sock), start + args.timeout)
    print("closed after %.1f s goaway=%s" % (time.monotonic() - start, goaway))
    return 0


def mode_idle(args):
    conn = Conn(connect(args))
    conn.sock.sendall(PREFACE)
    conn.frame(SETTINGS, 0, 0)
    conn.frame(HEADERS, END_HEADERS | END_STREAM, 1, request("GET", args.host))
    dec, status = HpackDecoder(), None
    deadline = time.monotonic() + args.timeout
    while status is None and time.monotonic() < deadline:
        ftype, flags, sid, payload = conn.read_frame()
        if ftype == SETTINGS and not flags & ACK:
            conn.frame(SETTINGS, ACK, 0)
        elif ftype == HEADERS and sid == 1:
            status = dict(dec.decode(payload)).get(":status")
    goaway = until_closed(conn, deadline)
    print("status=%s closed goaway=%s" % (status, goaway))
    return 0


def mode_streams(args):
    conn = Conn(connect(args))
    conn.sock.sendall(PREFACE)
    conn.frame(SETTINGS, 0, 0)
    sids = [1 + 2 * i for i in range(args.count)]
    for sid in sids:
        conn.frame(HEADERS, END_HEADERS, sid, request("GET", args.host))
    answered, counts = set(), {"responses": 0, "refused": 0, "other": 0}
    deadline = time.monotonic() + args.timeout
    while len(answered) < len(sids) and time.monotonic() < deadline:
        ftype, flags, sid, payload = conn.read_frame()  # SETTINGS deliberately not acked
        if sid not in sids or sid in answered:
            continue
        if ftype == HEADERS:
            counts["responses"] += 1
        elif ftype == RST:
            code = struct.unpack(">I", payload)[0]
            counts["refused" if code == REFUSED_STREAM else "other"] += 1
        else:
            continue
        answered.add(sid)
    print(" ".join("%s=%d" % kv for kv in counts.items()))
    return 0 if len(answered) == len(sids) else 1


def mode_posts(args):
    conn = Conn(connect(args))
    conn.sock.sendall(PREFACE)
    conn.frame(SETTINGS, 0, 0)
    for i in range(args.count):
        conn.frame(HEADERS, END_HEADERS, 1 + 2 * i,
                   request("POST", args.host, [("content-length", "10")]))
    dec, answers = HpackDecoder(), []
    deadline = time.monotonic() + args.timeout
    while len(answers) < args.answers and time.monotonic() < deadline:
        ftype, flags, sid, payload = conn.read_frame()
        if ftype == SETTINGS and not flags & ACK:
            conn.frame(SETTINGS, ACK, 0)
        elif ftype == PING and not flags & ACK:
            conn.frame(PING, ACK, 0, payload)
        elif ftype == HEADERS:
            fields = dict(dec.decode(payload))
            answers.append("%d:%s:%s" % (sid, fields.get(":status"), fields.get("proxy-status")))
        elif ftype == RST:
            answers.append("%d:reset" % sid)
        elif ftype == CONT:
            raise H2Error("CONTINUATION not supported")
    print("\n".join(answers))
    return 0 if len(answers) == args.answers else 1


def mode_flood(args):
    """Keep-alive while the edge keeps the connection, else a new connection per request."""
    sock, f, statuses = None, None, []
    for _ in range(args.count):
        if sock is None:
            sock = connect(args)
            f = sock.makefile("rb")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % args.host.encode())
        status = f.readline().split()[1].decode()
        length, close = 0, False
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            close |= name == "connection" and value == "close"
        f.read(length)
        statuses.append(status)
        if close:
            f.close()
            sock.close()
            sock = None
    print(" ".join("%s x%d" % (s, statuses.count(s)) for s in sorted(set(statuses))))
    return 0


def settings_text(payload):
    values = dict(struct.unpack(">HI", payload[i:i + 6]) for i in range(0, len(payload), 6))
    return "streams=%s window=%s frame=%s" % (values.get(3), values.get(4), values.get(5))


def raw_frame(ftype, flags, sid, payload=b""):
    return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
            + struct.pack(">I", sid) + payload)


def reach_stream(sid, token):
    """HEADERS of a reach CONNECT stream and its RST_STREAM(CANCEL), as bytes."""
    block = (hpack_literal(":method", "CONNECT") + hpack_literal(":authority", "198.51.100.10:8000")
             + hpack_literal("subtunnel-client", "198.51.100.11:40000"))
    if token:
        block += hpack_literal("proxy-authorization", "Bearer " + token)
    return raw_frame(HEADERS, END_HEADERS, sid, block) + raw_frame(RST, 0, sid, struct.pack(">I", 8))


def mode_settings(args):
    sock = connect(args)
    conn = Conn(sock)
    sock.sendall(PREFACE)
    conn.frame(SETTINGS, 0, 0)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        ftype, flags, _, payload = conn.read_frame()
        if ftype == SETTINGS and not flags & ACK:
            print(settings_text(payload), flush=True)
            return 0
    raise H2Error("no SETTINGS in time")


def mode_reach(args):
    """Streams go in batches of 100 with a PING after them, each batch in one write (one TLS
    record) and the PING's ACK awaited, so the edge has read everything sent when it closes
    (no TCP reset eats its GOAWAY)."""
    host, port = args.target.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["subtunnel-reach"])
    sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=args.timeout),
                           server_hostname=args.sni)
    conn = Conn(sock)
    sock.sendall(PREFACE)
    conn.frame(SETTINGS, 0, 0)
    deadline, seen, sent, ping_wait = time.monotonic() + args.timeout, 0, 0, False
    while time.monotonic() < deadline:
        if seen and not ping_wait:
            if sent == args.count:
                return 0
            batch = b""
            for _ in range(min(100, args.count - sent)):
                batch += reach_stream(1 + 2 * sent, args.token)
                sent += 1
            sock.sendall(batch + raw_frame(PING, 0, 0, b"limits!!"))
            ping_wait = True
        ftype, flags, sid, payload = conn.read_frame()
        if ftype == SETTINGS and not flags & ACK:
            conn.frame(SETTINGS, ACK, 0)
            print(("anon " if seen == 0 else "authed ") + settings_text(payload), flush=True)
            seen += 1
            if seen == 2:
                return 0
        elif ftype == PING and flags & ACK:
            ping_wait = False
        elif ftype == GOAWAY:
            print("goaway=%d" % struct.unpack(">I", payload[4:8])[0])
            return 0
        elif ftype == PING:
            conn.frame(PING, ACK, 0, payload)
    raise H2Error("neither a second SETTINGS nor GOAWAY in time")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["preface", "idle", "streams", "posts", "flood", "settings",
                                     "reach"])
    ap.add_argument("target")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--ca")
    ap.add_argument("--sni")
    ap.add_argument("--host", default="nohost.lab.test")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--answers", type=int, default=1)
    ap.add_argument("--token")
    ap.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()
    try:
        return globals()["mode_" + args.mode](args)
    except (OSError, H2Error, ValueError, IndexError) as e:
        print("limitpeer %s: %s" % (args.mode, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
