"""The load generator: waves of concurrent greedy streams, with the arrival time of every token.

A wave opens one connection per stream first (WebSocket /ws/generate on the sidecar: at most 16 requests in flight
per connection, so one each; plain HTTP to llama-server), then sends every request at once and reads until each
stream's final event. Every stream asks for exactly `tokens` tokens: min_tokens = max_new_tokens on the sidecar
(end-of-sequence is suppressed), ignore_eos on llama-server; temperature 0.

Per token only the arrival time is kept and a message is only parsed as JSON when it is not a token (the final
event), so the client stays cheap; the wave records the CPU time the load generator itself used.

Definitions (see report.py): TTFT = first token's arrival - the request's send time; inter-token latency = the
gaps between consecutive tokens of a stream; aggregate tok/s = all tokens of the wave / (last final event - first
send).
"""
import asyncio
import json
import re
import time
from dataclasses import dataclass, field

try:   # websockets >= 13
    from websockets.asyncio.client import connect as ws_connect
except ImportError:   # Debian's python3-websockets (10.x)
    from websockets import connect as ws_connect

CONNECT_PARALLELISM = 32
TOKENS_PREDICTED = re.compile(rb'"tokens_predicted":(\d+)')


@dataclass
class Stream:
    sent: float = 0.0
    arrivals: list = field(default_factory=list)
    finish: str = ""
    error: str = ""


@dataclass
class Wave:
    streams: list
    requested_tokens: int
    start: float
    end: float
    client_cpu_s: float
    other_load: float = None   # cores' worth of CPU used during the wave by processes not of the benchmark

    @property
    def wall(self):
        return self.end - self.start

    @property
    def tokens(self):
        return sum(len(s.arrivals) for s in self.streams)

    @property
    def errors(self):
        problems = [s.error for s in self.streams if s.error]
        short = sum(1 for s in self.streams if not s.error and len(s.arrivals) < self.requested_tokens)
        if short:
            problems.append(f"{short} stream(s) ended before {self.requested_tokens} tokens")
        return problems


async def _gather_limited(factories, limit):
    semaphore = asyncio.Semaphore(limit)

    async def run(factory):
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(run(f) for f in factories))


# ---- shard-sidecar over /ws/generate ---------------------------------------------------------------------------------
async def _ws_open(uri):
    return await ws_connect(uri, compression=None, max_size=None, ping_interval=None, open_timeout=60,
                            close_timeout=2)


async def _ws_stream(ws, request, stream):
    stream.sent = time.perf_counter()
    await ws.send(request)
    arrivals = stream.arrivals
    clock = time.perf_counter
    while True:
        message = await ws.recv()
        if '"event"' not in message:        # a token event: only its time matters
            arrivals.append(clock())
            continue
        event = json.loads(message)
        if event.get("event") == "done":
            stream.finish = event.get("finish_reason", "")
        else:
            stream.error = str(event.get("error", event))
        return


async def sidecar_wave(host, port, n_streams, tokens, prompts, tag="w"):
    uri = f"ws://{host}:{port}/ws/generate"
    sockets = await _gather_limited([lambda: _ws_open(uri)] * n_streams, CONNECT_PARALLELISM)
    streams = [Stream() for _ in range(n_streams)]
    requests = [json.dumps({"request_id": f"{tag}-{i}", "prompt": prompts[i % len(prompts)],
                            "max_new_tokens": tokens, "min_tokens": tokens, "temperature": 0})
                for i in range(n_streams)]
    cpu0 = time.process_time()
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(_ws_stream(ws, r, s) for ws, r, s in zip(sockets, requests, streams)),
                                    return_exceptions=True)
    end = time.perf_counter()
    cpu = time.process_time() - cpu0
    for stream, outcome in zip(streams, outcomes):
        if isinstance(outcome, BaseException) and not stream.error:
            stream.error = f"{type(outcome).__name__}: {outcome}"
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return Wave(streams, tokens, start, end, cpu)


# ---- llama.cpp's llama-server over streaming POST /completion --------------------------------------------------------
async def _http_open(host, port):
    return await asyncio.open_connection(host, port)


async def _read_chunked_or_plain(reader, headers):
    """Yields the body in pieces as they arrive (chunked transfer encoding or until EOF)."""
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]
    else:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            yield data


async def _llama_stream(connection, host, request, stream):
    reader, writer = connection
    body = request.encode()
    head = (f"POST /completion HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    stream.sent = time.perf_counter()
    writer.write(head + body)
    status = await reader.readline()
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if b" 200" not in status:
        stream.error = status.decode("latin-1").strip()
        writer.close()
        return
    buffer = b""
    clock = time.perf_counter
    async for piece in _read_chunked_or_plain(reader, headers):
        now = clock()
        buffer += piece
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if not event.startswith(b"data: "):
                continue
            if b'"stop":true' not in event:
                # llama-server holds back a token that ends inside a UTF-8 character and sends it with the next
                # one, so an event can carry two tokens: its running count says how many arrived.
                match = TOKENS_PREDICTED.search(event)
                count = int(match.group(1)) if match else len(stream.arrivals) + 1
                stream.arrivals.extend([now] * (count - len(stream.arrivals)))
                continue
            final = json.loads(event[6:])
            stream.finish = final.get("stop_type", "stop")
            # a token held back at the end (an unfinished UTF-8 character) is only counted by the final event
            count = final.get("tokens_predicted", len(stream.arrivals))
            stream.arrivals.extend([now] * (count - len(stream.arrivals)))
            writer.close()
            return
    stream.error = stream.error or "connection closed before the final event"
    writer.close()


async def llama_wave(host, port, n_streams, tokens, prompts):
    connections = await _gather_limited([lambda: _http_open(host, port)] * n_streams, CONNECT_PARALLELISM)
    streams = [Stream() for _ in range(n_streams)]
    requests = [json.dumps({"prompt": prompts[i % len(prompts)], "n_predict": tokens, "temperature": 0,
                            "ignore_eos": True, "stream": True, "cache_prompt": False})
                for i in range(n_streams)]
    cpu0 = time.process_time()
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(_llama_stream(c, host, r, s)
                                      for c, r, s in zip(connections, requests, streams)), return_exceptions=True)
    end = time.perf_counter()
    cpu = time.process_time() - cpu0
    for stream, outcome in zip(streams, outcomes):
        if isinstance(outcome, BaseException) and not stream.error:
            stream.error = f"{type(outcome).__name__}: {outcome}"
    return Wave(streams, tokens, start, end, cpu)
