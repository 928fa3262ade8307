#!/usr/bin/env python3
"""Sends one HTTP/1.1 request head in pieces, cut at each given offset, pausing between
pieces so that the server reads them separately; prints the response's status code.

    splithead.py HOST PORT VHOST CUT [CUT...]"""
import socket
import sys
import time


def main():
    host, port, vhost = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cuts = [int(c) for c in sys.argv[4:]]
    head = ("GET /whoami HTTP/1.1\r\nHost: %s\r\nX-Long-Header-Name: value\r\n"
            "Connection: close\r\n\r\n" % vhost).encode()
    s = socket.create_connection((host, port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    last = 0
    for c in cuts + [len(head)]:
        s.sendall(head[last:c])
        last = c
        time.sleep(0.2)
    resp = b""
    while b"\r\n" not in resp and len(resp) < 4096:
        b = s.recv(4096)
        if not b:
            break
        resp += b
    print(resp.split(b" ")[1].decode() if resp.startswith(b"HTTP/1.1 ") else "none")


if __name__ == "__main__":
    main()
