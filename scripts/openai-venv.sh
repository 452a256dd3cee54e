#!/usr/bin/env bash
# Ensures a small venv with the official `openai` Python package (PyPI, pinned) for the OpenAI-compatibility
# tests, and prints its python. Seconds to install (wheels only).
#
# Usage: "$(scripts/openai-venv.sh)" Tests/SidecarTests/Scripts/openai_client.py PORT
# Venv:  ${SHARD_CACHE_DIR:-~/.cache/shard}/openai-venv   (PYTHON=... picks the base python3)
set -euo pipefail
source "$(dirname "$0")/lib/pinned-venv.sh"
pinned_venv openai-venv openai==3.57.0
