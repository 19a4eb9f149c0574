"""LoRA and MoE-LoRA as forward hooks on the model's nn.Linear modules (by Hugging Face module path),
computing exactly what the engine's adapter does (src/model/adapters/adapter.ts; one code path, a
plain LoRA is E = 1):

    y = W0·x + b + s · B · (G(x) ⊙ A · drop(x))

A (E·r, in) the experts' down-projections stacked, B (out, E·r) their up-projections side by side, G
the per-token gate of each expert repeated over its r columns: s for expert 0 (universal) and
s·softmax(x·W_routeᵀ + ε ⊙ softplus(x·W_noiseᵀ)) for experts 1..E−1, ε only in training. s = alpha/r
(alpha/√r with rsLoRA). Tensors live in the engine's memory layout under their saved key names, so
checkpoints (trainable.safetensors, optimizer moments) are the engine's; files use PEFT's / the
seed's layouts (lora_moe_A [E, in, r], lora_moe_B [E, r, out], w_noise [in, E−1]).

Router noise ε: "seeded" draws from a torch generator seeded by (seed, step, micro-step, rank), once
per module and micro-step (so a recomputed layer sees the same draw); "fixed" is the cross-backend
stream: value p·(E−1)+e of Rng(stream_seed(seed, 4, fnv1a32(M), 0)).normal() for token position p of
a row in module M. PEFT init from the engine's own Rng, so a fresh adapter equals the engine's for
the same seed. Also here: the base-model fingerprint, adapter folders (adapter_config.json with the
`pedgpt` block, adapter_model.safetensors), and merging a plain LoRA into the base.

Not here: which objective trains it (objectives.py) or the loop (train.py).
"""
import hashlib
import json
import math
import os
import re
from contextlib import contextmanager
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .atomic import write_json
from .config import param_specs
from .errors import AdapterError, FormatError
from .model import CausalLM
from .safetensors import SafetensorsFile, check_finite, write_safetensors
from .streams import FixedNoise, Rng, stream_seed

KEY_PREFIX = "base_model.model."
FORMAT, FORMAT_VERSION = "pedgpt-adapter", 1
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
KEY_RE = re.compile(r"^(?:base_model\.model\.)?(.+?)\.(lora_A\.weight|lora_B\.weight|lora_moe_A|lora_moe_B|lora_route\.weight|w_noise)$")
DEFAULTS = {"r": 8, "alpha": 16.0, "rs_lora": False, "dropout": 0.0, "target_modules": "all", "experts": 1,
            "noisy_gating": True, "balance_loss_coef": 0.0, "w_noise_init": "zeros", "router_noise": "seeded"}
ALIASES = {"rsLora": "rs_lora", "use_rslora": "rs_lora", "targetModules": "target_modules", "lora_nums": "experts",
           "noisyGating": "noisy_gating", "balanceLossCoef": "balance_loss_coef", "wNoiseInit": "w_noise_init",
           "routerNoise": "router_noise", "lora_alpha": "alpha", "lora_dropout": "dropout", "lora_rank": "r"}


