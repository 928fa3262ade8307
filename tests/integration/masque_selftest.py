"""masque.py --selftest (stdlib only): offline checks of the codecs (varints, capsules,
HPACK, DNS, connect-ip packets) and whole runs of masque.main against an in-process fake
h2c proxy on 127.0.0.1."""
import contextlib
import io
import ipaddress
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from h2connect import (  # noqa: E402
    ACK, CONT, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PADDED, PING, RST, SETTINGS, WINUP,
    Conn, H2Error, hpack_int,
)
from hpackdec import HUFFMAN, HpackDecoder, huffman_decode, huffman_encode  # noqa: E402
from masque import (  # noqa: E402
    SETTINGS_ENABLE_CONNECT_PROTOCOL, CapsuleReader, datagram_capsule, dns_name, dns_parse,
    dns_query, icmp_echo_packet, icmp_echo_reply, inet_csum, ip_path, main, udp_path, varint,
    varint_parse,
)


def hstr(text):
    """A Huffman-coded HPACK string literal."""
    raw = huffman_encode(text.encode())
    return hpack_int(len(raw), 7, 0x80) + raw


class FakeProxy(threading.Thread):
    """In-process h2c connect-udp proxy on 127.0.0.1 for --selftest. Relays DATAGRAM
    capsules to the UDP target of the :path and back, with a small flow-control window,
    Huffman-coded and dynamically indexed response headers split by CONTINUATION, a
    GOAWAY(NO_ERROR), PINGs, padded DATA cut at random places, unknown capsule types and
    other context ids in between. mode: ok, corrupt, rst, 403, nosetting."""

    def __init__(self, mode="ok"):
        super().__init__(daemon=True)
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.error = None
        self.request = None
        self.ping_acks = 0
        self.done = threading.Event()

    def send(self, ftype, flags, sid, payload=b""):
        with self.lock:
            self.conn.frame(ftype, flags, sid, payload)

    def run(self):
        try:
            self.serve()
        except H2Error as e:
            if self.mode not in ("nosetting", "rst"):
                self.error = e
        except Exception as e:  # reported by the self-test
            self.error = e
        finally:
            self.done.set()

    def serve(self):
        sock, _ = self.listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(20)
        self.conn = conn = Conn(sock)
        if conn._read(24) != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
            raise AssertionError("bad preface")
        settings = struct.pack(">HIHI", 4, 3000, 3, 10)
        if self.mode != "nosetting":
            settings += struct.pack(">HI", SETTINGS_ENABLE_CONNECT_PROTOCOL, 1)
        self.send(SETTINGS, 0, 0, settings)
        hp = HpackDecoder()
        while True:
            ftype, flags, sid, payload = conn.read_frame()
            if ftype == SETTINGS and not flags & ACK:
                self.send(SETTINGS, ACK, 0)
            elif ftype == HEADERS:
                break
        self.request = dict(hp.decode(payload))
        path = self.request[":path"].split("/")
        if self.mode == "403":  # literals with incremental indexing, Huffman-coded
            block = (b"\x48" + hstr("403") + b"\x40" + hstr("proxy-status")
                     + hstr("subtunnel; error=destination_ip_prohibited"))
            self.send(HEADERS, END_HEADERS | END_STREAM, sid, block)
            return
        # :status 200 indexed; capsule-protocol added to the dynamic table, then indexed (62)
        block = b"\x88\x40" + hpack_int(16, 7) + b"capsule-protocol" + hstr("?1") + b"\xbe"
        self.send(HEADERS, 0, sid, block[:7])
        self.send(CONT, END_HEADERS, sid, block[7:])
        if self.mode == "rst":
            self.send(RST, 0, sid, struct.pack(">I", 8))
            return
        self.send(GOAWAY, 0, 0, struct.pack(">II", sid, 0))
        host = ipaddress.ip_address(path[4].replace("%3A", ":"))
        udp = socket.socket(socket.AF_INET6 if host.version == 6 else socket.AF_INET, socket.SOCK_DGRAM)
        udp.connect((str(host), int(path[5])))
        threading.Thread(target=self.downstream, args=(udp, sid), daemon=True).start()
        reader, unacked = CapsuleReader(), 0
        while True:
            ftype, flags, fsid, payload = conn.read_frame()
            if ftype == DATA:
                unacked += len(payload)
                if unacked >= 1500:  # half the window, as nghttp2 does
                    inc = struct.pack(">I", unacked)
                    self.send(WINUP, 0, 0, inc)
                    self.send(WINUP, 0, sid, inc)
                    unacked = 0
                for dgram in reader.feed(payload):
                    udp.send(dgram)
                if flags & END_STREAM:
                    break
            elif ftype == PING and flags & ACK:
                self.ping_acks += 1
            elif ftype == GOAWAY:
                break
        udp.close()

    def downstream(self, udp, sid):
        rng, n = random.Random(7), 0
        try:
            while True:
                data = udp.recv(65536)
                n += 1
                if self.mode == "corrupt" and n == 3:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                blob = datagram_capsule(data)
                if n % 5 == 1:
                    junk = os.urandom(rng.randrange(0, 300))
                    blob = (varint(0x2B) + varint(len(junk)) + junk
                            + datagram_capsule(b"other context", context=7) + blob)
                if n % 7 == 1:
                    self.send(PING, 0, 0, struct.pack(">Q", n))
                cuts = sorted(rng.sample(range(1, len(blob)), min(2, len(blob) - 1)))
                for a, b in zip([0] + cuts, cuts + [len(blob)]):
                    if rng.random() < 0.3:
                        self.send(DATA, PADDED, sid, bytes([3]) + blob[a:b] + b"\0\0\0")
                    else:
                        self.send(DATA, 0, sid, blob[a:b])
        except OSError:
            pass


