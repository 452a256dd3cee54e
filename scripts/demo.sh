#!/usr/bin/env bash
# `make demo`: start the embedded sidecar (fixture model, two in-process shards), stream a generation through the
# Swift SDK (the `shard` command line) to the terminal, and stop the sidecar — also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${SHARD_DEMO_PORT:-9091}"
PROMPT="${SHARD_DEMO_PROMPT:-And God said,}"
BIN=.build/release
LOG=.build/demo-sidecar.log
OUT=.build/demo-sidecar.out

source scripts/lib/sidecar.sh
start_sidecar "$LOG" "$OUT" serve --port "$PORT"

echo "== shard-sidecar on 127.0.0.1:$PORT (fixture model kjv-tiny, 2 in-process shards); streaming via the Swift SDK:"
echo
printf '%s' "$PROMPT"
"$BIN/shard" generate "$PROMPT" --max-new-tokens 96 --transport websocket --temperature 0.8 --seed 7 \
    --sidecar "http://127.0.0.1:$PORT"
