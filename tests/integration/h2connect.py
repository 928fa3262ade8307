#!/usr/bin/env python3
"""Minimal HTTP/2 CONNECT client (stdlib only) for the edge's access proxy.

Debian 12's curl has no --proxy-http2 and nghttp cannot send CONNECT, so this
opens one CONNECT stream (RFC 9113 8.5) over TLS+ALPN h2 (or h2c with --h2c)
and speaks HTTP/1.1 to the target inside it:

  h2connect.py --proxy HOST:PORT [--ca FILE --servername NAME | --h2c]
               --token TOKEN --target IP:PORT (--get PATH --out FILE | --put FILE)

--get writes the response body to FILE; --put prints the server's answer.
Exit 0 on success, 1 on any failure (message on stderr).
"""
import argparse
import os
import socket
import ssl
import struct
import sys

DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, PADDED, PRIORITY, ACK = 0x1, 0x4, 0x8, 0x20, 0x1
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
SID = 1
RECV_WINDOW = 1 << 24


class H2Error(Exception):
    pass


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    n, v = name.encode(), value.encode()
    return b"\x00" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.send_conn = 65535
        self.send_stream = 65535
        self.initial = 65535
        self.max_frame = 16384
        self.unacked = 0
        self.stream_closed = False

    def frame(self, ftype, flags, sid, payload=b""):
        hdr = struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid)
        self.sock.sendall(hdr + payload)

    def _read(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(1 << 16)
            if not data:
                raise H2Error("connection closed by the proxy")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        hdr = self._read(9)
        length = struct.unpack(">I", b"\x00" + hdr[:3])[0]
        ftype, flags = hdr[3], hdr[4]
        sid = struct.unpack(">I", hdr[5:9])[0] & 0x7FFFFFFF
        payload = self._read(length)
        if ftype in (DATA, HEADERS) and flags & PADDED:
            pad = payload[0]
            payload = payload[1 : len(payload) - pad]
        if ftype == HEADERS and flags & PRIORITY:
            payload = payload[5:]
        return ftype, flags, sid, payload

    def handle_control(self, ftype, flags, sid, payload):
        """Process connection-level frames; return True if consumed."""
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload), 6):
                ident, val = struct.unpack(">HI", payload[i : i + 6])
                if ident == 4:
                    self.send_stream += val - self.initial
                    self.initial = val
                elif ident == 5:
                    self.max_frame = val
            self.frame(SETTINGS, ACK, 0)
        elif ftype == SETTINGS:
            pass
        elif ftype == PING and not flags & ACK:
            self.frame(PING, ACK, 0, payload)
        elif ftype == WINUP:
            inc = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
            if sid == 0:
                self.send_conn += inc
            elif sid == SID:
                self.send_stream += inc
        elif ftype == GOAWAY:
            code = struct.unpack(">I", payload[4:8])[0]
            raise H2Error("GOAWAY error %d %r" % (code, payload[8:]))
        elif ftype == RST and sid == SID:
            raise H2Error("stream reset, error %d" % struct.unpack(">I", payload)[0])
        else:
            return ftype not in (DATA, HEADERS, CONT)
        return True

    def consumed(self, n):
        self.unacked += n
        if self.unacked >= 1 << 18:
            inc = struct.pack(">I", self.unacked)
            self.frame(WINUP, 0, 0, inc)
            self.frame(WINUP, 0, SID, inc)
            self.unacked = 0

    def next_data(self):
        """Next DATA payload of our stream (b"" at END_STREAM)."""
        while True:
            if self.stream_closed:
                return b""
            ftype, flags, sid, payload = self.read_frame()
            if self.handle_control(ftype, flags, sid, payload):
                continue
            if ftype == DATA and sid == SID:
                self.consumed(len(payload))
                if flags & END_STREAM:
                    self.stream_closed = True
                if payload:
                    return payload

    def send_data(self, data, end=False):
        view = memoryview(data)
        while view:
            while min(self.send_conn, self.send_stream) <= 0:
                ftype, flags, sid, payload = self.read_frame()
                if not self.handle_control(ftype, flags, sid, payload):
                    raise H2Error("unexpected frame type %d while sending" % ftype)
            n = min(len(view), self.send_conn, self.send_stream, self.max_frame)
            self.frame(DATA, END_STREAM if end and n == len(view) else 0, SID, bytes(view[:n]))
            self.send_conn -= n
            self.send_stream -= n
            view = view[n:]


