#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- train`: a plain-torch Llama (RMSNorm, RoPE rotate-half, causal
multi-head attention, SwiGLU MLP, untied lm_head, mean cross-entropy) trained with torch.optim.AdamW
on random token batches, timing forward + backward + optimizer step.

Run by bench/train.ts with the Debian interpreter that sees python3-torch 1.13:
    /usr/bin/python3 bench/train_torch.py '{"d":768,"layers":12,"heads":12,"ffn":2048,"vocab":32000,
                                            "seq":512,"batch":4,"steps":3,"warmup":1,"threads":2}'
Prints progress on stderr and one JSON line on stdout: {"tokens_per_s": ..., "step_s": [...], "loss": [...]}.
With --interactive after the JSON config it runs one step per "step" line read from stdin instead
(bench/train.ts uses this to alternate PyTorch and our engine step by step).
A benchmark, not a reference implementation: its numerics are not compared with ours here.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.input_layernorm = RMSNorm(d)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d)
        self.gate_proj = nn.Linear(d, ffn, bias=False)
        self.up_proj = nn.Linear(d, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + mask
        y = torch.softmax(att, dim=-1) @ v
        x = x + self.o_proj(y.transpose(1, 2).reshape(B, T, C))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d"]
        self.embed_tokens = nn.Embedding(cfg["vocab"], d)
        self.layers = nn.ModuleList([Block(d, cfg["heads"], cfg["ffn"]) for _ in range(cfg["layers"])])
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, cfg["vocab"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        hd = d // cfg["heads"]
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(cfg["seq"]).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos()[None, None], persistent=False)
        self.register_buffer("sin", emb.sin()[None, None], persistent=False)
        T = cfg["seq"]
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1)[None, None], persistent=False)

    def forward(self, ids, labels):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        logits = self.lm_head(self.norm(x))
        V = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1))


def main():
    cfg = json.loads(sys.argv[1])
    interactive = "--interactive" in sys.argv[2:]
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = Llama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    B, T = cfg["batch"], cfg["seq"]
    ids = torch.randint(0, cfg["vocab"], (B, T))

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model(ids, ids)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0, loss.item()

    if interactive:
        # One step per "step" line on stdin, one JSON line back per step: lets the caller alternate
        # steps of both engines so that both see the same machine load.
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            if line.strip() != "step":
                break
            dt, loss = step()
            print(json.dumps({"step_s": dt, "loss": loss}), flush=True)
        return

    times, losses = [], []
    for s in range(cfg["warmup"] + cfg["steps"]):
        dt, loss = step()
        print(f"torch step {s}: {dt:.3f}s loss {loss:.4f}", file=sys.stderr, flush=True)
        if s >= cfg["warmup"]:
            times.append(dt)
            losses.append(loss)
    print(json.dumps({"tokens_per_s": B * T * len(times) / sum(times), "step_s": times, "loss": losses,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
