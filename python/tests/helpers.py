"""Builders for trainer tests: a tiny model folder and pedgpt-tokens datasets written the way the
TypeScript DatasetWriter writes them (int32 tokens/labels/segments, int64 index, meta.json)."""
import hashlib
import json
import os

import numpy as np
import torch

from pedgpt_torch.config import parse_config
from pedgpt_torch.model import CausalLM, save_model

TINY = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "tie_word_embeddings": True, "hidden_act": "silu", "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def tiny_model(d: str, seed: int = 0, config=None) -> CausalLM:
    torch.manual_seed(seed)
    m = CausalLM(parse_config(dict(config or TINY), "test"))
    with torch.no_grad():
        for n, p in m.named_weights():
            p.copy_(torch.ones_like(p) if n.endswith("norm.weight") else 0.1 * torch.randn(p.shape))
    save_model(m, d, {"template": "default"})
    return m


def write_dataset(d: str, rows, kind: str = "sft", segments=None) -> None:
    """rows: list of (ids, labels)."""
    os.makedirs(d, exist_ok=True)
    ids = np.concatenate([np.asarray(r[0], dtype="<i4") for r in rows])
    labels = np.concatenate([np.asarray(r[1], dtype="<i4") for r in rows])
    index = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])]).astype("<i8")
    files = {"tokens.bin": ids.tobytes(), "labels.bin": labels.tobytes()}
    if segments is not None:
        files["segments.bin"] = np.concatenate([np.asarray(s, dtype="<i4") for s in segments]).tobytes()
    files["index.bin"] = index.tobytes()
    h = hashlib.sha256()
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        h.update(hashlib.sha256(data).hexdigest().encode())
    meta = {"format": "pedgpt-tokens", "version": 1, "kind": kind, "rows": len(rows), "tokens": int(index[-1]),
            "targets": int((labels != -100).sum()), "maxRowLength": max(len(r[0]) for r in rows), "hasSegments": segments is not None,
            "contentHash": h.hexdigest(), "info": {}}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)


def random_rows(n: int, seed: int, lo: int = 4, hi: int = 12, prompt: int = 2):
    g = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        L = int(g.integers(lo, hi))
        ids = g.integers(3, 64, size=L)
        labels = ids.copy()
        labels[:prompt] = -100
        rows.append((ids, labels))
    return rows


def plan(tmp: str, model_dir: str, train_dir: str, items, **over):
    p = {"format": "pedgpt-torch-plan", "version": 1, "stage": "sft", "finetuning_type": "full", "model_dir": model_dir,
         "merge_adapter_dir": None, "output_dir": os.path.join(tmp, "out"), "template": "default", "pad_id": 0,
         "train": {"dir": train_dir, "items": list(items)}, "eval": None,
         "trainer": {"steps": 6, "batch_size": 4, "micro_batch_size": 2, "lr": 1e-2, "schedule": "cosine", "warmup_steps": 1,
                     "min_lr_ratio": 0, "weight_decay": 0.01, "max_grad_norm": 1.0, "seed": 3, "shuffle": True, "eval_every": 3,
                     "eval_batch_size": 2, "checkpoint_every": 2, "keep_checkpoints": 2},
         "objective": {"kind": "lm"}, "adapter": None, "reference": None, "recipe_hash": "abc", "recipe": {"x": 1},
         "resume": False, "overwrite": False, "device": "cpu", "precision": "auto", "threads": 1}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(p.get(k), dict):
            p[k] = {**p[k], **v}
        else:
            p[k] = v
    f = os.path.join(tmp, f"plan-{len(os.listdir(tmp))}.json")
    with open(f, "w") as fh:
        json.dump(p, fh)
    return f
