#!/usr/bin/env python3
"""Idle TCP flows for scripts/bench.sh (stdlib only).

  idleflows.py serve IP:PORT
      accepts any number of connections and keeps them open (reads until EOF);
      prints "ready" once listening.
  idleflows.py hold IP:PORT --count N [--parallel P] [--timeout S]
      opens N connections (at most P connecting at once), prints
      "held K/N rate R/s p50 A ms p99 B ms" (connections established, setups per
      second, connect latency), then keeps them open until stdin closes or
      SIGTERM, and exits 0 if all N were established.
Bounded: every connect has a timeout (default 10 s); the whole setup phase stops
after N * timeout / P + 10 s.
"""
import argparse
import asyncio
import resource
import signal
import sys
import time


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def serve(addr):
    async def on_conn(reader, writer):
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        writer.close()

    host, port = hostport(addr)
    server = await asyncio.start_server(on_conn, host, port, backlog=4096)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


async def hold(args):
    host, port = hostport(args.target)
    sem = asyncio.Semaphore(args.parallel)
    held, lat = [], []

    async def one():
        async with sem:
            t0 = time.monotonic()
            try:
                _, w = await asyncio.wait_for(asyncio.open_connection(host, port), args.timeout)
            except (OSError, asyncio.TimeoutError):
                return
            lat.append(time.monotonic() - t0)
            held.append(w)

    t0 = time.monotonic()
    limit = args.count * args.timeout / args.parallel + 10
    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(args.count))), limit)
    except asyncio.TimeoutError:
        pass
    took = time.monotonic() - t0
    lat.sort()
    p = (lambda q: lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 if lat else 0.0)
    print("held %d/%d rate %.0f/s p50 %.1f ms p99 %.1f ms"
          % (len(held), args.count, len(held) / took if took else 0, p(0.5), p(0.99)), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    await stop.wait()
    for w in held:
        w.close()
    return 0 if len(held) == args.count else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["serve", "hold"])
    ap.add_argument("target")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    raise_nofile(args.count + 1024 if args.mode == "hold" else 1 << 20)
    if args.mode == "serve":
        asyncio.run(serve(args.target))
        return 0
    if not 1 <= args.count <= 1000000 or args.parallel < 1 or args.timeout <= 0:
        ap.error("--count 1..1000000, --parallel >= 1, --timeout > 0")
    return asyncio.run(hold(args))


if __name__ == "__main__":
    sys.exit(main())