def status_of(block):
    first = block[0]
    if first & 0x80 and (first & 0x7F) in STATIC_STATUS:
        return STATIC_STATUS[first & 0x7F]
    # literal :status with a static name: the value is 3 digits, maybe Huffman coded
    idx = first & 0x3F if first & 0x40 else first & 0x0F
    if idx in STATIC_STATUS and not block[1] & 0x80:
        return int(block[2 : 2 + block[1]])
    return "non-200 (header block %s)" % block[:8].hex()


def tls_h2(sock, args, host):
    """sock wrapped in TLS with ALPN h2 (args.ca, args.servername), unless args.h2c."""
    if args.h2c:
        return sock
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["h2"])
    if getattr(args, "cert", None):  # a client certificate (masque.py --cert/--key)
        ctx.load_cert_chain(args.cert, args.key)
    sock = ctx.wrap_socket(sock, server_hostname=args.servername or host)
    if sock.selected_alpn_protocol() != "h2":
        raise H2Error("proxy did not select ALPN h2 (%r)" % sock.selected_alpn_protocol())
    return sock


def open_tunnel(args):
    host, port = args.proxy.rsplit(":", 1)
    sock = tls_h2(socket.create_connection((host, int(port)), timeout=args.timeout), args, host)
    conn = Conn(sock)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    conn.frame(SETTINGS, 0, 0, struct.pack(">HIHI", 2, 0, 4, RECV_WINDOW))
    conn.frame(WINUP, 0, 0, struct.pack(">I", RECV_WINDOW - 65535))
    block = (
        hpack_literal(":method", "CONNECT")
        + hpack_literal(":authority", args.target)
        + hpack_literal("proxy-authorization", "Bearer " + args.token)
    )
    conn.frame(HEADERS, END_HEADERS, SID, block)
    while True:
        ftype, flags, sid, payload = conn.read_frame()
        if conn.handle_control(ftype, flags, sid, payload):
            continue
        if ftype == HEADERS and sid == SID:
            if not flags & END_HEADERS:
                raise H2Error("CONTINUATION not supported")
            status = status_of(payload)
            if status != 200:
                raise H2Error("CONNECT answered %s" % status)
            return conn


def read_response(conn, out):
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.next_data()
        if not data:
            raise H2Error("tunnel closed before the response header")
        head += data
    head, body = head.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if lines[0].split()[1] != "200":
        raise H2Error("origin answered %s" % lines[0])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    got = 0
    while True:
        if length is not None:
            body = body[: length - got]
        out.write(body)
        got += len(body)
        if length is not None and got >= length:
            return got
        body = conn.next_data()
        if not body:
            if length is None:
                return got
            raise H2Error("tunnel closed after %d of %d body bytes" % (got, length))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--servername")
    ap.add_argument("--h2c", action="store_true")
    ap.add_argument("--token", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--get")
    ap.add_argument("--out")
    ap.add_argument("--put")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    try:
        conn = open_tunnel(args)
        if args.get:
            req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (args.get, args.target)
            conn.send_data(req.encode())
            with open(args.out, "wb") as out:
                read_response(conn, out)
        elif args.put:
            size = os.path.getsize(args.put)
            req = "PUT /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            conn.send_data((req % (args.target, size)).encode())
            with open(args.put, "rb") as f:
                while True:
                    chunk = f.read(1 << 18)
                    if not chunk:
                        break
                    conn.send_data(chunk)
            read_response(conn, sys.stdout.buffer)
        else:
            ap.error("--get or --put required")
    except (H2Error, OSError, ValueError) as e:
        sys.stderr.write("h2connect: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
