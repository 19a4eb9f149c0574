"""Optional: the model as Hugging Face transformers builds it (`model_impl: "hf"` in the plan), for
users who want transformers' own modeling code (and its kernels) on a GPU cluster. Wrapped to the
interface the trainer uses (forward to float32 logits, parameters by engine name, linear modules by
path for the adapter hooks, save in our layout). Rows with segments are refused: transformers' causal
mask cannot keep packed documents apart.

NOT TESTED in this project: transformers is not installed where the tests run. The plain-torch models
of model.py are the tested implementation and the default.

Not here: the plain-torch models (model.py).
"""
import importlib
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from .config import param_specs
from .errors import PlanError
from .model import read_config


class HFCausalLM(nn.Module):
    def __init__(self, model_dir: str):
        super().__init__()
        try:
            transformers = importlib.import_module("transformers")
        except ImportError as e:
            raise PlanError("plan", "model_impl", f'"hf" needs the transformers package, which this Python cannot import ({e}); use "torch"') from e
        self.config = read_config(model_dir)
        remote = self.config.architecture == "BaichuanForCausalLM"
        self.hf = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, trust_remote_code=remote)
        self._grad_ckpt = False

    @property
    def gradient_checkpointing(self) -> bool:
        return self._grad_ckpt

    @gradient_checkpointing.setter
    def gradient_checkpointing(self, on: bool) -> None:
        self._grad_ckpt = on
        if on:
            self.hf.gradient_checkpointing_enable()

    def named_weights(self) -> List[Tuple[str, nn.Parameter]]:
        own = dict(self.hf.named_parameters())
        missing = [n for n, _ in param_specs(self.config) if n not in own]
        if missing:
            raise PlanError("plan", "model_impl", f"transformers' model has no parameter {missing[0]} (its names differ from the Hugging Face layout we write)")
        return [(n, own[n]) for n, _ in param_specs(self.config)]

    def linear_modules(self) -> Dict[str, nn.Linear]:
        out = {n: m for n, m in self.hf.named_modules() if isinstance(m, nn.Linear) and n != "lm_head"}
        if not self.config.tie_word_embeddings and not self.config.norm_head:
            out["lm_head"] = self.hf.lm_head
        return out

    def forward(self, ids: torch.Tensor, mask=None, positions=None, segments=None) -> torch.Tensor:
        if segments is not None:
            raise PlanError("plan", "model_impl", 'packed rows (segments) need model_impl "torch": transformers cannot restrict attention to a segment')
        out = self.hf(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False)
        return out.logits.float()
