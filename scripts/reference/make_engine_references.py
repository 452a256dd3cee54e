#!/usr/bin/env python3
"""Record what llama.cpp (llama-cpp-python 0.3.36) produces on the real and generated models, as the
references the engine's correctness tests compare with: Fixtures/reference/generation-<name>.json.

Per model: for each prompt (plain ones and chat-formatted ones) the exact prompt text, its token
ids, up to 32 greedy token ids (argmax of the raw logits, no repeat penalty, stopping only at an
end-of-generation token) with their text and top-1/top-2 margins, and the first-step top-10 logits; the
same greedy run with the prompt evaluated one token at a time ("stepwise": llama.cpp's single-token kernels at
every position, which its batched prompt does not use); plus, for models with a chat template, one full
create_chat_completion run (greedy, max_tokens 32).
The format is described in Fixtures/reference/README.md; Tests/ShardTestSupport/GenerationReference.swift
decodes it.

Tokenization is create_completion's: plain prompts with add_bos as the model's metadata says
(llama_tokenize add_special) and special tokens parsed; chat prompts as create_chat_completion's
Jinja2 chat handler renders and tokenizes them (special tokens parsed, no BOS added: the template
writes it). Gemma 3 270M's file has no chat template; its chat cases use the official Gemma 3 template
text (GEMMA3_TEMPLATE below, from google/gemma-3 tokenizer_config.json), recorded in the JSON.

Settings as Fixtures/kjv-tiny/make_reference.py: n_ctx 512, 2 threads, F32 KV cache (llama.cpp
defaults to F16) so the reference reflects the model, not cache rounding; flash attention off.

Usage: "$(scripts/llama-venv.sh)" scripts/reference/make_engine_references.py [NAME ...]
       (default: every model; `make models` first). Run from anywhere; writes into the checkout.
"""
import argparse
import ctypes
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import llama_cpp
from llama_cpp import llama_chat_format

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from modeltools import gguf_io  # noqa: E402

OUT_DIR = REPO / "Fixtures" / "reference"
N_CTX, N_BATCH, N_THREADS, N_GEN = 512, 512, 2, 32

VARIANTS = "\"$(scripts/model-tools-venv.sh)\" scripts/make-model-variants.py"
SYNTHETIC = "\"$(scripts/model-tools-venv.sh)\" scripts/make-synthetic-models.py"
SMOL = "SmolLM2-135M-Instruct"
# name -> (model file, the command that fetches or makes it)
MODELS = {
    "smollm2-q4_1": (f"{SMOL}.Q4_1.gguf", "scripts/fetch-models.sh smollm2"),
    "smollm2-q4_k_m": (f"{SMOL}.Q4_K_M.gguf", f"{VARIANTS} Q4_K_M"),
    "smollm2-q8_0": (f"{SMOL}.Q8_0.gguf", f"{VARIANTS} Q8_0"),
    "gemma3-270m-q4_k_m": ("gemma-3-270m-q4_k_m.gguf", "scripts/fetch-models.sh gemma3"),
    "synthetic-qwen2": ("synthetic-qwen2.gguf", SYNTHETIC),
    "synthetic-llama3-rope-freqs": ("synthetic-llama3-rope-freqs.gguf", SYNTHETIC),
    "smollm2-q4_0": (f"{SMOL}.Q4_0.gguf", f"{VARIANTS} Q4_0"),
    "smollm2-q5_0": (f"{SMOL}.Q5_0.gguf", f"{VARIANTS} Q5_0"),
    "smollm2-q5_1": (f"{SMOL}.Q5_1.gguf", f"{VARIANTS} Q5_1"),
    "smollm2-q2_k": (f"{SMOL}.Q2_K.gguf", f"{VARIANTS} Q2_K"),
    "smollm2-q3_k": (f"{SMOL}.Q3_K.gguf", f"{VARIANTS} Q3_K"),
    "smollm2-q5_k": (f"{SMOL}.Q5_K.gguf", f"{VARIANTS} Q5_K"),
    "smollm2-q6_k": (f"{SMOL}.Q6_K.gguf", f"{VARIANTS} Q6_K"),
}

