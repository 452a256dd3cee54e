#!/usr/bin/env python3
"""Write two small random-weight models of architectures the real models do not cover,
deterministically, into the model cache:

  synthetic-qwen2.gguf        architecture qwen2: biases on Q/K/V, NEOX rope, tied output
                              (no output.weight); dim 128, 4 layers, 4 heads, 2 KV heads,
                              head dim 32, FFN 384, rope base 1e6, rms eps 1e-6; ~7.2 M params;
                              tokenizer.ggml.pre "qwen2", no BOS.
  synthetic-llama3-rope-freqs.gguf
                              architecture llama with Llama 3's rope_freqs.weight (per-dimension
                              frequency factors; llama.cpp divides each rope frequency by its
                              factor), untied output.weight; dim 96, 4 layers, 3 heads, 1 KV
                              head, head dim 32, FFN 256, rope base 10000, rms eps 1e-5; ~10 M
                              params; tokenizer.ggml.pre "llama-bpe", BOS <|endoftext|> (id 0) added.

The factors follow Llama 3's rope_scaling "llama3" rule (as convert_hf_to_gguf.py computes
them) with factor 8, low_freq_factor 1, high_freq_factor 4, but an original context of 64
instead of 8192, scaled to the tiny model so that the factors (1, smoothed, 8) all occur among
the 16 frequencies and change the output within a few dozen tokens.

Both carry SmolLM2-135M-Instruct's vocabulary, merges, special token ids and ChatML chat
template, copied from the fetched Q4_1 file, so they tokenize like real models. All tensors
are F32. Weights come from a splitmix64 counter hash (not numpy's Generator, whose streams may
change between numpy versions) mapped exactly to uniform floats, scaled so that activations
stay near unit size and greedy continuations vary; norm weights are 1 +- 0.1.

Usage: python3 scripts/make-synthetic-models.py [--force]
Needs: numpy, gguf. Cache: as scripts/make-model-variants.py. Prints sha256 and path per file.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gguf  # noqa: E402
from gguf import GGUFValueType as VT  # noqa: E402
from modeltools import gguf_io  # noqa: E402

SEED = 0x5EED_5A4D_0000_0001
F32 = np.float32

# Tokenizer keys copied from SmolLM2 (the rest of its metadata describes SmolLM2 itself).
VOCAB_KEYS = ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
              "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
              "tokenizer.ggml.padding_token_id", "tokenizer.chat_template"]

MODELS = {
    "synthetic-qwen2": dict(arch="qwen2", dim=128, layers=4, heads=4, kv_heads=2, ffn=384,
                            rope_base=1e6, eps=1e-6, ctx=2048, tied=True, qkv_bias=True,
                            rope_freqs=False, pre="qwen2", add_bos=False, bos=1),
    "synthetic-llama3-rope-freqs": dict(arch="llama", dim=96, layers=4, heads=3, kv_heads=1, ffn=256,
                                        rope_base=1e4, eps=1e-5, ctx=2048, tied=False, qkv_bias=False,
                                        rope_freqs=True, pre="llama-bpe", add_bos=True, bos=0),
}


def uniform(tensor_index, shape, amplitude):
    """Uniform in [-amplitude, amplitude), from splitmix64(SEED, tensor_index, element index).

    Integer hashing, an exact int -> float32 conversion and one float32 multiply-add: the same
    bytes on every platform and numpy version."""
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        z = np.arange(n, dtype=np.uint64) + np.uint64((SEED + tensor_index * 0x9E3779B97F4A7C15) % 2**64)
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(F32) * F32(2.0 ** -23) - F32(1.0)      # exact, in [-1, 1)
    return (u * F32(amplitude)).reshape(shape)


def normal_like(tensor_index, shape, std):
    """Uniform with the given standard deviation (amplitude std * sqrt(3))."""
    return uniform(tensor_index, shape, std * 3 ** 0.5)


def llama3_rope_factors(head_dim, base, factor=8.0, low=1.0, high=4.0, old_ctx=64):
    """Llama 3's rope_freqs (convert_hf_to_gguf.py LlamaModel), in float64, rounded once to float32."""
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    out = []
    for f in freqs:
        wavelen = 2 * np.pi / f
        if wavelen < old_ctx / high:
            out.append(1.0)
        elif wavelen > old_ctx / low:
            out.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float64).astype(F32)


