#!/usr/bin/env python3
"""UDP echo server and checking client (stdlib only) for the UDP tests.

Server:
  udpecho.py --listen IP:PORT [--count-file FILE]

  Echoes every datagram (up to 65507 bytes) back to its sender, from any number
  of peers; prints "ready" on stdout once bound. With --count-file it writes
  "datagrams N peers M" (datagrams echoed, distinct (address, port) peers) to
  FILE every 0.5 s and on SIGTERM/SIGINT (write to FILE.tmp, then rename).
  Runs until killed; exits 0 on SIGTERM/SIGINT.

Client:
  udpecho.py --client IP:PORT --size SIZE --count N [--timeout S] [--flows F]

  Sends N datagrams of SIZE bytes (4-byte sequence number + random bytes) round
  robin from F sockets (F source ports, default 1), at most --window (default
  64, fewer when big datagrams would overflow a socket buffer) outstanding,
  and checks that every echo comes
  back unchanged to the socket that sent it within --timeout seconds (default
  2). RLIMIT_NOFILE is raised to its hard limit; when F sockets still do not
  fit, the flows are run in batches (open, exchange, close). Prints
  "ok N/N size SIZE flows F" and exits 0, else prints "FAIL ..." with what was
  lost, corrupted or came back to the wrong socket and exits 1. The run is
  bounded: at most about timeout * (N / window + batches + 2) seconds.

Addresses: 198.51.100.7:7000, [2001:db8::7]:7000 (IPv6 in brackets).
"""
import argparse
import collections
import os
import resource
import selectors
import signal
import socket
import sys
import time

MAX_UDP = 65507
STATUS_EVERY = 0.5


def sockaddr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("expected IP:PORT, got %r" % text)
    info = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_DGRAM)
    return info[0][0], info[0][4]


# ---------------------------------------------------------------- server

class Stop(Exception):
    pass


def write_counts(path, datagrams, peers):
    tmp = "%s.tmp" % path
    with open(tmp, "w") as f:
        f.write("datagrams %d peers %d\n" % (datagrams, peers))
    os.replace(tmp, path)


def set_buffers(sock, size):
    """Asks for size-byte socket buffers; returns the receive buffer the kernel grants."""
    for names in ("SO_RCVBUFFORCE", "SO_RCVBUF"), ("SO_SNDBUFFORCE", "SO_SNDBUF"):
        for name in names:  # FORCE needs CAP_NET_ADMIN, the plain one is capped by *mem_max
            try:
                sock.setsockopt(socket.SOL_SOCKET, getattr(socket, name), size)
                break
            except (OSError, AttributeError):
                pass
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def truesize(size):
    """Generous estimate of the receive-buffer memory one datagram of size bytes takes."""
    return 2 * (size + 512)


def serve(args):
    family, addr = sockaddr(args.listen)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    set_buffers(sock, 8 << 20)
    sock.bind(addr)
    sock.settimeout(STATUS_EVERY)

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    buf = bytearray(65536)
    view = memoryview(buf)
    echoed, peers = 0, set()
    next_write = time.monotonic()
    try:
        while True:
            if args.count_file and time.monotonic() >= next_write:
                write_counts(args.count_file, echoed, len(peers))
                next_write = time.monotonic() + STATUS_EVERY
            try:
                n, peer = sock.recvfrom_into(buf)
            except socket.timeout:
                continue
            except OSError:  # e.g. an ICMP error queued by an earlier reply
                continue
            try:
                sock.sendto(view[:n], peer)
            except OSError:
                continue
            echoed += 1
            peers.add(peer[:2])
    except Stop:
        pass
    finally:
        if args.count_file:
            write_counts(args.count_file, echoed, len(peers))
    return 0


# ---------------------------------------------------------------- client

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 16
    return max(1, soft - in_use - 32)


def seqs_of(flows, count, first, last):
    """Sequence numbers of flows first..last-1, round robin (seq % flows is the flow)."""
    for base in range(0, count, flows):
        for flow in range(first, last):
            if base + flow >= count:
                break
            yield base + flow


