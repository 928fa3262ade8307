#!/usr/bin/env python3
"""Sends one HTTP/1.1 request head for /headers in pieces, cut at each given offset, pausing
between pieces so that the server reads them separately. Prints the response's status code
and the Host and X-Long-Header-Name fields as the origin received them (httpd.py /headers
echoes its request head), or "none" when no response came.

    splithead.py HOST PORT VHOST CUT [CUT...]"""
import socket
import sys
import time

FIELDS = (b"host", b"x-long-header-name")


def main():
    host, port, vhost = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cuts = [int(c) for c in sys.argv[4:]]
    head = ("GET /headers HTTP/1.1\r\nHost: %s\r\nX-Long-Header-Name: value\r\n"
            "Connection: close\r\n\r\n" % vhost).encode()
    s = socket.create_connection((host, port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    last = 0
    for c in cuts + [len(head)]:
        s.sendall(head[last:c])
        last = c
        time.sleep(0.2)
    resp = b""
    while len(resp) < 65536:  # Connection: close: the response ends with the connection
        b = s.recv(4096)
        if not b:
            break
        resp += b
    if not resp.startswith(b"HTTP/1.1 "):
        print("none")
        return
    status = resp.split(b" ")[1].decode()
    body = resp.partition(b"\r\n\r\n")[2]
    seen = []
    for line in body.split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() in FIELDS:
            seen.append("%s: %s" % (name.strip().lower().decode(), value.strip().decode()))
    print(" ".join([status] + sorted(seen)))


if __name__ == "__main__":
    main()
