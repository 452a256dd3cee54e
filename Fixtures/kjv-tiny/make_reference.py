#!/usr/bin/env python3
"""Record llama.cpp reference outputs for the kjv-tiny GGUFs.

For each prompt: llama.cpp's tokenization (with BOS), the top-10 logits after
the prompt, and 64 greedy tokens (pure argmax over raw logits, no sampler, no
repeat penalty, NOT stopping at EOS).
Usage: ../../.venv-bench/bin/python make_reference.py
Writes reference/llama-cpp-f32.json and reference/llama-cpp-q8_0.json.
"""
import hashlib, json, os
import numpy as np
import llama_cpp

PROMPTS = [
    "In the beginning God created",
    "And the LORD said unto Moses,",
    "Blessed are the",
    "The LORD is my shepherd;",
    "For God so loved the world, that he gave",
    "  Double  spaces and trailing space ",
    "Amen.\nAnd",
    "Und Gott sprach: Es werde Licht \u2014 \u5149 \U0001F64F caf\u00e9",
]
N_GEN, N_CTX, N_THREADS = 64, 256, 2


def last_logits(llm):
    # llama-cpp-python's eval() no longer copies logits unless logits_all, so
    # read the last token's raw logits straight from the llama.cpp context.
    ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float32)


def run_case(llm, prompt):
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
    llm.reset()
    llm.eval(ids)
    logits = last_logits(llm)
    top = np.argsort(-logits, kind="stable")[:10]
    top10 = [{"token_id": int(t), "logit": float(logits[t])} for t in top]
    out = []
    for _ in range(N_GEN):
        tok = int(np.argmax(logits))
        out.append(tok)
        llm.eval([tok])
        logits = last_logits(llm)
    return {"prompt": prompt, "prompt_token_ids": list(ids), "greedy_token_ids": out,
            "greedy_text": llm.detokenize(out).decode("utf-8", errors="replace"),
            "first_step_top10": top10}


def main():
    os.makedirs("reference", exist_ok=True)
    for tag in ["f32", "q8_0"]:
        model = f"model-{tag}.gguf"
        # F32 KV cache (llama.cpp defaults to F16) so the reference reflects the model, not cache rounding.
        llm = llama_cpp.Llama(model_path=model, n_ctx=N_CTX, n_threads=N_THREADS,
                              n_threads_batch=N_THREADS, n_batch=N_CTX, verbose=False,
                              type_k=0, type_v=0, flash_attn=False)
        ref = {"generator": f"llama-cpp-python {llama_cpp.__version__}", "model": model,
               "model_sha256": hashlib.sha256(open(model, "rb").read()).hexdigest(),
               "n_ctx": N_CTX, "n_threads": N_THREADS, "repeat_penalty": 1.0, "kv_cache": "f32",
               "cases": [run_case(llm, p) for p in PROMPTS]}
        with open(f"reference/llama-cpp-{tag}.json", "w", encoding="utf-8") as f:
            json.dump(ref, f, indent=1, ensure_ascii=False)
            f.write("\n")
        for c in ref["cases"]:
            print(f"[{tag}] {c['prompt']!r} -> {c['greedy_text']!r}")


if __name__ == "__main__":
    main()
