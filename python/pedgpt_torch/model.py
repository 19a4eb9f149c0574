"""Plain-torch Llama / Qwen2 / Baichuan2 with Hugging Face parameter and module names, computing
what the engine computes (src/model/{model,layers,rope}.ts): pre-norm decoder layers with RMSNorm
(f32 rstd), RoPE in the rotate-half convention from f32 inverse frequencies and f32 angles (linear
and llama3 scaling), grouped-query attention, Baichuan's fused W_pack and NormHead (rows of lm_head
L2-normalised, eps 1e-12), ALiBi with BLOOM/Baichuan slopes (bias slope·(key − query)), SwiGLU MLP,
tied embeddings. Attention sees only earlier, non-padding keys of the same segment; rows with
segments carry their own positions (restarting per segment). The loss follows transformers: labels
shifted inside, -100 not counted; `token_losses` gives the per-token terms the objectives sum.

Also here: model folders as the engine reads and writes them (`config.json` + `model.safetensors`,
or shards + `model.safetensors.index.json`; `pytorch_model.bin` is read too), checked for missing,
unknown and misshapen tensors and NaN/Inf.

Not here: adapters (adapters.py, attached as forward hooks on the nn.Linear modules by HF path).
"""
import json
import math
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.utils.checkpoint  # noqa: F401  (torch.utils does not import it)
import torch.nn.functional as F

from .atomic import write_json
from .config import ModelConfig, param_specs, parse_config
from .errors import FormatError
from .safetensors import SafetensorsFile, check_finite, write_safetensors

IGNORE_INDEX = -100
# Fused attention where torch has it (2.0+), unless PEDGPT_TORCH_ATTENTION=explicit; torch 1.13 runs
# the explicit softmax(QKᵀ/√D + bias) path, which the reference fixtures check.
USE_SDPA = hasattr(F, "scaled_dot_product_attention") and os.environ.get("PEDGPT_TORCH_ATTENTION", "") != "explicit"
SAFETENSORS_SINGLE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"


class RMSNorm(nn.Module):
    def __init__(self, C: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(C))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        r = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * r * self.weight.float()).to(x.dtype)


def inverse_frequencies(cfg: ModelConfig) -> np.ndarray:
    D = cfg.head_dim
    half = D // 2
    inv = np.array([1.0 / math.pow(cfg.rope_theta, float(np.float32((2 * i) / D))) for i in range(half)], dtype=np.float32)
    sc = cfg.rope_scaling
    if sc is None:
        return inv
    if sc["type"] == "linear":
        return (inv.astype(np.float64) / sc["factor"]).astype(np.float32)
    factor, low, high, orig = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"], sc["original_max_positions"]
    low_wl, high_wl = orig / low, orig / high
    out = inv.astype(np.float64).copy()
    for i in range(half):
        f = float(inv[i])
        wl = 2 * math.pi / f
        if wl < high_wl:
            continue
        if wl > low_wl:
            out[i] = f / factor
            continue
        smooth = (orig / wl - low) / (high - low)
        out[i] = (1 - smooth) * (f / factor) + smooth * f
    return out.astype(np.float32)


def rope_tables(cfg: ModelConfig, n: int) -> Tuple[torch.Tensor, torch.Tensor]:
    inv = inverse_frequencies(cfg).astype(np.float64)
    pos = np.arange(n, dtype=np.float64)[:, None]
    angle = (pos * inv[None, :]).astype(np.float32).astype(np.float64)
    return torch.from_numpy(np.cos(angle).astype(np.float32)), torch.from_numpy(np.sin(angle).astype(np.float32))