def client(args):
    family, addr = sockaddr(args.client)
    size, count, flows = args.size, args.count, args.flows
    used = min(flows, count)  # flows that carry a datagram
    batch = min(used, raise_nofile())
    batches = -(-used // batch)
    # what fits in one socket's receive buffer bounds the datagrams outstanding per flow
    want_buf = min(8 << 20, 64 * truesize(size))
    probe = socket.socket(family, socket.SOCK_DGRAM)
    per_flow = max(1, set_buffers(probe, want_buf) // truesize(size))
    probe.close()
    window = args.window or min(64, per_flow * used)
    hard_stop = time.monotonic() + args.timeout * (-(-count // window) + batches + 2)
    done = 0
    lost, corrupted, wrong, unsent = [], [], [], 0
    late = dup = stray = refused = 0
    sel = selectors.DefaultSelector()
    for first in range(0, used, batch):
        last = min(used, first + batch)
        socks = {}
        for flow in range(first, last):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setblocking(False)
            set_buffers(s, want_buf)
            s.connect(addr)
            socks[flow] = s
            sel.register(s, selectors.EVENT_READ, flow)
        queue = collections.deque(seqs_of(flows, count, first, last))
        pending = {}  # seq -> (payload, flow)
        expiry = collections.deque()  # (deadline, seq) in send order
        finished = set()
        while queue or pending:
            now = time.monotonic()
            if now >= hard_stop:
                break
            while queue and len(pending) < window:
                seq = queue[0]
                flow = seq % flows
                payload = seq.to_bytes(4, "big") + os.urandom(size - 4)
                try:
                    socks[flow].send(payload)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:  # ICMP from an earlier datagram; try again
                    refused += 1
                    continue
                queue.popleft()
                pending[seq] = (payload, flow)
                expiry.append((time.monotonic() + args.timeout, seq))
            wait = (expiry[0][0] - now) if expiry else 0.01
            for key, _ in sel.select(max(0.0, min(wait, hard_stop - now))):
                sock, flow = key.fileobj, key.data
                while True:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        break
                    except ConnectionRefusedError:
                        refused += 1
                        continue
                    seq = int.from_bytes(data[:4], "big") if len(data) >= 4 else -1
                    if seq in pending:
                        payload, want_flow = pending.pop(seq)
                        finished.add(seq)
                        if want_flow != flow:
                            wrong.append(seq)
                        elif data != payload:
                            corrupted.append(seq)
                        else:
                            done += 1
                    elif seq in finished:
                        dup += 1
                    elif 0 <= seq < count:
                        late += 1
                    else:
                        stray += 1
            now = time.monotonic()
            while expiry and expiry[0][0] <= now:
                seq = expiry.popleft()[1]
                if seq in pending:
                    del pending[seq]
                    lost.append(seq)
        unsent += len(queue)
        lost += sorted(pending)
        for s in socks.values():
            sel.unregister(s)
            s.close()
        if time.monotonic() >= hard_stop:
            unsent += sum(1 for _ in seqs_of(flows, count, last, used))
            break
    sel.close()
    if done == count:
        print("ok %d/%d size %d flows %d" % (done, count, size, flows))
        return 0

    def some(seqs):
        seqs = sorted(seqs)
        return "%d%s" % (len(seqs), " (seq %s%s)" % (" ".join(map(str, seqs[:10])),
                                                    " ..." if len(seqs) > 10 else "") if seqs else "")

    print("FAIL ok %d/%d size %d flows %d: lost %s, corrupted %s, wrong socket %s, unsent %d"
          "%s" % (done, count, size, flows, some(lost), some(corrupted), some(wrong), unsent,
                  "".join(", %s %d" % (n, v) for n, v in (("late", late), ("duplicate", dup),
                          ("stray", stray), ("refused", refused)) if v)))
    return 1


def main():
    ap = argparse.ArgumentParser(description="UDP echo server (--listen) and checking client (--client)")
    role = ap.add_mutually_exclusive_group(required=True)
    role.add_argument("--listen", metavar="IP:PORT")
    role.add_argument("--client", metavar="IP:PORT")
    ap.add_argument("--count-file")
    ap.add_argument("--size", type=int)
    ap.add_argument("--count", type=int)
    ap.add_argument("--timeout", type=float, default=2)
    ap.add_argument("--flows", type=int, default=1)
    ap.add_argument("--window", type=int, default=0, help="datagrams outstanding (default 64, "
                    "fewer for big datagrams)")
    args = ap.parse_args()
    try:
        if args.listen:
            return serve(args)
        if args.size is None or args.count is None:
            ap.error("--client needs --size and --count")
        if not 4 <= args.size <= MAX_UDP:
            ap.error("--size must be 4..%d" % MAX_UDP)
        if not 1 <= args.count < 1 << 32 or args.flows < 1 or args.timeout <= 0 or args.window < 0:
            ap.error("--count, --flows must be >= 1, --timeout > 0")
        return client(args)
    except (OSError, ValueError) as e:
        sys.stderr.write("udpecho: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
