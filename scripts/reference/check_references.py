#!/usr/bin/env python3
"""Check Fixtures/reference/generation-*.json: complete, consistent, and recorded from the files in the model cache.

Without llama.cpp (any python3): every field present; >= 6 cases with 2 chat cases where there is a chat template;
greedy lengths and stop reasons agree with eog_token_ids; top-10 sorted; the model file's SHA-256 matches.
With --llama (run with the llama venv): also loads each model in llama.cpp, re-tokenizes every prompt, and replays
the chat completion's prompt greedily to confirm that create_chat_completion's reply is plain greedy decoding.

Usage: python3 scripts/reference/check_references.py [--llama] [NAME ...]
Exit status 1 if any check fails.
"""
import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from modeltools.gguf_io import model_dir  # noqa: E402

TOP = ["format", "generator", "script", "name", "model", "model_sha256", "model_command", "architecture", "n_vocab",
       "add_bos", "bos_token_id", "eog_token_ids", "settings", "chat_template", "cases", "chat_completion"]
CASE = ["name", "kind", "messages", "prompt", "prompt_token_ids", "greedy_token_ids", "greedy_text", "stop_reason",
        "greedy_margins", "first_step_top10", "stepwise"]
CHAT = ["messages", "prompt", "prompt_token_ids", "reply_text", "reply_token_ids", "finish_reason", "max_tokens",
        "temperature"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def check(ref, problems):
    def need(cond, msg):
        if not cond:
            problems.append(f"{ref.get('name')}: {msg}")

    for k in TOP:
        need(k in ref, f"missing {k}")
    eog = set(ref["eog_token_ids"])
    n_gen = ref["settings"]["max_new_tokens"]
    kinds = [c["kind"] for c in ref["cases"]]
    need(kinds.count("text") >= 6, "fewer than 6 text cases")
    if ref["chat_template"] is not None:
        need(kinds.count("chat") >= 2, "fewer than 2 chat cases")
        need(ref["chat_completion"] is not None, "no chat completion")
    for c in ref["cases"]:
        for k in CASE:
            need(k in c, f"{c.get('name')}: missing {k}")
        ids = c["greedy_token_ids"]
        if c["stop_reason"] == "eog":
            need(ids and ids[-1] in eog and not eog & set(ids[:-1]), f"{c['name']}: eog stop inconsistent")
        else:
            need(len(ids) == n_gen and not eog & set(ids), f"{c['name']}: length stop inconsistent")
        need(len(c["greedy_margins"]) == len(ids), f"{c['name']}: margins")
        logits = [t["logit"] for t in c["first_step_top10"]]
        need(len(logits) == 10 and logits == sorted(logits, reverse=True), f"{c['name']}: top10 not sorted")
        need(c["first_step_top10"][0]["token_id"] == ids[0], f"{c['name']}: first greedy id is not the top logit")
        step = c["stepwise"]
        step_ids = step["greedy_token_ids"]
        need(0 < len(step_ids) <= n_gen and len(step["greedy_margins"]) == len(step_ids)
             and not eog & set(step_ids[:-1]), f"{c['name']}: stepwise run inconsistent")
        step_logits = [t["logit"] for t in step["first_step_top10"]]
        need(len(step_logits) == 10 and step_logits == sorted(step_logits, reverse=True)
             and step["first_step_top10"][0]["token_id"] == step_ids[0], f"{c['name']}: stepwise top10")
        need((c["messages"] is None) == (c["kind"] == "text"), f"{c['name']}: messages vs kind")
        if ref["add_bos"] and c["kind"] == "text":
            need(c["prompt_token_ids"][0] == ref["bos_token_id"], f"{c['name']}: no BOS")
    cc = ref["chat_completion"]
    if cc is not None:
        for k in CHAT:
            need(k in cc, f"chat_completion: missing {k}")
        need(len(cc["reply_token_ids"]) <= cc["max_tokens"], "chat_completion: too many ids")
    path = model_dir() / ref["model"]
    if path.is_file():
        need(sha256(path) == ref["model_sha256"], f"{path} does not have the recorded SHA-256")
    else:
        problems.append(f"{ref['name']}: {path} missing (make it with: {ref['model_command']})")


def check_with_llama(ref, problems):
    import numpy as np
    import llama_cpp
    s = ref["settings"]
    llm = llama_cpp.Llama(model_path=str(model_dir() / ref["model"]), n_ctx=s["n_ctx"], n_batch=s["n_batch"],
                          n_threads=s["n_threads"], n_threads_batch=s["n_threads"], type_k=0, type_v=0,
                          flash_attn=False, verbose=False)
    for c in ref["cases"]:
        ids = llm.tokenize(c["prompt"].encode("utf-8"), add_bos=c["kind"] == "text", special=True)
        if ids != c["prompt_token_ids"]:
            problems.append(f"{ref['name']}: {c['name']}: tokenization differs")
    cc = ref["chat_completion"]
    if cc is None:
        return
    if llm.tokenize(cc["prompt"].encode("utf-8"), add_bos=False, special=True) != cc["prompt_token_ids"]:
        problems.append(f"{ref['name']}: chat_completion prompt tokenization differs")
    llm.reset()
    llm.eval(cc["prompt_token_ids"])
    out = []
    eog = set(ref["eog_token_ids"])
    for _ in range(len(cc["reply_token_ids"])):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
        out.append(int(np.argmax(logits)))
        if out[-1] in eog:
            break
        llm.eval([out[-1]])
    if out != cc["reply_token_ids"]:
        problems.append(f"{ref['name']}: chat_completion reply is not the greedy continuation of its prompt")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llama", action="store_true", help="also replay in llama.cpp (llama venv)")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    files = sorted((REPO / "Fixtures" / "reference").glob("generation-*.json"))
    if args.names:
        files = [f for f in files if f.stem[len("generation-"):] in args.names]
    problems = []
    for f in files:
        ref = json.loads(f.read_text(encoding="utf-8"))
        before = len(problems)
        check(ref, problems)
        if args.llama:
            check_with_llama(ref, problems)
        print(f"{f.name}: {'ok' if len(problems) == before else 'FAILED'}", flush=True)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
