#!/usr/bin/env python3
"""Time llama.cpp (through llama-cpp-python's low-level ctypes API) on a GGUF
file, with the same definitions ShardEngineBenchmark uses for our engine.

    python3 llama_cpp_bench.py --model PATH --threads 2 [--prefill-tokens 128]
        [--decode-tokens 64] [--batch 8] [--repeats 3]

Only llama_decode (+ llama_synchronize) is inside the timed regions: no
sampling, no detokenization, batches are filled before the clock starts.
Tokens come from a fixed 64-bit LCG (same seed every run), ids in
3..n_vocab-1: table[s][p] is the token of sequence s at position p.

  prefill_tok_s        one llama_decode of P tokens (seq 0, positions 0..P-1,
                       logits only for the last) -> P / seconds.
  decode_tok_s_batch1  after an untimed 16-token prefill of seq 0, D steps of
                       llama_decode with 1 token each (logits on)
                       -> D / seconds.
  decode_tok_s_batch8  B sequences each prefilled with 16 tokens (one untimed
                       batch call), then D steps each carrying B tokens (one
                       per sequence, positions 16..16+D-1, logits on for all)
                       -> B*D / seconds.

Each figure is the best of --repeats; the KV cache (llama memory) is cleared
before every repeat. Context: n_threads = n_threads_batch = --threads,
n_batch = n_ubatch >= every batch submitted, n_seq_max = --batch, KV cache F32
(falls back to F16 if llama.cpp refuses F32; the "kv_type" field says which),
flash attention off, mmap without mlock, llama.cpp logging silenced.

stdout: one line of JSON. stderr: llama.cpp's system info (AVX2 or not) and
the configuration used.
"""
import argparse
import ctypes
import json
import os
import sys
import time

DECODE_PREFILL = 16  # tokens per sequence before the decode measurements
TOKEN_SEED = 0x5EED_1234_ABCD_0001


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def token_table(n_seqs, n_pos, n_vocab, seed=TOKEN_SEED):
    """table[s][p]: PCG-style 64-bit LCG, high bits, mapped into 3..n_vocab-1."""
    mask = (1 << 64) - 1
    x = seed & mask
    span = n_vocab - 3
    table = []
    for _ in range(n_seqs):
        row = []
        for _ in range(n_pos):
            x = (x * 6364136223846793005 + 1442695040888963407) & mask
            row.append(3 + (x >> 33) % span)
        table.append(row)
    return table