def fingerprint(model: CausalLM) -> str:
    """SHA-256 over the architecture, each parameter's name and shape and ~1024 evenly spaced float32
    values of it, in the engine's parameter order (src/model/adapters/fingerprint.ts)."""
    h = hashlib.sha256()
    h.update(f"pedgpt-fp1\0{model.config.architecture}\0".encode("utf-8"))
    for name, p in model.named_weights():
        h.update(f"{name}\0{'x'.join(str(d) for d in p.shape)}\0".encode("utf-8"))
        flat = p.detach().reshape(-1).to("cpu", torch.float32)
        stride = max(1, p.numel() // 1024)
        h.update(flat[::stride].numpy().astype("<f4").tobytes())
    return "fp1:" + h.hexdigest()[:32]


def check_settings(s: Dict, source: str) -> Dict:
    out = dict(DEFAULTS)
    for k, v in s.items():
        k = ALIASES.get(k, k)
        if k in DEFAULTS:
            out[k] = v
        elif k not in ("seed",):
            raise AdapterError(f'{source}: unknown adapter field "{k}" (known: {", ".join(DEFAULTS)})')
    for k in ("r", "experts"):
        if not (isinstance(out[k], int) and not isinstance(out[k], bool) and out[k] >= 1):
            raise AdapterError(f'{source}: adapter field "{k}" must be an integer >= 1, got {json.dumps(out[k])}')
    if not (isinstance(out["alpha"], (int, float)) and out["alpha"] > 0 and math.isfinite(out["alpha"])):
        raise AdapterError(f'{source}: adapter field "alpha" must be a number > 0, got {json.dumps(out["alpha"])}')
    if not (isinstance(out["dropout"], (int, float)) and 0 <= out["dropout"] < 1):
        raise AdapterError(f'{source}: adapter field "dropout" must be in [0, 1), got {json.dumps(out["dropout"])}')
    if not (isinstance(out["balance_loss_coef"], (int, float)) and out["balance_loss_coef"] >= 0):
        raise AdapterError(f'{source}: adapter field "balance_loss_coef" must be a number >= 0')
    if out["balance_loss_coef"] > 0 and out["experts"] < 3:
        raise AdapterError(f"{source}: a balance loss needs at least 2 routed experts (experts >= 3), got {out['experts']}")
    if out["w_noise_init"] not in ("zeros", "seed"):
        raise AdapterError(f'{source}: adapter field "w_noise_init" must be "zeros" or "seed"')
    if out["router_noise"] not in ("seeded", "fixed"):
        raise AdapterError(f'{source}: adapter field "router_noise" must be "seeded" or "fixed", got {json.dumps(out["router_noise"])}')
    t = out["target_modules"]
    if t == "all-linear":
        out["target_modules"] = "all"
    elif not (t == "all" or isinstance(t, dict) and isinstance(t.get("regex"), str) or isinstance(t, list) and t and all(isinstance(x, str) and x for x in t)):
        raise AdapterError(f'{source}: adapter field "target_modules" must be "all", a list of module names or {{"regex": …}}, got {json.dumps(t)}')
    return out


def linear_module_shapes(model: CausalLM) -> Dict[str, Tuple[int, int]]:
    """Every linear layer by module path → (out, in), in the engine's order; lm_head last."""
    out: Dict[str, Tuple[int, int]] = {}
    for name, shape in param_specs(model.config):
        if len(shape) == 2 and name.endswith(".weight") and name not in ("model.embed_tokens.weight", "lm_head.weight"):
            out[name[: -len(".weight")]] = (shape[0], shape[1])
    out["lm_head"] = (model.config.vocab_size, model.config.hidden_size)
    return out


def resolve_targets(model: CausalLM, targets, source: str) -> List[str]:
    shapes = linear_module_shapes(model)
    names = list(shapes)
    if targets == "all":
        chosen = [n for n in names if n != "lm_head"]
    elif isinstance(targets, dict):
        rx = re.compile(f"^(?:{targets['regex']})$")
        chosen = [n for n in names if rx.match(n)]
        if not chosen:
            raise AdapterError(f'{source}: target_modules regex "{targets["regex"]}" matches no linear layer of this {model.config.architecture}')
    else:
        chosen_set = set()
        for t in targets:
            hits = [n for n in names if n == t or n.endswith("." + t)]
            if not hits:
                kinds = sorted({n.split(".")[-1] for n in names})
                raise AdapterError(f'{source}: target module "{t}" is not a linear layer of this {model.config.architecture} (its linear layers: {", ".join(kinds)})')
            chosen_set.update(hits)
        chosen = [n for n in names if n in chosen_set]
    if "lm_head" in chosen and (model.config.tie_word_embeddings or model.config.norm_head):
        raise AdapterError(f"{source}: lm_head is tied or a NormHead in this model; it cannot carry an adapter")
    return chosen


def tensor_names(module: str, E: int) -> Dict[str, Optional[str]]:
    p = KEY_PREFIX + module
    if E == 1:
        return {"A": f"{p}.lora_A.weight", "B": f"{p}.lora_B.weight", "route": None, "noise": None}
    return {"A": f"{p}.lora_moe_A", "B": f"{p}.lora_moe_B", "route": f"{p}.lora_route.weight", "noise": f"{p}.w_noise"}


class LoraAdapter(nn.Module):
    def __init__(self, settings: Dict, meta: Dict, shapes: Dict[str, Tuple[int, int]]):
        super().__init__()
        self.settings = check_settings(settings, "adapter settings")
        self.meta = meta
        self.modules_ = list(shapes)
        if not self.modules_:
            raise AdapterError("an adapter needs at least one target module")
        r, E = self.settings["r"], self.settings["experts"]
        self.scale = self.settings["alpha"] / (math.sqrt(r) if self.settings["rs_lora"] else r)
        self.shapes = dict(shapes)
        self.names: List[str] = []
        self.tensors = nn.ParameterList()
        self._by_name: Dict[str, nn.Parameter] = {}
        for m, (out, inp) in shapes.items():
            n = tensor_names(m, E)
            specs = [(n["A"], (E * r, inp)), (n["B"], (out, E * r))]
            if E > 1:
                specs += [(n["route"], (E - 1, inp)), (n["noise"], (E - 1, inp))]
            for name, shape in specs:
                p = nn.Parameter(torch.zeros(shape))
                self.tensors.append(p)
                self.names.append(name)
                self._by_name[name] = p
        self.enabled = True
        self.merged = False
        self.noise_mode = self.settings["router_noise"]
        self.fixed: Optional[FixedNoise] = None
        self.generator: Optional[torch.Generator] = None
        self._draws: Dict[str, torch.Tensor] = {}
        self._probs: List[torch.Tensor] = []
        self._stats: Dict[str, Dict] = {}
        self._handles: List = []

    # ---- construction ----

    @staticmethod
    def create(model: CausalLM, settings: Dict, seed: int = 0, base_model_path: Optional[str] = None) -> "LoraAdapter":
        s = check_settings(settings, "adapter settings")
        modules = resolve_targets(model, s["target_modules"], "adapter settings")
        all_shapes = linear_module_shapes(model)
        meta = {"base_fingerprint": fingerprint(model), "base_architecture": model.config.architecture,
                "base_model_path": base_model_path, "router_policy": None, "provenance": None}
        a = LoraAdapter(s, meta, {m: all_shapes[m] for m in modules})
        rng = Rng(seed)
        E, r = s["experts"], s["r"]

        def uniform(p: nn.Parameter, bound: float) -> None:
            vals = np.array([(2 * rng.uniform() - 1) * bound for _ in range(p.numel())], dtype=np.float64)
            with torch.no_grad():
                p.copy_(torch.from_numpy(vals.astype(np.float32)).view(p.shape))

        for m in modules:
            out, inp = a.shapes[m]
            n = tensor_names(m, E)
            uniform(a._by_name[n["A"]], 1 / math.sqrt(inp) if E == 1 else 1 / math.sqrt(inp * r))
            if E > 1:
                uniform(a._by_name[n["route"]], 1 / math.sqrt(inp))
                if s["w_noise_init"] == "seed":
                    uniform(a._by_name[n["noise"]], 1 / math.sqrt(E - 1))
        return a

    def named_tensors(self) -> List[Tuple[str, nn.Parameter]]:
        return [(n, self._by_name[n]) for n in self.names]

    def count(self) -> int:
        return sum(p.numel() for p in self.tensors)

    # ---- attaching ----

    def attach(self, model: CausalLM, freeze_base: bool = True) -> None:
        linears = model.linear_modules()
        for m in self.modules_:
            if m not in linears:
                raise AdapterError(f'adapter module "{m}" does not exist in this {model.config.architecture} ({model.config.num_layers} layers)')
            w = linears[m].weight
            if tuple(w.shape) != self.shapes[m]:
                raise AdapterError(f'module "{m}" is {tuple(self.shapes[m])} in the adapter but {tuple(w.shape)} in the model')
        if freeze_base:
            for p in model.parameters():
                p.requires_grad_(False)
        for m in self.modules_:
            self._handles.append(linears[m].register_forward_hook(self._hook(m)))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    @contextmanager
    def disabled(self):
        prev = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = prev

    # ---- randomness ----

    def start_micro_step(self, seed: int, step: int, micro: int, rank: int) -> None:
        """New dropout masks / router noise for this micro-step (drawn on first use per module)."""
        self._draws.clear()
        self._probs = []
        if self.noise_mode == "fixed" and self.fixed is None:
            self.fixed = FixedNoise(seed, self.settings["experts"] - 1)
        g = torch.Generator()
        g.manual_seed(stream_seed(seed, 5, step, micro * 65536 + rank))
        self.generator = g

    def _noise(self, module: str, B: int, T: int, device, dtype) -> torch.Tensor:
        key = f"{module}#{B}x{T}"
        if key in self._draws:
            return self._draws[key]
        K = self.settings["experts"] - 1
        if self.noise_mode == "fixed":
            vals = np.array(self.fixed.values(module, T), dtype=np.float64).astype(np.float32)
            eps = torch.from_numpy(vals).view(1, T, K).expand(B, T, K).to(device=device, dtype=dtype)
        else:
            eps = torch.randn((B, T, K), generator=self.generator).to(device=device, dtype=dtype)
        self._draws[key] = eps
        return eps

    # ---- forward ----

    def _hook(self, module: str):
        def hook(_mod, inputs, output):
            if not self.enabled or self.merged:
                return output
            return output + self.delta(module, inputs[0])
        return hook

    def delta(self, module: str, x: torch.Tensor) -> torch.Tensor:
        r, E, s = self.settings["r"], self.settings["experts"], self.scale
        n = tensor_names(module, E)
        A, Bm = self._by_name[n["A"]], self._by_name[n["B"]]
        dt = x.dtype
        xin = x
        if self.training and self.settings["dropout"] > 0:
            # once per module and micro-step, so a recomputed layer (checkpointing) sees the same mask
            key = f"{module}#mask#{tuple(x.shape)}"
            if key not in self._draws:
                keep = 1 - self.settings["dropout"]
                self._draws[key] = (torch.rand(x.shape, generator=self.generator) < keep).to(device=x.device, dtype=dt) / keep
            xin = x * self._draws[key]
        h = F.linear(xin, A.to(dt))
        if E == 1:
            h = h * s
        else:
            logits = F.linear(x, self._by_name[n["route"]].to(dt)).float()
            if self.training and self.settings["noisy_gating"]:
                B_, T_ = (x.shape[0], x.shape[1]) if x.dim() == 3 else (1, x.shape[0])
                eps = self._noise(module, B_, T_, x.device, torch.float32).reshape(logits.shape)
                logits = logits + eps * F.softplus(F.linear(x, self._by_name[n["noise"]].to(dt)).float())
            p = torch.softmax(logits, dim=-1)
            self._observe(module, p)
            if self.training and self.settings["balance_loss_coef"] > 0:
                self._probs.append(p.reshape(-1, E - 1))
            gates = torch.cat([torch.full(p.shape[:-1] + (r,), s, device=p.device, dtype=p.dtype), (p * s).repeat_interleave(r, dim=-1)], dim=-1)
            h = h * gates.to(dt)
        return F.linear(h, Bm.to(dt))

    def _observe(self, module: str, p: torch.Tensor) -> None:
        with torch.no_grad():
            q = p.detach().reshape(-1, p.shape[-1]).double()
            acc = self._stats.setdefault(module, {"tokens": 0, "gate": torch.zeros(q.shape[1], dtype=torch.float64), "top1": torch.zeros(q.shape[1], dtype=torch.float64), "entropy": 0.0})
            acc["gate"] += q.sum(0).cpu()
            acc["top1"] += torch.bincount(q.argmax(-1).cpu(), minlength=q.shape[1]).double()
            acc["entropy"] += float(-(q * torch.where(q > 0, q.log(), torch.zeros_like(q))).sum())
            acc["tokens"] += q.shape[0]

    def take_router_stats(self) -> List[Dict]:
        out = []
        for m in self.modules_:
            a = self._stats.get(m)
            if a and a["tokens"] > 0:
                t = a["tokens"]
                out.append({"module": m, "tokens": t, "meanGate": (a["gate"] / t).tolist(), "top1": (a["top1"] / t).tolist(), "entropy": a["entropy"] / t})
        self._stats = {}
        return out

    def balance_loss(self) -> Optional[torch.Tensor]:
        coef = self.settings["balance_loss_coef"]
        if coef == 0 or not self._probs:
            return None
        total = None
        for p in self._probs:
            N, K = p.shape
            f = torch.bincount(p.detach().argmax(-1), minlength=K).to(p.dtype) / N
            term = (p * (coef * K / (N * len(self._probs)) * f)).sum()
            total = term if total is None else total + term
        return total

    # ---- merging ----

    def merge_into(self, model: CausalLM) -> None:
        """W += s·B·A for a plain LoRA; the hook then stops applying it."""
        if self.settings["experts"] > 1:
            raise AdapterError(f"a MoE-LoRA adapter ({self.settings['experts']} experts) cannot be merged: its routed experts are mixed per token")
        linears = model.linear_modules()
        with torch.no_grad():
            for m in self.modules_:
                n = tensor_names(m, 1)
                w = linears[m].weight
                w.add_(self.scale * (self._by_name[n["B"]].to(w.device) @ self._by_name[n["A"]].to(w.device)))
        self.merged = True

    # ---- files ----

    def file_tensors(self, values: Optional[Dict[str, torch.Tensor]] = None) -> List[Tuple[str, torch.Tensor]]:
        """The tensors (or `values` keyed like them, e.g. gradients) in file layout."""
        r, E = self.settings["r"], self.settings["experts"]
        get = (lambda n: values[n].detach().cpu()) if values is not None else (lambda n: self._by_name[n].detach().cpu())
        out = []
        for m in self.modules_:
            o, i = self.shapes[m]
            n = tensor_names(m, E)
            A, Bm = get(n["A"]), get(n["B"])
            if E == 1:
                out += [(n["A"], A.clone()), (n["B"], Bm.clone())]
            else:
                out.append((n["A"], A.view(E, r, i).transpose(1, 2).contiguous()))
                out.append((n["B"], Bm.t().contiguous().view(E, r, o)))
                out.append((n["route"], get(n["route"]).clone()))
                out.append((n["noise"], get(n["noise"]).t().contiguous()))
        return out

    def set_from_file(self, get) -> None:
        r, E = self.settings["r"], self.settings["experts"]
        with torch.no_grad():
            for m in self.modules_:
                o, i = self.shapes[m]
                n = tensor_names(m, E)
                if E == 1:
                    self._by_name[n["A"]].copy_(get(n["A"]))
                    self._by_name[n["B"]].copy_(get(n["B"]))
                else:
                    self._by_name[n["A"]].copy_(get(n["A"]).transpose(1, 2).reshape(E * r, i))
                    self._by_name[n["B"]].copy_(get(n["B"]).reshape(E * r, o).t())
                    self._by_name[n["route"]].copy_(get(n["route"]))
                    self._by_name[n["noise"]].copy_(get(n["noise"]).t())

    def config_json(self) -> Dict:
        s, meta = self.settings, self.meta
        t = s["target_modules"]
        if t == "all" or isinstance(t, list):
            seen: List[str] = []
            for m in self.modules_:
                short = m.split(".")[-1]
                if short not in seen:
                    seen.append(short)
            targets = seen
        else:
            targets = t["regex"]
        out = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": meta.get("base_model_path"), "revision": None,
               "inference_mode": True, "r": s["r"], "lora_alpha": s["alpha"], "lora_dropout": s["dropout"], "use_rslora": s["rs_lora"],
               "target_modules": targets, "bias": "none", "fan_in_fan_out": False, "modules_to_save": None, "init_lora_weights": True,
               "layers_to_transform": None, "layers_pattern": None, "rank_pattern": {}, "alpha_pattern": {}, "use_dora": False}
        if s["experts"] > 1:
            out["lora_nums"] = s["experts"]
        own = {"format": FORMAT, "version": FORMAT_VERSION, "kind": "moe-lora" if s["experts"] > 1 else "lora", "experts": s["experts"]}
        if s["experts"] > 1:
            own["router"] = {"noisy_gating": s["noisy_gating"], "balance_loss_coef": s["balance_loss_coef"], "w_noise_init": s["w_noise_init"]}
        own.update({"base_model_fingerprint": meta.get("base_fingerprint"), "base_architecture": meta.get("base_architecture"), "modules": list(self.modules_)})
        for k, key in (("router_policy", "router_policy"), ("provenance", "provenance")):
            if meta.get(k):
                own[key] = meta[k]
        out["pedgpt"] = own
        return out


