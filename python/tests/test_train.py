"""The trainer end to end in one process on a tiny model: metrics and checkpoints in the engine's
layout, resume reproducing the uninterrupted run, DPO with a cached reference, LoRA / MoE-LoRA
results in the adapter format, and plan/folder errors written to torch_errors/."""
import json
import os
import sys
import unittest

import torch

from pedgpt_torch.adapters import load_adapter
from pedgpt_torch.checkpoint import load_checkpoint
from pedgpt_torch.model import load_model
from pedgpt_torch.train import learning_rate, main

from .helpers import plan, random_rows, tiny_model, write_dataset
from .util import TempDirCase


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def metrics(out):
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


class TrainerRuns(TempDirCase):
    def setUp(self):
        super().setUp()
        self.model_dir = os.path.join(self.tmp, "model")
        tiny_model(self.model_dir)
        self.data = os.path.join(self.tmp, "data")
        write_dataset(self.data, random_rows(12, 1))

    def test_full_sft_metrics_checkpoints_and_resume(self):
        out = os.path.join(self.tmp, "out")
        f = plan(self.tmp, self.model_dir, self.data, range(10), eval={"dir": self.data, "items": [10, 11]})
        self.assertEqual(main([f]), 0)
        lines = metrics(out)
        self.assertEqual([l["step"] for l in lines], list(range(7)))
        self.assertEqual(list(lines[1].keys())[:9], ["run", "step", "loss", "lr", "gradNorm", "tokens", "tokensPerSecond", "epoch", "skipped"])
        self.assertIn("valLoss", lines[3])
        self.assertEqual(len({l["run"] for l in lines}), 1)
        self.assertEqual(sorted(os.listdir(os.path.join(out, "checkpoints"))), ["checkpoint-00000004", "checkpoint-00000006"])
        ck = load_checkpoint(os.path.join(out, "checkpoints", "checkpoint-00000006"))
        self.assertEqual(ck["state"]["optimizerStep"], 6)
        self.assertEqual(ck["state"]["objective"], "lm")
        result = read_json(os.path.join(out, "torch_result.json"))
        self.assertEqual(result["steps"], 6)
        self.assertLess(result["finalLoss"], result["firstLoss"])
        trained = load_model(out)
        self.assertTrue(torch.equal(trained.model.norm.weight, ck["weights"]["model.norm.weight"]))
        # resume from step 4 after cutting the run back: the same curve
        import shutil
        shutil.rmtree(os.path.join(out, "checkpoints", "checkpoint-00000006"))
        with open(os.path.join(out, "metrics.jsonl"), "a") as fh:
            fh.write('{"run": "' + lines[0]["run"] + '", "step": 5, "loss": 9')
        f2 = plan(self.tmp, self.model_dir, self.data, range(10), eval={"dir": self.data, "items": [10, 11]}, resume=True)
        self.assertEqual(main([f2]), 0)
        again = metrics(out)
        self.assertEqual([l.get("loss") for l in again], [l.get("loss") for l in lines])
        # a new run in the same folder is refused, and the refusal is recorded
        f3 = plan(self.tmp, self.model_dir, self.data, range(10))
        self.assertEqual(main([f3]), 1)
        err = read_json(os.path.join(out, "torch_errors", "rank-0.json"))
        self.assertEqual(err["type"], "RunConflictError")
        f4 = plan(self.tmp, self.model_dir, self.data, range(10), resume=True, recipe_hash="other", recipe={"x": 2})
        self.assertEqual(main([f4]), 1)
        err = read_json(os.path.join(out, "torch_errors", "rank-0.json"))
        self.assertEqual(err["type"], "RecipeMismatchError")
        self.assertIn("x: checkpoint 1, now 2", err["message"])

    def test_dpo_cached_reference_and_moe_lora(self):
        pairs = []
        for i, (ids, labels) in enumerate(random_rows(16, 5, lo=6, hi=10, prompt=3)):
            pairs.append((ids, labels))
        pdata = os.path.join(self.tmp, "pairs")
        write_dataset(pdata, pairs, kind="pairs")
        cache = os.path.join(self.tmp, "ref.f64")
        f = plan(self.tmp, self.model_dir, pdata, range(8), stage="dpo", finetuning_type="moe_lora",
                 objective={"kind": "preference", "loss": "sigmoid", "beta": 0.1, "ftx": 1.0},
                 adapter={"r": 2, "alpha": 4, "experts": 3, "router_noise": "fixed"}, reference={"cache_file": cache, "batch_size": 4})
        self.assertEqual(main([f]), 0)
        out = os.path.join(self.tmp, "out")
        self.assertEqual(os.path.getsize(cache), 16 * 8)
        lines = metrics(out)
        for k in ("rewards/chosen", "rewards/accuracies", "logps/chosen", "loss/exact", "router/entropy", "router/gate_2"):
            self.assertIn(k, lines[-1])
        a = load_adapter(out, load_model(self.model_dir))
        self.assertEqual(a.settings["experts"], 3)
        result = read_json(os.path.join(out, "torch_result.json"))
        self.assertFalse(result["reference"]["cached"])
        # a second run reads the cache; held-out pairs of another dataset get their own reference
        heldout = os.path.join(self.tmp, "heldout")
        write_dataset(heldout, random_rows(4, 9, lo=6, hi=10, prompt=3), kind="pairs")
        f = plan(self.tmp, self.model_dir, pdata, range(8), stage="dpo", finetuning_type="lora", overwrite=True,
                 objective={"kind": "preference", "loss": "sigmoid", "beta": 0.1, "ftx": 0.0}, eval={"dir": heldout, "items": [0, 1]},
                 adapter={"r": 2, "alpha": 4}, reference={"cache_file": cache, "batch_size": 4})
        self.assertEqual(main([f]), 0)
        result = read_json(os.path.join(out, "torch_result.json"))
        self.assertTrue(result["reference"]["cached"])
        # a fresh LoRA is the reference itself: rewards 0, loss ln 2 on the held-out pairs before training
        self.assertAlmostEqual(result["valLossBefore"], 0.6931471805599453, places=5)

    def test_bad_plans_name_the_field(self):
        f = plan(self.tmp, self.model_dir, self.data, range(10), trainer={"batch_size": 3})
        self.assertEqual(main([f]), 1)
        err = read_json(os.path.join(self.tmp, "out", "torch_errors", "rank-0.json"))
        self.assertEqual(err["type"], "PlanError")
        self.assertIn("trainer.batch_size", err["message"])
        f = plan(self.tmp, self.model_dir, self.data, [0, 99])
        self.assertEqual(main([f]), 1)
        self.assertIn("train.items", read_json((os.path.join(self.tmp, "out", "torch_errors", "rank-0.json")))["message"])
        f = plan(self.tmp, self.model_dir, self.data, range(4), device="cuda") if not torch.cuda.is_available() else None
        if f:
            self.assertEqual(main([f]), 1)
            err = read_json(os.path.join(self.tmp, "out", "torch_errors", "rank-0.json"))
            self.assertEqual(err["type"], "DeviceError")
        try:
            import transformers  # noqa: F401
        except ImportError:
            f = plan(self.tmp, self.model_dir, self.data, range(4), model_impl="hf")
            self.assertEqual(main([f]), 1)
            err = read_json(os.path.join(self.tmp, "out", "torch_errors", "rank-0.json"))
            self.assertEqual(err["type"], "PlanError")
            self.assertIn('"hf" needs the transformers package', err["message"])
        f = plan(self.tmp, self.model_dir, self.data, range(4), fsdp=True)
        self.assertEqual(main([f]), 1)
        self.assertIn("fsdp", read_json((os.path.join(self.tmp, "out", "torch_errors", "rank-0.json")))["message"])

    def test_guard_skips_steps_and_aborts_after_max_bad_steps(self):
        empty = os.path.join(self.tmp, "empty")
        write_dataset(empty, [(ids, [-100] * len(ids)) for ids, _ in random_rows(6, 2)])
        f = plan(self.tmp, self.model_dir, empty, range(6), trainer={"max_bad_steps": 2})
        self.assertEqual(main([f]), 1)
        err = read_json(os.path.join(self.tmp, "out", "torch_errors", "rank-0.json"))
        self.assertEqual(err["type"], "TrainingError")
        self.assertIn("step 3: 3 consecutive steps with nothing to train on", err["message"])
        lines = metrics(os.path.join(self.tmp, "out"))
        self.assertEqual([(l["step"], l["skipped"], l["loss"]) for l in lines], [(1, True, None), (2, True, None)])

    def test_schedule_matches_engine_formula(self):
        t = {"lr": 1.0, "warmup_steps": 2, "steps": 10, "min_lr_ratio": 0.1, "schedule": "cosine"}
        self.assertAlmostEqual(learning_rate(1, t), 0.5)
        self.assertAlmostEqual(learning_rate(2, t), 1.0)
        self.assertAlmostEqual(learning_rate(10, t), 0.1)
        self.assertAlmostEqual(learning_rate(6, {**t, "schedule": "linear"}), 0.1 + 0.9 * 0.5)


