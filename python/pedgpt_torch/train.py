"""`python -m pedgpt_torch.train PLAN.json` (under torchrun or alone): one stage of the project's
recipes on PyTorch with the engine's semantics (src/train/trainer/trainer.ts):

- distributed: torch.distributed from torchrun's environment (gloo on CPU, nccl on CUDA; world size 1
  without torchrun). Every rank computes the same global item order (the engine's ItemOrder); with
  world W and micro-batch m, rank r's micro-step k takes indices[(k·W + r)·m : (k·W + r + 1)·m], so the
  data order is the seed's whatever W is. Gradients of the loss SUMS are all-reduced by hand (summed)
  and divided once by the step's total weight, which equals the engine's weighted accumulation;
- AdamW (decay on tensors of rank >= 2 only), warmup + cosine/linear/constant, global-norm clipping
  (norm reported before clipping), the NaN/Inf guard (skip, abort after max_bad_steps in a row);
- held-out loss at step 0, every eval_every steps and at the end; metrics.jsonl, checkpoints and
  resume in the engine's formats (checkpoint.py); bf16 autocast on CUDA GPUs that support it;
- the result: a model folder (full) or an adapter folder, and torch_result.json; progress on stderr
  (rank 0); any exception written to torch_errors/rank-<r>.json before exiting non-zero.

Not here: formats (checkpoint.py, model.py, adapters.py), losses (objectives.py), plan checks (plan.py).
"""
import importlib
import json
import math
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from typing import Dict, List, Optional

# Before torch loads OpenMP: idle threads sleep instead of spinning. Spinning ranks on shared or
# oversubscribed cores were measured 7× slower than sleeping ones here (2 threads per rank on 2 busy cores).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from . import __version__  # noqa: E402
from .adapters import LoraAdapter, load_adapter, save_adapter
from .atomic import write_json
from .checkpoint import (MetricsLog, RunLock, dir_name, list_checkpoints, load_checkpoint, new_run_id, prune_checkpoints,
                         recipe_differences, remove_interrupted_saves, save_checkpoint)
from .dataset import TokenDataset, collate
from .errors import CheckpointCorruptError, DeviceError, PlanError, RecipeMismatchError, RunConflictError, TrainingError
from .model import load_model, save_model
from .objectives import REFERENCE_LOSSES, lm_micro, pair_batch, preference_micro, reference_logps
from .plan import load_plan
from .streams import ItemOrder

STOP = {"asked": False}


class TrainingStopped(TrainingError):
    """The run was asked to stop (SIGTERM/SIGINT) and did so after a step, with a checkpoint of it."""


def _ask_stop(signum, _frame) -> None:
    STOP["asked"] = True


KNOWN_KEYS = {"run", "step", "loss", "lr", "gradNorm", "tokens", "tokensPerSecond", "epoch", "skipped", "valLoss"}


def learning_rate(step: int, t: Dict) -> float:
    """The engine's schedule (src/train/schedule.ts) for 1-based `step`."""
    peak, warm, total, floor = t["lr"], t["warmup_steps"], t["steps"], t["min_lr_ratio"]
    if warm > 0 and step <= warm:
        return peak * step / warm
    if t["schedule"] == "constant":
        return peak
    span = max(1, total - warm)
    progress = min(1.0, max(0.0, (step - warm) / span))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if t["schedule"] == "cosine" else 1 - progress
    return peak * (floor + (1 - floor) * shape)


class Dist:
    """Rank, world and the few collectives the loop needs (no-ops for one process)."""

    def __init__(self, device_kind: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.on = self.world > 1
        if device_kind == "cuda":
            # before the process group: NCCL collectives run on the current device
            torch.cuda.set_device(self.local_rank)
        if self.on:
            dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")

    def sum_(self, t: torch.Tensor) -> torch.Tensor:
        if self.on:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t

    def barrier(self) -> None:
        if self.on:
            dist.barrier()

    def broadcast_obj(self, obj):
        if not self.on:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.on and dist.is_initialized():
            dist.destroy_process_group()


def pick_device(plan: Dict) -> str:
    want = plan["device"]
    if want == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f'device "cuda" was asked for, but torch {torch.__version__} sees no CUDA GPU (torch.cuda.is_available() is false); use device "cpu" or "auto"')
    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return want


