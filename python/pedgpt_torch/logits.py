"""`python -m pedgpt_torch.logits --model DIR [--adapter DIR] --batch BATCH.json --out LOGITS.bin
[--save DIR]` (or `--jobs JOBS.json`, a list of {model, adapter?, batch, out, save?}, to pay for
starting torch once): logits of a model folder (with an adapter attached, in inference mode) for a batch
`{"ids": [[…]], "mask": [[…]], "positions"?: [[…]], "segments"?: [[…]]}` (packed rows: segment ids and
positions restarting per segment), written as little-endian float32 (B, T, V). With --save, the model
is also written back through save_model (a torch-written copy for the other backend to read). Used
to check that checkpoints and adapters move between the backends with equal logits.

Not here: training (train.py).
"""
import argparse
import json
import sys

import numpy as np
import torch

from .adapters import load_adapter
from .errors import PedgptTorchError
from .model import load_model, save_model


def run_job(model_dir: str, adapter, batch_file: str, out: str, save) -> None:
    model = load_model(model_dir)
    if adapter:
        ad = load_adapter(adapter, model)
        ad.attach(model)
        ad.eval()
    model.eval()
    with open(batch_file, encoding="utf-8") as f:
        b = json.load(f)
    ids = torch.tensor(b["ids"], dtype=torch.long)
    opt = lambda k: torch.tensor(b[k], dtype=torch.long) if b.get(k) is not None else None
    with torch.no_grad():
        logits = model(ids, opt("mask"), opt("positions"), opt("segments"))
    with open(out, "wb") as f:
        f.write(logits.numpy().astype("<f4").tobytes())
    if save:
        save_model(model, save, {"template": "default"})


def main(argv) -> int:
    ap = argparse.ArgumentParser(prog="python -m pedgpt_torch.logits")
    ap.add_argument("--model")
    ap.add_argument("--adapter")
    ap.add_argument("--batch")
    ap.add_argument("--out")
    ap.add_argument("--save")
    ap.add_argument("--jobs")
    a = ap.parse_args(argv)
    try:
        if a.jobs:
            with open(a.jobs, encoding="utf-8") as f:
                jobs = json.load(f)
        elif a.model and a.batch and a.out:
            jobs = [{"model": a.model, "adapter": a.adapter, "batch": a.batch, "out": a.out, "save": a.save}]
        else:
            ap.error("give --model, --batch and --out, or --jobs")
        for j in jobs:
            run_job(j["model"], j.get("adapter"), j["batch"], j["out"], j.get("save"))
        return 0
    except (PedgptTorchError, OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"{type(e).__name__}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
