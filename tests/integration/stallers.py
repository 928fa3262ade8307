#!/usr/bin/env python3
"""Visitors that stop reading: N HTTP/1.1 connections each ask for a large response,
read its first bytes (so the response is under way), then read nothing more.

    stallers.py HOST PORT VHOST PATH N READY_FILE DONE_FILE RESULT_FILE

Writes READY_FILE once every connection got the start of its response, then waits (at
most 300 s) for DONE_FILE to appear, then reads each connection to its end (10 s at most
each, in total at most 120 s) and writes RESULT_FILE: "<cut> <complete>", the connections
the server closed before the whole body, and those that got it all."""
import os
import socket
import sys
import time


def main():
    host, port, vhost, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5])
    ready, done, result = sys.argv[6], sys.argv[7], sys.argv[8]
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect((host, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, vhost)).encode())
        socks.append(s)
    heads = []
    for s in socks:
        head = s.recv(1024)
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit("unexpected response start: %r" % head[:80])
        heads.append(head)
    with open(ready, "w") as f:
        f.write("%d\n" % n)
    deadline = time.monotonic() + 300
    while not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(0.2)
    cut = complete = 0
    end = time.monotonic() + 120
    for s, head in zip(socks, heads):
        want = None
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                want = int(line.split(b":")[1])
        got = len(head) - (head.index(b"\r\n\r\n") + 4)
        s.settimeout(max(0.1, min(10, end - time.monotonic())))
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += len(b)
                if want is not None and got >= want:
                    break
        except OSError:
            pass
        if want is not None and got >= want:
            complete += 1
        else:
            cut += 1
        s.close()
    with open(result, "w") as f:
        f.write("%d %d\n" % (cut, complete))


if __name__ == "__main__":
    main()
