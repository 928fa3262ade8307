#!/usr/bin/env python3
"""Minimal MASQUE connect-udp and connect-ip client (stdlib only) for the edge's access proxy.

Opens one extended CONNECT stream (RFC 8441; the proxy must first announce
SETTINGS_ENABLE_CONNECT_PROTOCOL=1) with :protocol connect-udp (RFC 9298) over
TLS+ALPN h2 (or h2c with --h2c) and exchanges UDP payloads with the target as
DATAGRAM capsules (RFC 9297: type 0, context id 0) in the stream's DATA:

  masque.py --proxy HOST:PORT [--ca FILE --servername NAME | --h2c] [--h1]
            [--cert FILE --key FILE] [--header NAME:VALUE]... [--bind IP]
            --token TOKEN --target IP:PORT MODE [--timeout S] [--hold FILE]

  --bind IP connects to the proxy from IP. --hold FILE: after a successful run, keeps
  the flow open (answering the proxy's control frames) until FILE exists, at most 120 s.

  --token "" sends no Proxy-Authorization (a client certificate may stand in).

  --h1 uses the HTTP/1.1 form instead (RFC 9298 3.3: GET <path> with
  Upgrade: connect-udp, answered 101; plain with --h2c, else TLS).

  MODE  --dns NAME [--count N] [--qtype A|TXT]
            N DNS queries (random ids, RD set) for NAME; prints the records of
            the first answer ("www.example.test A 198.51.100.10") and
            "answered K/N"; exit 0 only if all N were answered with rcode 0.
        --echo SIZE [--count N]
            N datagrams of SIZE bytes (8-byte sequence number + random data)
            to a UDP echo server (udpecho.py); prints
            "echoed K/N size SIZE sha256 ok|MISMATCH"; exit 0 only if all came
            back intact.
        --ping [--count N] [--source IP]     (--target IP, no port)
            connect-ip (RFC 9484) scoped to the target and ICMP: N ICMP echo
            requests as whole IPv4 packets from --source (default 192.0.2.254,
            the address the replies come back to); prints
            "pinged K/N ttl T"; exit 0 only if every reply came back intact.
            An IPv6 target: ICMPv6 (next header 58) echo requests from
            --source (default 2001:db8:ff::fe), "ttl" then being the hop limit.
        --selftest
            Offline checks: varints, capsules, HPACK (Huffman, dynamic table),
            DNS encode/parse, and whole runs against an in-process fake h2c
            proxy on 127.0.0.1 (no other options needed).

At most 64 datagrams are outstanding; every reply waits at most --timeout
seconds (default 3) and a run never takes longer than (N + 1) * timeout after
the tunnel is up (connecting, SETTINGS and the response: --connect-timeout).
Exit 0 on success, 1 on any failure (message on stderr; a RST_STREAM or a
GOAWAY with an error ends the run), 2 when the proxy answers the request with
a non-2xx status (status and proxy-status printed on stderr).
IPv6 targets: --target [2001:db8::1]:53 (":" goes into the path as %3A).
"""
import argparse
import collections
import hashlib
import ipaddress
import os
import random
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2connect import (  # noqa: E402  (shared HTTP/2 framing with h2connect.py)
    ACK, CONT, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PADDED, PRIORITY,
    RECV_WINDOW, RST, SETTINGS, SID, WINUP, Conn, H2Error, hpack_literal, tls_h2,
)
from hpackdec import HpackDecoder  # noqa: E402,F401  (limitpeer.py imports it from here)

SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8
CAPSULE_DATAGRAM = 0x00
MAX_CAPSULE = 1 << 17          # largest DATAGRAM capsule value buffered (UDP max is 65527)
WINDOW = 64                    # datagrams outstanding at most
MAX_FRAME = 1 << 24
QTYPES = {"A": 1, "TXT": 16, "AAAA": 28}
RTYPE_NAMES = {1: "A", 5: "CNAME", 16: "TXT", 28: "AAAA"}
RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


# ---------------------------------------------------------------- QUIC varints (RFC 9000 16)

