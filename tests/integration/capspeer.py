#!/usr/bin/env python3
"""Peers for the edge's connection and flow caps (stdlib only). Every mode is bounded by
--timeout; files are how the test and a mode running in the background talk.

  capspeer.py hold HOST:PORT --count N --ready FILE --release FILE [--bind IP]
                   [--expect-closed K]
      N TCP connections, one after another, that send nothing. Once K of them (default 0)
      were closed by the server (FIN or reset) and 1 s more passed without another, writes
      "open=O closed=C closed-at=i,j,..." (indices from 0, in connect order) to READY; keeps
      the open ones until RELEASE exists, then closes them all.
  capspeer.py slow HOST:PORT:KIND... --count N --ready FILE --result FILE
      N connections to each target; the even ones send nothing, the odd ones one byte a
      second of a request that never ends: KIND http (a GET head), connect (a CONNECT head)
      or tls (a TLS ClientHello). Writes "connected=M" to READY once all are up, then waits
      until the server closed every one and writes "closed=C of M" plus one
      "PORT closed=C of M" line per target to RESULT.
  capspeer.py connects HOST:PORT --target IP:PORT --token T --count N --ready FILE
                       --release FILE
      N HTTP/1.1 CONNECTs through the access proxy, one after another, each waiting for its
      answer; writes one line per CONNECT to READY ("200", or "503 <proxy-status>"); keeps
      the tunnels that got 200 until RELEASE exists.
  capspeer.py tunnel HOST:PORT --target IP:PORT --token T --ready FILE --go FILE
                     --result FILE [--path P]
      One CONNECT through the proxy; "200" to READY once established; when GO exists, an
      HTTP/1.0 GET for P inside the tunnel; writes "STATUS-LINE bytes=N" to RESULT.
Exit 0 when the mode ran to its end, 1 otherwise (message on stderr)."""
import argparse
import base64
import os
import resource
import selectors
import socket
import ssl
import sys
import time


