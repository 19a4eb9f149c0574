"""Formats refuse bad input with the file and what is wrong: safetensors headers (truncated, hole,
unknown dtype, size mismatch, trailing bytes), F16/BF16 round trips and overflow, tokenized datasets
(meta fields, file sizes, index), checkpoints (missing manifest, checksum), metrics files of
another run, and the plan's fields."""
import json
import os
import struct
import unittest

import torch

from pedgpt_torch.checkpoint import MetricsLog, load_checkpoint, save_checkpoint
from pedgpt_torch.dataset import TokenDataset, collate
from pedgpt_torch.errors import CheckpointCorruptError, FormatError, PlanError, RunConflictError
from pedgpt_torch.plan import check_plan
from pedgpt_torch.safetensors import SafetensorsFile, write_safetensors

from .helpers import write_dataset
from .util import TempDirCase


def raw_file(path, header, data=b""):
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


class Safetensors(TempDirCase):
    def test_round_trip_dtypes(self):
        p = os.path.join(self.tmp, "a.safetensors")
        t = torch.tensor([[1.5, -2.25, 3.0], [0.1, 1e-3, -7.0]])
        for dt, tol in (("F32", 0), ("F16", 1e-3), ("BF16", 1e-2)):
            write_safetensors(p, [("w", t)], {"k": "v"}, dtype=dt)
            f = SafetensorsFile(p)
            self.assertEqual(f.dtype("w"), dt)
            self.assertEqual(f.metadata, {"k": "v"})
            self.assertLessEqual(float((f.read("w") - t).abs().max()), tol * 8)
            self.assertEqual(f.data_start % 8, 0)  # header padded as the reference writer pads it
        with self.assertRaisesRegex(FormatError, "does not fit in F16"):
            write_safetensors(p, [("w", torch.tensor([1e5]))], dtype="F16")
        with self.assertRaisesRegex(FormatError, 'tensor "w": value nan'):
            write_safetensors(p, [("w", torch.tensor([float("nan")]))])

    def test_bad_headers_are_named(self):
        p = os.path.join(self.tmp, "b.safetensors")
        cases = [
            ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "truncated"),
            ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 12, "4 unexpected trailing bytes"),
            ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "needs 8 bytes"),
            ({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, 'dtype "Q4" is not supported'),
            ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "hole in the data section"),
            ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "non-negative integers"),
        ]
        for header, data, msg in cases:
            raw_file(p, header, data)
            with self.assertRaisesRegex(FormatError, msg):
                SafetensorsFile(p)
        with open(p, "wb") as f:
            f.write(b"\1\2")
        with self.assertRaisesRegex(FormatError, "at least 8"):
            SafetensorsFile(p)


class Datasets(TempDirCase):
    def test_collate_and_checks(self):
        d = os.path.join(self.tmp, "ds")
        rows = [([5, 6, 7, 8], [-100, 6, 7, 8]), ([9, 10], [-100, 10])]
        write_dataset(d, rows, segments=[[1, 1, 2, 2], [1, 1]])
        ds = TokenDataset(d)
        b = collate(ds, [0, 1], pad_id=0)
        self.assertEqual(b.ids.tolist(), [[5, 6, 7, 8], [9, 10, 0, 0]])
        self.assertEqual(b.labels.tolist(), [[-100, 6, 7, 8], [-100, 10, -100, -100]])
        self.assertEqual(b.mask.tolist(), [[1, 1, 1, 1], [1, 1, 0, 0]])
        self.assertEqual(b.positions.tolist(), [[0, 1, 0, 1], [0, 1, 0, 0]])
        self.assertEqual(b.segments.tolist(), [[1, 1, 2, 2], [1, 1, 1, 1]])
        meta_file = os.path.join(d, "meta.json")
        with open(meta_file) as f:
            meta = json.load(f)
        for change, msg in (({"version": 2}, "version 2 is not supported"), ({"kind": "x"}, "kind"), ({"rows": -1}, '"rows"'),
                            ({"tokens": 7}, "offsets must run from 0 to 7"), ({"kind": "pairs", "rows": 1}, "even number of rows")):
            with open(meta_file, "w") as f:
                json.dump({**meta, **change}, f)
            with self.assertRaisesRegex(FormatError, msg):
                TokenDataset(d)
        with open(meta_file, "w") as f:
            json.dump(meta, f)
        with open(os.path.join(d, "labels.bin"), "ab") as f:
            f.write(b"\0\0\0\0")
        with self.assertRaisesRegex(FormatError, "labels.bin: 28 bytes, expected 24"):
            TokenDataset(d)


