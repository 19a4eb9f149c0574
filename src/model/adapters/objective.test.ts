/**
 * Adapters through the one trainer: the adapter's named tensors train (base untouched), router
 * scalars are logged, and a run resumed from a checkpoint reproduces the uninterrupted run bit for bit,
 * router noise and dropout included (they come from the trainer's seeded per-step RNG).
 */
import { cpSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { LanguageModelObjective, packDocuments, packedBlocksSource, train, type TrainOptions } from "../../train/index.js";
import { checkpointDirName } from "../../train/trainer/checkpoint.js";
import { parseConfig } from "../architectures.js";
import type { LossInput } from "../model.js";
import { CausalLM } from "../model.js";
import { AdapterError, AdapterObjective, LORA_DEFAULTS, LoraAdapter } from "./index.js";

const CFG = {
  architectures: ["LlamaForCausalLM"], vocab_size: 64, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false, initializer_range: 0.2,
};
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const quiet = { progress: false, log: () => {} } as const;
const data = packDocuments([Array.from({ length: 200 }, (_, i) => 3 + ((i * 7) % 50))], 8, 2);

function setup(initSeed = 3) {
  const model = new CausalLM(parseConfig(CFG, "test"), { seed: 1 });
  const adapter = LoraAdapter.create(model, { ...LORA_DEFAULTS, r: 4, alpha: 8, experts: 3, dropout: 0.05, balanceLossCoef: 0.01 }, { seed: initSeed });
  adapter.attach(model);
  return { model, adapter, objective: new AdapterObjective(new LanguageModelObjective(model), adapter) };
}

describe("adapter training through the trainer", () => {
  const tmp = tempDir("adapter-train-");
  const opts = (runDir: string): TrainOptions<LossInput> => ({ steps: 6, batchSize: 4, microBatchSize: 2, lr: 1e-2, seed: 5, runDir, checkpointEvery: 3, keepCheckpoints: 5, ...quiet });

  it("trains only the adapter, logs router scalars, and resumes bit for bit (noise and dropout included)", async () => {
    const full = setup();
    const base = full.model.parameters().map((p) => Float32Array.from(p.data));
    const init = full.adapter.parameters().map((p) => Float32Array.from(p.data));
    const r = await train(full.objective, packedBlocksSource(data), opts(join(tmp, "full")));
    full.adapter.parameters().forEach((p, i) => expect(bytes(p.data).equals(bytes(init[i]!)), p.name).toBe(false));
    full.model.parameters().forEach((p, i) => expect(bytes(p.data).equals(bytes(base[i]!))).toBe(true));
    const s = r.steps.at(-1)!.scalars;
    expect(s["router/balance_loss"]).toBeGreaterThan(0);
    expect(s["router/entropy"]).toBeGreaterThan(0);
    expect(s["router/usage/e1"]! + s["router/usage/e2"]!).toBeCloseTo(1, 5);
    expect(s["router/gate_1"]! + s["router/gate_2"]!).toBeCloseTo(1, 5);
    const ckpt = JSON.parse(readFileSync(join(tmp, "full", "checkpoints", checkpointDirName(6), "state.json"), "utf8"));
    expect(ckpt.recipe.trainable).toMatchObject({ tensors: full.adapter.parameters().length, values: full.adapter.count() });

    const cut = join(tmp, "cut");
    cpSync(join(tmp, "full"), cut, { recursive: true });
    rmSync(join(cut, "checkpoints", checkpointDirName(6)), { recursive: true });
    const resumed = setup(77); // another init: the checkpoint must restore every adapter value
    const r2 = await train(resumed.objective, packedBlocksSource(data), { ...opts(cut), resume: true });
    expect(r2.resumedFrom).toBe(3);
    expect(r2.steps.map((x) => x.loss)).toEqual(r.steps.map((x) => x.loss));
    full.adapter.parameters().forEach((p, i) => expect(bytes(resumed.adapter.parameters()[i]!.data).equals(bytes(p.data)), p.name).toBe(true));
  });

  it("refuses an objective built over an unfrozen base", () => {
    const model = new CausalLM(parseConfig(CFG, "test"), { seed: 1 });
    const adapter = LoraAdapter.create(model, { ...LORA_DEFAULTS });
    adapter.attach(model, { freezeBase: false });
    expect(() => new AdapterObjective(new LanguageModelObjective(model), adapter).trainable()).toThrow(AdapterError);
  });
});