def pick_precision(plan: Dict, device: str) -> str:
    want = plan["precision"]
    bf16_ok = device == "cuda" and torch.cuda.is_bf16_supported()
    if want == "bf16" and not bf16_ok:
        raise PlanError("plan", "precision", f"bf16 autocast needs a CUDA GPU that supports bfloat16 (device is {device}); use fp32 or auto")
    if want == "auto":
        return "bf16" if bf16_ok else "fp32"
    return want


def log0(d: Dist, line: str) -> None:
    if d.rank == 0:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class Trainer:
    def __init__(self, plan: Dict, d: Dist):
        self.plan, self.d = plan, d
        self.t = plan["trainer"]
        self.out = plan["output_dir"]
        self.device = pick_device(plan)
        if self.device == "cuda":
            torch.cuda.set_device(d.local_rank)
            self.dev = torch.device("cuda", d.local_rank)
        else:
            self.dev = torch.device("cpu")
        self.precision = pick_precision(plan, self.device)
        torch.set_num_threads(plan["threads"])
        if plan["fsdp"]:
            try:
                importlib.import_module("torch.distributed.fsdp")
            except Exception as e:  # the Debian torch 1.13 build on Python 3.11 fails here
                raise PlanError("plan", "fsdp", f"torch {torch.__version__} cannot import torch.distributed.fsdp ({type(e).__name__}: {e}); train with DDP (fsdp: false) or install a torch whose FSDP imports") from e
            raise PlanError("plan", "fsdp", "FSDP imports here, but this trainer shards nothing yet: it trains with data parallelism (fsdp: false)")
        self.setup_model()
        self.setup_data()

    # ---- setup ----

    def setup_model(self) -> None:
        p = self.plan
        if p["model_impl"] == "hf":
            from .hf import HFCausalLM  # optional and untested here (no transformers)
            model = HFCausalLM(p["model_dir"])
        else:
            model = load_model(p["model_dir"])
        if p["merge_adapter_dir"]:
            prev = load_adapter(p["merge_adapter_dir"], model)
            if prev.settings["experts"] > 1:
                raise PlanError("plan", "merge_adapter_dir", f"{p['merge_adapter_dir']} is a MoE-LoRA adapter, whose routed experts cannot be merged into the base")
            prev.merge_into(model)
        model.gradient_checkpointing = p["gradient_checkpointing"]
        self.adapter: Optional[LoraAdapter] = None
        if p["adapter"] is not None:
            self.adapter = LoraAdapter.create(model, p["adapter"], seed=self.t["seed"], base_model_path=p["model_dir"])
            self.adapter.attach(model)
            self.trainable = self.adapter.named_tensors()
        else:
            self.trainable = model.named_weights()
        self.model = model.to(self.dev)
        if self.adapter is not None:
            self.adapter.to(self.dev)
        params = [t for _, t in self.trainable]
        for t in params:
            t.requires_grad_(True)
        self.opt = torch.optim.AdamW([{"params": [t for t in params if t.dim() >= 2], "weight_decay": self.t["weight_decay"]},
                                      {"params": [t for t in params if t.dim() < 2], "weight_decay": 0.0}],
                                     lr=self.t["lr"], betas=(self.t["beta1"], self.t["beta2"]), eps=self.t["eps"])

    def setup_data(self) -> None:
        p = self.plan
        self.pairs = p["stage"] == "dpo"
        self.train_ds = self._dataset("train")
        self.eval_ds = self._dataset("eval") if p["eval"] else None
        self.items = p["train"]["items"]
        W, m, B = self.d.world, self.t["micro_batch_size"], self.t["batch_size"]
        if B % (m * W) != 0:
            raise PlanError("plan", "trainer.batch_size", f"{B} items per step cannot be split into micro-batches of {m} over {W} ranks (batch_size must be a multiple of micro_batch_size × world size = {m * W})")
        if B > len(self.items):
            raise PlanError("plan", "trainer.batch_size", f"a batch of {B} items is larger than the training data ({len(self.items)} items)")
        self.accumulation = B // (m * W)
        self.ref_train = self.ref_eval = None
        self.reference_info = None

    def _dataset(self, key: str) -> TokenDataset:
        spec = self.plan[key]
        ds = TokenDataset(spec["dir"])
        if self.pairs and ds.kind != "pairs":
            raise PlanError("plan", f"{key}.dir", f"a dpo stage needs a pairs dataset, {spec['dir']} is {ds.kind}")
        if not self.pairs and ds.kind == "pairs":
            raise PlanError("plan", f"{key}.dir", f"stage {self.plan['stage']} needs rows, {spec['dir']} holds preference pairs")
        n = ds.rows // 2 if self.pairs else ds.rows
        bad = [i for i in spec["items"] if i >= n]
        if bad:
            raise PlanError("plan", f"{key}.items", f"item {bad[0]} is outside the dataset's {n} {'pairs' if self.pairs else 'rows'}")
        longest = max((max(ds.row_length(2 * i), ds.row_length(2 * i + 1)) if self.pairs else ds.row_length(i)) for i in spec["items"])
        if longest > self.model.config.max_positions:
            raise PlanError("plan", f"{key}.dir", f"sequence length {longest} is longer than the model's max_position_embeddings ({self.model.config.max_positions})")
        return ds

    def setup_reference(self) -> None:
        o = self.plan["objective"]
        if o["kind"] != "preference" or o["loss"] not in REFERENCE_LOSSES:
            return
        ref = self.plan["reference"] or {}
        bs = int(ref.get("batch_size") or self.t["eval_batch_size"])
        started = time.time()

        def run(ds, cache):
            ctx = self.adapter.disabled() if self.adapter is not None else _null()
            with ctx:
                return reference_logps(self.model, ds, self.plan["pad_id"], bs, cache, self.dev, self.d.rank, self.d.world,
                                       lambda t: self.d.sum_(t.to(self.dev)).cpu() if self.device == "cuda" else self.d.sum_(t),
                                       lambda s: log0(self.d, s))

        cache = ref.get("cache_file")
        self.ref_train, cached = run(self.train_ds, cache)
        self.d.barrier()
        if self.eval_ds is not None:
            same = os.path.abspath(self.plan["eval"]["dir"]) == os.path.abspath(self.plan["train"]["dir"])
            self.ref_eval = self.ref_train if same else run(self.eval_ds, ref.get("eval_cache_file"))[0]
        self.reference_info = {"cacheFile": cache, "cached": cached, "seconds": time.time() - started}
        log0(self.d, f"reference log-probs {'read from' if cached else 'computed, cached in'} {cache}")

    # ---- one batch ----

    def micro(self, ds: TokenDataset, items: List[int], ref: Optional[torch.Tensor]):
        o = self.plan["objective"]
        pad = self.plan["pad_id"]
        if self.pairs:
            batch, r = pair_batch(ds, items, pad, ref)
            return preference_micro(self.model, batch.to(self.dev), len(items), r, o)
        return lm_micro(self.model, collate(ds, items, pad).to(self.dev))

    def autocast(self):
        if self.precision == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return _null()

    def evaluate(self) -> float:
        ev = self.plan["eval"]["items"]
        bs = self.t["eval_batch_size"]
        self.model.eval()
        if self.adapter is not None:
            self.adapter.eval()
        total = torch.zeros(2, dtype=torch.float64)
        with torch.no_grad():
            for i, start in enumerate(range(0, len(ev), bs)):
                if i % self.d.world != self.d.rank:
                    continue
                with self.autocast():
                    loss, weight, _, _ = self.micro(self.eval_ds, ev[start:start + bs], self.ref_eval)
                total[0] += float(loss)
                total[1] += weight
        if self.adapter is not None:
            self.adapter.take_router_stats()
        self.model.train()
        total = self._sum(total)
        return float(total[0] / total[1]) if total[1] > 0 else float("nan")

    def _sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.device == "cuda":
            return self.d.sum_(t.to(self.dev)).cpu()
        return self.d.sum_(t)

    def all_reduce_grads(self) -> None:
        if not self.d.on:
            return
        params = [t for _, t in self.trainable]
        bucket: List[torch.Tensor] = []
        size = 0

        def flush():
            if not bucket:
                return
            flat = torch.cat([g.reshape(-1) for g in bucket])
            self.d.sum_(flat)
            off = 0
            for g in bucket:
                g.copy_(flat[off:off + g.numel()].view_as(g))
                off += g.numel()
            bucket.clear()

        for p in params:
            bucket.append(p.grad)
            size += p.grad.numel()
            if size >= 16_000_000:
                flush()
                size = 0
        flush()

    # ---- the run ----

    def run(self) -> Dict:
        p, t, d = self.plan, self.t, self.d
        ckpt_root = os.path.join(self.out, "checkpoints")
        metrics_file = os.path.join(self.out, "metrics.jsonl")
        os.makedirs(self.out, exist_ok=True)
        lock = RunLock(self.out) if d.rank == 0 else None
        try:
            return self._run(ckpt_root, metrics_file)
        finally:
            if lock:
                lock.release()

    def _run(self, ckpt_root: str, metrics_file: str) -> Dict:
        p, t, d = self.plan, self.t, self.d
        order = ItemOrder(len(self.items), t["seed"], t["shuffle"])
        run_id, start_step, skipped_steps, bad_run, tokens_done = new_run_id(), 0, 0, 0, 0
        metrics: Optional[MetricsLog] = None
        history: List[Dict] = []
        val_before = None
        if d.rank == 0:
            stale = remove_interrupted_saves(ckpt_root)
            if stale:
                log0(d, f"removed {len(stale)} unfinished checkpoint folder(s) of an interrupted save")
        d.barrier()
        if p["resume"]:
            all_ = list_checkpoints(ckpt_root)
            if not all_:
                raise PlanError("plan", "resume", f"{ckpt_root} holds no checkpoint to resume from")
            cdir = all_[-1][1]
            if len(all_) > 1 and not os.path.isfile(os.path.join(cdir, "manifest.json")):
                raise CheckpointCorruptError(cdir, f"incomplete: no manifest.json; the previous checkpoint {all_[-2][1]} may be intact: remove the damaged folder to resume from it")
            ck = load_checkpoint(cdir)
            s = ck["state"]
            if s["recipeHash"] != p["recipe_hash"]:
                diffs = recipe_differences(s["recipe"], p["recipe"]) or [f"recipe hash {s['recipeHash'][:12]} ≠ {p['recipe_hash'][:12]}"]
                raise RecipeMismatchError(cdir, diffs)
            wfile = os.path.join(cdir, "trainable.safetensors")
            for name, tensor in self.trainable:
                w = ck["weights"].get(name)
                if w is None:
                    raise CheckpointCorruptError(wfile, f'no tensor "{name}" (the objective trains it)')
                if w.numel() != tensor.numel():
                    raise CheckpointCorruptError(wfile, f'tensor "{name}" has {w.numel()} values, expected {tensor.numel()} (shape {list(tensor.shape)})')
            if len(ck["weights"]) != len(self.trainable):
                raise CheckpointCorruptError(wfile, f"holds {len(ck['weights'])} tensors, the objective trains {len(self.trainable)}")
            with torch.no_grad():
                for name, tensor in self.trainable:
                    tensor.copy_(ck["weights"][name].view_as(tensor))
            self._load_moments(ck, cdir)
            bad = ItemOrder.mismatch(len(self.items), t["seed"], t["shuffle"], s["order"])
            if bad:
                raise CheckpointCorruptError(os.path.join(cdir, "state.json"), f"item order: {bad}")
            order = ItemOrder(len(self.items), t["seed"], t["shuffle"], s["order"])
            run_id, start_step = s["runId"], s["step"]
            skipped_steps, bad_run, tokens_done = s["guard"]["skippedSteps"], s["guard"]["badRun"], s["tokens"]
            if d.rank == 0:
                metrics, kept, dropped = MetricsLog.resume(metrics_file, run_id, start_step)
                for l in kept:
                    if l["step"] == 0:
                        val_before = l.get("valLoss")
                    else:
                        history.append(l)
                log0(d, f"resuming run {run_id} from {cdir} (step {start_step} of {t['steps']})" + (f"; dropped {dropped} metrics line(s) written after that checkpoint" if dropped else ""))
            self.resumed_from = cdir
        else:
            if d.rank == 0:
                ck_steps = [s for s, _ in list_checkpoints(ckpt_root)]
                has_metrics = os.path.exists(metrics_file)
                if ck_steps or has_metrics:
                    what = " and ".join(x for x in [f"checkpoints up to step {ck_steps[-1]}" if ck_steps else "", "metrics.jsonl" if has_metrics else ""] if x)
                    if not p["overwrite"]:
                        raise RunConflictError(self.out, f"holds another run ({what}); resume it, choose another folder, or start over with overwrite")
                    for _, cd in list_checkpoints(ckpt_root):
                        shutil.rmtree(cd, ignore_errors=True)
                    if has_metrics:
                        os.unlink(metrics_file)
                    log0(d, f"starting over in {self.out}: removed the previous run's {what}")
                metrics = MetricsLog.create(metrics_file, run_id)
            run_id = d.broadcast_obj(run_id)
            self.resumed_from = None
        d.barrier()
        self.setup_reference()
        log0(d, f"run {run_id}: {p['stage']}/{p['finetuning_type']} on torch {torch.__version__}, {d.world} rank(s) on {self.device} ({self.precision}), "
                f"{len(self.trainable)} trainable tensors ({sum(x.numel() for _, x in self.trainable)} values), {t['steps']} steps of {t['batch_size']} items "
                f"({self.accumulation} micro-batch(es) of {t['micro_batch_size']} per rank), {len(self.items)} training items")

        if self.eval_ds is not None and start_step == 0:
            val_before = self.evaluate()
            if metrics:
                metrics.append({"step": 0, "valLoss": val_before})

        W, r, m = d.world, d.rank, t["micro_batch_size"]
        started = time.time()
        tokens_at_start = tokens_done
        last_ckpt = None
        saved_step = start_step
        self.model.train()
        if self.adapter is not None:
            self.adapter.train()
        params = [x for _, x in self.trainable]
        for step in range(start_step + 1, t["steps"] + 1):
            for x in params:
                x.grad = torch.zeros_like(x)
            indices = order.next(t["batch_size"])
            positions = [self.items[i] for i in indices]
            # [loss sum, weight, tokens, non-finite flag, scalar sums...]
            stats: Dict[str, float] = {}
            loss_sum = weight = tokens = 0.0
            finite = True
            for k in range(self.accumulation):
                lo = (k * W + r) * m
                mine = positions[lo:lo + m]
                if self.adapter is not None:
                    self.adapter.start_micro_step(t["seed"], step, k * W + r, r)
                with self.autocast():
                    loss, w, tok, sc = self.micro(self.train_ds, mine, self.ref_train)
                tokens += tok
                lv = float(loss)
                if not math.isfinite(lv):
                    finite = False
                    break
                if not w > 0:
                    continue
                if self.adapter is not None:
                    bal = self.adapter.balance_loss()
                    if bal is not None:
                        sc["router/balance_loss"] = float(bal) * w
                        loss = loss + w * bal
                loss.backward()
                loss_sum += lv
                weight += w
                for name, v in sc.items():
                    stats[name] = stats.get(name, 0.0) + v
                if self.adapter is not None and self.adapter.settings["experts"] > 1:
                    rs = self.adapter.take_router_stats()
                    if rs:
                        stats["router/entropy"] = stats.get("router/entropy", 0.0) + w * sum(x["entropy"] for x in rs) / len(rs)
                        for e in range(len(rs[0]["meanGate"])):
                            key = f"router/gate_{e + 1}"
                            stats[key] = stats.get(key, 0.0) + w * sum(x["meanGate"][e] for x in rs) / len(rs)
            names = self.scalar_names()
            vec = torch.tensor([loss_sum, weight, tokens, 0.0 if finite else 1.0], dtype=torch.float64)
            vec = self._sum(vec)
            sc_vec = self._sum(torch.tensor([stats.get(n, 0.0) for n in names], dtype=torch.float64)) if names else torch.zeros(0, dtype=torch.float64)
            loss_sum, weight, tokens, nonfinite = float(vec[0]), float(vec[1]), int(vec[2]), vec[3] > 0
            norm = float("nan")
            loss_mean = float("nan") if nonfinite else (loss_sum / weight if weight > 0 else float("nan"))
            if not nonfinite and weight > 0:
                self.all_reduce_grads()
                sq = 0.0
                for x in params:
                    x.grad.div_(weight)
                    sq += float(x.grad.double().pow(2).sum())
                norm = math.sqrt(sq)
                if math.isfinite(norm) and t["max_grad_norm"] is not None:
                    coef = t["max_grad_norm"] / (norm + 1e-6)
                    if coef < 1:
                        for x in params:
                            x.grad.mul_(coef)
            lr = learning_rate(step, t)
            skipped = not math.isfinite(loss_mean) or not math.isfinite(norm)
            if skipped:
                bad_run += 1
                skipped_steps += 1
                if bad_run > t["max_bad_steps"]:
                    why = "with nothing to train on (no counted targets in the batch)" if weight == 0 and not nonfinite else f"with a non-finite loss or gradient (loss {loss_mean}, grad norm {norm}); lower the learning rate"
                    raise TrainingError(f"step {step}: {bad_run} consecutive steps {why}")
            else:
                bad_run = 0
                for g in self.opt.param_groups:
                    g["lr"] = lr
                self.opt.step()
            tokens_done += tokens
            seconds = time.time() - started
            line = {"step": step, "loss": loss_mean, "lr": lr, "gradNorm": norm, "tokens": tokens_done,
                    "tokensPerSecond": round((tokens_done - tokens_at_start) / max(seconds, 1e-9) * 10) / 10,
                    "epoch": round(order.epochs * 1e4) / 1e4, "skipped": skipped}
            for i, n in enumerate(names):
                line[n] = float(sc_vec[i]) / weight if weight > 0 else float("nan")
            if self.eval_ds is not None and (step % t["eval_every"] == 0 or step == t["steps"]):
                line["valLoss"] = self.evaluate()
                if self.adapter is not None:
                    self.adapter.train()
            history.append(line)
            if metrics:
                metrics.append(line)
            if d.rank == 0:
                eta = (t["steps"] - step) * seconds / max(1, step - start_step)
                log0(d, f"step {step}/{t['steps']} loss {'skipped' if skipped else f'{loss_mean:.4f}'} lr {lr:.1e} tok/s {line['tokensPerSecond']:.0f} ETA {eta:.0f}s"
                        + (f" val loss {line['valLoss']:.4f}" if "valLoss" in line else ""))
            # A stop (SIGTERM/SIGINT on any rank) ends the run after this step with its checkpoint, as the
            # engine's signal does; every rank learns of it through one small all-reduce per step.
            stop = bool(self._sum(torch.tensor([1.0 if STOP["asked"] else 0.0], dtype=torch.float64))[0] > 0)
            if step % t["checkpoint_every"] == 0 or step == t["steps"] or stop:
                if d.rank == 0:
                    state = {"runId": run_id, "recipeHash": p["recipe_hash"], "recipe": p["recipe"], "objective": self.objective_name(), "step": step,
                             "optimizerStep": self._optimizer_step(), "order": order.state(),
                             "rng": {"generator": "xoshiro128** seeded by streamSeed(seed, purpose, step, micro-batch)", "seed": t["seed"]},
                             "guard": {"badRun": bad_run, "skippedSteps": skipped_steps}, "tokens": tokens_done}
                    last_ckpt = save_checkpoint(os.path.join(self.out, "checkpoints"), state, [(n, x) for n, x in self.trainable], self._moments(), self._optimizer_step())
                    prune_checkpoints(os.path.join(self.out, "checkpoints"), t["keep_checkpoints"])
                saved_step = step
                d.barrier()
            if stop and step < t["steps"]:
                where = last_ckpt or os.path.join(self.out, "checkpoints", dir_name(step))
                raise TrainingStopped(f"stopped after step {step} of {t['steps']}; checkpoint {where} saved, resume to continue")
        seconds = time.time() - started
        if last_ckpt is None:
            last_ckpt = os.path.join(self.out, "checkpoints", dir_name(saved_step))
        ok = [h for h in history if not h.get("skipped") and isinstance(h.get("loss"), (int, float)) and h["loss"] == h["loss"]]
        tail = ok[-max(1, round(len(ok) * 0.1)):] if ok else []
        last = history[-1] if history else {}
        result = {"runId": run_id, "firstLoss": ok[0]["loss"] if ok else float("nan"),
                  "finalLoss": sum(h["loss"] for h in tail) / len(tail) if tail else float("nan"), "seconds": seconds,
                  "tokensPerSecond": (tokens_done - tokens_at_start) / max(seconds, 1e-9), "skippedSteps": skipped_steps,
                  "resumedFrom": start_step, "checkpoint": last_ckpt, "steps": len(history),
                  "lastScalars": {k: v for k, v in last.items() if k not in KNOWN_KEYS and not k.startswith("eval/")},
                  "worldSize": d.world, "device": self.device, "precision": self.precision, "torchVersion": torch.__version__,
                  "recipeHash": p["recipe_hash"], "trainerVersion": __version__}
        if val_before is not None:
            result["valLossBefore"] = val_before
        if "valLoss" in last:
            result["valLossAfter"] = last["valLoss"]
        if self.reference_info:
            result["reference"] = self.reference_info
        return result

    def scalar_names(self) -> List[str]:
        """Every rank logs the same scalars in the same order (their sums are all-reduced together)."""
        names: List[str] = []
        o = self.plan["objective"]
        if o["kind"] == "preference":
            names += ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "loss/exact"]
        if self.adapter is not None and self.adapter.settings["experts"] > 1:
            if self.adapter.settings["balance_loss_coef"] > 0:
                names.append("router/balance_loss")
            names.append("router/entropy")
            names += [f"router/gate_{e + 1}" for e in range(self.adapter.settings["experts"] - 1)]
        return names

    def objective_name(self) -> str:
        o = self.plan["objective"]
        base = "lm" if o["kind"] == "lm" else f"dpo-{o['loss']}"
        if self.adapter is None:
            return base
        return f"{base}+{'moe_lora' if self.adapter.settings['experts'] > 1 else 'lora'}"

    def _optimizer_step(self) -> int:
        for group in self.opt.param_groups:
            for x in group["params"]:
                st = self.opt.state.get(x)
                if st and "step" in st:
                    return int(float(st["step"]))
        return 0

    def _moments(self) -> Dict:
        out = {}
        for n, x in self.trainable:
            st = self.opt.state.get(x)
            if st and "exp_avg" in st:
                out[n] = (st["exp_avg"], st["exp_avg_sq"])
        return out

    def _load_moments(self, ck: Dict, cdir: str) -> None:
        ofile = os.path.join(cdir, "optimizer.safetensors")
        step = ck["optimizer_step"]
        for n, x in self.trainable:
            m, v = ck["exp_avg"].get(n), ck["exp_avg_sq"].get(n)
            if m is None or v is None:
                raise CheckpointCorruptError(ofile, f'no "exp_avg"/"exp_avg_sq" state for parameter "{n}"')
            if m.numel() != x.numel() or v.numel() != x.numel():
                raise CheckpointCorruptError(ofile, f'the state of "{n}" has the wrong size')
            if step > 0:
                self.opt.state[x] = {"step": torch.tensor(float(step)), "exp_avg": m.view_as(x).to(x.device).clone(), "exp_avg_sq": v.view_as(x).to(x.device).clone()}

    def save_result(self, result: Dict) -> None:
        if self.d.rank != 0:
            return
        p = self.plan
        if self.adapter is not None:
            save_adapter(self.adapter, self.out)
        else:
            save_model(self.model, self.out, {"template": p["template"]})
        write_json(os.path.join(self.out, "torch_result.json"), result)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *a):
        return False


