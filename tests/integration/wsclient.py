#!/usr/bin/env python3
"""WebSocket echo checker (RFC 6455 client, stdlib only) for tests/integration/httpd.py /ws.

usage: wsclient.py HOST PORT [--host NAME] [--path /ws] [--tls] [--ca FILE]
                   [--sni NAME] [--count N] [--max-size BYTES] [--timeout S]
                   [--seed N]

Connects to HOST:PORT (TLS verified against --ca, or the system store, with
--tls; SNI and certificate name --sni, else --host without port, else HOST),
sends the HTTP/1.1 upgrade with Host: NAME (default HOST, plus :PORT when not
the scheme's default), checks 101 and Sec-WebSocket-Accept, then sends N
messages (text and binary, sizes 0..BYTES including the 7/16/64-bit length
boundaries; some fragmented, some with a ping before or between fragments),
each masked, and compares every echo byte for byte; finally a close (1000)
that must be answered by a close.

Prints "ok N messages B bytes" (B = payload bytes sent) and exits 0; otherwise
prints "error: <reason>" on stderr and exits 1. Every wait is bounded by
--timeout seconds per step (handshake, one message, close).
"""
import argparse
import base64
import hashlib
import os
import random
import socket
import ssl
import struct
import sys
import time

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD = 16 * 1024
BOUNDARY_SIZES = (0, 1, 125, 126, 127, 65535, 65536, 65537)
# 4-byte UTF-8 sequences dropped into text messages (1+2+3+4-byte characters)
UTF8_SLOTS = ["😀".encode(), "€a".encode(), "éé".encode(), "abcd".encode()]
PRINTABLE = bytes(32 + (b % 95) for b in range(256))


class WsFail(Exception):
    pass


class Conn:
    """A socket with a receive buffer; every operation obeys the current deadline."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.deadline = 0.0

    def start_step(self, seconds):
        self.deadline = time.monotonic() + seconds

    def _arm(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WsFail("timeout")
        self.sock.settimeout(left)

    def send(self, data):
        self._arm()
        self.sock.sendall(data)

    def _fill(self):
        self._arm()
        data = self.sock.recv(65536)
        if not data:
            raise WsFail("connection closed by peer")
        self.buf += data

    def read_exact(self, size):
        while len(self.buf) < size:
            self._fill()
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def read_head(self):
        """Bytes up to and including the blank line ending an HTTP head."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                return self.read_exact(end + 4)
            if len(self.buf) > MAX_HEAD:
                raise WsFail("response head larger than %d bytes" % MAX_HEAD)
            self._fill()


# ---------------------------------------------------------------- framing


