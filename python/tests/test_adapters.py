"""LoRA / MoE-LoRA hooks against the project's float64 PyTorch reference fixtures
(test/fixtures/adapters/, scripts/fixtures/adapters_torch_parity.py): loss and every adapter gradient
for LoRA, rsLoRA and MoE-LoRA (with the balance loss) on Llama, Qwen2 and Baichuan2, given the same
router noise. Also: a fresh adapter leaves the model unchanged, file round trip, merging, the fixed
noise stream, and errors for a foreign base and missing tensors."""
import json
import os
import unittest

import numpy as np
import torch

from pedgpt_torch.adapters import LoraAdapter, fingerprint, linear_module_shapes, load_adapter, save_adapter, tensor_names
from pedgpt_torch.config import parse_config
from pedgpt_torch.errors import AdapterError, FormatError
from pedgpt_torch.model import CausalLM, token_losses
from pedgpt_torch.safetensors import write_safetensors
from pedgpt_torch.streams import FixedNoise

from .util import REPO, TempDirCase

ADAPTER_FIXTURES = os.path.join(REPO, "test", "fixtures", "adapters")


def load_case(name):
    with open(os.path.join(ADAPTER_FIXTURES, "index.json"), encoding="utf-8") as f:
        case = json.load(f)["cases"][name]
    data = np.fromfile(os.path.join(ADAPTER_FIXTURES, case["file"]), dtype="<f4")

    def get(key):
        t = case["tensors"][key]
        return torch.from_numpy(data[t["offset"]:t["offset"] + int(np.prod(t["shape"]))].copy()).reshape(t["shape"])
    return case, get


def base_model(case, get):
    model = CausalLM(parse_config(case["config"], "fixture"))
    with torch.no_grad():
        for n, p in model.named_weights():
            p.copy_(get("weight:" + n))
    return model


def lm_loss(model, ids, mask, labels):
    losses, targets = token_losses(model(ids, mask), labels)
    return losses.sum() / int((targets != -100).sum())


class AdapterMatchesTorchReference(unittest.TestCase):
    def test_loss_and_gradients(self):
        for name in ["llama_lora", "llama_moe", "qwen2_lora_rs", "qwen2_moe", "baichuan_lora", "baichuan_moe_balance"]:
            with self.subTest(case=name):
                case, get = load_case(name)
                model = base_model(case, get)
                ac = case["adapter"]
                settings = {"r": ac["r"], "alpha": ac["alpha"], "rs_lora": ac["use_rslora"], "experts": ac["experts"], "balance_loss_coef": ac["balance_loss_coef"]}
                a = LoraAdapter.create(model, settings, seed=1)
                a.set_from_file(lambda n: get("adapter:" + n))
                a.attach(model)
                a.train()
                a.start_micro_step(0, 1, 0, 0)
                b = case["batch"]
                ids, mask, labels = (torch.tensor(b[k]) for k in ("input_ids", "attention_mask", "labels"))
                if case["eps_order"]:
                    eps = get("eps")
                    K, n = ac["experts"] - 1, b["B"] * b["T"] * (ac["experts"] - 1)
                    for i, m in enumerate(case["eps_order"]):
                        a._draws[f"{m}#{b['B']}x{b['T']}"] = eps[i * n:(i + 1) * n].view(b["B"], b["T"], K)
                loss = lm_loss(model, ids, mask, labels)
                bal = a.balance_loss()
                if bal is not None:
                    loss = loss + bal
                self.assertAlmostEqual(loss.item(), case["loss"], delta=1e-5 * case["loss"])
                loss.backward()
                grads = {n: p.grad for n, p in a.named_tensors()}
                for n, g in a.file_tensors(grads):
                    want = get("grad:" + n)
                    err = float((g - want).abs().max() / max(float(want.abs().max()), 1e-6))
                    self.assertLess(err, 5e-4, n)


