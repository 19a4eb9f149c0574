#!/usr/bin/env python3
"""PyTorch side of `npm run bench -- stages`: the same masked SFT step as our engine's (plain-torch
Llama of bench/train_torch.py; the first half of every row is a prompt with label -100; forward,
backward, global-norm clipping at 1.0, AdamW), timed per step.

    /usr/bin/python3 bench/stages_torch.py '{"d":768,"layers":12,"heads":12,"ffn":2048,"vocab":32000,
                                             "seq":512,"batch":4,"steps":2,"warmup":1,"threads":2}'
Prints one JSON line: {"tokens_per_s": ..., "step_s": [...]}. A benchmark, not a reference.
"""
import importlib.util
import json
import os
import sys
import time

import torch

spec = importlib.util.spec_from_file_location("train_torch", os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_torch.py"))
tt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tt)


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = tt.Llama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    B, T = cfg["batch"], cfg["seq"]
    ids = torch.randint(3, cfg["vocab"], (B, T))
    labels = ids.clone()
    labels[:, : T // 2] = -100
    times = []
    for s in range(cfg["warmup"] + cfg["steps"]):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model(ids, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        print(f"torch masked sft step {s}: {dt:.3f}s loss {loss.item():.4f}", file=sys.stderr, flush=True)
        if s >= cfg["warmup"]:
            times.append(dt)
    print(json.dumps({"tokens_per_s": B * T * len(times) / sum(times), "best_tokens_per_s": B * T / min(times), "step_s": times, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
