#!/usr/bin/env bash
# Ensures a small venv with the pinned numpy + gguf that scripts/make-model-variants.py and
# scripts/make-synthetic-models.py need (PyPI wheels only, seconds to install), and prints its
# python. The pins matter: the generated files' SHA-256 are recorded in Fixtures/reference/.
#
# Usage: "$(scripts/model-tools-venv.sh)" scripts/make-model-variants.py
# Venv:  ${SHARD_CACHE_DIR:-~/.cache/shard}/model-tools-venv   (PYTHON=... picks the base python3)
set -euo pipefail

source "$(dirname "$0")/lib/pinned-venv.sh"
pinned_venv model-tools-venv numpy==2.4.6 gguf==0.19.0
