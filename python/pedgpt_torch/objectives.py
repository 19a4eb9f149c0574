"""What one micro-batch contributes to a step, in the engine's terms (src/train/lm.ts,
src/train/stages/preference.ts): a loss SUM over the batch's units, its weight (counted target
tokens for next-token losses, pairs for preference losses), tokens seen (attention-mask sum) and
named scalar sums; the trainer divides by the total weight of the step once.

Preference losses (trl 0.8.6 / LLaMA-Factory semantics, logged under trl's names): sigmoid with label
smoothing, hinge, ipo, simpo, orpo; log π(y) = SUM of response-token log-probs, MEAN for ipo, simpo
and orpo; DFPO's ftx adds μ·(mean NLL of the chosen response) per pair. The pair loss is computed in
float64 with autograd, which gives the engine's exact derivatives. Reference log-probs come from the
same cache file as the engine's (`ref-logps-*.f64`, float64 little-endian per dataset row).

Not here: the loop, the optimizer (train.py).
"""
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .atomic import write_bytes
from .dataset import Batch, TokenDataset, collate
from .model import CausalLM, token_losses

REFERENCE_LOSSES = ("sigmoid", "hinge", "ipo")
MEAN_LOSSES = ("ipo", "simpo", "orpo")


def _tokens(batch: Batch) -> int:
    return int(batch.mask.sum())


def forward(model: CausalLM, batch: Batch) -> Tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch.ids, batch.mask, batch.positions, batch.segments)
    return token_losses(logits, batch.labels)


def lm_micro(model: CausalLM, batch: Batch) -> Tuple[torch.Tensor, float, int, Dict[str, float]]:
    losses, targets = forward(model, batch)
    count = int((targets != -100).sum())
    return losses.sum(), float(count), _tokens(batch), {}


def row_logps(losses: torch.Tensor, targets: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    counted = targets != -100
    return -(losses.double() * counted).sum(dim=1), counted.sum(dim=1)


def pair_losses(pc, pr, rc, rr, nc, nr, o: Dict) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair loss and rewards (float64 tensors). pc/pr: policy SUM log-probs; rc/rr: reference;
    nc/nr: counted response tokens."""
    beta, ls, loss_kind = o["beta"], o["label_smoothing"], o["loss"]
    mean = loss_kind in MEAN_LOSSES
    dc, dr = (nc, nr) if mean else (torch.ones_like(nc), torch.ones_like(nr))
    if mean and bool(((nc <= 0) | (nr <= 0)).any()):
        raise ValueError("a response without counted tokens has no mean log-prob")
    a_c, a_r, b_c, b_r = pc / dc, pr / dr, rc / dc, rr / dr
    if loss_kind == "sigmoid":
        z = beta * (a_c - a_r - (b_c - b_r))
        loss = (1 - ls) * F.softplus(-z) + ls * F.softplus(z)
    elif loss_kind == "hinge":
        loss = torch.relu(1 - beta * (a_c - a_r - (b_c - b_r)))
    elif loss_kind == "ipo":
        loss = (a_c - a_r - (b_c - b_r) - 1 / (2 * beta)) ** 2
    elif loss_kind == "simpo":
        loss = F.softplus(-(beta * (a_c - a_r) - o["simpo_gamma"]))
    elif loss_kind == "orpo":
        log_odds = lambda a: a - torch.log(-torch.expm1(a))
        loss = -a_c + beta * F.softplus(-(log_odds(a_c) - log_odds(a_r)))
    else:
        raise ValueError(f"unknown preference loss {loss_kind}")
    if o["ftx"] > 0:
        if bool((nc <= 0).any()):
            raise ValueError("the ftx term needs counted chosen tokens")
        loss = loss + (-o["ftx"] * pc) / nc
    ref = loss_kind in REFERENCE_LOSSES
    reward_c = beta * (a_c - b_c if ref else a_c)
    reward_r = beta * (a_r - b_r if ref else a_r)
    return loss, reward_c.detach(), reward_r.detach()


def preference_micro(model: CausalLM, batch: Batch, K: int, ref: Optional[torch.Tensor], o: Dict) -> Tuple[torch.Tensor, float, int, Dict[str, float]]:
    """batch rows 0..K−1 chosen, K..2K−1 rejected; ref (2K,) float64 in the same order or None."""
    losses, targets = forward(model, batch)
    logps, counts = row_logps(losses, targets)
    lp = logps.double()
    n = counts.double()
    needs_ref = o["loss"] in REFERENCE_LOSSES
    if needs_ref and ref is None:
        raise ValueError(f"pref_loss {o['loss']} needs reference log-probs")
    r = ref.to(lp.device) if needs_ref else torch.zeros_like(lp)
    loss, rc, rr = pair_losses(lp[:K], lp[K:], r[:K], r[K:], n[:K], n[K:], o)
    total = loss.sum()
    d = lambda t: float(t.detach().sum())
    scalars = {"rewards/chosen": d(rc), "rewards/rejected": d(rr), "rewards/accuracies": float((rc > rr).double().sum()),
               "rewards/margins": d(rc - rr), "logps/chosen": d(lp[:K]), "logps/rejected": d(lp[K:]), "loss/exact": d(loss)}
    return total, float(K), _tokens(batch), scalars


def pair_batch(ds: TokenDataset, pairs: List[int], pad_id: int, ref_all: Optional[torch.Tensor]) -> Tuple[Batch, Optional[torch.Tensor]]:
    chosen = [2 * p for p in pairs]
    rejected = [2 * p + 1 for p in pairs]
    batch = collate(ds, chosen + rejected, pad_id)
    ref = None if ref_all is None else ref_all[torch.tensor(chosen + rejected)]
    return batch, ref


def reference_logps(model: CausalLM, ds: TokenDataset, pad_id: int, batch_size: int, cache_file: Optional[str], device,
                    rank: int, world: int, reduce_sum, log=lambda s: None) -> Tuple[torch.Tensor, bool]:
    """SUM log-probs of every dataset row under `model` as it is now (call with the adapter disabled),
    read from `cache_file` when it holds one float64 per row, else computed (batches split over the
    ranks) and written there by rank 0."""
    if cache_file and os.path.isfile(cache_file):
        size = os.path.getsize(cache_file)
        if size == ds.rows * 8:
            return torch.from_numpy(np.fromfile(cache_file, dtype="<f8").copy()), True
        log(f"{cache_file}: {size} bytes for {ds.rows} rows; recomputing")
    out = torch.zeros(ds.rows, dtype=torch.float64)
    was = model.training
    model.eval()
    with torch.no_grad():
        for i, start in enumerate(range(0, ds.rows, batch_size)):
            if i % world != rank:
                continue
            rows = list(range(start, min(ds.rows, start + batch_size)))
            losses, targets = forward(model, collate(ds, rows, pad_id).to(device))
            lp, _ = row_logps(losses.float(), targets)
            out[start:start + len(rows)] = lp.double().cpu()
    model.train(was)
    out = reduce_sum(out)
    if cache_file and rank == 0:
        write_bytes(cache_file, out.numpy().astype("<f8").tobytes())
    return out, False