def alibi_slopes(H: int) -> torch.Tensor:
    def pow2(n: int) -> List[float]:
        start = math.pow(2, -8 / n)
        return [math.pow(start, i + 1) for i in range(n)]

    closest = 2 ** int(math.floor(math.log2(H)))
    slopes = pow2(closest)
    if closest != H:
        slopes += pow2(2 * closest)[0::2][: H - closest]
    return torch.tensor(np.array(slopes, dtype=np.float32))


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, heads, T, D); cos/sin (B, 1, T, D/2) gathered at each token's position."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        C, H, Hkv, D = cfg.hidden_size, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        self.cfg = cfg
        if cfg.qkv == "packed":
            self.W_pack = nn.Linear(C, 3 * C, bias=False)
        else:
            self.q_proj = nn.Linear(C, H * D, bias=cfg.qkv_bias)
            self.k_proj = nn.Linear(C, Hkv * D, bias=cfg.qkv_bias)
            self.v_proj = nn.Linear(C, Hkv * D, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(H * D, C, bias=cfg.o_bias)

    def forward(self, x: torch.Tensor, ctx: "Context") -> torch.Tensor:
        cfg = self.cfg
        B, T, _ = x.shape
        H, Hkv, D = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        if cfg.qkv == "packed":
            q, k, v = self.W_pack(x).split(cfg.hidden_size, dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, Hkv, D).transpose(1, 2)
        v = v.view(B, T, Hkv, D).transpose(1, 2)
        if ctx.cos is not None:
            q = apply_rope(q, ctx.cos.to(q.dtype), ctx.sin.to(q.dtype))
            k = apply_rope(k, ctx.cos.to(k.dtype), ctx.sin.to(k.dtype))
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
        if USE_SDPA:
            # torch >= 2.0: fused attention (less memory at long sequences); the mask as an additive bias
            mask = ctx.allowed if ctx.bias is None else ctx.bias.to(q.dtype).masked_fill(~ctx.allowed, float("-inf"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) * (1.0 / math.sqrt(D))
            if ctx.bias is not None:
                scores = scores + ctx.bias
            scores = scores.masked_fill(~ctx.allowed, float("-inf"))
            a = torch.matmul(torch.softmax(scores, dim=-1).to(v.dtype), v)
        return self.o_proj(a.transpose(1, 2).reshape(B, T, H * D))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        C, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = nn.Linear(C, I, bias=cfg.mlp_bias)
        self.up_proj = nn.Linear(C, I, bias=cfg.mlp_bias)
        self.down_proj = nn.Linear(I, C, bias=cfg.mlp_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x: torch.Tensor, ctx: "Context") -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), ctx)
        return x + self.mlp(self.post_attention_layernorm(x))


class Context:
    """What every layer of one forward shares: RoPE at each token's position, the ALiBi bias and
    which keys each query may see."""

    def __init__(self, cos, sin, bias, allowed):
        self.cos, self.sin, self.bias, self.allowed = cos, sin, bias, allowed


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class CausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.model = Decoder(cfg)
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.gradient_checkpointing = False
        self._rope: Optional[Tuple[torch.Tensor, torch.Tensor]] = None
        self._alibi = alibi_slopes(cfg.num_heads) if cfg.position == "alibi" else None

    # ---- parameters by engine name ----

    def named_weights(self) -> List[Tuple[str, nn.Parameter]]:
        """Every parameter in the engine's order with its Hugging Face name."""
        own = dict(self.named_parameters())
        return [(n, own[n]) for n, _ in param_specs(self.config)]

    def linear_modules(self) -> Dict[str, nn.Linear]:
        """Every decoder linear layer by Hugging Face module path (lm_head when it is a plain linear)."""
        out = {n: m for n, m in self.named_modules() if isinstance(m, nn.Linear) and n != "lm_head"}
        if not self.config.tie_word_embeddings and not self.config.norm_head:
            out["lm_head"] = self.lm_head
        return out

    # ---- forward ----

    def _rope_for(self, n: int, device) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._rope is None or self._rope[0].shape[0] < n or self._rope[0].device != device:
            size = max(n, 64)
            cos, sin = rope_tables(self.config, size)
            self._rope = (cos.to(device), sin.to(device))
        return self._rope

    def context(self, B: int, T: int, device, mask=None, positions=None, segments=None) -> Context:
        if positions is None:
            positions = torch.arange(T, device=device).unsqueeze(0).expand(B, T)
        idx = torch.arange(T, device=device)
        allowed = (idx[None, :] <= idx[:, None]).unsqueeze(0).expand(B, T, T)
        if mask is not None:
            allowed = allowed & (mask[:, None, :] != 0)
        if segments is not None:
            allowed = allowed & (segments[:, None, :] == segments[:, :, None])
        allowed = allowed.unsqueeze(1)
        cos = sin = bias = None
        if self.config.position == "rope":
            c, s = self._rope_for(int(positions.max()) + 1, device)
            cos, sin = c[positions].unsqueeze(1), s[positions].unsqueeze(1)
        else:
            rel = (idx[None, :] - idx[:, None]).float()
            bias = self._alibi.to(device)[None, :, None, None] * rel[None, None, :, :]
        return Context(cos, sin, bias, allowed)

    def head_weight(self) -> torch.Tensor:
        w = self.model.embed_tokens.weight if self.config.tie_word_embeddings else self.lm_head.weight
        if self.config.norm_head:
            return w / w.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return w

    def forward(self, ids: torch.Tensor, mask=None, positions=None, segments=None) -> torch.Tensor:
        """Logits (B, T, V), float32."""
        B, T = ids.shape
        if int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size:
            raise ValueError(f"a token id is outside the vocabulary [0, {self.config.vocab_size})")
        ctx = self.context(B, T, ids.device, mask, positions, segments)
        h = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                # non-reentrant: with a frozen base the layer input needs no grad, yet adapter weights inside do
                h = torch.utils.checkpoint.checkpoint(layer, h, ctx, use_reentrant=False)
            else:
                h = layer(h, ctx)
        h = self.model.norm(h)
        if not self.config.tie_word_embeddings and not self.config.norm_head:
            logits = self.lm_head(h)
        else:
            logits = F.linear(h, self.head_weight().to(h.dtype))
        return logits.float()


