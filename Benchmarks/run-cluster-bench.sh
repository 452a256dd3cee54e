#!/usr/bin/env bash
# Cluster benchmark (`make bench-cluster`): the release-built sidecar and its peers as separate processes in
# separate network namespaces (veth pairs), pinned to cores, next to llama.cpp's llama-server; writes
# docs/performance.md and docs/performance.png. See Benchmarks/cluster/ (bench.py drives it, config.py holds every
# command line) and docs/performance.md for what is measured and how.
#
# 1. the harness venv (${SHARD_CACHE_DIR:-~/.cache/shard}/bench-venv: pinned websockets + matplotlib); without it,
#    Debian's python3 with python3-websockets runs the benchmark and the plot is skipped;
# 2. the synthetic ~100M-parameter model in .build-bench/ (as `make bench-engine` makes it), SmolLM2 from the
#    model cache (`make models`);
# 3. llama-server (scripts/build-llama-server.sh: built once into the cache, 10-25 minutes; if that fails the
#    benchmark says why and runs without the anchor);
# 4. Benchmarks/cluster/bench.py.
#
# Environment: BENCH_SIDECAR (default .build/release/shard-sidecar), BENCH_QUICK=1 (smoke run: fewer levels and
# tokens, the synthetic model only, the document goes to .build-bench/cluster/ instead of docs/), BENCH_MODELS
# (comma-separated: synthetic, smollm2, smollm2-q4_1), BENCH_NETNS (auto; 0 = loopback without namespaces,
# 1 = namespaces or fail), BENCH_LLAMA_SERVER (a llama-server binary; "none" skips llama.cpp), BENCH_THREADS (2).
# Network namespaces need root (or CAP_NET_ADMIN); without them the run falls back to loopback and says so.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=.build-bench
SIDECAR="${BENCH_SIDECAR:-.build/release/shard-sidecar}"
mkdir -p "$OUT/cluster"

if [ ! -x "$SIDECAR" ]; then
    echo "error: $SIDECAR not found; run 'swift build -c release --product shard-sidecar' first (make bench-cluster does)" >&2
    exit 1
fi

# ---- 1. the harness's python ---------------------------------------------------------------------------------------
PY=""
if PY="$(bash -c 'source scripts/lib/pinned-venv.sh && pinned_venv bench-venv websockets==15.0.1 matplotlib==3.10.8' \
        2>"$OUT/cluster/bench-venv.log")"; then
    :
elif /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
    PY=/usr/bin/python3
    echo "warning: the bench venv could not be made (see $OUT/cluster/bench-venv.log); using /usr/bin/python3, no plot" >&2
else
    echo "error: no python with websockets (the bench venv failed, see $OUT/cluster/bench-venv.log;" \
         "on Debian: apt-get install python3-websockets python3-venv)" >&2
    exit 1
fi

# Whatever happens below (error, Ctrl-C), nothing of this run survives it: no process, namespace or veth.
cleanup() { "$PY" Benchmarks/cluster/bench.py --cleanup >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 2. models -------------------------------------------------------------------------------------------------------
if [ ! -f "$OUT/synthetic-100m-q8_0.gguf" ]; then
    echo "== making the synthetic 100M model"
    if ! tools_py="$(scripts/model-tools-venv.sh)" || ! "$tools_py" Benchmarks/make_synthetic_model.py "$OUT"; then
        echo "warning: could not make the synthetic model; it is skipped" >&2
    fi
fi

# ---- 3. llama-server -------------------------------------------------------------------------------------------------
LLAMA="${BENCH_LLAMA_SERVER:-}"
llama_note=""
if [ "$LLAMA" = none ]; then
    LLAMA=""
    llama_note="skipped (BENCH_LLAMA_SERVER=none)"
elif [ -z "$LLAMA" ]; then
    echo "== llama-server (scripts/build-llama-server.sh; the first build takes 10-25 minutes)"
    if ! LLAMA="$(scripts/build-llama-server.sh 2>"$OUT/cluster/llama-server-build.log")"; then
        LLAMA=""
        llama_note="scripts/build-llama-server.sh failed: $(tail -n 1 "$OUT/cluster/llama-server-build.log")"
    fi
elif [ ! -x "$LLAMA" ]; then
    llama_note="BENCH_LLAMA_SERVER=$LLAMA is not an executable"
    LLAMA=""
fi

# ---- 4. the benchmark ------------------------------------------------------------------------------------------------
"$PY" Benchmarks/cluster/bench.py --sidecar "$SIDECAR" --llama-server "$LLAMA" --llama-note "$llama_note"