def varint(value):
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return struct.pack(">H", 0x4000 | value)
    if value < 0x40000000:
        return struct.pack(">I", 0x80000000 | value)
    if value < 1 << 62:
        return struct.pack(">Q", 0xC000000000000000 | value)
    raise ValueError("varint out of range: %d" % value)


def varint_parse(buf, pos=0):
    """(value, next position), or None when buf ends inside the varint."""
    if pos >= len(buf):
        return None
    size = 1 << (buf[pos] >> 6)
    if pos + size > len(buf):
        return None
    value = buf[pos] & 0x3F
    for b in buf[pos + 1 : pos + size]:
        value = (value << 8) | b
    return value, pos + size


# ---------------------------------------------------------------- capsules (RFC 9297 3.2)

def datagram_capsule(payload, context=0):
    value = varint(context) + payload
    return varint(CAPSULE_DATAGRAM) + varint(len(value)) + value


class CapsuleReader:
    """Reassembles capsules from DATA payloads cut anywhere; feed() returns the UDP
    payloads of complete DATAGRAM capsules with context id 0. Other capsule types are
    skipped without buffering them, other context ids dropped (RFC 9298 4)."""

    def __init__(self, limit=MAX_CAPSULE):
        self.buf = bytearray()
        self.skip = 0
        self.limit = limit
        self.unknown = 0
        self.other_context = 0

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            if self.skip:
                n = min(self.skip, len(self.buf))
                del self.buf[:n]
                self.skip -= n
                if self.skip:
                    return out
            head = varint_parse(self.buf)
            length = head and varint_parse(self.buf, head[1])
            if not length:
                return out
            ctype, (size, start) = head[0], length
            if ctype != CAPSULE_DATAGRAM:
                del self.buf[:start]
                self.skip = size
                self.unknown += 1
                continue
            if size > self.limit:
                raise H2Error("DATAGRAM capsule of %d bytes (limit %d)" % (size, self.limit))
            if len(self.buf) < start + size:
                return out
            value = bytes(self.buf[start : start + size])
            del self.buf[: start + size]
            ctx = varint_parse(value)
            if ctx is None:
                raise H2Error("DATAGRAM capsule with a truncated context id")
            if ctx[0] != 0:
                self.other_context += 1
                continue
            out.append(value[ctx[1] :])


# ---------------------------------------------------------------- DNS (RFC 1035)

def dns_query(qid, name, qtype):
    qname = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad DNS name %r" % name)
        qname += bytes([len(raw)]) + raw
    if len(qname) > 254:
        raise ValueError("DNS name too long: %r" % name)
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + b"\0" + struct.pack(">HH", qtype, 1)


