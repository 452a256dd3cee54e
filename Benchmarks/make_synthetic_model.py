#!/usr/bin/env python3
"""Write a ~100 M-parameter random-weight Llama model (grouped-query attention)
as two GGUF files for the engine benchmark:

    OUT_DIR/synthetic-100m-f32.gguf    every tensor F32
    OUT_DIR/synthetic-100m-q8_0.gguf   2-D matrices Q8_0, 1-D norms F32

Shape: dim 1024, 9 layers, 16 heads, 4 KV heads (head dim 64), FFN 2816,
context 1024, separate (untied) output.weight. The 512-entry SentencePiece
vocabulary is copied from Fixtures/kjv-tiny/model-f32.gguf (or, if that file
does not exist yet, rebuilt from Fixtures/kjv-tiny/tokenizer.model), so the
kjv-tiny tokenizer works with these files too.

Weights are normal(0, 0.02) float32 from numpy with a fixed seed per tensor,
so both files hold the same weights and every run writes the same bytes.
Tensors are generated and written one at a time to keep memory modest.
Regeneration is skipped when both files exist and are newer than this script.

Usage: python3 make_synthetic_model.py OUT_DIR
Needs: pip install gguf numpy (sentencepiece only for the fallback vocab).
"""
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

DIM = 1024
N_LAYERS = 9
N_HEADS = 16
N_KV_HEADS = 4
HEAD_DIM = DIM // N_HEADS  # 64
FFN = 2816
CTX = 1024
SEED = 20240611
NAME = "synthetic-100m"

REPO = Path(__file__).resolve().parent.parent
FIXTURE_GGUF = REPO / "Fixtures" / "kjv-tiny" / "model-f32.gguf"
FIXTURE_SPM = REPO / "Fixtures" / "kjv-tiny" / "tokenizer.model"


def vocab_from_gguf(path):
    r = gguf.GGUFReader(str(path))

    def field(key):
        f = r.fields.get(key)
        if f is None:
            raise KeyError(f"{path}: missing {key}")
        return f

    tf = field("tokenizer.ggml.tokens")
    tokens = [bytes(tf.parts[i]) for i in tf.data]
    sf = field("tokenizer.ggml.scores")
    scores = [float(sf.parts[i][0]) for i in sf.data]
    yf = field("tokenizer.ggml.token_type")
    types = [int(yf.parts[i][0]) for i in yf.data]

    def scalar(key, default):
        f = r.fields.get(key)
        return int(f.parts[f.data[0]][0]) if f is not None else default

    ids = (scalar("tokenizer.ggml.bos_token_id", 1),
           scalar("tokenizer.ggml.eos_token_id", 2),
           scalar("tokenizer.ggml.unknown_token_id", 0))
    return tokens, scores, types, ids, f"{path.relative_to(REPO)} tokenizer.ggml.*"


def vocab_from_sentencepiece(path):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=str(path))
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(float(sp.get_score(i)))
        # normal=1 unknown=2 control=3 user_defined=4 unused=5 byte=6
        if sp.is_unknown(i):
            t = 2
        elif sp.is_control(i):
            t = 3
        elif sp.is_unused(i):
            t = 5
        elif sp.is_byte(i):
            t = 6
        else:
            t = 1
        types.append(t)
    ids = (sp.bos_id(), sp.eos_id(), sp.unk_id())
    return tokens, scores, types, ids, f"{path.relative_to(REPO)} (sentencepiece)"


def load_vocab():
    if FIXTURE_GGUF.exists():
        return vocab_from_gguf(FIXTURE_GGUF)
    if FIXTURE_SPM.exists():
        return vocab_from_sentencepiece(FIXTURE_SPM)
    sys.exit(f"no vocabulary source: neither {FIXTURE_GGUF} nor {FIXTURE_SPM} exists")


