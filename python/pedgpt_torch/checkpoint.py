"""The engine's training-run files, written and read the same way by this trainer
(src/train/trainer/{checkpoint,metrics,lock}.ts):

- `checkpoints/checkpoint-<step, 8 digits>/`: trainable.safetensors (the trainable tensors by name,
  fp32, in the engine's memory layout), optimizer.safetensors (`exp_avg/<name>`, `exp_avg_sq/<name>`),
  state.json (run id, recipe and hash, step, optimizer step, item order, seed, NaN-guard counters,
  tokens), manifest.json (size + SHA-256 of each file, written last). Staged in a hidden sibling and
  renamed into place; verified on load; the newest N kept; leftovers of a killed save removed.
- `metrics.jsonl`: one compact JSON object per step with the run id, cut back to the checkpoint's
  step on resume; a file of another run is refused.
- `train.lock`: one training process group per run folder.

Not here: what goes into the state (train.py).
"""
import hashlib
import json
import os
import re
import shutil
import socket
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple

import torch

from .atomic import json_compact, staged_dir, write_json, write_text
from .errors import CheckpointCorruptError, RunConflictError
from .safetensors import SafetensorsFile, check_finite, write_safetensors

FORMAT, VERSION = "pedgpt-training-checkpoint", 1
DIR_RE = re.compile(r"^checkpoint-(\d{8})$")
TEMP_RE = re.compile(r"^\.checkpoint-\d{8}\.(staging|replaced)-\d+-[0-9a-f]{8}$")
FILES = ("trainable.safetensors", "optimizer.safetensors", "state.json")


def dir_name(step: int) -> str:
    return f"checkpoint-{step:08d}"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(root: str, state: Dict, trainable: List[Tuple[str, torch.Tensor]], moments: Dict[str, Tuple[torch.Tensor, torch.Tensor]], optimizer_step: int) -> str:
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, dir_name(state["step"]))
    with staged_dir(final) as d:
        write_safetensors(os.path.join(d, "trainable.safetensors"), [(n, t.detach().cpu()) for n, t in trainable],
                          {"format": FORMAT, "run": state["runId"], "step": str(state["step"])})
        mom = []
        for n, t in trainable:
            m, v = moments.get(n, (torch.zeros_like(t), torch.zeros_like(t)))
            mom += [(f"exp_avg/{n}", m.detach().cpu().reshape(t.shape)), (f"exp_avg_sq/{n}", v.detach().cpu().reshape(t.shape))]
        write_safetensors(os.path.join(d, "optimizer.safetensors"), mom, {"format": FORMAT, "step": str(optimizer_step)})
        write_text(os.path.join(d, "state.json"), json_compact({"format": FORMAT, "version": VERSION, **state}) + "\n")
        files = [{"name": n, "bytes": os.path.getsize(os.path.join(d, n)), "sha256": sha256_file(os.path.join(d, n))} for n in FILES]
        write_json(os.path.join(d, "manifest.json"), {"format": FORMAT, "version": VERSION, "runId": state["runId"], "step": state["step"], "files": files})
    return final


def list_checkpoints(root: str) -> List[Tuple[int, str]]:
    if not os.path.isdir(root):
        return []
    out = []
    for n in os.listdir(root):
        m = DIR_RE.match(n)
        if m:
            out.append((int(m.group(1)), os.path.join(root, n)))
    return sorted(out)


def prune_checkpoints(root: str, keep: int) -> List[str]:
    all_ = list_checkpoints(root)
    drop = all_[: max(0, len(all_) - keep)]
    for _, d in drop:
        shutil.rmtree(d, ignore_errors=True)
    return [d for _, d in drop]


def remove_interrupted_saves(root: str) -> List[str]:
    if not os.path.isdir(root):
        return []
    stale = [os.path.join(root, n) for n in os.listdir(root) if TEMP_RE.match(n)]
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    return stale


def _read_json(path: str) -> Dict:
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
    except FileNotFoundError:
        raise
    except ValueError as e:
        raise CheckpointCorruptError(path, f"not valid JSON ({e})") from e
    if not isinstance(v, dict):
        raise CheckpointCorruptError(path, "not a JSON object")
    return v