TEXT_PROMPTS = [
    ("capital", "The capital of France is"),
    ("story", "Once upon a time, in a small village by the sea, there lived"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("list", "Here are three tips for staying healthy:\n1."),
    ("unicode", "Gr\u00fc\u00dfe aus K\u00f6ln! \u00c7a va? \u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3059\u3002"
                "\U0001F642 12345 + 678 ="),
    ("whitespace", "  Leading spaces,\ttabs and\n\nblank lines   "),
]
CHAT_PROMPTS = [
    ("chat-question", [{"role": "user", "content": "What is the tallest mountain in the world?"}]),
    ("chat-system", [{"role": "system", "content": "You are a concise assistant. Answer in one sentence."},
                     {"role": "user", "content": "Why is the sky blue?"}]),
]
CHAT_COMPLETION_MESSAGES = [{"role": "user", "content": "Tell me a short fun fact about octopuses."}]

# The official Gemma 3 chat template (tokenizer_config.json of google/gemma-3-*-it), not in the GGUF.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\n'}}\n"
    "{%- endif -%}\n"
)
GEMMA3_TEMPLATE_SOURCE = ("official Gemma 3 chat template (google/gemma-3 tokenizer_config.json); "
                          "the GGUF file has none")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def last_logits(llm):
    # eval() does not keep logits unless logits_all, so read the last row straight from the context.
    ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float32)


def vocab_of(llm):
    return llama_cpp.llama_model_get_vocab(llm._model.model)


def token_text(llm, token):
    return llm._model.token_get_text(token)


def chat_formatter(llm, template):
    """The formatter Llama.__init__ builds from tokenizer.chat_template (same tokens, same stop id)."""
    vocab = vocab_of(llm)
    eos, bos = llama_cpp.llama_vocab_eos(vocab), llama_cpp.llama_vocab_bos(vocab)
    return llama_chat_format.Jinja2ChatFormatter(
        template=template, eos_token=token_text(llm, eos) if eos != -1 else "",
        bos_token=token_text(llm, bos) if bos != -1 else "", stop_token_ids=[eos])


def greedy(llm, ids, eog, stepwise=False):
    """Greedy decoding after the prompt: evaluated as one batch (as create_completion does), or with `stepwise` one
    token at a time, so that every position goes through llama.cpp's single-token (decode) path."""
    llm.reset()
    for batch in ([[t] for t in ids] if stepwise else [ids]):
        llm.eval(batch)
    logits = last_logits(llm)
    top = np.argsort(-logits, kind="stable")[:10]
    top10 = [{"token_id": int(t), "logit": float(logits[t])} for t in top]
    out, margins, reason = [], [], "length"
    for _ in range(N_GEN):
        best2 = np.partition(logits, -2)[-2:]
        margins.append(float(best2[1] - best2[0]))
        tok = int(np.argmax(logits))
        out.append(tok)
        if tok in eog:
            reason = "eog"
            break
        llm.eval([tok])
        logits = last_logits(llm)
    text = llm.detokenize(out).decode("utf-8", errors="replace")
    return out, text, reason, margins, top10


def record_chat_completion(llm, messages):
    """create_chat_completion, greedy, with Llama.generate wrapped to record the prompt and sampled ids."""
    seen = {"prompt": None, "tokens": []}
    original = llm.generate

    def generate(tokens, *args, **kwargs):
        seen["prompt"] = list(tokens)
        for t in original(tokens, *args, **kwargs):
            seen["tokens"].append(int(t))
            yield t

    llm.generate = generate
    try:
        llm.reset()
        result = llm.create_chat_completion(messages=messages, max_tokens=N_GEN, temperature=0.0,
                                            repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0,
                                            seed=0)
    finally:
        del llm.generate
    choice = result["choices"][0]
    return seen["prompt"], seen["tokens"], choice["message"]["content"], choice["finish_reason"]