def write_error(out_dir: Optional[str], rank: int, err: BaseException) -> None:
    record = {"rank": rank, "type": type(err).__name__, "message": str(err), "traceback": traceback.format_exc(), "host": socket.gethostname(), "pid": os.getpid()}
    sys.stderr.write(f"[rank {rank}] {type(err).__name__}: {err}\n")
    if out_dir:
        try:
            write_json(os.path.join(out_dir, "torch_errors", f"rank-{rank}.json"), record)
        except OSError:
            pass


def main(argv: List[str]) -> int:
    rank = int(os.environ.get("RANK", "0"))
    if len(argv) != 1:
        sys.stderr.write("usage: python -m pedgpt_torch.train PLAN.json\n")
        return 2
    out_dir = None
    d = None
    previous = {}
    try:
        try:
            with open(argv[0], encoding="utf-8") as f:
                out_dir = json.load(f).get("output_dir")
        except (OSError, ValueError, AttributeError):
            pass
        plan = load_plan(argv[0])
        STOP["asked"] = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _ask_stop)
        d = Dist(pick_device(plan))
        trainer = Trainer(plan, d)
        result = trainer.run()
        trainer.save_result(result)
        d.barrier()
        return 0
    except BaseException as e:  # every failure leaves a record for the launcher
        write_error(out_dir, rank, e)
        return 130 if isinstance(e, (KeyboardInterrupt, TrainingStopped)) else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if d is not None:
            d.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
