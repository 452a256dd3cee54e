#!/usr/bin/env bash
# Ensures a small venv with the pinned numpy + gguf that scripts/make-model-variants.py and
# scripts/make-synthetic-models.py need (PyPI wheels only, seconds to install), and prints its
# python. The pins matter: the generated files' SHA-256 are recorded in Fixtures/reference/.
#
# Usage: "$(scripts/model-tools-venv.sh)" scripts/make-model-variants.py
# Venv:  ${SHARD_CACHE_DIR:-~/.cache/shard}/model-tools-venv   (PYTHON=... picks the base python3)
set -euo pipefail

CACHE="${SHARD_CACHE_DIR:-$HOME/.cache/shard}"
VENV="$CACHE/model-tools-venv"
PINS=(numpy==2.4.6 gguf==0.19.0)
STAMP="$VENV/.shard-pins"

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${PINS[*]}" ]; then
    mkdir -p "$CACHE"
    "${PYTHON:-python3}" -m venv "$VENV" >&2 \
        || { echo "error: '${PYTHON:-python3} -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2 \
        || { echo "error: pip install ${PINS[*]} failed (PyPI unreachable?)" >&2; exit 1; }
    echo "${PINS[*]}" > "$STAMP"
fi
echo "$VENV/bin/python"
