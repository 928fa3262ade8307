#!/usr/bin/env python3
"""Misbehaving peers for the edge's access listener (stdlib only).
  badpeer.py h2-garbage HOST:PORT   h2c preface, then DATA on stream 0 (a connection
                                    error); prints "GOAWAY <code>" when the edge answers
  badpeer.py h1-bighead HOST:PORT   a CONNECT whose head exceeds 8 KiB; prints the status line
Exit 0 when an answer arrived, 1 otherwise (bounded by a 10 s timeout)."""
import socket
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def h2_garbage(sock):
    sock.sendall(PREFACE + frame(4, 0, 0) + frame(0, 0, 0, b"bogus"))
    for _ in range(100):
        head = read_exact(sock, 9)
        length = int.from_bytes(head[:3], "big")
        payload = read_exact(sock, length)
        if head[3] == 7:  # GOAWAY: last-stream-id, error code
            print("GOAWAY %d" % struct.unpack(">I", payload[4:8])[0])
            return 0
    return 1


def h1_bighead(sock):
    sock.sendall(b"CONNECT 198.51.100.10:8000 HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += read_exact(sock, 1)
    print(line.decode().strip())
    return 0


def main():
    mode, target = sys.argv[1], sys.argv[2]
    host, port = target.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    try:
        return {"h2-garbage": h2_garbage, "h1-bighead": h1_bighead}[mode](sock)
    except (OSError, EOFError) as e:
        print("badpeer: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
