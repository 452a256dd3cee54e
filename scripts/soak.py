#!/usr/bin/env python3
"""`make soak`: a bounded load against a real sidecar and two replica peers, with faults, for a set time.

WebSocket and polling clients (default 500 + 200) stream greedy requests over a few prompts; some cancel half-way,
some drop their connection without a close and resume (`resume` / `after=`), and one peer is killed (SIGKILL) and
restarted during the run. Every finished stream is checked token for token against an undisturbed run of its
prompt; a cancelled one must be a prefix of it. The sidecar's memory (RSS) is sampled every second. Prints the
figures as a Markdown table and exits non-zero if any token was lost or changed, a stream never ended, the sidecar
died, or its memory kept growing. Needs Debian's python3-websockets and `swift build -c release`.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time

import websockets

from reliability_doc import replace_section

BINARY = ".build/release/shard-sidecar"
MODEL = ["--model", "Fixtures/kjv-tiny/model-q8_0.gguf", "--tokenizer", "Fixtures/kjv-tiny/tokenizer.model"]
PROMPTS = ["And God said,", "The LORD is my shepherd;", "In the beginning", "Blessed are the", "And it came to pass"]
MAX_TOKENS = 48


class Process:
    """A shard-sidecar process; `port` is read from its `listening on HOST:PORT` line."""

    def __init__(self, arguments):
        self.arguments = arguments
        self.start()

    def start(self):
        self.process = subprocess.Popen([BINARY] + self.arguments, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if "listening on" not in line:
            sys.exit(f"{BINARY} {' '.join(self.arguments)} did not start: {line!r}")
        self.port = int(line.strip().rsplit(":", 1)[1])

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


class Stats:
    def __init__(self):
        self.counts = {"requests": 0, "completed": 0, "cancelled": 0, "resumed": 0, "mismatched": 0,
                       "unfinished": 0, "errors": 0, "tokens": 0}

    def add(self, key, amount=1):
        self.counts[key] += amount


async def http_get(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"null")


async def http_post(port, path, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps(body).encode()
    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    return int(data.split()[1])


def body(request_id, prompt, tokens):
    return {"request_id": request_id, "prompt": prompt, "prompt_context": prompt, "max_new_tokens": tokens,
            "min_tokens": tokens}


def check(stats, reference, ids, reason, tokens):
    """Records one finished stream: complete ones must equal the reference, cancelled ones be a prefix of it."""
    stats.add("tokens", len(ids))
    if reason == "length" and ids == reference[:tokens]:
        stats.add("completed")
    elif reason == "cancelled" and ids == reference[:len(ids)]:
        stats.add("cancelled")
    else:
        stats.add("mismatched")


async def stream(port, opening, ids, on_token=None):
    """Opens a WebSocket, sends `opening` (a request or a resume), appends token ids in index order to `ids` and
    returns the finish reason; `None` when `on_token` (called after each event) dropped the connection."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/generate", max_size=None) as ws:
        await ws.send(json.dumps(opening))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if "token_id" in event and event["index"] == len(ids):
                ids.append(event["token_id"])
            elif "event" in event:
                return event.get("finish_reason", "error")
            if on_token and not await on_token(ws):
                return None


async def websocket_client(port, stats, references, deadline, rng, name):
    number = 0
    while time.monotonic() < deadline:
        number += 1
        prompt, tokens = rng.choice(PROMPTS), rng.randint(8, MAX_TOKENS)
        request_id, ids = f"{name}-{number}", []
        action = [rng.random()]
        stats.add("requests")

        async def fault(ws):
            """Half-way, one client in ten cancels and one in ten loses its connection (no close frame)."""
            if len(ids) == tokens // 2 and action[0] < 0.1:
                await ws.send(json.dumps({"event": "cancel", "request_id": request_id}))
                action[0] = 1
            elif len(ids) == tokens // 2 and action[0] < 0.2:
                ws.transport.abort()
                stats.add("resumed")
                return False
            return True

        try:
            reason = await stream(port, body(request_id, prompt, tokens), ids, fault)
            if reason is None:
                resume = {"event": "resume", "request_id": request_id, "after": len(ids) - 1}
                reason = await stream(port, resume, ids)
            check(stats, references[prompt], ids, reason, tokens)
        except (asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException):
            stats.add("unfinished")


