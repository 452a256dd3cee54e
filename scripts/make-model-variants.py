#!/usr/bin/env python3
"""Write other quantizations of SmolLM2-135M-Instruct, derived from the fetched Q4_1 file,
into the model cache, deterministically (same input, same bytes, on any numpy build).

Why our own quantizer: CI cannot build llama.cpp (20+ minutes) to run llama-quantize, so
the variants must be reproducible from PyPI packages alone (numpy + gguf). gguf-py encodes
Q4_0/Q4_1/Q5_0/Q5_1/Q8_0; the K types come from scripts/modeltools/kquants.py.

Every weight matrix is dequantized from the Q4_1 file (Q8_0 for token_embd) to float32 and
re-encoded; norms stay F32; all metadata (tokenizer, chat template, hyperparameters) is
copied, general.file_type is set to the variant's llama_ftype.

SmolLM2's rows are 576 or 1536 values long. K types need rows that are multiples of 256,
which only ffn_down (1536) has; like llama-quantize, every other matrix falls back to a
32-block type (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; for Q2_K and Q3_K llama.cpp falls
back to IQ4_NL, we use Q4_0 instead).

Variants (file SmolLM2-135M-Instruct.<NAME>.gguf):
  Q8_0    every matrix Q8_0.
  Q4_K_M  llama.cpp's Q4_K_M mix, approximated from llama_tensor_get_type():
          Q4_K by default; Q6_K for ffn_down and attn_v in the layers where
          use_more_bits(i, n) holds (first and last eighth, every third between);
          Q6_K for the tied output (token_embd); then the 256-row fallback above, so
          token_embd and the chosen attn_v are Q8_0 and the other 576-row matrices Q5_0.
  Q4_0, Q5_0, Q5_1          every matrix (token_embd included) in that type.
  Q2_K, Q3_K, Q5_K, Q6_K    ffn_down in that type, everything else in its fallback type.

Usage: python3 scripts/make-model-variants.py [--force] [NAME ...]   (default: all)
       python3 scripts/make-model-variants.py --self-test   (encoders vs gguf-py's dequantizers)
Needs: numpy, gguf (scripts/model-tools-venv.sh makes a venv with both).
Cache: $SHARD_MODEL_DIR, else ${SHARD_CACHE_DIR:-~/.cache/shard}/models.
A variant is only rewritten when missing, older than the scripts, or with --force.
Prints one line per file: sha256 and path.
"""
import argparse
import os
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT, GGUFValueType as VT  # noqa: E402
from modeltools import gguf_io, kquants  # noqa: E402

PREFIX = "SmolLM2-135M-Instruct"

K_ENCODERS = {QT.Q2_K: kquants.quantize_q2_k, QT.Q3_K: kquants.quantize_q3_k, QT.Q4_K: kquants.quantize_q4_k,
              QT.Q5_K: kquants.quantize_q5_k, QT.Q6_K: kquants.quantize_q6_k}
FALLBACK = {QT.Q2_K: QT.Q4_0, QT.Q3_K: QT.Q4_0, QT.Q4_K: QT.Q5_0, QT.Q5_K: QT.Q5_1, QT.Q6_K: QT.Q8_0}

# llama_ftype values (llama.h) for general.file_type.
FTYPE = {"Q4_0": 2, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K": 11, "Q4_K_M": 15, "Q5_K": 17,
         "Q6_K": 18}
# Q3_K file is labelled MOSTLY_Q3_K_S (11), Q5_K MOSTLY_Q5_K_M (17): llama.cpp only reads it for display.


def use_more_bits(i, n):
    """llama-quant.cpp's use_more_bits(i_layer, n_layers)."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def layer_of(name):
    m = re.match(r"blk\.(\d+)\.", name)
    return int(m.group(1)) if m else None


def policy(variant, n_layers):
    """Returns type_for(name, n_cols) -> the GGML type of a 2-D weight matrix."""
    def fit(t, n_cols):
        return t if t not in FALLBACK or n_cols % kquants.QK_K == 0 else FALLBACK[t]

    if variant == "Q4_K_M":
        def type_for(name, n_cols):
            layer = layer_of(name)
            if name == "token_embd.weight" or name == "output.weight":
                t = QT.Q6_K
            elif name.endswith("attn_v.weight") or name.endswith("ffn_down.weight"):
                t = QT.Q6_K if use_more_bits(layer, n_layers) else QT.Q4_K
            else:
                t = QT.Q4_K
            return fit(t, n_cols)
        return type_for
    base = QT[variant]
    return lambda name, n_cols: fit(base, n_cols)


def encode(rows, qtype):
    if qtype in K_ENCODERS:
        return K_ENCODERS[qtype](rows)
    return gguf.quantize(rows, qtype)


def make_variant(src, variant, out):
    reader = gguf.GGUFReader(str(src))
    n_layers = int(reader.fields["llama.block_count"].parts[-1][0])
    type_for = policy(variant, n_layers)
    counts = {}

    def tensors():
        for t in reader.tensors:
            if len(t.shape) == 1 or t.tensor_type == QT.F32:
                yield t.name, np.array(t.data), None
                continue
            rows = gguf.dequantize(np.array(t.data), t.tensor_type).astype(np.float32, copy=False)
            qtype = type_for(t.name, rows.shape[1])
            counts[qtype.name] = counts.get(qtype.name, 0) + 1
            yield t.name, encode(rows, qtype), qtype

    def metadata(w):
        gguf_io.copy_metadata(reader, w, overrides={"general.file_type": (FTYPE[variant], VT.UINT32)})

    gguf_io.write_gguf(out, "llama", metadata, list(tensors()))
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("variants", nargs="*", metavar="NAME", help=" ".join(FTYPE))
    ap.add_argument("--force", action="store_true", help="rewrite even when up to date")
    ap.add_argument("--self-test", action="store_true",
                    help="only check the K-quant encoders against gguf-py's dequantizers")
    args = ap.parse_args()
    if args.self_test:
        for name, rms in kquants.self_test():
            print(f"{name}: round trip ok, relative RMS error {rms:.4f}")
        return
    unknown = [v for v in args.variants if v not in FTYPE]
    if unknown:
        ap.error(f"unknown variant {unknown[0]}; known: {' '.join(FTYPE)}")
    src = gguf_io.source_model()
    here = Path(__file__).resolve().parent
    newest_input = max(os.path.getmtime(p) for p in
                       [Path(__file__), here / "modeltools" / "kquants.py", here / "modeltools" / "gguf_io.py", src])
    for variant in args.variants or list(FTYPE):
        out = gguf_io.model_dir() / f"{PREFIX}.{variant}.gguf"
        if args.force or not out.is_file() or os.path.getmtime(out) < newest_input:
            counts = make_variant(src, variant, out)
            print(f"# {out.name}: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())), file=sys.stderr)
        print(f"{gguf_io.sha256(out)}  {out}", flush=True)


if __name__ == "__main__":
    main()
