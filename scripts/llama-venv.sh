#!/usr/bin/env bash
# Ensures the venv with llama.cpp (llama-cpp-python, built from source with -DGGML_NATIVE=ON:
# 20+ minutes on two cores) that regenerates the llama.cpp reference outputs in
# Fixtures/reference/, and prints its python. Only developers regenerating references need it;
# the tests and CI only read the committed JSON.
#
# Usage: "$(scripts/llama-venv.sh)" scripts/reference/make_engine_references.py
# Venv:  ${SHARD_CACHE_DIR:-~/.cache/shard}/llama-venv   (PYTHON=... picks the base python3)
set -euo pipefail

CACHE="${SHARD_CACHE_DIR:-$HOME/.cache/shard}"
VENV="$CACHE/llama-venv"
PINS=(llama-cpp-python==0.3.36 numpy==2.4.6 gguf==0.19.0 sentencepiece jinja2)

if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$CACHE"
    "${PYTHON:-python3}" -m venv "$VENV" >&2
fi
if ! "$VENV/bin/python" -c 'import importlib.metadata as m, llama_cpp, numpy, gguf, sentencepiece, jinja2
assert m.version("llama-cpp-python") == "0.3.36"' 2>/dev/null; then
    echo "building llama-cpp-python 0.3.36 (20+ minutes)..." >&2
    CMAKE_ARGS="-DGGML_NATIVE=ON" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${PINS[@]}" >&2
fi
echo "$VENV/bin/python"
