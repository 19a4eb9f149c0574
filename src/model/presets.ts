/**
 * Named tiny configurations (Hugging Face config.json objects) for the quick start and tests: small
 * enough to train through all four stages on a laptop CPU in minutes, with every architectural feature
 * of their family switched on (GQA, biases, W_pack + NormHead, RoPE or ALiBi).
 */

type RawConfig = Record<string, unknown>;

const common = {
  vocab_size: 4096,
  hidden_size: 128,
  intermediate_size: 352,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  rms_norm_eps: 1e-6,
  hidden_act: "silu",
  initializer_range: 0.02,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
  torch_dtype: "float32",
  use_cache: true,
};

const PRESETS: Record<string, { description: string; config: RawConfig }> = {
  "tiny-llama": {
    description: "Llama, 4 layers × 128 wide, GQA (4 query / 2 kv heads), tied embeddings, RoPE",
    config: {
      architectures: ["LlamaForCausalLM"], model_type: "llama", ...common,
      num_key_value_heads: 2, max_position_embeddings: 1024, rope_theta: 10000.0,
      tie_word_embeddings: true, attention_bias: false, mlp_bias: false,
    },
  },
  "tiny-qwen2": {
    description: "Qwen2, 4 layers × 128 wide, GQA (4 / 2), q/k/v biases, RoPE θ = 1e6",
    config: {
      architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", ...common,
      num_key_value_heads: 2, max_position_embeddings: 1024, rope_theta: 1000000.0,
      tie_word_embeddings: false, use_sliding_window: false,
    },
  },
  "tiny-baichuan": {
    description: "Baichuan2 7B-style: 4 layers × 128 wide, W_pack, NormHead, RoPE",
    config: {
      architectures: ["BaichuanForCausalLM"], model_type: "baichuan", ...common,
      max_position_embeddings: 1024, model_max_length: 1024, tie_word_embeddings: false,
      z_loss_weight: 0, position_embedding: "rope",
    },
  },
  "tiny-baichuan-alibi": {
    description: "Baichuan2 13B-style: 4 layers × 128 wide, W_pack, NormHead, ALiBi",
    config: {
      architectures: ["BaichuanForCausalLM"], model_type: "baichuan", ...common,
      model_max_length: 1024, tie_word_embeddings: false, z_loss_weight: 0, position_embedding: "alibi",
    },
  },
};

export class UnknownPresetError extends RangeError {
  constructor(name: string) {
    super(`unknown model preset "${name}"; available: ${Object.keys(PRESETS).join(", ")}`);
    this.name = "UnknownPresetError";
  }
}

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function presetDescription(name: string): string {
  const p = PRESETS[name];
  if (!p) throw new UnknownPresetError(name);
  return p.description;
}

/** A fresh copy of a preset's config.json object, with optional field overrides (e.g. vocab_size). */
export function presetConfig(name: string, overrides: RawConfig = {}): RawConfig {
  const p = PRESETS[name];
  if (!p) throw new UnknownPresetError(name);
  return { ...structuredClone(p.config), ...overrides };
}