class AdapterBehaviour(TempDirCase):
    def setUp(self):
        super().setUp()
        case, get = load_case("qwen2_moe")
        self.model = base_model(case, get)
        self.ids = torch.tensor(case["batch"]["input_ids"])
        self.mask = torch.tensor(case["batch"]["attention_mask"])

    def test_fresh_adapter_is_identity_and_round_trips(self):
        before = self.model(self.ids, self.mask)
        a = LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "experts": 3}, seed=7)
        a.attach(self.model)
        a.eval()
        self.assertTrue(torch.allclose(self.model(self.ids, self.mask), before, atol=0))
        with torch.no_grad():
            for _, p in a.named_tensors():
                p.add_(0.05 * torch.randn(p.shape))
        out = self.model(self.ids, self.mask)
        self.assertFalse(torch.allclose(out, before))
        with a.disabled():
            self.assertTrue(torch.equal(self.model(self.ids, self.mask), before))
        d = os.path.join(self.tmp, "ad")
        save_adapter(a, d)
        with open(os.path.join(d, "adapter_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        self.assertEqual(cfg["lora_nums"], 3)
        self.assertEqual(cfg["pedgpt"]["base_model_fingerprint"], fingerprint(self.model))
        a.detach()
        b = load_adapter(d, self.model)
        b.attach(self.model)
        b.eval()
        self.assertTrue(torch.allclose(self.model(self.ids, self.mask), out, atol=1e-6))

    def test_merge_plain_lora(self):
        a = LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "target_modules": ["q_proj", "down_proj"]}, seed=3)
        with torch.no_grad():
            for _, p in a.named_tensors():
                p.add_(0.1 * torch.randn(p.shape))
        a.attach(self.model)
        a.eval()
        hooked = self.model(self.ids, self.mask)
        a.merge_into(self.model)
        self.assertTrue(torch.allclose(self.model(self.ids, self.mask), hooked, atol=1e-5))
        moe = LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "experts": 3}, seed=3)
        with self.assertRaisesRegex(AdapterError, "cannot be merged"):
            moe.merge_into(self.model)

    def test_fixed_noise_is_per_position(self):
        a = LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "experts": 4, "router_noise": "fixed"}, seed=3)
        a.start_micro_step(42, 1, 0, 0)
        e = a._noise("model.layers.0.self_attn.q_proj", 2, 5, "cpu", torch.float32)
        want = FixedNoise(42, 3).values("model.layers.0.self_attn.q_proj", 5)
        self.assertTrue(torch.equal(e[0], e[1]))
        self.assertAlmostEqual(float(e[0, 4, 2]), want[4 * 3 + 2], places=6)

    def test_errors(self):
        a = LoraAdapter.create(self.model, {"r": 2, "alpha": 4}, seed=3)
        d = os.path.join(self.tmp, "ad")
        save_adapter(a, d)
        with torch.no_grad():
            self.model.model.norm.weight.add_(1.0)
        with self.assertRaisesRegex(AdapterError, "another base model"):
            load_adapter(d, self.model)
        load_adapter(d, self.model, force=True)
        tensors = [(n, t) for n, t in a.file_tensors() if "layers.1.mlp.up_proj.lora_B" not in n]
        write_safetensors(os.path.join(d, "adapter_model.safetensors"), tensors)
        with self.assertRaisesRegex(FormatError, "up_proj.lora_B.weight\" is missing"):
            load_adapter(d, self.model, force=True)
        with self.assertRaisesRegex(AdapterError, "not a linear layer"):
            LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "target_modules": ["qq_proj"]})
        with self.assertRaisesRegex(AdapterError, "router_noise"):
            LoraAdapter.create(self.model, {"r": 2, "alpha": 4, "router_noise": "loud"})


if __name__ == "__main__":
    unittest.main()


class GradientCheckpointing(unittest.TestCase):
    def test_same_adapter_gradients_with_recomputed_layers(self):
        case, get = load_case("llama_moe")
        b = case["batch"]
        ids, mask, labels = (torch.tensor(b[k]) for k in ("input_ids", "attention_mask", "labels"))
        grads = []
        for ckpt in (False, True):
            model = base_model(case, get)
            model.gradient_checkpointing = ckpt
            a = LoraAdapter.create(model, {"r": 2, "alpha": 4, "experts": 3, "dropout": 0.1}, seed=4)
            with torch.no_grad():
                for _, p in a.named_tensors():
                    p.add_(0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
            a.attach(model)
            model.train()
            a.train()
            a.start_micro_step(5, 1, 0, 0)
            torch.manual_seed(0)
            lm_loss(model, ids, mask, labels).backward()
            grads.append({n: p.grad.clone() for n, p in a.named_tensors()})
        for n in grads[0]:
            self.assertTrue(torch.allclose(grads[0][n], grads[1][n], atol=1e-6), n)