def shift_targets(labels: torch.Tensor) -> torch.Tensor:
    """Position t learns labels[t + 1]; the last position learns nothing."""
    return torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], IGNORE_INDEX)], dim=1)


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(B, T) −log p of each shifted target (0 where not counted), and the shifted targets."""
    targets = shift_targets(labels)
    V = logits.shape[-1]
    bad = (targets != IGNORE_INDEX) & ((targets < 0) | (targets >= V))
    if bool(bad.any()):
        raise ValueError(f"a label is neither {IGNORE_INDEX} nor a token id in [0, {V})")
    losses = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none")
    return losses.view(targets.shape), targets


# ---- model folders ----

def read_config(d: str) -> ModelConfig:
    f = os.path.join(d, "config.json")
    if not os.path.isfile(f):
        raise FormatError(d, "no config.json (expected a model folder in Hugging Face layout)")
    try:
        with open(f, encoding="utf-8") as fh:
            raw = json.load(fh)
    except ValueError as e:
        raise FormatError(f, f"not valid JSON: {e}") from e
    return parse_config(raw, f)


class _Weights:
    """Tensors of a model folder, from whichever layout it holds."""

    def __init__(self, d: str):
        self.files: Dict[str, object] = {}
        self.owner: Dict[str, str] = {}
        index = os.path.join(d, SAFETENSORS_INDEX)
        single = os.path.join(d, SAFETENSORS_SINGLE)
        if os.path.isfile(index):
            try:
                with open(index, encoding="utf-8") as fh:
                    wm = json.load(fh).get("weight_map")
            except (ValueError, AttributeError) as e:
                raise FormatError(index, f"cannot read index JSON: {e}") from e
            if not isinstance(wm, dict) or not wm:
                raise FormatError(index, 'expected an object with "weight_map": {tensor name: shard file}')
            for name, shard in wm.items():
                if not isinstance(shard, str) or "/" in shard or shard.startswith("."):
                    raise FormatError(index, f'weight_map["{name}"] must be a shard file name in the same folder')
                if shard not in self.files:
                    p = os.path.join(d, shard)
                    if not os.path.isfile(p):
                        raise FormatError(index, f"shard {shard} is missing")
                    self.files[shard] = SafetensorsFile(p)
                if not self.files[shard].has(name):
                    raise FormatError(os.path.join(d, shard), f'the index assigns "{name}" to this shard, which lacks it')
                self.owner[name] = shard
            self.path = index
        elif os.path.isfile(single):
            f = SafetensorsFile(single)
            self.files[SAFETENSORS_SINGLE] = f
            self.owner = {n: SAFETENSORS_SINGLE for n in f.names()}
            self.path = single
        elif os.path.isfile(os.path.join(d, "pytorch_model.bin")):
            p = os.path.join(d, "pytorch_model.bin")
            sd = torch.load(p, map_location="cpu")
            self.files["bin"] = {k: v.float() for k, v in sd.items()}
            self.owner = {n: "bin" for n in sd}
            self.path = p
        else:
            raise FormatError(d, f"no weights found; expected {SAFETENSORS_INDEX}, {SAFETENSORS_SINGLE} or pytorch_model.bin")

    def names(self) -> List[str]:
        return list(self.owner.keys())

    def shape(self, name: str) -> List[int]:
        f = self.files[self.owner[name]]
        return list(f[name].shape) if isinstance(f, dict) else f.shape(name)

    def read(self, name: str) -> torch.Tensor:
        f = self.files[self.owner[name]]
        return f[name] if isinstance(f, dict) else f.read(name)


def load_weights_into(model: CausalLM, d: str) -> None:
    w = _Weights(d)
    cfg = model.config
    want = dict(param_specs(cfg))
    missing = [n for n in want if n not in w.owner]
    if missing:
        raise FormatError(w.path, f"missing {len(missing)} tensor(s) the {cfg.architecture} config requires: {', '.join(missing[:8])}{', …' if len(missing) > 8 else ''}")
    ignorable = lambda n: n.endswith(".rotary_emb.inv_freq") or (cfg.tie_word_embeddings and n == "lm_head.weight")
    unknown = [n for n in w.names() if n not in want and not ignorable(n)]
    if unknown:
        raise FormatError(w.path, f"{len(unknown)} tensor(s) not used by the {cfg.architecture} config (wrong config.json?): {', '.join(unknown[:8])}")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, shape in want.items():
            got = w.shape(name)
            if list(got) != list(shape):
                raise FormatError(w.path, f'tensor "{name}": shape {list(got)} but the config needs {list(shape)}')
            t = w.read(name)
            check_finite(w.path, name, t)
            params[name].copy_(t)


def load_model(d: str) -> CausalLM:
    cfg = read_config(d)
    model = CausalLM(cfg)
    load_weights_into(model, d)
    return model


def save_model(model: CausalLM, d: str, metadata: Optional[Dict[str, str]] = None, max_shard_bytes: int = 5_000_000_000) -> List[str]:
    """config.json + model.safetensors (or shards + index), as the engine's saveModel writes them (F32)."""
    os.makedirs(d, exist_ok=True)
    meta = {"format": "pt", **(metadata or {})}
    entries = [(n, p.detach().cpu()) for n, p in model.named_weights()]
    groups: List[list] = [[]]
    size = 0
    total = 0
    for n, t in entries:
        b = t.numel() * 4
        if groups[-1] and size + b > max_shard_bytes:
            groups.append([])
            size = 0
        groups[-1].append((n, t))
        size += b
        total += b
    files: List[str] = []
    if len(groups) == 1:
        write_safetensors(os.path.join(d, SAFETENSORS_SINGLE), groups[0], meta)
        files.append(SAFETENSORS_SINGLE)
    else:
        wm = {}
        for i, g in enumerate(groups):
            name = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            write_safetensors(os.path.join(d, name), g, meta)
            wm.update({n: name for n, _ in g})
            files.append(name)
        write_json(os.path.join(d, SAFETENSORS_INDEX), {"metadata": {"total_size": total, **meta}, "weight_map": wm})
        files.append(SAFETENSORS_INDEX)
    keep = set(files)
    for f in os.listdir(d):
        if f not in keep and (f in (SAFETENSORS_SINGLE, SAFETENSORS_INDEX) or (f.startswith("model-") and f.endswith(".safetensors"))):
            os.unlink(os.path.join(d, f))
    write_json(os.path.join(d, "config.json"), {**model.config.raw, "torch_dtype": "float32"})
    files.append("config.json")
    return files