async def polling_client(port, stats, references, deadline, rng, name):
    number = 0
    while time.monotonic() < deadline:
        number += 1
        prompt, tokens = rng.choice(PROMPTS), rng.randint(8, MAX_TOKENS)
        request_id, ids, reason = f"{name}-{number}", [], None
        cancel = rng.random() < 0.1
        stats.add("requests")
        try:
            status = await http_post(port, "/broadcast-work", body(request_id, prompt, tokens))
            if status != 202:
                stats.add("errors")
                continue
            started = time.monotonic()
            while reason is None and time.monotonic() - started < 60:
                _, answer = await http_get(port, f"/pop-result?request_id={request_id}&max=64&wait_ms=2000"
                                                 f"&after={len(ids) - 1}")
                for event in answer.get("results", []):
                    if "token_id" in event and event["index"] == len(ids):
                        ids.append(event["token_id"])
                    elif event.get("done"):
                        reason = event["finish_reason"]
                if cancel and len(ids) >= tokens // 2 and reason is None:
                    await http_post(port, f"/requests/{request_id}/cancel", {})
                    cancel = False
            if reason is None:
                stats.add("unfinished")
            else:
                check(stats, references[prompt], ids, reason, tokens)
        except (OSError, ValueError, IndexError):
            stats.add("unfinished")


async def reference(port, prompt):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/generate") as ws:
        await ws.send(json.dumps(body(f"reference-{PROMPTS.index(prompt)}", prompt, MAX_TOKENS)))
        ids = []
        while True:
            event = json.loads(await ws.recv())
            if "token_id" in event:
                ids.append(event["token_id"])
            else:
                return ids


async def faults(peer, deadline, log):
    """Kills the first peer a third of the way in and restarts it on the same port a few seconds later."""
    total = deadline - time.monotonic()
    await asyncio.sleep(total / 3)
    peer.process.send_signal(signal.SIGKILL)
    peer.process.wait()
    log.append(f"killed peer :{peer.port}")
    await asyncio.sleep(min(5, total / 6))
    port = peer.arguments.index("--port") + 1
    peer.arguments[port] = str(peer.port)  # the sidecar reconnects to the same address
    peer.start()
    log.append(f"restarted peer :{peer.port}")


async def sample_memory(sidecar, deadline, samples):
    while time.monotonic() < deadline:
        samples.append((time.monotonic(), sidecar.rss_mb()))
        await asyncio.sleep(1)


async def main(arguments):
    peers = [Process(["peer"] + MODEL[:2] + ["--layers", "0:6", "--port", "0"]) for _ in range(2)]
    sidecar = Process(["serve", "--port", "0", "--local-shards", "0", "--max-batch", "64"] + MODEL
                      + sum((["--peer", f"ws://127.0.0.1:{p.port}/peer"] for p in peers), []))
    try:
        for _ in range(300):
            if (await http_get(sidecar.port, "/ready"))[0] == 200:
                break
            await asyncio.sleep(0.1)
        references = {prompt: await reference(sidecar.port, prompt) for prompt in PROMPTS}
        stats, samples, fault_log = Stats(), [], []
        started = time.monotonic()
        deadline = started + arguments.seconds
        rng = random.Random(arguments.seed)
        tasks = [websocket_client(sidecar.port, stats, references, deadline, random.Random(rng.random()), f"ws{i}")
                 for i in range(arguments.websocket_clients)]
        tasks += [polling_client(sidecar.port, stats, references, deadline, random.Random(rng.random()), f"poll{i}")
                  for i in range(arguments.polling_clients)]
        tasks += [faults(peers[0], deadline, fault_log), sample_memory(sidecar, deadline, samples)]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        alive = sidecar.process.poll() is None
    finally:
        sidecar.stop()
        for peer in peers:
            peer.stop()
    third = max(1, len(samples) // 3)
    early, late = max(m for _, m in samples[:third]), max(m for _, m in samples[-third:])
    peak = max(m for _, m in samples)
    flat = late <= early * 1.25 + 16
    counts = stats.counts
    lost = counts["mismatched"] + counts["unfinished"]
    rows = [("duration", f"{elapsed:.0f} s"), ("clients", f"{arguments.websocket_clients} WebSocket + "
                                                          f"{arguments.polling_clients} polling"),
            ("requests", counts["requests"]), ("completed exactly", counts["completed"]),
            ("cancelled (prefix checked)", counts["cancelled"]), ("dropped and resumed", counts["resumed"]),
            ("tokens received", counts["tokens"]), ("faults injected", "; ".join(fault_log) or "none"),
            ("refused (503 etc.)", counts["errors"]), ("streams lost or changed", lost),
            ("sidecar alive at the end", "yes" if alive else "NO"),
            ("sidecar RSS: first third / last third / peak", f"{early:.0f} / {late:.0f} / {peak:.0f} MB")]
    table = "\n".join(["| figure | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows])
    print(table)
    if arguments.write_doc:
        replace_section("soak", table)
    if lost or not alive or not flat or counts["completed"] == 0:
        sys.exit("soak FAILED" + ("" if flat else ": memory grew"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--websocket-clients", type=int, default=500)
    parser.add_argument("--polling-clients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-doc", action="store_true", help="put the figures into docs/reliability.md")
    asyncio.run(main(parser.parse_args()))