def make_reference(name):
    file_name, command = MODELS[name]
    path = gguf_io.model_dir() / file_name
    if not path.is_file():
        sys.exit(f"error: {path} is missing; make it with: {command}  (or: make models)")
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_batch=N_BATCH, n_threads=N_THREADS,
                          n_threads_batch=N_THREADS, type_k=0, type_v=0, flash_attn=False, verbose=False)
    vocab = vocab_of(llm)
    n_vocab = llm.n_vocab()
    eog = {t for t in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, t)}
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
    meta = llm.metadata

    template_text = meta.get("tokenizer.chat_template")
    template = None
    if template_text is not None:
        template = {"source": "gguf tokenizer.chat_template", "text": template_text}
    elif meta.get("general.architecture") == "gemma3":
        template = {"source": GEMMA3_TEMPLATE_SOURCE, "text": GEMMA3_TEMPLATE}
        llm.chat_handler = chat_formatter(llm, GEMMA3_TEMPLATE).to_chat_handler()

    cases = []
    for case_name, prompt in TEXT_PROMPTS:
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        cases.append(case(llm, case_name, "text", None, prompt, ids, eog))
    if template is not None:
        formatter = chat_formatter(llm, template["text"])
        for case_name, messages in CHAT_PROMPTS:
            rendered = formatter(messages=messages)
            ids = llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
            cases.append(case(llm, case_name, "chat", messages, rendered.prompt, ids, eog))

    chat_completion = None
    if template is not None:
        rendered = chat_formatter(llm, template["text"])(messages=CHAT_COMPLETION_MESSAGES)
        prompt_ids, reply_ids, reply_text, finish = record_chat_completion(llm, CHAT_COMPLETION_MESSAGES)
        chat_completion = {"messages": CHAT_COMPLETION_MESSAGES, "prompt": rendered.prompt,
                           "prompt_token_ids": prompt_ids, "reply_text": reply_text,
                           "reply_token_ids": reply_ids, "finish_reason": finish,
                           "max_tokens": N_GEN, "temperature": 0.0}

    return {
        "format": "shard.generation-reference.v1",
        "generator": f"llama-cpp-python {llama_cpp.__version__}",
        "script": "scripts/reference/make_engine_references.py",
        "name": name,
        "model": file_name,
        "model_sha256": sha256(path),
        "model_command": command,
        "architecture": meta.get("general.architecture"),
        "n_vocab": n_vocab,
        "add_bos": add_bos,
        "bos_token_id": int(llama_cpp.llama_vocab_bos(vocab)),
        "eog_token_ids": sorted(eog),
        "settings": {"n_ctx": N_CTX, "n_batch": N_BATCH, "n_threads": N_THREADS, "kv_cache": "f32",
                     "flash_attn": False, "temperature": 0.0, "repeat_penalty": 1.0, "max_new_tokens": N_GEN},
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip(),
        "chat_template": template,
        "cases": cases,
        "chat_completion": chat_completion,
    }


def case(llm, name, kind, messages, prompt, ids, eog):
    out, text, reason, margins, top10 = greedy(llm, ids, eog)
    step_out, _, _, step_margins, step_top10 = greedy(llm, ids, eog, stepwise=True)
    return {"name": name, "kind": kind, "messages": messages, "prompt": prompt, "prompt_token_ids": list(ids),
            "greedy_token_ids": out, "greedy_text": text, "stop_reason": reason, "greedy_margins": margins,
            "first_step_top10": top10,
            "stepwise": {"greedy_token_ids": step_out, "greedy_margins": step_margins, "first_step_top10": step_top10}}


def dumps(obj):
    """Indented JSON with arrays of numbers on one line (readable diffs, modest size)."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s*([-0-9.e, \n]+?)\s*\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)) + "]", text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=" ".join(MODELS))
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model {unknown[0]}; known: {' '.join(MODELS)}")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(MODELS):
        ref = make_reference(name)
        out = OUT_DIR / f"generation-{name}.json"
        out.write_text(dumps(ref) + "\n", encoding="utf-8")
        print(f"{out.relative_to(REPO)}: {ref['model']} {ref['model_sha256'][:16]}", flush=True)
        for c in ref["cases"]:
            print(f"  [{c['name']}] {len(c['prompt_token_ids'])} ids -> {c['greedy_text']!r} ({c['stop_reason']}, "
                  f"min margin {min(c['greedy_margins']):.4f})", flush=True)
        if ref["chat_completion"]:
            cc = ref["chat_completion"]
            print(f"  [chat_completion] -> {cc['reply_text']!r} ({cc['finish_reason']})", flush=True)


if __name__ == "__main__":
    main()
