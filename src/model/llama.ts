/**
 * LlamaForCausalLM: how a Hugging Face Llama config.json maps onto the engine's decoder
 * (RMSNorm, RoPE with rope_theta, grouped-query attention, SwiGLU MLP, optional tied embeddings,
 * optional attention/MLP biases). The math is shared with the other families (layers.ts).
 *
 * rope_scaling "linear" and "llama3" (Llama 3.1/3.2) are supported; other kinds (dynamic, yarn, longrope)
 * and activations other than silu are rejected with the field named.
 */
import { checkGeometry, ConfigReader, readRopeScaling, type ModelConfig } from "./config.js";

/** Fields common to Llama-style configs (Llama, Qwen2). */
export function parseLlamaLike(r: ConfigReader, architecture: "LlamaForCausalLM" | "Qwen2ForCausalLM"): ModelConfig {
  const hiddenSize = r.int("hidden_size");
  const numHeads = r.int("num_attention_heads");
  if (!r.has("head_dim") && hiddenSize % numHeads !== 0) {
    r.fail("num_attention_heads", `${numHeads} does not divide hidden_size = ${hiddenSize} (and no head_dim is given)`);
  }
  return {
    architecture,
    vocabSize: r.int("vocab_size"),
    hiddenSize,
    intermediateSize: r.int("intermediate_size"),
    numLayers: r.int("num_hidden_layers"),
    numHeads,
    numKvHeads: r.int("num_key_value_heads", numHeads),
    headDim: r.int("head_dim", hiddenSize / numHeads),
    rmsNormEps: r.num("rms_norm_eps", 1e-6),
    ropeTheta: r.num("rope_theta", 10000),
    ropeScaling: readRopeScaling(r),
    maxPositions: r.int("max_position_embeddings", 2048),
    tieWordEmbeddings: r.bool("tie_word_embeddings", false),
    qkv: "separate",
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    position: "rope",
    normHead: false,
    initializerRange: r.num("initializer_range", 0.02),
    bosTokenId: r.tokenId("bos_token_id"),
    eosTokenIds: r.tokenIds("eos_token_id"),
    padTokenId: r.tokenId("pad_token_id"),
    raw: r.raw,
  };
}

export function parseLlamaConfig(raw: Record<string, unknown>, source: string): ModelConfig {
  const r = new ConfigReader(raw, source);
  const cfg = parseLlamaLike(r, "LlamaForCausalLM");
  // attention_bias puts biases on q, k, v and o; mlp_bias on gate, up and down (transformers' LlamaConfig).
  const attentionBias = r.bool("attention_bias", false);
  cfg.qkvBias = attentionBias;
  cfg.oBias = attentionBias;
  cfg.mlpBias = r.bool("mlp_bias", false);
  checkGeometry(cfg, r);
  return cfg;
}
