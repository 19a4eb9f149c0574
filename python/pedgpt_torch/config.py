"""Model configuration from a Hugging Face `config.json`, normalised exactly as the engine does
(src/model/{config,llama,qwen2,baichuan}.ts): Llama (optional attention/MLP biases, rope_scaling
linear or llama3, explicit head_dim), Qwen2 (q/k/v biases, no sliding window), Baichuan2 (W_pack,
NormHead, RoPE or ALiBi decided by `position_embedding`, then hidden_size, then
max_position_embeddings). Unsupported values are refused with the field named.

Not here: the modules (model.py).
"""
import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import FormatError

BY_MODEL_TYPE = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "baichuan": "BaichuanForCausalLM"}
ARCHITECTURES = tuple(BY_MODEL_TYPE.values())


class ConfigError(FormatError):
    def __init__(self, source: str, fieldname: str, detail: str):
        super().__init__(source, f'field "{fieldname}": {detail}')


@dataclass
class ModelConfig:
    architecture: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: Optional[Dict[str, Any]]
    max_positions: int
    tie_word_embeddings: bool
    qkv: str  # "separate" | "packed"
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    position: str  # "rope" | "alibi"
    norm_head: bool
    pad_token_id: Optional[int]
    raw: Dict[str, Any] = field(default_factory=dict)


class _Reader:
    def __init__(self, raw: Dict[str, Any], source: str):
        self.raw, self.source = raw, source

    def has(self, f: str) -> bool:
        return self.raw.get(f) is not None

    def fail(self, f: str, detail: str):
        raise ConfigError(self.source, f, detail)

    def int(self, f: str, fallback=None, minimum: int = 1) -> int:
        v = self.raw.get(f)
        if v is None:
            if fallback is None:
                self.fail(f, f"required, expected an integer >= {minimum}")
            return fallback
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or v < minimum:
            self.fail(f, f"expected an integer >= {minimum}, got {json.dumps(v)}")
        return int(v)

    def num(self, f: str, fallback=None, positive: bool = True) -> float:
        v = self.raw.get(f)
        if v is None:
            if fallback is None:
                self.fail(f, "required, expected a number")
            return fallback
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (positive and v <= 0):
            self.fail(f, f"expected a {'positive ' if positive else ''}finite number, got {json.dumps(v)}")
        return float(v)

    def bool(self, f: str, fallback: bool) -> bool:
        v = self.raw.get(f)
        if v is None:
            return fallback
        if not isinstance(v, bool):
            self.fail(f, f"expected true or false, got {json.dumps(v)}")
        return v

    def str(self, f: str, fallback=None) -> str:
        v = self.raw.get(f)
        if v is None:
            if fallback is None:
                self.fail(f, "required, expected a string")
            return fallback
        if not isinstance(v, str):
            self.fail(f, f"expected a string, got {json.dumps(v)}")
        return v

    def token_id(self, f: str) -> Optional[int]:
        v = self.raw.get(f)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            self.fail(f, f"expected a token id (integer >= 0), got {json.dumps(v)}")
        return v


def _rope_scaling(r: _Reader) -> Optional[Dict[str, Any]]:
    v = r.raw.get("rope_scaling")
    if v is None:
        return None
    if not isinstance(v, dict):
        r.fail("rope_scaling", f"expected an object or null, got {json.dumps(v)}")
    sub = _Reader(v, f"{r.source} (rope_scaling)")
    kind = sub.str("rope_type") if sub.has("rope_type") else sub.str("type", "default")
    if kind == "default":
        return None
    if kind == "linear":
        return {"type": "linear", "factor": sub.num("factor")}
    if kind == "llama3":
        return {"type": "llama3", "factor": sub.num("factor"), "low_freq_factor": sub.num("low_freq_factor"),
                "high_freq_factor": sub.num("high_freq_factor"), "original_max_positions": sub.int("original_max_position_embeddings")}
    r.fail("rope_scaling", f'unsupported rope_type "{kind}" (implemented: default, linear, llama3)')


