/**
 * A tiny chat model for serving tests: a 2-layer Llama over the byte-level BPE tokenizer of the HF
 * fixture (277 tokens, ChatML specials), with weights large enough that greedy choices are decisive
 * (no near-ties between our engine and llama.cpp), saved as a checkpoint directory with the "qwen"
 * template recorded, and exported to an f32 GGUF with the same vocabulary. Built once per test file.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/model/architectures.js";
import { saveModel } from "../../src/model/checkpoint.js";
import { CausalLM } from "../../src/model/model.js";
import { exportGguf, memoryTensorSource } from "../../src/model/io/gguf_export.js";
import { mulberry32 } from "../../src/util/random.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TOKENIZER_FIXTURE = path.join(ROOT, "test/fixtures/io/hf_llama_bin");

export interface ServeModel {
  /** checkpoint directory (config.json, model.safetensors, tokenizer files) */
  dir: string;
  /** the same weights and vocabulary as f32 GGUF */
  gguf: string;
  model: CausalLM;
}

/** @param root where to write: a test's temporary directory (tempDir), or a benchmark's own */
export async function makeServeModel(root: string, opts: { seed?: number; maxPositions?: number } = {}): Promise<ServeModel> {
  const dir = path.join(root, "model");
  const raw = {
    architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: 277, hidden_size: 32, intermediate_size: 64,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: opts.maxPositions ?? 512,
    rms_norm_eps: 1e-6, rope_theta: 10000, hidden_act: "silu", tie_word_embeddings: false, eos_token_id: 276,
  };
  const model = new CausalLM(parseConfig(raw, "serve test model"));
  const r = mulberry32(opts.seed ?? 11);
  for (const p of model.params.list) {
    for (let i = 0; i < p.data.length; i++) p.data[i] = p.shape.length === 1 ? 1 + 0.5 * (r() - 0.5) : (3 * (r() - 0.5)) / Math.sqrt(p.shape[1]!);
    p.version++;
  }
  await saveModel(model, dir, { metadata: { template: "qwen" } });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await fs.copyFile(path.join(TOKENIZER_FIXTURE, f), path.join(dir, f));
  const gguf = path.join(root, "model.gguf");
  await exportGguf(gguf, model.config, memoryTensorSource(new Map(model.params.list.map((p) => [p.name, { shape: p.shape, data: p.data }]))), {
    vocab: { kind: "hf", dir, pre: "gpt-2" },
    templateId: "qwen",
  });
  return { dir, gguf, model };
}
