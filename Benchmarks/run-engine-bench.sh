#!/usr/bin/env bash
# Engine benchmark: our release-built engine next to llama.cpp, same GGUF files,
# same thread count, same definitions (see Benchmarks/llama_cpp_bench.py).
# Run from the repository root by `make bench-engine`, after
# `swift build -c release` has built .build/release/ShardEngineBenchmark.
#
# 1. ensures the virtualenv .venv-bench holds llama-cpp-python, gguf, numpy
#    (installs what is missing; if llama-cpp-python cannot be installed, our
#    engine still runs, alone);
# 2. writes the ~100 M-parameter synthetic models into .build-bench/;
# 3. for each model: llama.cpp -> .build-bench/<name>.llama.json, then
#    ShardEngineBenchmark, which prints the side-by-side table.
#
# Environment: BENCH_THREADS (2), BENCH_PYTHON (python3 used to create the venv),
# BENCH_ENGINE (the engine benchmark binary).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

THREADS="${BENCH_THREADS:-2}"
PREFILL=128
DECODE=64
BATCH=8
REPEATS=3
VENV=.venv-bench
OUT=.build-bench
ENGINE="${BENCH_ENGINE:-.build/release/ShardEngineBenchmark}"
PY="$VENV/bin/python"

mkdir -p "$OUT"

if [ ! -x "$ENGINE" ]; then
    echo "error: $ENGINE not found; run 'swift build -c release' first (make bench-engine does)" >&2
    exit 1
fi

# ---- 1. virtualenv ---------------------------------------------------------
llama_reason=""
if [ ! -x "$PY" ]; then
    echo "== creating $VENV"
    if ! "${BENCH_PYTHON:-python3}" -m venv "$VENV"; then
        llama_reason="could not create the virtualenv $VENV (is python3-venv installed?)"
    fi
fi

have_py_module() { [ -x "$PY" ] && "$PY" -c "import $1" >/dev/null 2>&1; }

if [ -z "$llama_reason" ]; then
    missing=()
    have_py_module numpy || missing+=(numpy)
    have_py_module gguf || missing+=(gguf)
    have_py_module sentencepiece || missing+=(sentencepiece)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== pip install ${missing[*]}"
        "$PY" -m pip install --quiet "${missing[@]}" || true
    fi
    if ! have_py_module llama_cpp; then
        # Compiles llama.cpp from source (several minutes). GGML_NATIVE=ON so the
        # CPU backend uses this machine's SIMD (AVX2 ...), as our -O build does.
        echo "== pip install llama-cpp-python (builds llama.cpp from source; this takes a while)"
        log="$OUT/pip-llama-cpp-python.log"
        if ! CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" "$PY" -m pip install llama-cpp-python >"$log" 2>&1; then
            llama_reason="pip install llama-cpp-python failed (last lines of $log):
$(tail -n 5 "$log")"
        fi
    fi
    if [ -z "$llama_reason" ] && ! have_py_module llama_cpp; then
        llama_reason="the llama_cpp module does not import from $VENV: $("$PY" -c 'import llama_cpp' 2>&1 | tail -n 1)"
    fi
fi

# ---- 2. synthetic models ---------------------------------------------------
models=(Fixtures/kjv-tiny/model-f32.gguf Fixtures/kjv-tiny/model-q8_0.gguf)
if have_py_module gguf && have_py_module numpy; then
    echo "== synthetic models"
    if "$PY" Benchmarks/make_synthetic_model.py "$OUT"; then
        models+=("$OUT/synthetic-100m-f32.gguf" "$OUT/synthetic-100m-q8_0.gguf")
    else
        echo "warning: could not generate the synthetic models; benchmarking the fixture only" >&2
    fi
else
    echo "warning: gguf/numpy unavailable in $VENV; the synthetic models are skipped" >&2
fi

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