def _llama_like(r: _Reader, arch: str) -> ModelConfig:
    C = r.int("hidden_size")
    H = r.int("num_attention_heads")
    if not r.has("head_dim") and C % H != 0:
        r.fail("num_attention_heads", f"{H} does not divide hidden_size = {C} (and no head_dim is given)")
    return ModelConfig(
        architecture=arch, vocab_size=r.int("vocab_size"), hidden_size=C, intermediate_size=r.int("intermediate_size"),
        num_layers=r.int("num_hidden_layers"), num_heads=H, num_kv_heads=r.int("num_key_value_heads", H),
        head_dim=r.int("head_dim", C // H if C % H == 0 else None), rms_norm_eps=r.num("rms_norm_eps", 1e-6),
        rope_theta=r.num("rope_theta", 10000.0), rope_scaling=_rope_scaling(r), max_positions=r.int("max_position_embeddings", 2048),
        tie_word_embeddings=r.bool("tie_word_embeddings", False), qkv="separate", qkv_bias=False, o_bias=False, mlp_bias=False,
        position="rope", norm_head=False, pad_token_id=r.token_id("pad_token_id"), raw=r.raw,
    )


def baichuan_position(raw: Dict[str, Any]) -> str:
    explicit = raw.get("position_embedding")
    if explicit in ("rope", "alibi"):
        return explicit
    if raw.get("hidden_size") == 4096:
        return "rope"
    if raw.get("hidden_size") == 5120:
        return "alibi"
    return "rope" if raw.get("max_position_embeddings") is not None else "alibi"


def _check(cfg: ModelConfig, r: _Reader) -> None:
    if cfg.num_heads % cfg.num_kv_heads != 0:
        r.fail("num_key_value_heads", f"{cfg.num_kv_heads} does not divide num_attention_heads = {cfg.num_heads}")
    if cfg.position == "rope" and cfg.head_dim % 2 != 0:
        r.fail("head_dim", f"RoPE needs an even head dimension, got {cfg.head_dim}")
    if cfg.qkv == "packed" and cfg.num_heads * cfg.head_dim != cfg.hidden_size:
        r.fail("num_attention_heads", f"W_pack needs hidden_size ({cfg.hidden_size}) = heads × head_dim")
    act = r.str("hidden_act", "silu")
    if act != "silu":
        r.fail("hidden_act", f'only "silu" (SwiGLU MLP) is supported, got "{act}"')


def parse_config(raw: Any, source: str = "config.json") -> ModelConfig:
    if not isinstance(raw, dict):
        raise ConfigError(source, "(root)", "expected a JSON object")
    archs = raw.get("architectures")
    if archs is not None:
        if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
            raise ConfigError(source, "architectures", f"expected a non-empty list of names, got {json.dumps(archs)}")
        arch = archs[0]
    elif isinstance(raw.get("model_type"), str):
        arch = BY_MODEL_TYPE.get(raw["model_type"])
        if arch is None:
            raise ConfigError(source, "model_type", f'unsupported model_type "{raw["model_type"]}"; supported: {", ".join(BY_MODEL_TYPE)}')
    else:
        raise ConfigError(source, "architectures", f"missing (and no model_type); expected one of {', '.join(ARCHITECTURES)}")
    r = _Reader(raw, source)
    if arch == "LlamaForCausalLM":
        cfg = _llama_like(r, arch)
        cfg.qkv_bias = cfg.o_bias = r.bool("attention_bias", False)
        cfg.mlp_bias = r.bool("mlp_bias", False)
    elif arch == "Qwen2ForCausalLM":
        cfg = _llama_like(r, arch)
        if r.bool("use_sliding_window", False):
            r.fail("use_sliding_window", "sliding-window attention is not implemented; set it to false")
        cfg.qkv_bias = True
        if cfg.rope_scaling and cfg.rope_scaling["type"] == "llama3":
            r.fail("rope_scaling", 'rope_type "llama3" is a Llama 3 scheme, not used by Qwen2')
    elif arch == "BaichuanForCausalLM":
        if raw.get("position_embedding") not in (None, "rope", "alibi"):
            r.fail("position_embedding", 'expected "rope" or "alibi"')
        if raw.get("rope_scaling") is not None:
            r.fail("rope_scaling", "Baichuan2's modeling code has no RoPE scaling")
        if r.num("z_loss_weight", 0.0, positive=False) != 0:
            r.fail("z_loss_weight", "z-loss is not implemented; expected 0")
        C, H = r.int("hidden_size"), r.int("num_attention_heads")
        if C % H != 0:
            r.fail("num_attention_heads", f"{H} does not divide hidden_size = {C}")
        if r.has("num_key_value_heads") and r.int("num_key_value_heads") != H:
            r.fail("num_key_value_heads", f"Baichuan's W_pack has as many key/value heads as query heads ({H})")
        cfg = ModelConfig(
            architecture=arch, vocab_size=r.int("vocab_size"), hidden_size=C, intermediate_size=r.int("intermediate_size"),
            num_layers=r.int("num_hidden_layers"), num_heads=H, num_kv_heads=H, head_dim=C // H, rms_norm_eps=r.num("rms_norm_eps", 1e-6),
            rope_theta=r.num("rope_theta", 10000.0), rope_scaling=None,
            max_positions=r.int("max_position_embeddings") if r.has("max_position_embeddings") else r.int("model_max_length", 4096),
            tie_word_embeddings=r.bool("tie_word_embeddings", False), qkv="packed", qkv_bias=False, o_bias=False, mlp_bias=False,
            position=baichuan_position(raw), norm_head=r.bool("norm_head", True), pad_token_id=r.token_id("pad_token_id"), raw=raw,
        )
    else:
        raise ConfigError(source, "architectures", f'unsupported architecture "{arch}"; supported: {", ".join(ARCHITECTURES)}')
    _check(cfg, r)
    return cfg


def param_specs(cfg: ModelConfig) -> List[tuple]:
    """(name, shape) of every parameter in the engine's (Hugging Face) order."""
    V, C, I, H, Hkv, D = cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    specs = [("model.embed_tokens.weight", (V, C))]
    for l in range(cfg.num_layers):
        p = f"model.layers.{l}."
        if cfg.qkv == "packed":
            specs.append((p + "self_attn.W_pack.weight", (3 * C, C)))
        else:
            for n, rows in (("q", H * D), ("k", Hkv * D), ("v", Hkv * D)):
                specs.append((f"{p}self_attn.{n}_proj.weight", (rows, C)))
                if cfg.qkv_bias:
                    specs.append((f"{p}self_attn.{n}_proj.bias", (rows,)))
        specs.append((p + "self_attn.o_proj.weight", (C, H * D)))
        if cfg.o_bias:
            specs.append((p + "self_attn.o_proj.bias", (C,)))
        for n, shape in (("gate", (I, C)), ("up", (I, C)), ("down", (C, I))):
            specs.append((f"{p}mlp.{n}_proj.weight", shape))
            if cfg.mlp_bias:
                specs.append((f"{p}mlp.{n}_proj.bias", (shape[0],)))
        specs.append((p + "input_layernorm.weight", (C,)))
        specs.append((p + "post_attention_layernorm.weight", (C,)))
    specs.append(("model.norm.weight", (C,)))
    if not cfg.tie_word_embeddings:
        specs.append(("lm_head.weight", (V, C)))
    return specs
