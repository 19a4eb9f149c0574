/**
 * Qwen2ForCausalLM: Llama plus biases on the q, k and v projections (not on o_proj, not in the MLP).
 * The math is shared (layers.ts); this file only maps the config.
 *
 * Not supported (rejected with the field named): sliding-window attention (use_sliding_window: true),
 * rope_scaling other than linear.
 */
import { checkGeometry, ConfigReader, type ModelConfig } from "./config.js";
import { parseLlamaLike } from "./llama.js";

export function parseQwen2Config(raw: Record<string, unknown>, source: string): ModelConfig {
  const r = new ConfigReader(raw, source);
  const cfg = parseLlamaLike(r, "Qwen2ForCausalLM");
  if (r.bool("use_sliding_window", false)) r.fail("use_sliding_window", "sliding-window attention is not implemented; set it to false");
  cfg.qkvBias = true;
  if (cfg.ropeScaling?.type === "llama3") r.fail("rope_scaling", 'rope_type "llama3" is a Llama 3 scheme, not used by Qwen2');
  checkGeometry(cfg, r);
  return cfg;
}
