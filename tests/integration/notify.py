#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)), stdlib only.

  notify.py SOCKET OUT

Binds a unix datagram socket at the path SOCKET (replacing a stale one) and appends one
line per datagram received to OUT, flushed at once:

  <unix time> <sender pid> <sender uid> <message, its newlines written as '|'>

The sender's pid and uid come from SCM_CREDENTIALS, as systemd reads them. Prints "ready"
on stdout once bound; runs until killed (SIGTERM exits 0).
"""
import os
import signal
import socket
import struct
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, out = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    print("ready", flush=True)
    space = socket.CMSG_SPACE(struct.calcsize("iII"))
    with open(out, "a", encoding="utf-8") as f:
        while True:
            msg, anc, _, _ = s.recvmsg(4096, space)
            pid = uid = -1
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, uid, _ = struct.unpack("iII", data[: struct.calcsize("iII")])
            text = msg.decode("utf-8", "replace").replace("\n", "|")
            f.write(f"{time.time():.3f} {pid} {uid} {text}\n")
            f.flush()


if __name__ == "__main__":
    main()