def load_checkpoint(d: str) -> Dict:
    """Verify the manifest, then return {state, weights, moments, optimizer_step}."""
    mfile = os.path.join(d, "manifest.json")
    if not os.path.isfile(mfile):
        raise CheckpointCorruptError(d, "incomplete: no manifest.json (a checkpoint is only valid once its manifest is written)")
    m = _read_json(mfile)
    if m.get("format") != FORMAT:
        raise CheckpointCorruptError(mfile, f'format is {json.dumps(m.get("format"))}, expected "{FORMAT}"')
    if m.get("version") != VERSION:
        raise CheckpointCorruptError(mfile, f"version {json.dumps(m.get('version'))} is not supported (this trainer reads version {VERSION})")
    files = m.get("files")
    if not isinstance(files, list):
        raise CheckpointCorruptError(mfile, '"files" must be a list')
    for name in FILES:
        entry = next((f for f in files if isinstance(f, dict) and f.get("name") == name), None)
        if entry is None or not isinstance(entry.get("bytes"), int) or not isinstance(entry.get("sha256"), str):
            raise CheckpointCorruptError(mfile, f"no size and checksum recorded for {name}")
        p = os.path.join(d, name)
        if not os.path.isfile(p):
            raise CheckpointCorruptError(p, "missing (listed in manifest.json)")
        size = os.path.getsize(p)
        if size != entry["bytes"]:
            raise CheckpointCorruptError(p, f"truncated or altered: {size} bytes, manifest.json records {entry['bytes']}")
        s = sha256_file(p)
        if s != entry["sha256"]:
            raise CheckpointCorruptError(p, f"corrupted: SHA-256 {s[:16]}…, manifest.json records {entry['sha256'][:16]}…")
    sfile = os.path.join(d, "state.json")
    state = _read_json(sfile)
    isint = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
    checks = [("runId", isinstance(state.get("runId"), str) and state["runId"] != ""), ("recipeHash", isinstance(state.get("recipeHash"), str)),
              ("recipe", isinstance(state.get("recipe"), dict)), ("step", isint(state.get("step"))), ("optimizerStep", isint(state.get("optimizerStep"))),
              ("tokens", isint(state.get("tokens"))),
              ("order", isinstance(state.get("order"), dict) and isint(state["order"].get("epoch")) and isint(state["order"].get("cursor")) and isinstance(state["order"].get("order"), list)),
              ("guard", isinstance(state.get("guard"), dict) and isint(state["guard"].get("badRun")) and isint(state["guard"].get("skippedSteps")))]
    for k, ok in checks:
        if not ok:
            raise CheckpointCorruptError(sfile, f'field "{k}" is missing or malformed, found {json.dumps(state.get(k))[:60]}')
    if state["step"] != m.get("step") or state["runId"] != m.get("runId"):
        raise CheckpointCorruptError(sfile, f"step {state['step']} / run {state['runId']} disagree with manifest.json")
    wfile = os.path.join(d, "trainable.safetensors")
    wf = SafetensorsFile(wfile)
    weights = {}
    for n in wf.names():
        t = wf.read(n)
        check_finite(wfile, n, t)
        weights[n] = t
    ofile = os.path.join(d, "optimizer.safetensors")
    of = SafetensorsFile(ofile)
    m1: Dict[str, torch.Tensor] = {}
    m2: Dict[str, torch.Tensor] = {}
    for n in of.names():
        kind, _, param = n.partition("/")
        if kind not in ("exp_avg", "exp_avg_sq") or not param:
            raise CheckpointCorruptError(ofile, f'unexpected tensor "{n}" (expected exp_avg/<name> or exp_avg_sq/<name>)')
        (m1 if kind == "exp_avg" else m2)[param] = of.read(n)
    return {"dir": d, "state": state, "weights": weights, "exp_avg": m1, "exp_avg_sq": m2, "optimizer_step": state["optimizerStep"]}


