/**
 * BaichuanForCausalLM (Baichuan2): fused `W_pack` q/k/v projection (3C, C) without biases, multi-head
 * attention (no GQA), SwiGLU MLP, and `NormHead`: lm_head rows L2-normalised in every forward (in
 * training with the gradient through the normalisation; the released code normalises the stored
 * weight once in eval mode, which gives the same logits).
 *
 * RoPE or ALiBi. Baichuan2-7B and -13B ship the same architecture name and model_type, and their
 * config.json has no field that says which position scheme the remote code uses: the 7B modeling file
 * applies RoPE (base 10000), the 13B file ALiBi. We decide, in this order:
 *   1. `position_embedding`: "rope" | "alibi" — our own explicit field (Hugging Face code ignores it);
 *      models this project writes always carry it.
 *   2. hidden_size 4096 → RoPE (Baichuan2-7B), any other released size (5120, 13B) → ALiBi; this is
 *      the rule vLLM applies to real checkpoints.
 *   3. For other sizes: `max_position_embeddings` present → RoPE (the 7B config has it; the 13B config
 *      only has `model_max_length`), absent → ALiBi.
 * Baichuan 1 (13B) checkpoints share the name but have a plain lm_head: set `"norm_head": false`.
 *
 * Not supported: z_loss_weight other than 0 (the z-loss term is not implemented).
 */
import { checkGeometry, ConfigReader, type ModelConfig } from "./config.js";

/** How the position scheme was decided, for `model info`. */
export function baichuanPositionRule(raw: Record<string, unknown>): { position: "rope" | "alibi"; rule: string } {
  const explicit = raw["position_embedding"];
  if (explicit === "rope" || explicit === "alibi") return { position: explicit, rule: 'explicit "position_embedding"' };
  const hidden = raw["hidden_size"];
  if (hidden === 4096) return { position: "rope", rule: "hidden_size 4096 (Baichuan2-7B)" };
  if (hidden === 5120) return { position: "alibi", rule: "hidden_size 5120 (Baichuan2-13B)" };
  if (raw["max_position_embeddings"] !== undefined && raw["max_position_embeddings"] !== null) {
    return { position: "rope", rule: "max_position_embeddings present (7B-style config)" };
  }
  return { position: "alibi", rule: "no max_position_embeddings (13B-style config)" };
}

export function parseBaichuanConfig(raw: Record<string, unknown>, source: string): ModelConfig {
  const r = new ConfigReader(raw, source);
  r.expectOneOf("position_embedding", ["rope", "alibi"], 'expected "rope" or "alibi"');
  r.expectOneOf("rope_scaling", [], "Baichuan2's modeling code has no RoPE scaling");
  const z = r.num("z_loss_weight", 0, false);
  if (z !== 0) r.fail("z_loss_weight", `z-loss is not implemented; expected 0, got ${z}`);
  const hiddenSize = r.int("hidden_size");
  const numHeads = r.int("num_attention_heads");
  if (hiddenSize % numHeads !== 0) r.fail("num_attention_heads", `${numHeads} does not divide hidden_size = ${hiddenSize}`);
  if (r.has("num_key_value_heads") && r.int("num_key_value_heads") !== numHeads) {
    r.fail("num_key_value_heads", `Baichuan's W_pack has as many key/value heads as query heads (${numHeads})`);
  }
  const { position } = baichuanPositionRule(raw);
  const maxPositions = r.has("max_position_embeddings") ? r.int("max_position_embeddings") : r.int("model_max_length", 4096);
  const cfg: ModelConfig = {
    architecture: "BaichuanForCausalLM",
    vocabSize: r.int("vocab_size"),
    hiddenSize,
    intermediateSize: r.int("intermediate_size"),
    numLayers: r.int("num_hidden_layers"),
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    rmsNormEps: r.num("rms_norm_eps", 1e-6),
    // The 7B remote code hard-codes base 10000; a rope_theta field, if present, is honoured.
    ropeTheta: r.num("rope_theta", 10000),
    ropeScaling: null,
    maxPositions,
    tieWordEmbeddings: r.bool("tie_word_embeddings", false),
    qkv: "packed",
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    position,
    normHead: r.bool("norm_head", true),
    initializerRange: r.num("initializer_range", 0.02),
    bosTokenId: r.tokenId("bos_token_id"),
    eosTokenIds: r.tokenIds("eos_token_id"),
    padTokenId: r.tokenId("pad_token_id"),
    raw,
  };
  checkGeometry(cfg, r);
  return cfg;
}
