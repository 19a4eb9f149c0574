#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- adapters`: the plain-torch Llama of bench/train_torch.py with its
seven linear layers per block wrapped by a plain-torch LoRA or MoE-LoRA module (the same math as
src/model/adapters: expert 0 universal, experts 1..E-1 mixed per token by softmax(x W_route^T +
eps * softplus(x W_noise)), s = alpha / r, all experts in one product), base frozen, AdamW over the
adapter tensors only. Times forward + backward + optimizer step.

    /usr/bin/python3 bench/adapters_torch.py '{"mode":"moe","experts":4,"r":8,"alpha":16,"d":768,"layers":12,
        "heads":12,"ffn":2048,"vocab":32000,"seq":512,"batch":4,"steps":2,"warmup":1,"threads":2}'

Prints progress on stderr and one JSON line on stdout: {"step_s": [...], "loss": [...], "trainable": n,
"max_rss_bytes": n}. A benchmark, not a reference implementation (parity is checked by the fixtures).
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_torch as tt  # noqa: E402


class AdaptedLinear(nn.Module):
    def __init__(self, base, r, alpha, experts):
        super().__init__()
        self.base = base
        base.weight.requires_grad_(False)
        out_f, in_f = base.weight.shape
        self.r, self.E, self.s = r, experts, alpha / r
        if experts == 1:
            self.A = nn.Parameter(torch.empty(r, in_f))
            nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
            self.B = nn.Parameter(torch.zeros(out_f, r))
        else:
            self.A = nn.Parameter(torch.empty(experts, in_f, r))
            nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
            self.B = nn.Parameter(torch.zeros(experts, r, out_f))
            self.route = nn.Linear(in_f, experts - 1, bias=False)
            self.w_noise = nn.Parameter(torch.zeros(in_f, experts - 1))

    def forward(self, x):
        y = self.base(x)
        if self.E == 1:
            return y + self.s * F.linear(F.linear(x, self.A), self.B)
        E, r = self.E, self.r
        logits = self.route(x)
        logits = logits + torch.randn_like(logits) * F.softplus(x @ self.w_noise)
        g = torch.softmax(logits, dim=-1)
        gates = torch.cat([torch.ones_like(g[..., :1]), g], dim=-1).repeat_interleave(r, dim=-1)
        h = x @ self.A.permute(1, 0, 2).reshape(x.shape[-1], E * r)
        return y + self.s * ((h * gates) @ self.B.reshape(E * r, -1))


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = tt.Llama(cfg)
    if cfg["mode"] != "full":  # "full": the same loop with every parameter trained
        for p in model.parameters():
            p.requires_grad_(False)
        for blk in model.layers:
            for name in ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]:
                setattr(blk, name, AdaptedLinear(getattr(blk, name), cfg["r"], cfg["alpha"], cfg["experts"]))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    B, T = cfg["batch"], cfg["seq"]
    ids = torch.randint(0, cfg["vocab"], (B, T))
    times, losses = [], []
    for s in range(cfg["warmup"] + cfg["steps"]):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model(ids, ids)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        print(f"torch {cfg['mode']} step {s}: {dt:.3f}s loss {loss.item():.4f}", file=sys.stderr, flush=True)
        if s >= cfg["warmup"]:
            times.append(dt)
            losses.append(loss.item())
    print(json.dumps({"step_s": times, "loss": losses, "trainable": sum(p.numel() for p in params),
                      "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