def tensors(spec, n_vocab):
    dim, hd = spec["dim"], spec["dim"] // spec["heads"]
    kv = spec["kv_heads"] * hd
    ffn = spec["ffn"]
    plan = []  # (name, shape (numpy order: out, in), kind)

    def w(name, shape, std):
        plan.append((name, shape, std))

    w("token_embd.weight", (n_vocab, dim), 0.05)
    if spec["rope_freqs"]:
        plan.append(("rope_freqs.weight", (hd // 2,), "rope"))
    for i in range(spec["layers"]):
        p = f"blk.{i}."
        w(p + "attn_norm.weight", (dim,), "norm")
        w(p + "attn_q.weight", (dim, dim), dim ** -0.5)
        w(p + "attn_k.weight", (kv, dim), dim ** -0.5)
        w(p + "attn_v.weight", (kv, dim), dim ** -0.5)
        if spec["qkv_bias"]:
            w(p + "attn_q.bias", (dim,), 0.2)
            w(p + "attn_k.bias", (kv,), 0.2)
            w(p + "attn_v.bias", (kv,), 0.2)
        w(p + "attn_output.weight", (dim, dim), dim ** -0.5)
        w(p + "ffn_norm.weight", (dim,), "norm")
        w(p + "ffn_gate.weight", (ffn, dim), dim ** -0.5)
        w(p + "ffn_up.weight", (ffn, dim), dim ** -0.5)
        w(p + "ffn_down.weight", (dim, ffn), ffn ** -0.5)
    w("output_norm.weight", (dim,), "norm")
    if not spec["tied"]:
        w("output.weight", (n_vocab, dim), dim ** -0.5)

    for index, (name, shape, std) in enumerate(plan):
        if std == "norm":
            arr = F32(1) + uniform(index, shape, 0.1)
        elif std == "rope":
            arr = llama3_rope_factors(hd, spec["rope_base"])
        else:
            arr = normal_like(index, shape, std)
        yield name, np.ascontiguousarray(arr, dtype=F32), None


def make(name, spec, vocab_reader, out):
    n_vocab = len(vocab_reader.fields["tokenizer.ggml.tokens"].data)
    arch = spec["arch"]
    hd = spec["dim"] // spec["heads"]
    params = []

    def metadata(w):
        w.add_name(name)
        w.add_string("general.description", "random weights for engine tests (scripts/make-synthetic-models.py)")
        w.add_uint32(f"{arch}.context_length", spec["ctx"])
        w.add_uint32(f"{arch}.embedding_length", spec["dim"])
        w.add_uint32(f"{arch}.block_count", spec["layers"])
        w.add_uint32(f"{arch}.feed_forward_length", spec["ffn"])
        w.add_uint32(f"{arch}.attention.head_count", spec["heads"])
        w.add_uint32(f"{arch}.attention.head_count_kv", spec["kv_heads"])
        w.add_float32(f"{arch}.rope.freq_base", spec["rope_base"])
        w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", spec["eps"])
        w.add_uint32(f"{arch}.rope.dimension_count", hd)
        w.add_uint32(f"{arch}.vocab_size", n_vocab)
        w.add_uint32("general.file_type", 0)  # LLAMA_FTYPE_ALL_F32
        for key in VOCAB_KEYS:
            w.add_key_value(key, *gguf_io.field_value(vocab_reader.fields[key]))
            if key == "tokenizer.ggml.model":
                w.add_string("tokenizer.ggml.pre", spec["pre"])
        w.add_uint32("tokenizer.ggml.bos_token_id", spec["bos"])
        w.add_bool("tokenizer.ggml.add_bos_token", spec["add_bos"])
        w.add_bool("tokenizer.ggml.add_eos_token", False)

    items = list(tensors(spec, n_vocab))
    params = sum(a.size for _, a, _ in items)
    gguf_io.write_gguf(out, arch, metadata, items)
    return params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="rewrite even when up to date")
    args = ap.parse_args()
    src = gguf_io.source_model()
    here = Path(__file__).resolve().parent
    newest_input = max(os.path.getmtime(p) for p in [Path(__file__), here / "modeltools" / "gguf_io.py", src])
    reader = None
    for name, spec in MODELS.items():
        out = gguf_io.model_dir() / f"{name}.gguf"
        if args.force or not out.is_file() or os.path.getmtime(out) < newest_input:
            reader = reader or gguf.GGUFReader(str(src))
            n = make(name, spec, reader, out)
            print(f"# {out.name}: {n / 1e6:.2f} M parameters", file=sys.stderr)
        print(f"{gguf_io.sha256(out)}  {out}", flush=True)


if __name__ == "__main__":
    main()
