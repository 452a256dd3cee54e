#!/usr/bin/env python3
"""Export checkpoint.pt + tokenizer.model to llama.cpp GGUF files:
model-f32.gguf (all F32) and model-q8_0.gguf (2-D weights Q8_0, norms F32).

Q/K weights are written unpermuted: training already uses llama.cpp's
adjacent-pair ("normal") RoPE. No output.weight: llama.cpp ties the output
to token_embd when it is absent.
Usage: python3 export_gguf.py
"""
import numpy as np
import sentencepiece as spm
import torch
import gguf
from gguf import GGMLQuantizationType as QT


def tokenizer_vocab(path="tokenizer.model"):
    # No user_defined_symbols were trained, so the SentencePiece types that
    # occur are normal(1), unknown(2), control(3), unused(5) and byte(6).
    sp = spm.SentencePieceProcessor(model_file=path)
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else
                     5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1)
    return sp, tokens, scores, types


def tensors(state, n_layers):
    yield "token_embd.weight", state["tok_emb.weight"]
    names = {"attn_norm": "attn_norm", "attn_q": "wq", "attn_k": "wk", "attn_v": "wv",
             "attn_output": "wo", "ffn_norm": "ffn_norm", "ffn_gate": "w_gate",
             "ffn_up": "w_up", "ffn_down": "w_down"}
    for i in range(n_layers):
        for gg, pt in names.items():
            yield f"blk.{i}.{gg}.weight", state[f"layers.{i}.{pt}.weight"]
    yield "output_norm.weight", state["norm.weight"]


def write(path, ckpt, vocab, qtype):
    c = ckpt["config"]
    sp, toks, scores, types = vocab
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("kjv-tiny")
    w.add_context_length(c["seq_len"])
    w.add_embedding_length(c["dim"])
    w.add_block_count(c["n_layers"])
    w.add_feed_forward_length(c["ffn_dim"])
    w.add_head_count(c["n_heads"])
    w.add_head_count_kv(c["n_kv_heads"])
    w.add_rope_dimension_count(c["dim"] // c["n_heads"])
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["norm_eps"])
    w.add_vocab_size(c["vocab_size"])
    w.add_file_type(0 if qtype == QT.F32 else 7)  # LLAMA_FTYPE_ALL_F32 / MOSTLY_Q8_0
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    for name, t in tensors(ckpt["model"], c["n_layers"]):
        a = t.detach().float().numpy()  # nn.Linear layout [out, in] == GGUF ne {in, out}
        if a.ndim == 2 and qtype == QT.Q8_0:
            w.add_tensor(name, gguf.quants.quantize(a, QT.Q8_0), raw_dtype=QT.Q8_0)
        else:
            w.add_tensor(name, np.ascontiguousarray(a, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", path)


if __name__ == "__main__":
    ckpt = torch.load("checkpoint.pt", map_location="cpu")
    vocab = tokenizer_vocab()
    write("model-f32.gguf", ckpt, vocab, QT.F32)
    write("model-q8_0.gguf", ckpt, vocab, QT.Q8_0)
