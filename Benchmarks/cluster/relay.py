#!/usr/bin/env python3
"""A TCP relay that adds a fixed one-way delay, in both directions: link latency without netem.

    relay.py --listen HOST:PORT --connect HOST:PORT --delay-ms N

Every connection accepted on --listen gets its own connection to --connect; each chunk of bytes read from one side
is written to the other `N` ms after it was read, in order (a chunk's delay does not add to the next one's: the
relay models a link's propagation delay, not a slower link). Prints `listening on HOST:PORT` once it accepts
(port 0 picks a free one). TCP_NODELAY on both sides, so the relay adds no Nagle wait of its own.
"""
import argparse
import asyncio
import collections
import socket
import sys


def _nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def pump(reader, writer, delay, chunk=1 << 18):
    """Copies reader -> writer, each chunk `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = collections.deque()
    ready = asyncio.Event()
    finished = False

    async def read_side():
        nonlocal finished
        try:
            while True:
                data = await reader.read(chunk)
                if not data:
                    break
                queue.append((loop.time() + delay, data))
                ready.set()
        except (ConnectionError, OSError):
            pass
        finally:
            finished = True
            ready.set()

    reading = asyncio.ensure_future(read_side())
    try:
        while True:
            while not queue:
                if finished:
                    return
                ready.clear()
                await ready.wait()
            due, data = queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            if writer.transport.get_write_buffer_size() > 1 << 22:
                await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        reading.cancel()
        try:
            writer.write_eof()
        except (OSError, RuntimeError, AttributeError):
            pass


async def handle(client_reader, client_writer, target, delay):
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    _nodelay(client_writer)
    _nodelay(upstream_writer)
    await asyncio.gather(pump(client_reader, upstream_writer, delay), pump(upstream_reader, client_writer, delay))
    for writer in (client_writer, upstream_writer):
        writer.close()


def parse_address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def serve(listen, target, delay_ms, announce=True):
    delay = delay_ms / 1000.0
    server = await asyncio.start_server(lambda r, w: handle(r, w, target, delay), *listen)
    host, port = server.sockets[0].getsockname()[:2]
    if announce:
        print(f"listening on {host}:{port}", flush=True)
    return server


async def main_async(args):
    server = await serve(parse_address(args.listen), parse_address(args.connect), args.delay_ms)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--connect", required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