def has_field(struct, name):
    return any(f[0] == name for f in type(struct)._fields_)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prefill-tokens", type=int, default=128)
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    P, D, B, R = args.prefill_tokens, args.decode_tokens, args.batch, args.repeats
    if min(P, D, B, R, args.threads) < 1:
        sys.exit("all counts must be >= 1")
    if not os.path.isfile(args.model):
        sys.exit(f"no such model file: {args.model}")

    import llama_cpp as L

    # Silence llama.cpp/ggml logging (keep a reference so the callback lives).
    global _noop_log
    _noop_log = L.llama_log_callback(lambda level, text, user: None)
    L.llama_log_set(_noop_log, ctypes.c_void_p())
    L.llama_backend_init()

    sysinfo = L.llama_print_system_info().decode("utf-8", "replace").strip()
    avx2 = "AVX2 = 1" in sysinfo
    log(f"llama.cpp system info: {sysinfo}")
    log(f"llama.cpp CPU backend AVX2: {'yes' if avx2 else 'NO (build without AVX2: unfair comparison)'}")

    # ---- model -------------------------------------------------------------
    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    if has_field(mp, "load_mode"):          # newer llama.cpp: enum llama_load_mode
        mp.load_mode = L.LLAMA_LOAD_MODE_MMAP
    else:
        if has_field(mp, "use_mmap"):
            mp.use_mmap = True
        if has_field(mp, "use_mlock"):
            mp.use_mlock = False
    load = getattr(L, "llama_model_load_from_file", None) or L.llama_load_model_from_file
    model = load(args.model.encode(), mp)
    if not model:
        sys.exit(f"llama.cpp could not load {args.model}")
    if hasattr(L, "llama_model_get_vocab"):
        n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    else:
        n_vocab = L.llama_n_vocab(model)

    # ---- context -----------------------------------------------------------
    per_seq = max(P, DECODE_PREFILL + D)
    n_batch = max(P, B * DECODE_PREFILL, B)

    def make_ctx(kv_type):
        cp = L.llama_context_default_params()
        # Non-unified KV: each sequence gets n_ctx / n_seq_max cells.
        cp.n_ctx = B * ((per_seq + 255) // 256 * 256)
        cp.n_batch = n_batch
        cp.n_ubatch = n_batch       # the prefill is one ubatch / one graph
        cp.n_seq_max = B
        cp.n_threads = args.threads
        cp.n_threads_batch = args.threads
        cp.type_k = kv_type
        cp.type_v = kv_type
        if has_field(cp, "flash_attn_type"):
            cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
        elif has_field(cp, "flash_attn"):
            cp.flash_attn = False
        if has_field(cp, "no_perf"):
            cp.no_perf = True
        if has_field(cp, "offload_kqv"):
            cp.offload_kqv = False
        init = getattr(L, "llama_init_from_model", None) or L.llama_new_context_with_model
        return init(model, cp), cp

    kv_type = "f32"
    ctx, cp = make_ctx(L.GGML_TYPE_F32)
    if not ctx:
        log("llama.cpp refused an F32 KV cache; using F16")
        kv_type = "f16"
        ctx, cp = make_ctx(L.GGML_TYPE_F16)
    if not ctx:
        sys.exit("llama.cpp could not create a context")
    log(f"config: model={os.path.basename(args.model)} n_vocab={n_vocab} threads={args.threads} "
        f"n_ctx={cp.n_ctx} n_batch=n_ubatch={n_batch} n_seq_max={B} kv={kv_type} "
        f"flash_attn=off prefill={P} decode={D} batch={B} repeats={R}")

    if hasattr(L, "llama_get_memory"):
        mem = L.llama_get_memory(ctx)

        def clear():
            L.llama_memory_clear(mem, True)
    elif hasattr(L, "llama_kv_self_clear"):
        def clear():
            L.llama_kv_self_clear(ctx)
    else:
        def clear():
            L.llama_kv_cache_clear(ctx)

    table = token_table(B, max(P, DECODE_PREFILL + D), n_vocab)
    allocated = []

    def make_batch(entries):
        """entries: list of (token, pos, seq, logits) -> filled llama_batch."""
        b = L.llama_batch_init(len(entries), 0, 1)
        allocated.append(b)
        for i, (tok, pos, seq, want) in enumerate(entries):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = 1 if want else 0
        b.n_tokens = len(entries)
        return b

    def decode(b):
        rc = L.llama_decode(ctx, b)
        if rc != 0:
            sys.exit(f"llama_decode failed with {rc}")

    def timed(batches):
        t0 = time.perf_counter()
        for b in batches:
            decode(b)
        L.llama_synchronize(ctx)
        return time.perf_counter() - t0

    # prefill: P tokens of sequence 0, logits for the last only.
    prefill_batch = make_batch([(table[0][p], p, 0, p == P - 1) for p in range(P)])
    # batch 1: 16-token prefill, then D single-token steps.
    b1_prefill = make_batch([(table[0][p], p, 0, p == DECODE_PREFILL - 1)
                             for p in range(DECODE_PREFILL)])
    b1_steps = [make_batch([(table[0][p], p, 0, True)])
                for p in range(DECODE_PREFILL, DECODE_PREFILL + D)]
    # batch B: B sequences x 16 tokens in one call, then D steps of B tokens.
    bB_prefill = make_batch([(table[s][p], p, s, p == DECODE_PREFILL - 1)
                             for s in range(B) for p in range(DECODE_PREFILL)])
    bB_steps = [make_batch([(table[s][p], p, s, True) for s in range(B)])
                for p in range(DECODE_PREFILL, DECODE_PREFILL + D)]

    best = {"prefill": float("inf"), "b1": float("inf"), "bB": float("inf")}
    for r in range(R):
        clear()
        t = timed([prefill_batch])
        best["prefill"] = min(best["prefill"], t)

        clear()
        decode(b1_prefill)
        t = timed(b1_steps)
        best["b1"] = min(best["b1"], t)

        clear()
        decode(bB_prefill)
        t = timed(bB_steps)
        best["bB"] = min(best["bB"], t)
        log(f"repeat {r + 1}/{R}: prefill {P / best['prefill']:.1f} tok/s, "
            f"decode b1 {D / best['b1']:.1f} tok/s, decode b{B} {B * D / best['bB']:.1f} tok/s (best so far)")

    for b in allocated:
        L.llama_batch_free(b)
    L.llama_free(ctx)
    (getattr(L, "llama_model_free", None) or L.llama_free_model)(model)

    out = {
        "engine": "llama.cpp",
        "version": getattr(L, "__version__", "unknown"),
        "model": os.path.basename(args.model),
        "threads": args.threads,
        "kv_type": kv_type,
        "avx2": avx2,
        "prefill_tokens": P,
        "decode_tokens": D,
        "batch": B,
        "repeats": R,
        "prefill_tok_s": round(P / best["prefill"], 2),
        "decode_tok_s_batch1": round(D / best["b1"], 2),
        f"decode_tok_s_batch{B}": round(B * D / best["bB"], 2),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