def save_adapter(a: LoraAdapter, d: str) -> List[str]:
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, ADAPTER_WEIGHTS), a.file_tensors(), {"format": "pt"})
    write_json(os.path.join(d, ADAPTER_CONFIG), a.config_json())
    return [ADAPTER_CONFIG, ADAPTER_WEIGHTS]


def _settings_from_config(raw, source: str) -> Tuple[Dict, Dict, Optional[List[str]]]:
    if not isinstance(raw, dict):
        raise FormatError(source, "expected a JSON object")
    if raw.get("peft_type") != "LORA":
        raise FormatError(source, f'field "peft_type": only "LORA" is supported, found {json.dumps(raw.get("peft_type"))}')
    for f, bad, what in (("use_dora", lambda v: v is True, "DoRA"), ("fan_in_fan_out", lambda v: v is True, "transposed weights"),
                         ("bias", lambda v: v not in (None, "none"), "trained biases"), ("modules_to_save", lambda v: isinstance(v, list) and v, "extra trained modules"),
                         ("layers_to_transform", lambda v: v is not None, "per-layer selection"), ("rank_pattern", lambda v: isinstance(v, dict) and v, "per-module ranks"),
                         ("alpha_pattern", lambda v: isinstance(v, dict) and v, "per-module alphas")):
        if bad(raw.get(f)):
            raise FormatError(source, f'field "{f}": {what} ({json.dumps(raw.get(f))}) is not supported')
    own = raw.get("pedgpt") or {}
    if raw.get("pedgpt") is not None and (own.get("format") != FORMAT or not isinstance(own.get("version"), int) or own["version"] > FORMAT_VERSION):
        raise FormatError(source, f'field "pedgpt": expected {{format: "{FORMAT}", version <= {FORMAT_VERSION}}}')
    if not isinstance(raw.get("r"), int) or not isinstance(raw.get("lora_alpha"), (int, float)):
        raise FormatError(source, 'fields "r" and "lora_alpha" are required numbers')
    tm = raw.get("target_modules")
    targets = tm if isinstance(tm, list) else "all" if tm in ("all", "all-linear") else {"regex": tm} if isinstance(tm, str) else None
    if targets is None:
        raise FormatError(source, f'field "target_modules": expected a list, "all" or a regex string, found {json.dumps(tm)}')
    router = own.get("router") or {}
    try:
        settings = check_settings({"r": raw["r"], "alpha": raw["lora_alpha"], "rs_lora": bool(raw.get("use_rslora", False)),
                                   "dropout": raw.get("lora_dropout") or 0.0, "target_modules": targets, "experts": raw.get("lora_nums") or 1,
                                   "noisy_gating": router.get("noisy_gating", True), "balance_loss_coef": router.get("balance_loss_coef", 0.0),
                                   "w_noise_init": router.get("w_noise_init", "zeros")}, source)
    except AdapterError as e:
        raise FormatError(source, str(e)) from e
    meta = {"base_fingerprint": own.get("base_model_fingerprint"), "base_architecture": own.get("base_architecture"),
            "base_model_path": raw.get("base_model_name_or_path"), "router_policy": own.get("router_policy"), "provenance": own.get("provenance")}
    return settings, meta, own.get("modules")