if __name__ == "__main__":
    unittest.main()


class StopSignal(TempDirCase):
    def test_sigterm_stops_after_a_step_with_a_checkpoint_of_it(self):
        import subprocess
        import signal
        import time
        from .util import REPO
        model_dir = os.path.join(self.tmp, "model")
        tiny_model(model_dir)
        data = os.path.join(self.tmp, "data")
        write_dataset(data, random_rows(12, 1))
        f = plan(self.tmp, model_dir, data, range(10), trainer={"steps": 400, "checkpoint_every": 1000})
        out = os.path.join(self.tmp, "out")
        env = {**os.environ, "PYTHONPATH": os.path.join(REPO, "python")}
        proc = subprocess.Popen([sys.executable, "-m", "pedgpt_torch.train", f], env=env, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and not (os.path.exists(os.path.join(out, "metrics.jsonl")) and len(metrics(out)) >= 3):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(60), 130)
        err = read_json(os.path.join(out, "torch_errors", "rank-0.json"))
        self.assertEqual(err["type"], "TrainingStopped")
        stopped = metrics(out)[-1]["step"]
        self.assertLess(stopped, 400)
        self.assertIn(f"stopped after step {stopped} of 400", err["message"])
        ck = load_checkpoint(os.path.join(out, "checkpoints", f"checkpoint-{stopped:08d}"))
        self.assertEqual(ck["state"]["step"], stopped)
