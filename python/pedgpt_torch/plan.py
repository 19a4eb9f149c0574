"""PLAN.json, the hand-off from the TypeScript launcher (format "pedgpt-torch-plan", version 1; the
fields are documented in python/README.md): read and checked before any work, every problem a
PlanError naming the file and the field.

Not here: running it (train.py).
"""
import json
import math
import os
from typing import Any, Dict

from .errors import PlanError

FORMAT, VERSION = "pedgpt-torch-plan", 1
TRAINER_DEFAULTS = {"micro_batch_size": None, "schedule": "cosine", "warmup_steps": None, "min_lr_ratio": 0.1, "weight_decay": 0.01,
                    "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "max_grad_norm": 1.0, "seed": 0, "shuffle": True, "max_bad_steps": 5,
                    "eval_every": None, "eval_batch_size": None, "checkpoint_every": None, "keep_checkpoints": 2}
OBJECTIVE_DEFAULTS = {"beta": 0.1, "ftx": 0.0, "label_smoothing": 0.0, "simpo_gamma": 0.5}


def load_plan(path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise PlanError(path, "(file)", "not found")
    try:
        with open(path, encoding="utf-8") as f:
            p = json.load(f)
    except ValueError as e:
        raise PlanError(path, "(file)", f"not valid JSON: {e}") from e
    return check_plan(p, path)


def check_plan(p: Any, src: str) -> Dict[str, Any]:
    def fail(field: str, detail: str):
        raise PlanError(src, field, detail)

    def is_int(v, lo=0):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo

    def num(field, v, lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo or v > hi:
            fail(field, f"must be a number in [{lo}, {hi}], got {json.dumps(v)}")
        return float(v)

    if not isinstance(p, dict):
        fail("(root)", "expected a JSON object")
    if p.get("format") != FORMAT or p.get("version") != VERSION:
        fail("format", f'expected format "{FORMAT}" version {VERSION}, found {json.dumps(p.get("format"))} version {json.dumps(p.get("version"))}')
    if p.get("stage") not in ("pt", "sft", "dpo"):
        fail("stage", f'must be "pt", "sft" or "dpo", got {json.dumps(p.get("stage"))}')
    if p.get("finetuning_type") not in ("full", "lora", "moe_lora"):
        fail("finetuning_type", f'must be "full", "lora" or "moe_lora", got {json.dumps(p.get("finetuning_type"))}')
    for k in ("model_dir", "output_dir"):
        if not isinstance(p.get(k), str) or not p[k]:
            fail(k, "must be a folder path")
    if not os.path.isdir(p["model_dir"]):
        fail("model_dir", f"{p['model_dir']} is not a folder")
    if p.get("merge_adapter_dir") is not None and not os.path.isdir(p["merge_adapter_dir"]):
        fail("merge_adapter_dir", f"{p['merge_adapter_dir']} is not a folder")
    p.setdefault("merge_adapter_dir", None)
    p.setdefault("template", "default")
    if not is_int(p.get("pad_id", 0)):
        fail("pad_id", "must be a token id >= 0")
    p.setdefault("pad_id", 0)
    for k in ("train", "eval"):
        d = p.get(k)
        if d is None and k == "eval":
            continue
        if not isinstance(d, dict) or not isinstance(d.get("dir"), str) or not isinstance(d.get("items"), list):
            fail(k, '{"dir": tokenized dataset folder, "items": [item ids]} expected')
        if not d["items"] or not all(is_int(i) for i in d["items"]):
            fail(f"{k}.items", "must be a non-empty list of integers >= 0")
    p.setdefault("eval", None)
    t = p.get("trainer")
    if not isinstance(t, dict):
        fail("trainer", "must be an object")
    unknown = [k for k in t if k not in TRAINER_DEFAULTS and k not in ("steps", "batch_size", "lr")]
    if unknown:
        fail(f"trainer.{unknown[0]}", f"unknown field (known: steps, batch_size, lr, {', '.join(TRAINER_DEFAULTS)})")
    for k in ("steps", "batch_size"):
        if not is_int(t.get(k), 1):
            fail(f"trainer.{k}", f"must be a positive integer, got {json.dumps(t.get(k))}")
    tr = {**TRAINER_DEFAULTS, **{k: v for k, v in t.items() if v is not None or k == "max_grad_norm"}}
    tr["lr"] = num("trainer.lr", t.get("lr"), 0, 10)
    tr["micro_batch_size"] = tr["micro_batch_size"] or tr["batch_size"]
    if not is_int(tr["micro_batch_size"], 1):
        fail("trainer.micro_batch_size", "must be a positive integer")
    if tr["schedule"] not in ("cosine", "linear", "constant"):
        fail("trainer.schedule", f'must be "cosine", "linear" or "constant", got {json.dumps(tr["schedule"])}')
    if tr["warmup_steps"] is None:
        tr["warmup_steps"] = max(1, round(tr["steps"] * 0.05))
    if not is_int(tr["warmup_steps"]) or tr["warmup_steps"] > tr["steps"]:
        fail("trainer.warmup_steps", f"must be an integer in [0, steps], got {json.dumps(tr['warmup_steps'])}")
    tr["min_lr_ratio"] = num("trainer.min_lr_ratio", tr["min_lr_ratio"], 0, 1)
    tr["weight_decay"] = num("trainer.weight_decay", tr["weight_decay"], 0, 1000)
    tr["beta1"] = num("trainer.beta1", tr["beta1"], 0, 0.999999999)
    tr["beta2"] = num("trainer.beta2", tr["beta2"], 0, 0.999999999)
    tr["eps"] = num("trainer.eps", tr["eps"], 0, 1)
    if tr["max_grad_norm"] is not None:
        tr["max_grad_norm"] = num("trainer.max_grad_norm", tr["max_grad_norm"], 1e-12, 1e12)
    if not (is_int(tr["seed"]) and tr["seed"] <= 0xFFFFFFFF):
        fail("trainer.seed", "must be an integer in [0, 2^32)")
    if not isinstance(tr["shuffle"], bool):
        fail("trainer.shuffle", "must be true or false")
    for k, default in (("eval_every", max(1, round(tr["steps"] / 10))), ("checkpoint_every", max(1, round(tr["steps"] / 10))), ("eval_batch_size", tr["micro_batch_size"])):
        if tr[k] is None:
            tr[k] = default
        if not is_int(tr[k], 1):
            fail(f"trainer.{k}", f"must be a positive integer, got {json.dumps(tr[k])}")
    for k in ("max_bad_steps", "keep_checkpoints"):
        if not is_int(tr[k], 0 if k == "max_bad_steps" else 1):
            fail(f"trainer.{k}", "must be a non-negative integer" if k == "max_bad_steps" else "must be a positive integer")
    p["trainer"] = tr
    o = p.get("objective")
    if not isinstance(o, dict) or o.get("kind") not in ("lm", "preference"):
        fail("objective", '{"kind": "lm"} or {"kind": "preference", "loss": …} expected')
    if (o["kind"] == "preference") != (p["stage"] == "dpo"):
        fail("objective.kind", f'"{o["kind"]}" does not fit stage "{p["stage"]}" (dpo trains a preference objective, pt and sft "lm")')
    if o["kind"] == "preference":
        o = {**OBJECTIVE_DEFAULTS, **{k: v for k, v in o.items() if v is not None}}
        if o.get("loss") not in ("sigmoid", "hinge", "ipo", "simpo", "orpo"):
            fail("objective.loss", f'must be one of sigmoid, hinge, ipo, simpo, orpo, got {json.dumps(o.get("loss"))}')
        o["beta"] = num("objective.beta", o["beta"], 1e-12, 1e6)
        o["ftx"] = num("objective.ftx", o["ftx"], 0, 1e6)
        o["label_smoothing"] = num("objective.label_smoothing", o["label_smoothing"], 0, 0.5)
        o["simpo_gamma"] = num("objective.simpo_gamma", o["simpo_gamma"], -1e6, 1e6)
        if o["label_smoothing"] != 0 and o["loss"] != "sigmoid":
            fail("objective.label_smoothing", f"applies to the sigmoid loss only (loss is {o['loss']})")
    p["objective"] = o
    a = p.get("adapter")
    if (a is None) != (p["finetuning_type"] == "full"):
        fail("adapter", f'must be {"null" if p["finetuning_type"] == "full" else "an object"} for finetuning_type "{p["finetuning_type"]}"')
    if a is not None and not isinstance(a, dict):
        fail("adapter", "must be an object")
    if a is not None and p["finetuning_type"] == "moe_lora" and not (isinstance(a.get("experts"), int) and a["experts"] >= 2):
        fail("adapter.experts", "moe_lora needs at least 2 experts")
    r = p.get("reference")
    if r is not None and not (isinstance(r, dict) and (r.get("cache_file") is None or isinstance(r["cache_file"], str))):
        fail("reference", '{"cache_file": path, "batch_size": n} or null expected')
    p.setdefault("reference", None)
    if not isinstance(p.get("recipe_hash", ""), str) or not isinstance(p.get("recipe", {}), dict):
        fail("recipe_hash", "recipe_hash must be a string and recipe an object")
    p.setdefault("recipe_hash", "")
    p.setdefault("recipe", {})
    for k in ("resume", "overwrite", "gradient_checkpointing", "fsdp"):
        if not isinstance(p.get(k, False), bool):
            fail(k, "must be true or false")
        p.setdefault(k, False)
    if p["resume"] and p["overwrite"]:
        fail("overwrite", "cannot be combined with resume")
    if p.get("device", "auto") not in ("auto", "cpu", "cuda"):
        fail("device", f'must be "auto", "cpu" or "cuda", got {json.dumps(p.get("device"))}')
    p.setdefault("device", "auto")
    if p.get("precision", "auto") not in ("auto", "fp32", "bf16"):
        fail("precision", f'must be "auto", "fp32" or "bf16", got {json.dumps(p.get("precision"))}')
    p.setdefault("precision", "auto")
    if p.get("model_impl", "torch") not in ("torch", "hf"):
        fail("model_impl", f'must be "torch" (the plain-torch models) or "hf" (transformers, optional), got {json.dumps(p.get("model_impl"))}')
    p.setdefault("model_impl", "torch")
    if not is_int(p.get("threads", 1), 1):
        fail("threads", "must be a positive integer")
    p.setdefault("threads", 1)
    return p
