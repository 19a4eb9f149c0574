"""The plain-torch model against the project's float64 PyTorch reference fixtures
(test/fixtures/model/, written by scripts/fixtures/model_torch_parity.py): logits, loss, every
parameter's gradient and three AdamW steps with clipping, for Llama (GQA, tied; llama3 scaling with
biases), Qwen2 and Baichuan2 (RoPE and ALiBi). Also model folders: save → load round trip and the
errors for missing or misshapen tensors."""
import json
import os
import unittest

import numpy as np
import torch

from pedgpt_torch.config import parse_config
from pedgpt_torch.errors import FormatError
from pedgpt_torch.model import CausalLM, load_model, save_model, token_losses
from pedgpt_torch.safetensors import SafetensorsFile, write_safetensors

from .util import REPO, TempDirCase

MODEL_FIXTURES = os.path.join(REPO, "test", "fixtures", "model")


def load_case(name):
    with open(os.path.join(MODEL_FIXTURES, "index.json"), encoding="utf-8") as f:
        case = json.load(f)["cases"][name]
    data = np.fromfile(os.path.join(MODEL_FIXTURES, case["file"]), dtype="<f4")
    get = lambda key: torch.from_numpy(data[case["tensors"][key]["offset"]:case["tensors"][key]["offset"] + int(np.prod(case["tensors"][key]["shape"]))].copy()).reshape(case["tensors"][key]["shape"])
    return case, get


def build(case, get):
    model = CausalLM(parse_config(case["config"], "fixture"))
    with torch.no_grad():
        for n, p in model.named_weights():
            p.copy_(get("weight:" + n))
    b = case["batch"]
    ids, mask, labels = (torch.tensor(b[k]) for k in ("input_ids", "attention_mask", "labels"))
    return model, ids, mask, labels


def rel(a, b):
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-6))


class ModelMatchesTorchReference(unittest.TestCase):
    CASES = ["llama_gqa_tied", "llama3_scaled_bias", "qwen2_bias", "baichuan_rope", "baichuan_alibi"]

    def test_logits_loss_gradients(self):
        for name in self.CASES:
            with self.subTest(case=name):
                case, get = load_case(name)
                model, ids, mask, labels = build(case, get)
                logits = model(ids, mask)
                want = get("logits")
                real = mask.bool()
                self.assertLess(rel(logits[real], want[real]), 1e-4)
                losses, targets = token_losses(logits, labels)
                count = int((targets != -100).sum())
                loss = losses.sum() / count
                self.assertAlmostEqual(loss.item(), case["loss"], delta=1e-5 * case["loss"])
                loss.backward()
                for n, p in model.named_weights():
                    g = get("grad:" + n)
                    self.assertLess(rel(p.grad, g), 2e-4, n)

    def test_adamw_steps(self):
        for name in self.CASES:
            with self.subTest(case=name):
                case, get = load_case(name)
                model, ids, mask, labels = build(case, get)
                a = case["adamw"]
                params = [p for _, p in model.named_weights()]
                # the fixture decays every tensor (torch's default), unlike the trainer's matrices-only rule
                opt = torch.optim.AdamW(params, lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"], weight_decay=a["weight_decay"])
                got = []
                for _ in range(len(a["losses"]) - 1):
                    opt.zero_grad()
                    losses, targets = token_losses(model(ids, mask), labels)
                    loss = losses.sum() / int((targets != -100).sum())
                    got.append(loss.item())
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, a["clip"])
                    opt.step()
                with torch.no_grad():
                    losses, targets = token_losses(model(ids, mask), labels)
                    got.append((losses.sum() / int((targets != -100).sum())).item())
                for g, w in zip(got, a["losses"]):
                    self.assertAlmostEqual(g, w, delta=2e-4 * abs(w))


class FusedAttention(unittest.TestCase):
    @unittest.skipUnless(hasattr(torch.nn.functional, "scaled_dot_product_attention"), f"torch {torch.__version__} has no fused attention")
    def test_fused_equals_explicit(self):
        from pedgpt_torch import model as mm
        for name in ["llama_gqa_tied", "baichuan_alibi"]:
            case, get = load_case(name)
            model, ids, mask, _ = build(case, get)
            prev = mm.USE_SDPA
            try:
                mm.USE_SDPA = True
                fused = model(ids, mask)
                mm.USE_SDPA = False
                explicit = model(ids, mask)
            finally:
                mm.USE_SDPA = prev
            self.assertLess(rel(fused[mask.bool()], explicit[mask.bool()]), 1e-5)


class ModelFolders(TempDirCase):
    def test_save_load_round_trip_and_errors(self):
        case, get = load_case("qwen2_bias")
        model, ids, mask, _ = build(case, get)
        d = os.path.join(self.tmp, "m")
        files = save_model(model, d, {"template": "default"})
        self.assertEqual(files, ["model.safetensors", "config.json"])
        f = SafetensorsFile(os.path.join(d, "model.safetensors"))
        self.assertEqual(f.metadata, {"format": "pt", "template": "default"})
        self.assertEqual(f.names(), [n for n, _ in model.named_weights()])
        again = load_model(d)
        self.assertTrue(torch.equal(again(ids, mask), model(ids, mask)))
        sharded = os.path.join(self.tmp, "sharded")
        files = save_model(model, sharded, max_shard_bytes=20000)
        self.assertIn("model.safetensors.index.json", files)
        self.assertTrue(torch.equal(load_model(sharded)(ids, mask), model(ids, mask)))
        # a missing tensor and a misshapen one are named
        entries = [(n, p.detach()) for n, p in model.named_weights() if n != "model.norm.weight"]
        write_safetensors(os.path.join(d, "model.safetensors"), entries)
        with self.assertRaisesRegex(FormatError, "missing 1 tensor.*model.norm.weight"):
            load_model(d)
        entries.append(("model.norm.weight", torch.ones(3)))
        write_safetensors(os.path.join(d, "model.safetensors"), entries)
        with self.assertRaisesRegex(FormatError, 'tensor "model.norm.weight": shape \\[3\\]'):
            load_model(d)


if __name__ == "__main__":
    unittest.main()