def _canonical(v):
    if isinstance(v, dict):
        return {k: _canonical(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_canonical(x) for x in v]
    return v


def _flatten(v, prefix: str, out: Dict[str, str]) -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            _flatten(x, f"{prefix}.{k}" if prefix else k, out)
    else:
        out[prefix] = json.dumps(v, separators=(",", ":"))


def recipe_differences(saved: Dict, now: Dict) -> List[str]:
    a: Dict[str, str] = {}
    b: Dict[str, str] = {}
    _flatten(_canonical(saved), "", a)
    _flatten(_canonical(now), "", b)
    return [f"{k}: checkpoint {a.get(k, '(absent)')}, now {b.get(k, '(absent)')}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def new_run_id() -> str:
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{os.urandom(3).hex()}"


class MetricsLog:
    """metrics.jsonl of one run (rank 0 only)."""

    def __init__(self, path: str, run_id: str):
        self.path, self.run_id = path, run_id

    @staticmethod
    def read(path: str) -> Tuple[List[Dict], List[str]]:
        with open(path, encoding="utf-8") as f:
            raw = f.read().split("\n")
        lines, runs = [], []
        for i, l in enumerate(raw):
            if l == "":
                continue
            try:
                o = json.loads(l)
            except ValueError:
                if i == len(raw) - 1:
                    continue  # cut short by a kill: only the last line may be
                raise RunConflictError(path, f"line {i + 1} is not JSON; not a metrics file of this trainer")
            if not isinstance(o, dict) or not isinstance(o.get("run"), str) or not isinstance(o.get("step"), int):
                raise RunConflictError(path, f"line {i + 1} has no run id and step; not a metrics file of this trainer")
            if o["run"] not in runs:
                runs.append(o["run"])
            lines.append(o)
        return lines, runs

    @staticmethod
    def create(path: str, run_id: str) -> "MetricsLog":
        if os.path.exists(path):
            raise RunConflictError(path, "exists; a new run never appends to another run's metrics")
        open(path, "a").close()
        return MetricsLog(path, run_id)

    @staticmethod
    def resume(path: str, run_id: str, step: int) -> Tuple["MetricsLog", List[Dict], int]:
        if not os.path.exists(path):
            open(path, "a").close()
            return MetricsLog(path, run_id), [], 0
        lines, runs = MetricsLog.read(path)
        other = [r for r in runs if r != run_id]
        if other:
            raise RunConflictError(path, f"holds lines of run {', '.join(other)}, but the checkpoint is of run {run_id}; refusing to mix runs")
        kept = [l for l in lines if l["step"] <= step]
        write_text(path, "".join(json_compact(l) + "\n" for l in kept))
        return MetricsLog(path, run_id), kept, len(lines) - len(kept)

    def append(self, fields: Dict) -> Dict:
        line = {"run": self.run_id, **fields}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json_compact(line) + "\n")
            f.flush()
        return line


class RunLock:
    """`<run>/train.lock` {pid, host, started}; a lock of a dead process on this host is taken over."""

    def __init__(self, run_dir: str):
        self.file = os.path.join(run_dir, "train.lock")
        self.mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now(timezone.utc).isoformat()}, separators=(",", ":")) + "\n"
        for _ in range(2):
            try:
                fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "w") as f:
                    f.write(self.mine)
                return
            except FileExistsError:
                pass
            try:
                with open(self.file, encoding="utf-8") as f:
                    holder = json.load(f)
            except (ValueError, OSError):
                holder = {}
            pid = holder.get("pid") if isinstance(holder.get("pid"), int) else None
            if isinstance(holder.get("host"), str) and holder["host"] != socket.gethostname():
                raise RunConflictError(run_dir, f"is in use by a training process on host {holder['host']} (pid {pid}); if that run is over, remove {self.file}")
            if pid is not None and _alive(pid):
                raise RunConflictError(run_dir, f"is in use by training process {pid} (started {holder.get('started')}); wait for it to finish or stop it first")
            try:
                os.unlink(self.file)
            except FileNotFoundError:
                pass
        raise RunConflictError(run_dir, f"could not take the lock {self.file}")

    def release(self) -> None:
        try:
            with open(self.file, encoding="utf-8") as f:
                if f.read() == self.mine:
                    os.unlink(self.file)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