def wait_file(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("%s did not appear in time" % path)
        time.sleep(0.05)


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def addr_of(target):
    host, port = target.rsplit(":", 1)
    return host, int(port)


def dial(addr, bind=None, timeout=10):
    """A connected non-blocking socket, or None when the server reset it at once (the
    reset can arrive before connect() returns: Python's connect with a timeout reads it as
    the connect's error)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if bind:
        s.bind((bind, 0))
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except ConnectionResetError:
        s.close()
        return None
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True once the server closed s (FIN or reset); bytes it sent are read and dropped."""
    for _ in range(64):
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        if not data:
            return True
    return False


def mode_hold(args):
    deadline = time.monotonic() + args.timeout
    raise_nofile()
    addr = addr_of(args.target)
    socks = [dial(addr, args.bind) for _ in range(args.count)]
    closed, last_change = {i for i, s in enumerate(socks) if s is None}, time.monotonic()
    while time.monotonic() < deadline:
        for i, s in enumerate(socks):
            if i not in closed and closed_by_peer(s):
                closed.add(i)
                last_change = time.monotonic()
        if len(closed) >= args.expect_closed and time.monotonic() - last_change >= 1.0:
            break
        time.sleep(0.05)
    else:
        raise TimeoutError("%d of %d closed, expected %d" % (len(closed), len(socks),
                                                             args.expect_closed))
    write(args.ready, "open=%d closed=%d closed-at=%s" % (
        len(socks) - len(closed), len(closed), ",".join(str(i) for i in sorted(closed))))
    wait_file(args.release, deadline)
    for s in socks:
        if s is not None:
            s.close()
    return 0


def client_hello():
    """The first bytes a TLS client sends (a ClientHello record), from OpenSSL itself."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="edge.lab.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


PREAMBLES = {
    "http": b"GET / HTTP/1.1\r\nHost: app.lab.test\r\nUser-Agent: slow\r\nX-Pad: "
            + b"a" * 200,
    "connect": b"CONNECT 198.51.100.10:8000 HTTP/1.1\r\nHost: 198.51.100.10:8000\r\nX-Pad: "
               + b"a" * 200,
}


def mode_slow(args):
    deadline = time.monotonic() + args.timeout
    raise_nofile()
    conns = []  # [sock, target, preamble or None, offset]
    for t in args.targets:
        host, port, kind = t.rsplit(":", 2)
        preamble = client_hello() if kind == "tls" else PREAMBLES[kind]
        for i in range(args.count):
            conns.append([dial((host, int(port))), t, preamble if i % 2 else None, 0])
    write(args.ready, "connected=%d" % sum(1 for c in conns if c[0] is not None))
    sel = selectors.DefaultSelector()
    for c in conns:
        if c[0] is not None:
            sel.register(c[0], selectors.EVENT_READ, c)
    open_count, next_tick = sum(1 for c in conns if c[0] is not None), time.monotonic()
    while open_count and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            if closed_by_peer(c[0]):
                sel.unregister(c[0])
                c[0].close()
                c[0] = None
                open_count -= 1
        if time.monotonic() >= next_tick:  # one byte a second on every trickling one
            next_tick += 1.0
            for c in conns:
                if c[0] is None or c[2] is None or c[3] >= len(c[2]):
                    continue
                try:
                    c[0].send(c[2][c[3]:c[3] + 1])
                    c[3] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pass  # reset: the read side notices
    lines = ["closed=%d of %d" % (len(conns) - open_count, len(conns))]
    for t in args.targets:
        mine = [c for c in conns if c[1] == t]
        lines.append("%s closed=%d of %d" % (t.rsplit(":", 1)[0],
                                             sum(1 for c in mine if c[0] is None), len(mine)))
    write(args.result, "\n".join(lines))
    return 0


def connect_head(args):
    cred = base64.b64encode(("lab:%s" % args.token).encode()).decode()
    return ("CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n"
            % (args.target_addr, args.target_addr, cred)).encode()


def read_head(s, deadline):
    s.setblocking(True)
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        data = s.recv(4096)
        if not data:
            break
        buf += data
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = head[0].split(" ")[1] if len(head[0].split(" ")) > 1 else "none"
    ps = [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("proxy-status:")]
    return status, (ps[0] if ps else "")


def mode_connects(args):
    deadline = time.monotonic() + args.timeout
    addr, kept, lines = addr_of(args.target), [], []
    for _ in range(args.count):
        s = dial(addr)
        if s is None:
            lines.append("reset")
            continue
        s.setblocking(True)
        s.sendall(connect_head(args))
        status, ps = read_head(s, deadline)
        lines.append(status if status == "200" else "%s %s" % (status, ps))
        if status == "200":
            kept.append(s)
        else:
            s.close()
    write(args.ready, "\n".join(lines))
    wait_file(args.release, deadline)
    for s in kept:
        s.close()
    return 0


def mode_tunnel(args):
    deadline = time.monotonic() + args.timeout
    s = dial(addr_of(args.target))
    if s is None:
        raise OSError("connection reset")
    s.setblocking(True)
    s.sendall(connect_head(args))
    status, ps = read_head(s, deadline)
    if status != "200":
        raise OSError("CONNECT answered %s %s" % (status, ps))
    write(args.ready, status)
    wait_file(args.go, deadline)
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (args.path, args.target_addr)).encode())
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    write(args.result, "%s bytes=%d" % (head.split(b"\r\n")[0].decode("latin-1"), len(body)))
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["hold", "slow", "connects", "tunnel"])
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--bind")
    ap.add_argument("--expect-closed", type=int, default=0)
    ap.add_argument("--ready")
    ap.add_argument("--release")
    ap.add_argument("--result")
    ap.add_argument("--go")
    ap.add_argument("--target", dest="target_addr")
    ap.add_argument("--token")
    ap.add_argument("--path", default="/file")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    args.target = args.targets[0]
    try:
        return globals()["mode_" + args.mode](args)
    except (OSError, TimeoutError, ValueError, IndexError) as e:
        print("capspeer %s: %s" % (args.mode, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