def load_adapter(d: str, model: CausalLM, force: bool = False, router_noise: str = "seeded") -> LoraAdapter:
    """An adapter folder for `model` (not attached); every tensor checked before anything is built."""
    cfg_file = os.path.join(d, ADAPTER_CONFIG)
    if not os.path.isfile(cfg_file):
        raise FormatError(d, "not an adapter folder (no adapter_config.json)")
    try:
        with open(cfg_file, encoding="utf-8") as f:
            raw = json.load(f)
    except ValueError as e:
        raise FormatError(cfg_file, f"not valid JSON: {e}") from e
    settings, meta, recorded = _settings_from_config(raw, cfg_file)
    settings["router_noise"] = router_noise
    wfile = os.path.join(d, ADAPTER_WEIGHTS)
    if not os.path.isfile(wfile):
        raise FormatError(d, f"no {ADAPTER_WEIGHTS}")
    st = SafetensorsFile(wfile)
    in_file: List[str] = []
    for name in st.names():
        mt = KEY_RE.match(name)
        if not mt:
            raise FormatError(wfile, f'tensor "{name}" is not an adapter weight')
        if mt.group(1) not in in_file:
            in_file.append(mt.group(1))
    all_shapes = linear_module_shapes(model)
    for m in in_file:
        if m not in all_shapes:
            raise FormatError(wfile, f'module "{m}" is not a linear layer of this {model.config.architecture} ({model.config.num_layers} layers)')
    targeted = recorded if recorded is not None else resolve_targets(model, settings["target_modules"], cfg_file)
    missing = [m for m in targeted if m not in in_file]
    if missing:
        raise FormatError(wfile, f"no weights for {len(missing)} targeted module(s): {', '.join(missing[:6])}")
    r, E = settings["r"], settings["experts"]
    for m in in_file:
        o, i = all_shapes[m]
        n = tensor_names(m, E)
        want = {n["A"]: [r, i], n["B"]: [o, r]} if E == 1 else {n["A"]: [E, i, r], n["B"]: [E, r, o], n["route"]: [E - 1, i], n["noise"]: [i, E - 1]}
        for name, shape in want.items():
            if not st.has(name):
                raise FormatError(wfile, f'module "{m}": tensor "{name}" is missing (lora_nums {E}, r {r})')
            if st.shape(name) != shape:
                raise FormatError(wfile, f'tensor "{name}": shape {st.shape(name)}, but r {r}, lora_nums {E} and the base layer ({o}, {i}) need {shape}')
    found = fingerprint(model)
    if meta["base_fingerprint"] is not None and meta["base_fingerprint"] != found and not force:
        raise AdapterError(f"{cfg_file}: the adapter was trained on another base model (fingerprint {meta['base_fingerprint']}, this model {found}); pass force to load it anyway")
    a = LoraAdapter(settings, meta, {m: all_shapes[m] for m in in_file})
    cache: Dict[str, torch.Tensor] = {}

    def get(name: str) -> torch.Tensor:
        if name not in cache:
            t = st.read(name)
            check_finite(wfile, name, t)
            cache[name] = t
        return cache[name]

    a.set_from_file(get)
    return a
