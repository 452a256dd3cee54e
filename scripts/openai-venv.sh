#!/usr/bin/env bash
# Ensures a small venv with the official `openai` Python package (PyPI, pinned) for the OpenAI-compatibility
# tests, and prints its python. Seconds to install (wheels only).
#
# Usage: "$(scripts/openai-venv.sh)" Tests/SidecarTests/Scripts/openai_client.py PORT
# Venv:  ${SHARD_CACHE_DIR:-~/.cache/shard}/openai-venv   (PYTHON=... picks the base python3)
set -euo pipefail

CACHE="${SHARD_CACHE_DIR:-$HOME/.cache/shard}"
VENV="$CACHE/openai-venv"
PINS=(openai==3.57.0)
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
