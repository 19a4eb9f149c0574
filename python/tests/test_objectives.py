"""Preference losses against the project's float64 PyTorch reference fixture
(test/fixtures/train/dpo.json, scripts/fixtures/dpo_torch_parity.py): sigmoid, sigmoid with ftx and
label smoothing, hinge, IPO, SimPO and ORPO — loss (mean over pairs), rewards and every policy
gradient, through the trainer's own micro-batch function and the cached reference log-probs."""
import json
import os
import unittest

import numpy as np
import torch

from pedgpt_torch.config import parse_config
from pedgpt_torch.dataset import Batch
from pedgpt_torch.model import CausalLM
from pedgpt_torch.objectives import preference_micro

from .util import REPO

DPO = os.path.join(REPO, "test", "fixtures", "train")


class PreferenceLossesMatchReference(unittest.TestCase):
    def test_every_variant(self):
        with open(os.path.join(DPO, "dpo.json"), encoding="utf-8") as f:
            fx = json.load(f)
        data = np.fromfile(os.path.join(DPO, fx["file"]), dtype="<f4")

        def get(key):
            t = fx["tensors"][key]
            return torch.from_numpy(data[t["offset"]:t["offset"] + int(np.prod(t["shape"]))].copy()).reshape(t["shape"])

        b = fx["batch"]
        ids, mask, labels = (torch.tensor(b[k]) for k in ("input_ids", "attention_mask", "labels"))
        ref = torch.tensor(fx["ref_logps"], dtype=torch.float64)
        K = fx["pairs"]
        for name, case in fx["cases"].items():
            with self.subTest(loss=name):
                model = CausalLM(parse_config(fx["config"], "fixture"))
                with torch.no_grad():
                    for n, p in model.named_weights():
                        p.copy_(get("weight:" + n))
                c = case["options"]
                o = {"loss": c["loss"], "beta": c["beta"], "ftx": c["ftx"], "label_smoothing": c["ls"], "simpo_gamma": c.get("gamma", 0.5)}
                total, weight, tokens, sc = preference_micro(model, Batch(ids, labels, mask, None, None), K, ref, o)
                self.assertEqual(weight, K)
                self.assertEqual(tokens, int(mask.sum()))
                self.assertAlmostEqual(total.item() / K, case["loss"], delta=1e-5 * max(1.0, abs(case["loss"])))
                self.assertAlmostEqual(sc["rewards/chosen"] / K, sum(case["rewards_chosen"]) / K, delta=1e-5)
                self.assertAlmostEqual(sc["logps/chosen"] / K, sum(case["policy_logps"][:K]) / K, delta=1e-4)
                (total / K).backward()
                for n, p in model.named_weights():
                    want = get(f"grad:{name}:{n}")
                    err = float((p.grad - want).abs().max() / max(float(want.abs().max()), 1e-6))
                    self.assertLess(err, 5e-4, f"{name} {n}")


if __name__ == "__main__":
    unittest.main()
