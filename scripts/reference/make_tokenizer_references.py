#!/usr/bin/env python3
"""Tokenizes Fixtures/reference/tokenizer-corpus.json with llama.cpp (llama-cpp-python, vocab_only) for each
model and writes Fixtures/reference/tokenization-<model>.json: for every corpus string, and for 150 seeded random
strings made of hard pieces, the ids with parse_special true and false, both with add_special (BOS/EOS as the
model's vocabulary says), and the ids llama.cpp treats as end of generation.

Models are found in $SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models:
  smollm2, gemma3                       scripts/fetch-models.sh
  smollm2-llama-bpe, smollm2-qwen2,
  smollm2-qwen35, smollm2-gpt-4o,
  smollm2-tekken, smollm2-gpt-2,
  smollm2-default                       scripts/reference/make_vocab_ggufs.py

Usage: ~/.cache/shard/llama-venv/bin/python scripts/reference/make_tokenizer_references.py [model ...]
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import random
import re

import llama_cpp

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "Fixtures/reference/tokenizer-corpus.json"


def model_dir() -> Path:
    if "SHARD_MODEL_DIR" in os.environ:
        return Path(os.environ["SHARD_MODEL_DIR"])
    cache = os.environ.get("SHARD_CACHE_DIR", os.path.expanduser("~/.cache/shard"))
    return Path(cache) / "models"


MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
    "smollm2-llama-bpe": "vocab/smollm2-vocab-llama-bpe.gguf",
    "smollm2-qwen2": "vocab/smollm2-vocab-qwen2.gguf",
    "smollm2-qwen35": "vocab/smollm2-vocab-qwen35.gguf",
    "smollm2-gpt-4o": "vocab/smollm2-vocab-gpt-4o.gguf",
    "smollm2-tekken": "vocab/smollm2-vocab-tekken.gguf",
    "smollm2-gpt-2": "vocab/smollm2-vocab-gpt-2.gguf",
    "smollm2-default": "vocab/smollm2-vocab-default.gguf",
}


# Pieces the random strings are made of: every class the pre-tokenizers tell apart, and special-token fragments.
ALPHABET = ["a", "Z", "é", "ß", "中", "한", "ع", "न", "ा", "1", "23", "٣", "½", " ", "  ", "\n", "\r", "\t",
            "\u3000", "\u00a0", "'", "'s", "'LL", "'Ve", "!", "?", ".", "$", "+", "<", ">", "|", "_", "🙏", "🏽",
            "\u200d", "\u0301", "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>", "<|im", "_start|>",
            "\ufffd", "\U0010ffff", "\ue000", "0x", "…", "the", " the", "ing", "\n\n", "    "]
RANDOM_STRINGS = 150


def random_strings() -> list[str]:
    """Seeded random strings: recorded in every reference after the corpus strings."""
    generator = random.Random(20261130)
    return ["".join(generator.choice(ALPHABET) for _ in range(generator.randrange(0, 60)))
            for _ in range(RANDOM_STRINGS)]


def dumps(obj) -> str:
    """Indented JSON with arrays of numbers on one line (readable diffs, modest size)."""
    text = json.dumps(obj, ensure_ascii=False, indent=1)
    return re.sub(r"\[\s*([-0-9, \n]+?)\s*\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(names: list[str]) -> int:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))["strings"] + random_strings()
    for name in names or list(MODELS):
        path = model_dir() / MODELS[name]
        if not path.exists():
            print(f"error: {path} is missing; run scripts/fetch-models.sh or scripts/reference/make_vocab_ggufs.py",
                  file=sys.stderr)
            return 1
        llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        cases = []
        for text in corpus:
            data = text.encode("utf-8")
            cases.append({
                "text": text,
                "special": llm.tokenize(data, add_bos=True, special=True),
                "plain": llm.tokenize(data, add_bos=True, special=False),
            })
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        eog = [i for i in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, i)]
        out = ROOT / f"Fixtures/reference/tokenization-{name}.json"
        out.write_text(dumps({
            "model": name,
            "model_file": MODELS[name],
            "model_sha256": sha256(path),
            "llama_cpp_python_version": llama_cpp.__version__,
            "add_special": True,
            "end_of_generation": eog,
            "cases": cases,
        }) + "\n", encoding="utf-8")
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
