/**
 * An independent implementation runs our saved LoRA: the base exported to GGUF plus the adapter
 * directory written by `saveAdapter` and exported by `exportLoraGguf` give in llama.cpp the logits our
 * engine gives with the adapter attached as a hook (not merged). Llama (separate q/k/v, q/k row
 * permutation) and Baichuan2 (W_pack split into three).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { noGrad } from "../../engine/index.js";
import { LlamaCppLogits } from "../../serve/llamacpp/oracle.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { parseConfig } from "../architectures.js";
import { Rng } from "../init.js";
import { exportGguf, memoryTensorSource } from "../io/gguf_export.js";
import { exportLoraGguf } from "../io/gguf_lora.js";
import { openSafetensors } from "../io/safetensors.js";
import { CausalLM } from "../model.js";
import { LORA_DEFAULTS, LoraAdapter, saveAdapter } from "./index.js";

const V = 96;
const CASES: Record<string, Record<string, unknown>> = {
  llama: { architectures: ["LlamaForCausalLM"], vocab_size: V, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, max_position_embeddings: 128, initializer_range: 0.15 },
  baichuan: { architectures: ["BaichuanForCausalLM"], vocab_size: V, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, rms_norm_eps: 1e-5, model_max_length: 128, position_embedding: "rope", initializer_range: 0.15 },
};
const TOKENS = [1, 17, 42, 5, 88, 3, 60, 29, 11, 74];

describe("a saved LoRA in llama.cpp", () => {
  for (const [name, raw] of Object.entries(CASES)) {
    it(`${name}: base GGUF + adapter GGUF in llama.cpp = our model with the adapter hooked`, async () => {
      const dir = tempDir("adapter-llamacpp-");
      const model = new CausalLM(parseConfig(raw, name), { seed: 4 });
      const a = LoraAdapter.create(model, { ...LORA_DEFAULTS, r: 4, alpha: 8 }, { seed: 5 });
      const rng = new Rng(6);
      for (const t of a.parameters()) if (t.name.endsWith("lora_B.weight")) for (let i = 0; i < t.size; i++) t.data[i] = 0.3 * rng.normal();
      await saveAdapter(a, path.join(dir, "adapter"));
      const baseFile = path.join(dir, "base.gguf");
      await exportGguf(baseFile, model.config, memoryTensorSource(new Map(model.params.list.map((p) => [p.name, { shape: p.shape, data: p.data }]))), { fileType: "f32", vocab: { kind: "synthetic" } });
      const reader = await openSafetensors(path.join(dir, "adapter", "adapter_model.safetensors"));
      const loraFile = path.join(dir, "adapter.gguf");
      try {
        await exportLoraGguf(loraFile, model.config, reader, { alpha: a.settings.alpha });
      } finally {
        await reader.close();
      }
      const oracle = await LlamaCppLogits.open(baseFile, { contextSize: 64, lora: [{ filePath: loraFile, scale: 1 }] });
      let theirs: Float32Array[];
      try {
        theirs = await oracle.logits(TOKENS);
      } finally {
        await oracle.dispose();
      }
      const ids = Int32Array.from(TOKENS);
      const baseLogits = noGrad(() => Float32Array.from(model.forward({ ids, B: 1, T: TOKENS.length }).data));
      a.attach(model);
      const ours = noGrad(() => Float32Array.from(model.forward({ ids, B: 1, T: TOKENS.length }).data));
      let diff = 0;
      let moved = 0;
      theirs.forEach((row, t) => row.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(v - ours[t * V + j]!));
        moved = Math.max(moved, Math.abs(v - baseLogits[t * V + j]!));
      }));
      console.log(`llama.cpp LoRA ${name}: max |diff| ${diff.toExponential(2)} (the adapter moves logits by up to ${moved.toFixed(3)})`);
      expect(moved).toBeGreaterThan(0.05);
      expect(diff).toBeLessThanOrEqual(1e-3);
    });
  }
});
