"""`python -m pedgpt_torch.logits --model DIR [--adapter DIR] --batch BATCH.json --out LOGITS.bin
[--save DIR]`: logits of a model folder (with an adapter attached, in inference mode) for a batch
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


def main(argv) -> int:
    ap = argparse.ArgumentParser(prog="python -m pedgpt_torch.logits")
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save")
    a = ap.parse_args(argv)
    try:
        model = load_model(a.model)
        if a.adapter:
            ad = load_adapter(a.adapter, model)
            ad.attach(model)
            ad.eval()
        model.eval()
        with open(a.batch, encoding="utf-8") as f:
            b = json.load(f)
        ids = torch.tensor(b["ids"], dtype=torch.long)
        opt = lambda k: torch.tensor(b[k], dtype=torch.long) if b.get(k) is not None else None
        with torch.no_grad():
            logits = model(ids, opt("mask"), opt("positions"), opt("segments"))
        with open(a.out, "wb") as f:
            f.write(logits.numpy().astype("<f4").tobytes())
        if a.save:
            save_model(model, a.save, {"template": "default"})
        return 0
    except (PedgptTorchError, OSError, ValueError, KeyError) as e:
        sys.stderr.write(f"{type(e).__name__}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
