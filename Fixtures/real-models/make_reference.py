#!/usr/bin/env python3
"""Record llama.cpp reference outputs for the real quantized model that scripts/fetch-models.sh fetches
(SmolLM2-135M-Instruct Q4_1: Q4_1 blocks, Q8_0 embedding), for QuantizedModelFileTests.

For each prompt: llama.cpp's tokenization, the top-10 logits after the prompt, and 16 greedy tokens (argmax over
raw logits, F32 KV cache). The model itself is not committed; the test runs only where it has been fetched.
Usage: <venv with llama-cpp-python>/bin/python make_reference.py [model directory]
Writes llama-cpp-smollm2-q4_1.json next to this script.
"""
import hashlib, json, os, sys
import numpy as np
import llama_cpp

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
]
MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_GEN, N_CTX, N_THREADS = 16, 256, 2


def last_logits(llm):
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
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/shard/models")
    path = os.path.join(directory, MODEL)
    llm = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_threads=N_THREADS, n_threads_batch=N_THREADS,
                          n_batch=N_CTX, verbose=False, type_k=0, type_v=0, flash_attn=False)
    ref = {"generator": f"llama-cpp-python {llama_cpp.__version__}", "model": MODEL,
           "model_sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
           "n_ctx": N_CTX, "n_threads": N_THREADS, "repeat_penalty": 1.0, "kv_cache": "f32",
           "cases": [run_case(llm, p) for p in PROMPTS]}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama-cpp-smollm2-q4_1.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for c in ref["cases"]:
        print(f"{c['prompt']!r} -> {c['greedy_text']!r}")


if __name__ == "__main__":
    main()
