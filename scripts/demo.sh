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

"$BIN/shard-sidecar" serve --port "$PORT" >"$OUT" 2>"$LOG" &
SIDECAR=$!
cleanup() {
    kill -TERM "$SIDECAR" 2>/dev/null || true
    wait "$SIDECAR" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sidecar prints `listening on HOST:PORT` once it accepts connections.
for _ in $(seq 1 300); do
    grep -q "listening on" "$OUT" 2>/dev/null && break
    if ! kill -0 "$SIDECAR" 2>/dev/null; then
        echo "shard-sidecar failed to start:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q "listening on" "$OUT" || { echo "shard-sidecar did not start in 30 s" >&2; exit 1; }

echo "== shard-sidecar on 127.0.0.1:$PORT (fixture model kjv-tiny, 2 in-process shards); streaming via the Swift SDK:"
echo
printf '%s' "$PROMPT"
"$BIN/shard" generate "$PROMPT" --max-new-tokens 96 --transport websocket --temperature 0.8 --seed 7 \
    --sidecar "http://127.0.0.1:$PORT"