def tensor_plan(n_vocab):
    """(name, shape) in file order; shapes are numpy (out_features, in_features)."""
    kv = N_KV_HEADS * HEAD_DIM
    plan = [("token_embd.weight", (n_vocab, DIM))]
    for i in range(N_LAYERS):
        plan += [
            (f"blk.{i}.attn_norm.weight", (DIM,)),
            (f"blk.{i}.attn_q.weight", (N_HEADS * HEAD_DIM, DIM)),
            (f"blk.{i}.attn_k.weight", (kv, DIM)),
            (f"blk.{i}.attn_v.weight", (kv, DIM)),
            (f"blk.{i}.attn_output.weight", (DIM, N_HEADS * HEAD_DIM)),
            (f"blk.{i}.ffn_norm.weight", (DIM,)),
            (f"blk.{i}.ffn_gate.weight", (FFN, DIM)),
            (f"blk.{i}.ffn_up.weight", (FFN, DIM)),
            (f"blk.{i}.ffn_down.weight", (DIM, FFN)),
        ]
    plan += [("output_norm.weight", (DIM,)), ("output.weight", (n_vocab, DIM))]
    return plan


def make_tensor(index, shape):
    if len(shape) == 1:
        return np.ones(shape, dtype=np.float32)
    rng = np.random.default_rng([SEED, index])
    return rng.normal(0.0, 0.02, size=shape).astype(np.float32)


def q8_0_nbytes(shape):
    rows, cols = shape
    block, type_size = gguf.GGML_QUANT_SIZES[QT.Q8_0]  # (32, 34)
    assert cols % block == 0, f"row length {cols} not a multiple of {block}"
    return rows, cols // block * type_size


def open_writer(path, vocab, plan, quantized):
    tokens, scores, types, (bos, eos, unk), _ = vocab
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(NAME + ("-q8_0" if quantized else "-f32"))
    w.add_context_length(CTX)
    w.add_embedding_length(DIM)
    w.add_block_count(N_LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(N_HEADS)
    w.add_head_count_kv(N_KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_file_type(7 if quantized else 0)  # LLAMA_FTYPE_MOSTLY_Q8_0 / ALL_F32
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_unk_token_id(unk)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    for name, shape in plan:
        if quantized and len(shape) == 2:
            byte_shape = q8_0_nbytes(shape)
            w.add_tensor_info(name, byte_shape, np.dtype(np.uint8),
                              byte_shape[0] * byte_shape[1], raw_dtype=QT.Q8_0)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    return w


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    f32_path = out / f"{NAME}-f32.gguf"
    q8_path = out / f"{NAME}-q8_0.gguf"

    script_mtime = os.path.getmtime(__file__)
    if all(p.exists() and p.stat().st_size > 0 and os.path.getmtime(p) > script_mtime
           for p in (f32_path, q8_path)):
        print(f"{f32_path} and {q8_path} are up to date")
        return

    vocab = load_vocab()
    n_vocab = len(vocab[0])
    plan = tensor_plan(n_vocab)
    n_params = sum(int(np.prod(s)) for _, s in plan)
    print(f"vocabulary: {n_vocab} tokens from {vocab[4]}")
    print(f"parameters: {n_params:,} ({n_params / 1e6:.1f} M; "
          f"dim {DIM}, {N_LAYERS} layers, {N_HEADS} heads, {N_KV_HEADS} KV heads, "
          f"ffn {FFN}, ctx {CTX}, untied output)", flush=True)

    # Write to temporary names so an interrupted run never looks up to date.
    tmp_f32 = f32_path.with_suffix(".gguf.tmp")
    tmp_q8 = q8_path.with_suffix(".gguf.tmp")
    w32 = open_writer(tmp_f32, vocab, plan, quantized=False)
    w8 = open_writer(tmp_q8, vocab, plan, quantized=True)
    for index, (name, shape) in enumerate(plan):
        a = make_tensor(index, shape)
        w32.write_tensor_data(a)
        if a.ndim == 2:
            w8.write_tensor_data(gguf.quants.quantize(a, QT.Q8_0))
        else:
            w8.write_tensor_data(a)
        del a
    for w in (w32, w8):
        w.close()
    os.replace(tmp_f32, f32_path)
    os.replace(tmp_q8, q8_path)
    for p in (f32_path, q8_path):
        print(f"wrote {p} ({p.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
