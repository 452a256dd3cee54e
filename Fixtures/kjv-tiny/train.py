#!/usr/bin/env python3
"""Train kjv-tiny: a ~2.5M-parameter Llama (llama.cpp `llama` semantics) on
the KJV corpus, within a wall-clock budget on CPU.

Architecture matches llama.cpp exactly: RMSNorm (eps 1e-5), GQA attention,
RoPE on ADJACENT pairs (x[2i], x[2i+1]) -- llama.cpp's "normal" rope mode --
so Q/K weights are exported unpermuted; SwiGLU FFN; output tied to
token_embd; no biases.

Usage: python3 train.py [--minutes 16]   (needs corpus.txt + tokenizer.model)
Writes checkpoint.pt (model state_dict + config + metrics).
"""
import argparse, math, random, time
import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = dict(dim=192, n_layers=6, n_heads=4, n_kv_heads=2, ffn_dim=512,
              vocab_size=512, seq_len=256, norm_eps=1e-5, rope_theta=10000.0)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, seq_len, theta):
    inv = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv)
    return ang.cos().float(), ang.sin().float()  # [seq, head_dim/2]


def apply_rope(x, cos, sin):
    # x: [B, H, T, hd]; rotate adjacent pairs (x[2i], x[2i+1]) by pos*freq_i
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.nh, self.nkv = c["dim"], c["n_heads"], c["n_kv_heads"]
        self.hd = d // self.nh
        self.attn_norm = RMSNorm(d, c["norm_eps"])
        self.wq = nn.Linear(d, self.nh * self.hd, bias=False)
        self.wk = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.wv = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.wo = nn.Linear(self.nh * self.hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, c["norm_eps"])
        self.w_gate = nn.Linear(d, c["ffn_dim"], bias=False)
        self.w_up = nn.Linear(d, c["ffn_dim"], bias=False)
        self.w_down = nn.Linear(c["ffn_dim"], d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.wk(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.wv(h).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.nh // self.nkv  # query head h uses kv head h // rep (as llama.cpp)
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(hd)
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, -1))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(c["vocab_size"], c["dim"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        self.norm = RMSNorm(c["dim"], c["norm_eps"])
        cos, sin = rope_tables(c["dim"] // c["n_heads"], c["seq_len"], c["rope_theta"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c["n_layers"]) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok_emb(idx)
        for layer in self.layers:
            x = layer(x, self.cos[:T], self.sin[:T])
        return self.norm(x) @ self.tok_emb.weight.t()  # tied output


def load_data(seed=1234, val_frac=0.02):
    sp = spm.SentencePieceProcessor(model_file="tokenizer.model")
    verses = open("corpus.txt", encoding="utf-8").read().split("\n")
    verses = [v for v in verses if v]
    rng = random.Random(seed)
    val_idx = set(rng.sample(range(len(verses)), int(len(verses) * val_frac)))
    train, val = [], []
    for i, ids in enumerate(sp.encode(verses)):
        (val if i in val_idx else train).extend([sp.bos_id()] + ids + [sp.eos_id()])
    return sp, torch.tensor(train), torch.tensor(val)


def windows(data, starts, T):
    x = torch.stack([data[s:s + T] for s in starts])
    y = torch.stack([data[s + 1:s + T + 1] for s in starts])
    return x, y


@torch.no_grad()
def evaluate(model, data, starts, T, bs=16):
    model.eval()
    tot = 0.0
    for i in range(0, len(starts), bs):
        x, y = windows(data, starts[i:i + bs], T)
        tot += F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum").item()
    model.train()
    return tot / (len(starts) * T)


@torch.no_grad()
def greedy(model, sp, prompt, n=48):
    ids = [sp.bos_id()] + sp.encode(prompt)
    for _ in range(n):
        logits = model(torch.tensor([ids[-model.c["seq_len"]:]]))[0, -1]
        ids.append(int(logits.argmax()))
    return sp.decode(ids[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=16.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    T = CONFIG["seq_len"]
    sp, train, val = load_data()
    print(f"tokens: train {len(train)}, val {len(val)}")
    g = torch.Generator().manual_seed(42)
    val_starts = torch.randint(0, len(val) - T - 1, (128,), generator=g).tolist()
    model = Llama(CONFIG)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    budget = args.minutes * 60
    t0, step, run_loss = time.time(), 0, 0.0
    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1:
            break
        # linear warmup, then cosine decay over the wall-clock budget to 10%
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for grp in opt.param_groups:
            grp["lr"] = lr
        x, y = windows(train, torch.randint(0, len(train) - T - 1, (args.batch,)).tolist(), T)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run_loss += loss.item()
        if step % 25 == 0:
            msg = f"step {step:5d}  {time.time() - t0:6.0f}s  lr {lr:.2e}  train {run_loss / 25:.4f}"
            if step % 100 == 0:
                msg += f"  val {evaluate(model, val, val_starts[:32], T):.4f}"
            print(msg, flush=True)
            run_loss = 0.0
    train_min = (time.time() - t0) / 60
    val_loss = evaluate(model, val, val_starts, T)
    print(f"done: {step} steps, {train_min:.1f} min, {step * args.batch * T} tokens seen")
    print(f"final val loss: {val_loss:.4f} nats/token (128 fixed windows of {T})")
    torch.save({"config": CONFIG, "model": model.state_dict(), "n_params": n_params,
                "steps": step, "train_minutes": train_min, "val_loss": val_loss}, "checkpoint.pt")
    for p in ["In the beginning God created", "And the LORD said unto Moses,", "Blessed are the"]:
        print(repr(greedy(model, sp, p)))


if __name__ == "__main__":
    main()