def dns_name(msg, pos):
    """(dotted name, position after it), following compression pointers."""
    labels, end, jumps = [], None, 0
    while True:
        if pos >= len(msg):
            raise ValueError("DNS name runs past the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(msg) or jumps > 64:
                raise ValueError("bad DNS compression pointer")
            if end is None:
                end = pos + 2
            pos, jumps = ((n & 0x3F) << 8) | msg[pos + 1], jumps + 1
        elif n & 0xC0:
            raise ValueError("bad DNS label type 0x%02x" % n)
        elif n == 0:
            return ".".join(labels), (pos + 1 if end is None else end)
        elif pos + 1 + n > len(msg):
            raise ValueError("DNS label runs past the message")
        else:
            labels.append(msg[pos + 1 : pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n


def dns_parse(msg):
    """dict(id, rcode, answers=[(name, type name, text)]) of a DNS response."""
    if len(msg) < 12:
        raise ValueError("DNS message of %d bytes" % len(msg))
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if not flags & 0x8000:
        raise ValueError("not a DNS response (QR clear)")
    pos = 12
    for _ in range(qd):
        pos = dns_name(msg, pos)[1] + 4
    answers = []
    for _ in range(an):
        name, pos = dns_name(msg, pos)
        if pos + 10 > len(msg):
            raise ValueError("truncated DNS answer")
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[pos : pos + 10])
        pos += 10
        rdata = msg[pos : pos + rdlen]
        if len(rdata) != rdlen:
            raise ValueError("truncated DNS rdata")
        if rtype == 1 and rdlen == 4:
            text = str(ipaddress.IPv4Address(rdata))
        elif rtype == 28 and rdlen == 16:
            text = str(ipaddress.IPv6Address(rdata))
        elif rtype == 5:
            text = dns_name(msg, pos)[0]
        elif rtype == 16:
            parts, i = [], 0
            while i < rdlen:
                parts.append('"%s"' % rdata[i + 1 : i + 1 + rdata[i]].decode("utf-8", "replace"))
                i += 1 + rdata[i]
            text = " ".join(parts)
        else:
            text = rdata.hex()
        answers.append((name, RTYPE_NAMES.get(rtype, "TYPE%d" % rtype), text))
        pos += rdlen
    return {"id": qid, "rcode": flags & 0xF, "answers": answers}


# ---------------------------------------------------------------- HTTP/2 connection

class MasqueConn(Conn):
    """h2connect.Conn with deadline-bounded reads and a frame dispatcher that feeds the
    stream's DATA through a CapsuleReader into self.datagrams."""

    def __init__(self, sock, io_timeout):
        super().__init__(sock)
        self.buf = bytearray()
        self.io_timeout = io_timeout
        self.server_settings = None
        self.hpack = HpackDecoder()
        self.capsules = CapsuleReader()
        self.datagrams = collections.deque()
        self.response = None
        self.pending_block = None
        self.goaway = None

    def frame(self, ftype, flags, sid, payload=b""):
        self.sock.settimeout(self.io_timeout)
        super().frame(ftype, flags, sid, payload)

    def poll_frame(self, deadline):
        """(type, flags, stream, payload, flow-controlled length), None past the deadline."""
        while True:
            if len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if length > MAX_FRAME:
                    raise H2Error("frame of %d bytes" % length)
                if len(self.buf) >= 9 + length:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
                    payload = bytes(self.buf[9 : 9 + length])
                    del self.buf[: 9 + length]
                    if ftype in (DATA, HEADERS) and flags & PADDED:
                        if not payload or payload[0] >= len(payload):
                            raise H2Error("bad padding")
                        payload = payload[1 : len(payload) - payload[0]]
                    if ftype == HEADERS and flags & PRIORITY:
                        payload = payload[5:]
                    return ftype, flags, sid, payload, length
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                return None
            if not data:
                raise H2Error("connection closed by the proxy")
            self.buf += data

    def dispatch(self, ftype, flags, sid, payload, length):
        if ftype == SETTINGS and not flags & ACK:
            got = dict(struct.unpack(">HI", payload[i : i + 6]) for i in range(0, len(payload) - 5, 6))
            self.server_settings = {**(self.server_settings or {}), **got}
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            last &= 0x7FFFFFFF
            if code or last < SID:
                raise H2Error("GOAWAY error %d, last stream %d %r" % (code, last, payload[8:]))
            if not self.goaway:
                sys.stderr.write("masque: proxy sent GOAWAY (no error, last stream %d); "
                                 "stream %d goes on\n" % (last, SID))
            self.goaway = (last, code)
            return
        elif ftype == HEADERS:
            self.pending_block = (sid, flags, payload)
            if flags & END_HEADERS:
                self.header_block()
            return
        elif ftype == CONT:
            if not self.pending_block or self.pending_block[0] != sid:
                raise H2Error("CONTINUATION without HEADERS")
            _, first_flags, block = self.pending_block
            self.pending_block = (sid, first_flags, block + payload)
            if flags & END_HEADERS:
                self.header_block()
            return
        elif ftype == RST and sid == SID:
            self.stream_closed = True
            raise H2Error("stream reset, error %d" % struct.unpack(">I", payload[:4])[0])
        if self.handle_control(ftype, flags, sid, payload):
            return
        if ftype == DATA:
            self.consumed(length)
            if sid == SID:
                if flags & END_STREAM:
                    self.stream_closed = True
                self.datagrams.extend(self.capsules.feed(payload))

    def header_block(self):
        sid, flags, block = self.pending_block
        self.pending_block = None
        fields = self.hpack.decode(block)  # every block: keeps the dynamic table in step
        if sid != SID:
            return
        status = dict(fields).get(":status", "")
        if self.response is None and not status.startswith("1"):
            self.response = fields
        if flags & END_STREAM:
            self.stream_closed = True

    def send_on_stream(self, data, deadline, end=False):
        """Sends data on the stream as flow control allows, handling what arrives while the
        window is closed (replies are queued); END_STREAM with the last frame when end."""
        view = memoryview(data)
        while True:
            while view and min(self.send_conn, self.send_stream) <= 0:
                fr = self.poll_frame(deadline)
                if fr is None:
                    raise H2Error("the proxy's flow-control window stayed closed")
                self.dispatch(*fr)
            n = min(len(view), self.send_conn, self.send_stream, self.max_frame)
            last = end and n == len(view)
            if n or last:
                self.frame(DATA, END_STREAM if last else 0, SID, bytes(view[:n]))
            self.send_conn -= n
            self.send_stream -= n
            view = view[n:]
            if not view:
                return

    def send_datagram(self, payload, deadline):
        self.send_on_stream(datagram_capsule(payload), deadline)


class H1Conn:
    """connect-udp over HTTP/1.1 (RFC 9298 3.3): after the 101 the connection's bytes are
    capsules both ways. Offers what exchange() uses of MasqueConn."""

    def __init__(self, sock, io_timeout):
        self.sock = sock
        self.io_timeout = io_timeout
        self.capsules = CapsuleReader()
        self.datagrams = collections.deque()
        self.stream_closed = False
        self.response = None

    def send_datagram(self, payload, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        self.sock.sendall(datagram_capsule(payload))

    def poll_frame(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return None
        return (data,)

    def dispatch(self, data):
        if not data:
            self.stream_closed = True
        self.datagrams.extend(self.capsules.feed(data))


def request_h1(sock, args, path, deadline):
    """GET <path> with Upgrade: connect-udp; returns an H1Conn whose .response holds
    (":status", code) and the response fields, lower-cased."""
    host = split_hostport(args.proxy)[0]
    if not args.h2c:
        ctx = ssl.create_default_context(cafile=args.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname=args.servername or host)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
                  "Upgrade: %s\r\nCapsule-Protocol: ?1\r\n"
                  "Proxy-Authorization: Bearer %s\r\n\r\n"
                  % (path, args.proxy, protocol(args), args.token)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(4096)
        if not data:
            raise H2Error("connection closed before a response")
        head += data
        if len(head) > 16384:
            raise H2Error("response head too long")
    head, rest = head.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "?"
    fields = [(":status", status)]
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.append((name.strip().lower(), value.strip()))
    conn = H1Conn(sock, args.timeout)
    conn.response = fields
    if status == "101":
        conn.datagrams.extend(conn.capsules.feed(rest))
    return conn


DEFAULT_SOURCE, DEFAULT_SOURCE6 = "192.0.2.254", "2001:db8:ff::fe"


def split_hostport(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected HOST:PORT, got %r" % text)
    return host.strip("[]"), int(port)


def udp_path(target):
    host, port = split_hostport(target)
    addr = ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError("bad target port %d" % port)
    return "/.well-known/masque/udp/%s/%d/" % (str(addr).replace(":", "%3A"), port)


def ip_path(target):
    """connect-ip scoped to the target and ICMP (58, ICMPv6, for an IPv6 target)."""
    addr = ipaddress.ip_address(target)
    return "/.well-known/masque/ip/%s/%d/" % (str(addr).replace(":", "%3A"),
                                              58 if addr.version == 6 else 1)


def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmp_echo_packet(src, dst, ident, seq, payload, ttl=64):
    """An IPv4 packet (no options) holding an ICMP echo request."""
    icmp = struct.pack(">BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack(">H", inet_csum(icmp)) + icmp[4:]
    head = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, ttl, 1, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    head = head[:10] + struct.pack(">H", inet_csum(head)) + head[12:]
    return head + icmp


def icmp6_csum(src, dst, msg):
    """The ICMPv6 checksum of msg (its checksum field zero) over the pseudo-header."""
    pseudo = src.packed + dst.packed + struct.pack(">IxxxB", len(msg), 58)
    return inet_csum(pseudo + msg)


def icmp6_echo_packet(src, dst, ident, seq, payload, hlim=64):
    """An IPv6 packet (no extension headers) holding an ICMPv6 echo request."""
    src, dst = ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst)
    icmp = struct.pack(">BBHHH", 128, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack(">H", icmp6_csum(src, dst, icmp)) + icmp[4:]
    return struct.pack(">IHBB", 6 << 28, len(icmp), 58, hlim) + src.packed + dst.packed + icmp


def icmp6_echo_reply(pkt, src, dst):
    """(ident, seq, payload, hop limit) of an IPv6 ICMPv6 echo reply from src to dst with a
    good checksum, else None."""
    src, dst = ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst)
    if len(pkt) < 48 or pkt[0] >> 4 != 6 or pkt[6] != 58:
        return None
    if struct.unpack(">H", pkt[4:6])[0] != len(pkt) - 40 or pkt[8:24] != src.packed or \
            pkt[24:40] != dst.packed:
        return None
    icmp = pkt[40:]
    if icmp[0] != 129 or icmp[1] != 0 or icmp6_csum(src, dst, icmp):
        return None
    ident, seq = struct.unpack(">HH", icmp[4:8])
    return ident, seq, icmp[8:], pkt[7]


def icmp_echo_reply(pkt, src, dst):
    """(ident, seq, payload, ttl) of an IPv4 ICMP echo reply from src to dst with good
    checksums, else None."""
    if len(pkt) < 28 or pkt[0] != 0x45 or pkt[9] != 1 or inet_csum(pkt[:20]):
        return None
    total = struct.unpack(">H", pkt[2:4])[0]
    if total != len(pkt) or pkt[12:16] != ipaddress.IPv4Address(src).packed or \
            pkt[16:20] != ipaddress.IPv4Address(dst).packed:
        return None
    icmp = pkt[20:]
    if icmp[0] != 0 or icmp[1] != 0 or inet_csum(icmp):
        return None
    ident, seq = struct.unpack(">HH", icmp[4:8])
    return ident, seq, icmp[8:], pkt[8]


def open_masque(args):
    path = ip_path(args.target) if args.ping else udp_path(args.target)
    host, port = split_hostport(args.proxy)
    deadline = time.monotonic() + args.connect_timeout
    sock = socket.create_connection((host, port), timeout=args.connect_timeout,
                                    source_address=(args.bind, 0) if args.bind else None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one frame per datagram
    try:
        if args.h1:
            return request_h1(sock, args, path, deadline)
        return request(sock, args, path, deadline)
    except BaseException:
        sock.close()
        raise


def protocol(args):
    return "connect-ip" if args.ping else "connect-udp"


def request(sock, args, path, deadline):
    sock = tls_h2(sock, args, split_hostport(args.proxy)[0])
    conn = MasqueConn(sock, args.timeout)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    conn.frame(SETTINGS, 0, 0, struct.pack(">HIHI", 2, 0, 4, RECV_WINDOW))
    conn.frame(WINUP, 0, 0, struct.pack(">I", RECV_WINDOW - 65535))
    while conn.server_settings is None:
        fr = conn.poll_frame(deadline)
        if fr is None:
            raise H2Error("no SETTINGS from the proxy within %gs" % args.connect_timeout)
        conn.dispatch(*fr)
    if conn.server_settings.get(SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1:
        raise H2Error("the proxy's SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL=1 (RFC 8441): "
                      "no extended CONNECT, so no connect-udp")
    block = (
        hpack_literal(":method", "CONNECT")
        + hpack_literal(":protocol", protocol(args))
        + hpack_literal(":scheme", "https")
        + hpack_literal(":authority", args.proxy)
        + hpack_literal(":path", path)
        + hpack_literal("capsule-protocol", "?1")
    )
    if args.token:
        block += hpack_literal("proxy-authorization", "Bearer " + args.token)
    for field in args.header:
        name, _, value = field.partition(":")
        block += hpack_literal(name.strip().lower(), value.strip())
    conn.frame(HEADERS, END_HEADERS, SID, block)
    while conn.response is None:
        if conn.stream_closed:
            raise H2Error("stream closed without a response")
        fr = conn.poll_frame(deadline)
        if fr is None:
            raise H2Error("no response to %s within %gs" % (protocol(args), args.connect_timeout))
        conn.dispatch(*fr)
    return conn


def close(conn):
    if isinstance(conn, H1Conn):
        conn.sock.close()
        return
    try:
        if not conn.stream_closed:
            conn.send_on_stream(b"", time.monotonic() + 1, end=True)
        conn.frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0))
    except (H2Error, OSError):
        pass
    conn.sock.close()


# ---------------------------------------------------------------- exchanges

def exchange(conn, count, make, key_of, timeout):
    """Sends make(i) -> (key, payload) for i < count with at most WINDOW outstanding and
    returns {key: reply} of the replies (key_of(reply)) that came within timeout."""
    replies, pending, sent = {}, {}, 0
    hard_stop = time.monotonic() + (count + 1) * timeout
    while sent < count or pending:
        now = time.monotonic()
        if now >= hard_stop:
            break
        while sent < count and len(pending) < WINDOW and not conn.stream_closed:
            key, payload = make(sent)
            conn.send_datagram(payload, min(now + timeout, hard_stop))
            pending[key] = time.monotonic() + timeout
            sent += 1
        while conn.datagrams:
            reply = conn.datagrams.popleft()
            key = key_of(reply)
            if key in pending:
                del pending[key]
                replies[key] = reply
        if not pending or conn.stream_closed:
            if conn.stream_closed and (pending or sent < count):
                sys.stderr.write("masque: the proxy closed the stream\n")
                break
            continue
        fr = conn.poll_frame(min(min(pending.values()), hard_stop))
        if fr is None:
            now = time.monotonic()
            for key in [k for k, d in pending.items() if d <= now]:
                del pending[key]
        else:
            conn.dispatch(*fr)
    return replies


def run_dns(conn, args):
    count = args.count
    if not 0 < count <= 65536:
        raise ValueError("--count must be 1..65536 for --dns")
    ids = random.sample(range(65536), count)
    qtype = QTYPES[args.qtype]
    replies = exchange(
        conn, count,
        lambda i: (ids[i], dns_query(ids[i], args.dns, qtype)),
        lambda m: int.from_bytes(m[:2], "big") if len(m) >= 12 and m[2] & 0x80 else None,
        args.timeout,
    )
    good, shown = 0, False
    for qid in ids:
        if qid not in replies:
            continue
        try:
            msg = dns_parse(replies[qid])
        except ValueError as e:
            sys.stderr.write("masque: query %d: bad answer: %s\n" % (qid, e))
            continue
        if msg["rcode"]:
            sys.stderr.write("masque: query %d: rcode %d (%s)\n"
                             % (qid, msg["rcode"], RCODES.get(msg["rcode"], "?")))
            continue
        good += 1
        if not shown:
            shown = True
            for name, rtype, text in msg["answers"]:
                print("%s %s %s" % (name, rtype, text))
    print("answered %d/%d" % (len(replies), count))
    return 0 if good == count else 1


def run_echo(conn, args):
    size, count = args.echo, args.count
    if not 8 <= size <= 65527:
        raise ValueError("--echo SIZE must be 8..65527")
    sent = []

    def make(i):
        sent.append(struct.pack(">Q", i) + os.urandom(size - 8))
        return i, sent[i]

    replies = exchange(conn, count, make,
                       lambda m: struct.unpack(">Q", m[:8])[0] if len(m) >= 8 else None,
                       args.timeout)
    want = hashlib.sha256(b"".join(sent)).hexdigest()
    got = hashlib.sha256(b"".join(replies.get(i, b"") for i in range(count))).hexdigest()
    bad = sorted(i for i, r in replies.items() if i >= len(sent) or r != sent[i])
    lost = count - len(replies)
    if lost or bad:
        sys.stderr.write("masque: lost %d, corrupted %d%s\n" % (lost, len(bad), (
            " (seq %s)" % " ".join(map(str, bad[:10]))) if bad else ""))
    ok = want == got and len(replies) == count
    print("echoed %d/%d size %d sha256 %s" % (len(replies), count, size, "ok" if ok else "MISMATCH"))
    return 0 if ok else 1


def run_ping(conn, args):
    ident, sent, src = random.randrange(65536), [], args.source
    v6 = ipaddress.ip_address(args.target).version == 6
    if v6 and src == DEFAULT_SOURCE:
        src = DEFAULT_SOURCE6
    build = icmp6_echo_packet if v6 else icmp_echo_packet
    parse = icmp6_echo_reply if v6 else icmp_echo_reply

    def make(i):
        sent.append(os.urandom(56))
        return i + 1, build(src, args.target, ident, i + 1, sent[i])

    def key_of(pkt):
        r = parse(pkt, args.target, src)
        if not r or r[0] != ident or not 0 < r[1] <= len(sent) or r[2] != sent[r[1] - 1]:
            return None
        return r[1]

    replies = exchange(conn, args.count, make, key_of, args.timeout)
    ttls = sorted({parse(p, args.target, src)[3] for p in replies.values()})
    print("pinged %d/%d ttl %s" % (len(replies), args.count, ",".join(map(str, ttls)) or "-"))
    return 0 if len(replies) == args.count else 1


def hold(conn, path, limit=120):
    """Keeps the flow open until path exists (at most limit seconds), answering the proxy's
    control frames; fails if the proxy ends the stream meanwhile."""
    sys.stdout.flush()
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            raise H2Error("--hold: %s did not appear within %d s" % (path, limit))
        if isinstance(conn, H1Conn):
            time.sleep(0.2)
            continue
        fr = conn.poll_frame(time.monotonic() + 0.2)
        if fr is not None:
            conn.dispatch(*fr)
        if conn.stream_closed:
            raise H2Error("the proxy ended the stream while it was held")


def main(argv=None):
    ap = argparse.ArgumentParser(description="MASQUE connect-udp client (RFC 9298 over HTTP/2)")
    ap.add_argument("--proxy")
    ap.add_argument("--ca")
    ap.add_argument("--servername")
    ap.add_argument("--h2c", action="store_true", help="no TLS (HTTP/2 prior knowledge, or "
                    "plain HTTP/1.1 with --h1)")
    ap.add_argument("--h1", action="store_true", help="HTTP/1.1 upgrade (RFC 9298 3.3) instead "
                    "of HTTP/2 extended CONNECT")
    ap.add_argument("--token", help="empty: no proxy-authorization")
    ap.add_argument("--cert", help="TLS client certificate (with --key)")
    ap.add_argument("--key")
    ap.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                    help="an extra request field (HTTP/2 only; repeatable)")
    ap.add_argument("--target")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dns", metavar="NAME")
    mode.add_argument("--echo", metavar="SIZE", type=int)
    mode.add_argument("--ping", action="store_true")
    mode.add_argument("--selftest", action="store_true")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    ap.add_argument("--qtype", choices=sorted(QTYPES), default="A")
    ap.add_argument("--timeout", type=float, default=3)
    ap.add_argument("--connect-timeout", type=float, default=10)
    ap.add_argument("--bind", metavar="IP")
    ap.add_argument("--hold", metavar="FILE")
    args = ap.parse_args(argv)
    if args.selftest:
        from masque_selftest import selftest  # only here: it imports this module
        return selftest()
    for name in ("proxy", "token", "target"):
        if getattr(args, name) is None:
            ap.error("--%s is required" % name)
    if args.count < 1 or args.timeout <= 0:
        ap.error("--count must be >= 1 and --timeout > 0")
    try:
        conn = open_masque(args)
        fields = dict(conn.response)
        status = fields.get(":status", "?")
        if not (len(status) == 3 and (status.startswith("2") or (args.h1 and status == "101"))):
            sys.stderr.write("masque: %s answered %s\n" % (protocol(args), status))
            if "proxy-status" in fields:
                sys.stderr.write("masque: proxy-status: %s\n" % fields["proxy-status"])
            conn.sock.close()
            return 2
        try:
            if args.ping:
                rc = run_ping(conn, args)
            else:
                rc = run_dns(conn, args) if args.dns else run_echo(conn, args)
            if rc == 0 and args.hold:
                hold(conn, args.hold)
            return rc
        finally:
            close(conn)
    except (H2Error, OSError, ValueError) as e:
        sys.stderr.write("masque: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
