#!/usr/bin/env python3
"""Makes small vocabulary-only GGUF files that carry SmolLM2's vocabulary and merges under other
`tokenizer.ggml.pre` values, so the Llama 3 (`llama-bpe`), Qwen 2 (`qwen2`), GPT-2 (`gpt-2`) and `default`
pre-tokenizers (and Qwen 3.5's `qwen35`, GPT-4o's `gpt-4o`, Mistral's `tekken`) can be checked against llama.cpp without downloading those models.

SmolLM2 has no multi-digit tokens, so digit grouping (Llama 3's \\p{N}{1,3} against Qwen 2's single digits)
would be invisible: the last tokens of the vocabulary are replaced by digit pieces (DIGIT_TOKENS) and merges
that build them are appended (DIGIT_MERGES); likewise merges across case changes come first (CASE_MERGES). Every other metadata key of the SmolLM2 file is copied (llama.cpp needs the architecture keys even for vocab_only
loading); no tensors are written. Output: <cache>/vocab/smollm2-vocab-<pre>.gguf, where <cache> is
$SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models. The files are generated, never committed.

Usage: ~/.cache/shard/llama-venv/bin/python scripts/reference/make_vocab_ggufs.py
(requires gguf-py; run scripts/fetch-models.sh smollm2 first)
"""
import os
import sys
from pathlib import Path

import gguf

PRES = ["llama-bpe", "qwen2", "qwen35", "gpt-4o", "tekken", "gpt-2", "default"]
DIGIT_TOKENS = ["12", "123", "45", "67", "678", "Ġ1", "Ġ12", "1234", "456", "89"]
DIGIT_MERGES = ["1 2", "12 3", "4 5", "6 7", "67 8", "Ġ 1", "Ġ1 2", "123 4", "45 6", "8 9"]
# Case changes (lower then upper, and accented letters next to ASCII capitals) merge before anything else, so the
# pre-tokenizers that cut words at case changes (gpt-4o) give other tokens than those that do not.
CASE_PAIRS = [(lower, upper) for lower in "abcdefghijklmnopqrstuvwxyz" for upper in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
CASE_PAIRS += [("Ã©", "A"), ("A", "Ã©"), ("Ãī", "C"), ("Ãī", "a"), ("Ã¼", "B")]  # é, É, ü as byte-level pieces
CASE_TOKENS = [left + right for left, right in CASE_PAIRS]
CASE_MERGES = [f"{left} {right}" for left, right in CASE_PAIRS]


def model_dir() -> Path:
    if "SHARD_MODEL_DIR" in os.environ:
        return Path(os.environ["SHARD_MODEL_DIR"])
    cache = os.environ.get("SHARD_CACHE_DIR", os.path.expanduser("~/.cache/shard"))
    return Path(cache) / "models"


def copy_with_pre(reader: gguf.GGUFReader, destination: Path, pre: str) -> None:
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(destination), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        main = field.types[0]
        value = pre if key == "tokenizer.ggml.pre" else field.contents()
        if key == "tokenizer.ggml.tokens":
            added = [token for token in CASE_TOKENS if token not in value] + DIGIT_TOKENS
            value = value[: len(value) - len(added)] + added
        elif key == "tokenizer.ggml.merges":
            value = CASE_MERGES + value + DIGIT_MERGES
        if main == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, value, main, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, main)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()


def main() -> int:
    source = model_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not source.exists():
        print(f"error: {source} is missing; run scripts/fetch-models.sh smollm2", file=sys.stderr)
        return 1
    out = model_dir() / "vocab"
    out.mkdir(parents=True, exist_ok=True)
    reader = gguf.GGUFReader(str(source))
    for pre in PRES:
        destination = out / f"smollm2-vocab-{pre}.gguf"
        copy_with_pre(reader, destination, pre)
        print(destination)
    return 0


if __name__ == "__main__":
    sys.exit(main())
