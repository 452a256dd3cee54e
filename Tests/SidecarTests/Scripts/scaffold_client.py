#!/usr/bin/env python3
"""A client that follows ../shared/reference/shard-client-README.md to the letter.

It sends exactly the documented bodies (HTTP polling: POST /broadcast-work, then GET /pop-result?request_id=...
until a done result; WebSocket: one JSON text frame, then token messages until {"event": "done"}), using only the
Python standard library and the `websockets` package, and prints the streamed text to stdout.

Usage: scaffold_client.py http_poll|websocket BASE_URL PROMPT MAX_NEW_TOKENS
"""
import asyncio
import json
import sys
import urllib.request
import uuid


def http_poll(base, prompt, max_new_tokens):
    request_id = "sdk-" + str(uuid.uuid4())
    body = {
        "request_id": request_id,
        "prompt_context": prompt,
        "input_token_ids": list(prompt.encode("utf-8")),
        "min_tokens": 1,
        "max_new_tokens": max_new_tokens,
        "model": "shard/network-default",
    }
    req = urllib.request.Request(base + "/broadcast-work", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as response:
        assert response.status in (200, 202), response.status
    text = []
    for _ in range(100000):
        with urllib.request.urlopen(f"{base}/pop-result?request_id={request_id}", timeout=30) as response:
            result = json.loads(response.read())["result"]
        if result is None:
            continue
        if result.get("done"):
            break
        text.append(result["token"])
    return "".join(text)


async def websocket(base, prompt, max_new_tokens):
    import websockets
    url = base.replace("http://", "ws://") + "/ws/generate"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({
            "request_id": "sdk-" + str(uuid.uuid4()),
            "prompt": prompt,
            "input_token_ids": list(prompt.encode("utf-8")),
            "max_new_tokens": max_new_tokens,
            "stream": True,
        }))
        text = []
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            if message.get("event") == "done":
                break
            if message.get("event") == "error":
                raise SystemExit("error event: " + json.dumps(message))
            text.append(message["token"])
        return "".join(text)


def main():
    mode, base, prompt, max_new_tokens = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    text = http_poll(base, prompt, max_new_tokens) if mode == "http_poll" else \
        asyncio.run(websocket(base, prompt, max_new_tokens))
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
