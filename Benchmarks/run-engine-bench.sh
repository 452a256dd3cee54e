#!/usr/bin/env bash
# Engine benchmark: our release-built engine next to llama.cpp, same GGUF files,
# same thread count, same definitions (see Benchmarks/llama_cpp_bench.py).
# Run from the repository root by `make bench-engine`, after
# `swift build -c release` has built .build/release/ShardEngineBenchmark.
#
# 1. ensures the llama.cpp venv (scripts/llama-venv.sh: llama-cpp-python, gguf,
#    numpy, cached outside the repository; if it cannot be made, our engine
#    still runs, alone);
# 2. writes the ~100 M-parameter synthetic models into .build-bench/ and adds
#    the real models of the model cache (SmolLM2 Q4_1/Q4_K_M/Q8_0, Gemma 3);
# 3. for each model: llama.cpp -> .build-bench/<name>.llama.json, then
#    ShardEngineBenchmark, which prints the side-by-side table.
#
# Environment: BENCH_THREADS (2), BENCH_PYTHON (a python with llama_cpp, instead of the venv),
# BENCH_ENGINE (the engine benchmark binary). Real models missing from the model cache are reported and
# skipped: `make models` fetches and makes them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

THREADS="${BENCH_THREADS:-2}"
PREFILL=128
DECODE=64
BATCH=8
REPEATS=3
OUT=.build-bench
ENGINE="${BENCH_ENGINE:-.build/release/ShardEngineBenchmark}"

mkdir -p "$OUT"

if [ ! -x "$ENGINE" ]; then
    echo "error: $ENGINE not found; run 'swift build -c release' first (make bench-engine does)" >&2
    exit 1
fi

# ---- 1. virtualenv ---------------------------------------------------------
# The llama.cpp venv is shared with the reference scripts and cached outside the repository
# (${SHARD_CACHE_DIR:-~/.cache/shard}/llama-venv); the first run builds llama.cpp from source (20+ minutes).
llama_reason=""
PY=""
if [ -n "${BENCH_PYTHON:-}" ]; then
    PY="$BENCH_PYTHON"
elif ! PY="$(scripts/llama-venv.sh 2>"$OUT/llama-venv.log")"; then
    llama_reason="scripts/llama-venv.sh failed (see $OUT/llama-venv.log)"
    PY=""
fi
have_py_module() { [ -n "$PY" ] && "$PY" -c "import $1" >/dev/null 2>&1; }
if [ -z "$llama_reason" ] && ! have_py_module llama_cpp; then
    llama_reason="the llama_cpp module does not import from $PY"
fi

# ---- 2. synthetic models ---------------------------------------------------
models=(Fixtures/kjv-tiny/model-f32.gguf Fixtures/kjv-tiny/model-q8_0.gguf)
# Real models (fetched and made by `make models`): SmolLM2-135M as published (Q4_1) and re-quantized, Gemma 3 270M.
MODEL_DIR="${SHARD_MODEL_DIR:-${SHARD_CACHE_DIR:-$HOME/.cache/shard}/models}"
real_models=(SmolLM2-135M-Instruct.Q4_1.gguf SmolLM2-135M-Instruct.Q4_K_M.gguf SmolLM2-135M-Instruct.Q8_0.gguf
             gemma-3-270m-q4_k_m.gguf)
if have_py_module gguf && have_py_module numpy; then
    echo "== synthetic models"
    if "$PY" Benchmarks/make_synthetic_model.py "$OUT"; then
        models+=("$OUT/synthetic-100m-f32.gguf" "$OUT/synthetic-100m-q8_0.gguf")
    else
        echo "warning: could not generate the synthetic models; benchmarking the fixture only" >&2
    fi
else
    echo "warning: gguf/numpy unavailable in $PY; the synthetic models are skipped" >&2
fi

for name in "${real_models[@]}"; do models+=("$MODEL_DIR/$name"); done

if [ -n "$llama_reason" ]; then
    echo
    echo "llama.cpp unavailable: $llama_reason"
    echo "(running our engine alone)"
fi

# ---- 3. benchmarks ---------------------------------------------------------
status=0
for model in "${models[@]}"; do
    name="$(basename "$model" .gguf)"
    echo
    echo "== $model (threads $THREADS)"
    if [ ! -f "$model" ]; then
        echo "warning: $model not found, skipped" >&2
        status=1
        continue
    fi
    llama_args=()
    if [ -z "$llama_reason" ]; then
        json="$OUT/$name.llama.json"
        rm -f "$json"
        if "$PY" Benchmarks/llama_cpp_bench.py --model "$model" --threads "$THREADS" \
                --prefill-tokens "$PREFILL" --decode-tokens "$DECODE" --batch "$BATCH" \
                --repeats "$REPEATS" >"$json.tmp" 2>"$OUT/$name.llama.log"; then
            mv "$json.tmp" "$json"
            grep -E "AVX2|kv=" "$OUT/$name.llama.log" | sed 's/^/  llama.cpp: /' | grep -v "system info" || true
            llama_args=(--llama-json "$json")
        else
            rm -f "$json.tmp"
            echo "llama.cpp unavailable: llama_cpp_bench.py failed on $model (see $OUT/$name.llama.log):" >&2
            tail -n 3 "$OUT/$name.llama.log" >&2 || true
        fi
    fi
    if ! OPENBLAS_NUM_THREADS=1 "$ENGINE" --model "$model" --threads "$THREADS" \
            --prefill-tokens "$PREFILL" --decode-tokens "$DECODE" --batch "$BATCH" \
            --repeats "$REPEATS" ${llama_args[@]+"${llama_args[@]}"}; then
        echo "error: ShardEngineBenchmark failed on $model" >&2
        status=1
    fi
done
exit "$status"