class RunFiles(TempDirCase):
    def test_checkpoint_corruption_and_metrics_of_another_run(self):
        root = os.path.join(self.tmp, "checkpoints")
        state = {"runId": "r1", "recipeHash": "h", "recipe": {}, "objective": "lm", "step": 3, "optimizerStep": 3,
                 "order": {"epoch": 0, "cursor": 3, "order": [2, 0, 1]}, "rng": {"generator": "x", "seed": 1},
                 "guard": {"badRun": 0, "skippedSteps": 0}, "tokens": 12}
        w = torch.arange(6, dtype=torch.float32).view(2, 3)
        d = save_checkpoint(root, state, [("w", w)], {"w": (w * 0.1, w * 0.01)}, 3)
        ck = load_checkpoint(d)
        self.assertTrue(torch.equal(ck["weights"]["w"], w))
        self.assertTrue(torch.allclose(ck["exp_avg_sq"]["w"], w * 0.01))
        with open(os.path.join(d, "state.json"), "a") as f:
            f.write(" ")
        with self.assertRaisesRegex(CheckpointCorruptError, "state.json: truncated or altered"):
            load_checkpoint(d)
        os.unlink(os.path.join(d, "manifest.json"))
        with self.assertRaisesRegex(CheckpointCorruptError, "incomplete: no manifest.json"):
            load_checkpoint(d)
        mf = os.path.join(self.tmp, "metrics.jsonl")
        MetricsLog.create(mf, "r1").append({"step": 1, "loss": float("nan")})
        with open(mf) as f:
            self.assertEqual(json.loads(f.read())["loss"], None)
        with self.assertRaisesRegex(RunConflictError, "refusing to mix runs"):
            MetricsLog.resume(mf, "r2", 1)
        with self.assertRaises(RunConflictError):
            MetricsLog.create(mf, "r3")


class Plans(TempDirCase):
    def test_fields_are_named(self):
        good = {"format": "pedgpt-torch-plan", "version": 1, "stage": "sft", "finetuning_type": "full", "model_dir": self.tmp, "output_dir": self.tmp,
                "train": {"dir": self.tmp, "items": [0, 1]}, "trainer": {"steps": 2, "batch_size": 2, "lr": 1e-3}, "objective": {"kind": "lm"}, "adapter": None}
        check_plan(json.loads(json.dumps(good)), "p.json")
        bad = [({"stage": "rl"}, "stage"), ({"trainer": {"steps": 0, "batch_size": 2, "lr": 1e-3}}, "trainer.steps"),
               ({"trainer": {"steps": 2, "batch_size": 2, "lr": 1e-3, "lr_decay": 1}}, "trainer.lr_decay"),
               ({"objective": {"kind": "preference", "loss": "sigmoid"}}, "objective.kind"),
               ({"finetuning_type": "lora"}, "adapter"), ({"device": "tpu"}, "device"), ({"resume": True, "overwrite": True}, "overwrite"),
               ({"train": {"dir": self.tmp, "items": [-1]}}, "train.items"), ({"model_dir": os.path.join(self.tmp, "nope")}, "model_dir")]
        for change, field in bad:
            with self.assertRaisesRegex(PlanError, f'field "{field}"'):
                check_plan({**json.loads(json.dumps(good)), **change}, "p.json")


if __name__ == "__main__":
    unittest.main()