def fake_udp_servers():
    """(echo port, dns port) of two UDP responders on 127.0.0.1 (daemon threads)."""
    def serve(sock, answer):
        while True:
            data, peer = sock.recvfrom(65536)
            reply = answer(data)
            if reply is not None:
                sock.sendto(reply, peer)

    def dns_answer(q):
        qid = q[:2]
        name, pos = dns_name(q, 12)
        qtype = struct.unpack(">H", q[pos : pos + 2])[0]
        question = q[12 : pos + 4]
        if name == "lost.example.test":
            return None
        if name != "www.example.test":
            return qid + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + question
        if qtype == 1:
            rr = [b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([198, 51, 100, 10]),
                  b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([198, 51, 100, 11])]
        else:
            txt = b"\x05hello\x0bsubtunnel=1"
            rr = [b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c" + struct.pack(">H", len(txt)) + txt]
        return qid + b"\x81\x80\x00\x01" + struct.pack(">H", len(rr)) + b"\0\0\0\0" + question + b"".join(rr)

    ports = []
    for answer in (lambda d: d, dns_answer):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        ports.append(sock.getsockname()[1])
        threading.Thread(target=serve, args=(sock, answer), daemon=True).start()
    return ports


def selftest():
    def passed(what):
        print("selftest: ok   %s" % what)

    # varints: the four encodings, their boundaries, RFC 9000 A.1 examples
    for value, size in ((0, 1), (63, 1), (64, 2), (16383, 2), (16384, 4), (2**30 - 1, 4),
                        (2**30, 8), (2**62 - 1, 8), (37, 1), (15293, 2), (494878333, 4)):
        enc = varint(value)
        assert len(enc) == size and varint_parse(enc) == (value, size), value
        assert varint_parse(enc[:-1]) is None or size == 1
    assert varint_parse(bytes.fromhex("c2197c5eff14e88c")) == (151288809941952652, 8)
    assert varint_parse(bytes.fromhex("9d7f3e7d")) == (494878333, 4)
    assert varint_parse(bytes.fromhex("7bbd")) == (15293, 2)
    assert varint_parse(bytes.fromhex("4025")) == (37, 2)  # non-minimal is still valid
    assert varint_parse(b"") is None
    try:
        varint(2**62)
        raise AssertionError("varint(2**62) accepted")
    except ValueError:
        pass
    passed("varints: 1/2/4/8-byte forms, boundaries, RFC 9000 examples, truncation")

    # capsules: fed one byte at a time and in odd chunks, with unknown types and contexts
    payloads = [b"", b"x", os.urandom(63), os.urandom(1400), os.urandom(20000)]
    stream = b""
    for i, p in enumerate(payloads):
        stream += varint(0x2B) + varint(i * 50) + b"U" * (i * 50)  # unknown, skipped
        stream += datagram_capsule(b"ignored", context=4)
        stream += datagram_capsule(p)
    stream += varint(0x3FFF) + varint(70000) + b"\0" * 70000  # big unknown capsule
    stream += datagram_capsule(b"last")
    for step in (1, 2, 7, 1000, len(stream)):
        reader, got = CapsuleReader(), []
        for i in range(0, len(stream), step):
            got += reader.feed(stream[i : i + step])
        assert got == payloads + [b"last"], step
        assert reader.unknown == 6 and reader.other_context == 5 and not reader.buf
    assert datagram_capsule(b"ab") == b"\x00\x03\x00ab"
    try:
        CapsuleReader().feed(b"\x00\x00")
        raise AssertionError("empty DATAGRAM value accepted")
    except H2Error:
        pass
    passed("capsules: split across reads (1..all bytes), unknown types and context ids skipped")

    # HPACK: RFC 7541 C.4.1 (Huffman) and C.6.1/C.6.2 (responses, Huffman, eviction)
    assert [HUFFMAN[s] for s in (0, 32, 48, 97, 255, 256)] == [
        (0x1FF8, 13), (0x14, 6), (0x0, 5), (0x3, 5), (0x3FFFFEE, 26), (0x3FFFFFFF, 30)]
    assert huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    assert huffman_encode(b"www.example.com") == bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")
    every = bytes(range(256)) * 2
    assert huffman_decode(huffman_encode(every)) == every
    dec = HpackDecoder(256)
    first = dec.decode(bytes.fromhex(
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
        "63c78f0b97c8e9ae82ae43d3"))
    assert first == [(":status", "302"), ("cache-control", "private"),
                     ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                     ("location", "https://www.example.com")], first
    assert dec.size == 222
    second = dec.decode(bytes.fromhex("4883640effc1c0bf"))
    assert second == [(":status", "307")] + first[1:], second
    assert dec.size == 222 and dec.dynamic[0] == (b":status", b"307")
    assert HpackDecoder().decode(b"\x88\x3f\xe1\x1f") == [(":status", "200")]  # size update 4096
    passed("HPACK: RFC 7541 C.4.1/C.6.1/C.6.2 (Huffman, dynamic table, eviction)")

    # DNS: query layout and a hand-made answer with compression pointers
    q = dns_query(0x1234, "www.example.test.", 1)
    assert q == (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"), q
    resp = (b"\x12\x34\x81\x80\x00\x01\x00\x03\x00\x00\x00\x00" + q[12:]
            + b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03svc\xc0\x10"
            + b"\xc0\x2e\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x33\x64\x0a"
            + b"\xc0\x2e\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x09\x02hi\x05there")
    msg = dns_parse(resp)
    assert msg["id"] == 0x1234 and msg["rcode"] == 0
    assert msg["answers"] == [("www.example.test", "CNAME", "svc.example.test"),
                              ("svc.example.test", "A", "198.51.100.10"),
                              ("svc.example.test", "TXT", '"hi" "there"')], msg
    assert dns_parse(b"\x12\x34\x81\x83" + resp[4:6] + b"\0\0\0\0\0\0" + q[12:])["rcode"] == 3
    for bad in (resp[:40], q, resp[:12] + b"\xc0\x0c"):
        try:
            dns_parse(bad)
            raise AssertionError("bad DNS message accepted: %r" % bad)
        except ValueError:
            pass
    passed("DNS: query bytes, answer parse (CNAME/A/TXT, compression), rcode, truncation")

    assert udp_path("192.0.2.1:53") == "/.well-known/masque/udp/192.0.2.1/53/"
    assert udp_path("[2001:db8::1]:443") == "/.well-known/masque/udp/2001%3Adb8%3A%3A1/443/"
    passed("connect-udp paths (IPv4, IPv6 with %3A)")

    assert ip_path("198.51.100.10") == "/.well-known/masque/ip/198.51.100.10/1/"
    pkt = icmp_echo_packet("192.0.2.254", "198.51.100.10", 0x1234, 7, b"abc")
    assert len(pkt) == 31 and inet_csum(pkt[:20]) == 0 and inet_csum(pkt[20:]) == 0, pkt.hex()
    assert pkt[8] == 64 and pkt[9] == 1 and pkt[20] == 8
    reply = bytearray(pkt[:12] + pkt[16:20] + pkt[12:16] + b"\0" + pkt[21:])
    reply[22:24] = b"\0\0"
    reply[22:24] = struct.pack(">H", inet_csum(bytes(reply[20:])))
    assert icmp_echo_reply(bytes(reply), "198.51.100.10", "192.0.2.254") == (0x1234, 7, b"abc", 64)
    assert icmp_echo_reply(bytes(reply), "198.51.100.11", "192.0.2.254") is None
    reply[30] ^= 1
    assert icmp_echo_reply(bytes(reply), "198.51.100.10", "192.0.2.254") is None
    assert icmp_echo_reply(pkt, "192.0.2.254", "198.51.100.10") is None  # a request
    passed("connect-ip path, ICMP echo packets (checksums), replies checked")

    # whole runs against the fake proxy
    echo_port, dns_port = fake_udp_servers()

    def run(mode, *extra, target=None):
        fake = FakeProxy(mode)
        fake.start()
        out, err = io.StringIO(), io.StringIO()
        argv = ["--proxy", "127.0.0.1:%d" % fake.port, "--h2c", "--token", "selftest-token",
                "--target", target or "127.0.0.1:%d" % echo_port] + list(extra)
        start = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
        fake.done.wait(5)
        if fake.error:
            raise AssertionError("fake proxy (%s): %r" % (mode, fake.error))
        return rc, out.getvalue(), err.getvalue(), fake, time.monotonic() - start

    rc, out, err, fake, _ = run("ok", "--echo", "1200", "--count", "300")
    assert rc == 0 and out == "echoed 300/300 size 1200 sha256 ok\n", (rc, out, err)
    req = fake.request
    assert (req[":method"], req[":protocol"], req[":scheme"], req["capsule-protocol"]) == (
        "CONNECT", "connect-udp", "https", "?1"), req
    assert req[":path"] == "/.well-known/masque/udp/127.0.0.1/%d/" % echo_port, req
    assert req[":authority"] == "127.0.0.1:%d" % fake.port, req
    assert req["proxy-authorization"] == "Bearer selftest-token", req
    assert fake.ping_acks > 0 and "GOAWAY" in err, (fake.ping_acks, err)
    passed("echo 300 x 1200 B through the fake proxy (window 3000, PING, GOAWAY, padding)")

    rc, out, err, _, _ = run("ok", "--echo", "65507", "--count", "20")
    assert rc == 0 and out == "echoed 20/20 size 65507 sha256 ok\n", (rc, out, err)
    passed("echo 20 x 65507 B (largest UDP/IPv4 payload)")

    rc, out, err, _, _ = run("corrupt", "--echo", "100", "--count", "10")
    assert rc == 1 and out == "echoed 10/10 size 100 sha256 MISMATCH\n" and "corrupted 1" in err, (rc, out, err)
    passed("a corrupted echo is a MISMATCH, exit 1")

    dns = "127.0.0.1:%d" % dns_port
    rc, out, err, _, _ = run("ok", "--dns", "www.example.test", "--count", "100", target=dns)
    assert rc == 0, (rc, out, err)
    assert out == ("www.example.test A 198.51.100.10\nwww.example.test A 198.51.100.11\n"
                   "answered 100/100\n"), out
    rc, out, err, _, _ = run("ok", "--dns", "www.example.test", "--qtype", "TXT", target=dns)
    assert rc == 0 and out == 'www.example.test TXT "hello" "subtunnel=1"\nanswered 1/1\n', (rc, out)
    rc, out, err, _, _ = run("ok", "--dns", "nx.example.test", "--count", "2", target=dns)
    assert rc == 1 and out == "answered 2/2\n" and "NXDOMAIN" in err, (rc, out, err)
    passed("DNS A x100, TXT, NXDOMAIN (exit 1)")

    rc, out, err, _, took = run("ok", "--dns", "lost.example.test", "--count", "3",
                                "--timeout", "0.3", target=dns)
    assert rc == 1 and out == "answered 0/3\n" and took < 3, (rc, out, err, took)
    passed("unanswered queries time out (%.1fs), exit 1" % took)

    rc, out, err, _, _ = run("403", "--echo", "100")
    assert rc == 2 and out == "" and "answered 403" in err, (rc, out, err)
    assert "proxy-status: subtunnel; error=destination_ip_prohibited" in err, err
    passed("403 with proxy-status: exit 2, both printed")

    rc, out, err, _, _ = run("nosetting", "--echo", "100")
    assert rc == 1 and "SETTINGS_ENABLE_CONNECT_PROTOCOL" in err, (rc, out, err)
    passed("no SETTINGS_ENABLE_CONNECT_PROTOCOL: clear error, exit 1")

    rc, out, err, _, _ = run("rst", "--echo", "100", "--count", "5")
    assert rc == 1 and "stream reset" in err, (rc, out, err)
    passed("RST_STREAM: exit 1")
    print("selftest: all passed")
    return 0