def mask_bytes(data, mask):
    if not data:
        return data
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    value = int.from_bytes(data, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(size, "little")


def client_frame(opcode, payload, fin=True):
    """A masked client frame."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    mask = os.urandom(4)
    return head + mask + mask_bytes(payload, mask)


def read_frame(conn, room):
    """One server frame as (fin, opcode, payload); ROOM bounds a data frame's payload."""
    b0, b1 = conn.read_exact(2)
    fin, opcode = bool(b0 & 0x80), b0 & 0x0F
    if b0 & 0x70:
        raise WsFail("server frame with reserved bits 0x%x" % (b0 & 0x70))
    if opcode not in (0, 1, 2, 8, 9, 10):
        raise WsFail("server frame with unknown opcode %d" % opcode)
    if b1 & 0x80:
        raise WsFail("server frame is masked")
    size = b1 & 0x7F
    if opcode >= 8 and (not fin or size > 125):
        raise WsFail("bad control frame (opcode %d, fin %d, %d bytes)" % (opcode, fin, size))
    if size == 126:
        size = struct.unpack("!H", conn.read_exact(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", conn.read_exact(8))[0]
    if opcode < 8 and size > room:
        raise WsFail("echo longer than the message sent")
    return fin, opcode, conn.read_exact(size)


# ---------------------------------------------------------------- session


class Session:
    def __init__(self, conn):
        self.conn = conn
        self.pings = []  # payloads of pings not yet answered

    def send_ping(self, rng):
        payload = b"ping %d" % rng.randrange(1 << 30)
        self.pings.append(payload)
        self.conn.send(client_frame(9, payload))

    def control(self, opcode, payload):
        """Handle a server control frame while waiting for data."""
        if opcode == 10:
            if not self.pings or self.pings[0] != payload:
                raise WsFail("unexpected pong %r" % payload[:32])
            self.pings.pop(0)
        elif opcode == 9:
            self.conn.send(client_frame(10, payload))
        else:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            raise WsFail("server closed early (code %s %r)" % (code, payload[2:80]))

    def read_message(self, expected):
        """The next data message (opcode, payload), no longer than EXPECTED bytes."""
        opcode, parts, size = None, [], 0
        for _ in range(expected + 1024):  # one byte per frame at most, plus control frames
            fin, op, payload = read_frame(self.conn, expected - size)
            if op >= 8:
                self.control(op, payload)
                continue
            if (op == 0) != (opcode is not None):
                raise WsFail("bad fragmentation from server (opcode %d)" % op)
            opcode = opcode or op
            parts.append(payload)
            size += len(payload)
            if fin:
                return opcode, b"".join(parts)
        raise WsFail("too many frames in one echo")

    def send_message(self, opcode, payload, rng):
        """Send PAYLOAD, sometimes fragmented, sometimes with a ping interleaved."""
        pieces = split(payload, rng) if rng.random() < 0.3 else [payload]
        ping_at = rng.randrange(len(pieces)) if rng.random() < 0.25 else -1
        for i, piece in enumerate(pieces):
            if i == ping_at:
                self.send_ping(rng)
            self.conn.send(client_frame(opcode if i == 0 else 0, piece, i == len(pieces) - 1))

    def echo(self, opcode, payload, rng, timeout):
        self.conn.start_step(timeout)
        self.send_message(opcode, payload, rng)
        got_op, got = self.read_message(len(payload))
        what = "%s, %d bytes" % ("text" if opcode == 1 else "binary", len(payload))
        if got_op != opcode:
            raise WsFail("%s: echo has opcode %d" % (what, got_op))
        if got != payload:
            diffs = (i for i, (a, b) in enumerate(zip(got, payload)) if a != b)
            at = next(diffs, min(len(got), len(payload)))
            raise WsFail("%s: echo differs at byte %d (got %d bytes)" % (what, at, len(got)))
        if self.pings:
            raise WsFail("%s: no pong before the echo" % what)

    def close(self, timeout):
        self.conn.start_step(timeout)
        self.conn.send(client_frame(8, struct.pack("!H", 1000) + b"bye"))
        for _ in range(16):
            fin, op, payload = read_frame(self.conn, 1 << 20)
            if op == 8:
                if len(payload) >= 2 and struct.unpack("!H", payload[:2])[0] != 1000:
                    raise WsFail("close answered with code %d" % struct.unpack("!H", payload[:2])[0])
                return
            if op == 9:
                continue  # a ping after our close needs no answer
            raise WsFail("opcode %d instead of a close reply" % op)
        raise WsFail("no close reply")


def split(payload, rng):
    """PAYLOAD in 2..4 pieces (empty pieces allowed)."""
    cuts = sorted(rng.randrange(len(payload) + 1) for _ in range(rng.randrange(1, 4)))
    bounds = [0] + cuts + [len(payload)]
    return [payload[a:b] for a, b in zip(bounds, bounds[1:])]


def text_payload(size, rng):
    """SIZE bytes of valid UTF-8 with some multi-byte characters."""
    data = bytearray(rng.randbytes(size).translate(PRINTABLE))
    for _ in range(min(size // 4, 64)):
        at = 4 * rng.randrange(size // 4)
        data[at:at + 4] = rng.choice(UTF8_SLOTS)
    return bytes(data)


def message_plan(count, max_size, rng):
    """(opcode, size) for COUNT messages: boundary sizes first (shuffled), then random."""
    sizes = [s for s in BOUNDARY_SIZES + (max_size,) if s <= max_size]
    rng.shuffle(sizes)
    sizes = sizes[:count] + [rng.randint(0, max_size) for _ in range(count - len(sizes))]
    return [(rng.choice((1, 2)), size) for size in sizes]


# ---------------------------------------------------------------- connection


def connect(args):
    sock = socket.create_connection((args.HOST, args.PORT), timeout=args.timeout)
    if not args.tls:
        return sock
    ctx = ssl.create_default_context(cafile=args.ca)
    return ctx.wrap_socket(sock, server_hostname=args.sni)


def handshake(conn, args):
    key = base64.b64encode(os.urandom(16)).decode()
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n") % (args.path, args.host, key)
    conn.send(request.encode())
    lines = conn.read_head().decode("iso-8859-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[0] != "HTTP/1.1" or status[1] != "101":
        raise WsFail("upgrade refused: %r" % lines[0])
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip().lower(), []).append(value.strip())
    expect = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
    if fields.get("sec-websocket-accept") != [expect]:
        raise WsFail("bad Sec-WebSocket-Accept %r" % fields.get("sec-websocket-accept"))
    if [v.lower() for v in fields.get("upgrade", [])] != ["websocket"]:
        raise WsFail("bad Upgrade %r" % fields.get("upgrade"))
    if "upgrade" not in [t.strip().lower() for v in fields.get("connection", []) for t in v.split(",")]:
        raise WsFail("bad Connection %r" % fields.get("connection"))


def default_names(args):
    """Fill --host (Host header) and --sni from HOST/PORT when not given."""
    if args.host is None:
        host = "[%s]" % args.HOST if ":" in args.HOST else args.HOST
        default_port = 443 if args.tls else 80
        args.host = host if args.PORT == default_port else "%s:%d" % (host, args.PORT)
    if args.sni is None:
        name = args.host
        if name.startswith("["):
            name = name[1:].split("]", 1)[0]
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        args.sni = name


def parse_args():
    p = argparse.ArgumentParser(description="WebSocket echo checker")
    p.add_argument("HOST")
    p.add_argument("PORT", type=int)
    p.add_argument("--host", help="Host header (default HOST[:PORT])")
    p.add_argument("--path", default="/ws")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca", help="CA file to verify the server (default: system store)")
    p.add_argument("--sni", help="TLS server name (default: --host without port)")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--max-size", type=int, default=65536)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per step")
    p.add_argument("--seed", type=int, help="random seed (default: random, shown on error)")
    args = p.parse_args()
    if args.count < 0 or args.max_size < 0 or args.timeout <= 0:
        p.error("--count and --max-size must be >= 0, --timeout > 0")
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    default_names(args)
    return args


def run(args, step):
    """The whole exchange; STEP[0] names the current stage for error messages."""
    rng = random.Random(args.seed)
    step[0] = "connect"
    sock = connect(args)
    try:
        conn = Conn(sock)
        conn.start_step(args.timeout)
        step[0] = "handshake"
        handshake(conn, args)
        session = Session(conn)
        total = 0
        for index, (opcode, size) in enumerate(message_plan(args.count, args.max_size, rng), 1):
            step[0] = "message %d" % index
            payload = text_payload(size, rng) if opcode == 1 else rng.randbytes(size)
            session.echo(opcode, payload, rng, args.timeout)
            total += size
        step[0] = "close"
        session.close(args.timeout)
        return total
    finally:
        sock.close()


def main():
    args = parse_args()
    step = ["start"]
    try:
        total = run(args, step)
    except WsFail as err:
        sys.stderr.write("error: %s: %s (seed %d)\n" % (step[0], err, args.seed))
        return 1
    except (OSError, ValueError) as err:  # socket.timeout and ssl errors are OSErrors
        sys.stderr.write("error: %s: %s: %s (seed %d)\n" % (step[0], type(err).__name__, err, args.seed))
        return 1
    print("ok %d messages %d bytes" % (args.count, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
