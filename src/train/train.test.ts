/**
 * Tests of the training building blocks: packing, the schedule, the next-token loop (it must learn,
 * and it must refuse to continue on a poisoned model), and progress formatting.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { CausalLM, parseConfig, presetConfig } from "../model/index.js";
import { cosineWithWarmup, formatDuration, packDocuments, trainLanguageModel, TrainingError } from "./index.js";

const tmp = tempDir("pedgpt-train-");

describe("packDocuments", () => {
  it("appends EOS to every document and cuts full blocks, counting the tail", () => {
    const p = packDocuments([[5, 6, 7], [8], [9, 10]], 3, 2);
    // stream: 5 6 7 2 8 2 9 10 2 → 3 blocks of 3, nothing left
    expect(Array.from(p.ids)).toEqual([5, 6, 7, 2, 8, 2, 9, 10, 2]);
    expect(p).toMatchObject({ numBlocks: 3, documents: 3, totalTokens: 9, droppedTokens: 0 });
    const q = packDocuments([[5, 6, 7, 8]], 3, 2);
    expect(q).toMatchObject({ numBlocks: 1, totalTokens: 5, droppedTokens: 2 });
  });

  it("rejects a block size that cannot hold an input and a target", () => {
    expect(() => packDocuments([[1]], 1, 2)).toThrow(/blockSize/);
  });
});

describe("cosineWithWarmup", () => {
  const o = { peak: 1, totalSteps: 110, warmupSteps: 10, minRatio: 0.1 };
  it("warms up linearly, peaks, and decays to the floor at the last step", () => {
    expect(cosineWithWarmup(1, o)).toBeCloseTo(0.1, 12);
    expect(cosineWithWarmup(10, o)).toBeCloseTo(1, 12);
    expect(cosineWithWarmup(60, o)).toBeCloseTo(0.55, 12);
    expect(cosineWithWarmup(110, o)).toBeCloseTo(0.1, 12);
    for (let s = 11; s < 110; s++) expect(cosineWithWarmup(s + 1, o)).toBeLessThanOrEqual(cosineWithWarmup(s, o));
  });
});

describe("formatDuration", () => {
  it("prints seconds, minutes and hours", () => {
    expect(formatDuration(7)).toBe("7s");
    expect(formatDuration(125)).toBe("2m05s");
    expect(formatDuration(3 * 3600 + 60)).toBe("3h01m");
    expect(formatDuration(Infinity)).toBe("?");
  });
});

function tinyModel(seed = 1): CausalLM {
  const cfg = parseConfig(presetConfig("tiny-llama", { vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1 }), "test");
  return new CausalLM(cfg, { seed });
}

describe("trainLanguageModel", () => {
  it("learns a repeating sequence and logs every step", () => {
    const model = tinyModel();
    const doc = Array.from({ length: 63 }, (_, i) => 3 + (i % 12));
    const data = packDocuments([doc, doc, doc, doc], 16, 2);
    const metricsFile = join(tmp, "m", "metrics.jsonl");
    const r = trainLanguageModel(model, data, { steps: 60, batchSize: 4, lr: 1e-2, seed: 3, metricsFile, progress: false });
    expect(r.steps).toHaveLength(60);
    expect(r.firstLoss).toBeGreaterThan(3.5); // ≈ ln 64 at init
    expect(r.finalLoss).toBeLessThan(1.0);
    const lines = readFileSync(metricsFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(lines.map((l) => l.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it("is deterministic for a seed", () => {
    const data = packDocuments([Array.from({ length: 80 }, (_, i) => 3 + ((i * 7) % 50))], 8, 2);
    const a = trainLanguageModel(tinyModel(), data, { steps: 5, batchSize: 2, seed: 9, progress: false });
    const b = trainLanguageModel(tinyModel(), data, { steps: 5, batchSize: 2, seed: 9, progress: false });
    expect(a.steps.map((m) => m.loss)).toEqual(b.steps.map((m) => m.loss));
  });

  it("skips non-finite steps and aborts after too many, naming the step", () => {
    const model = tinyModel();
    model.parameters()[0]!.data.fill(NaN);
    const data = packDocuments([Array.from({ length: 40 }, (_, i) => 3 + (i % 9))], 8, 2);
    expect(() => trainLanguageModel(model, data, { steps: 10, batchSize: 1, maxBadSteps: 2, progress: false })).toThrow(TrainingError);
    expect(() => trainLanguageModel(model, data, { steps: 10, batchSize: 1, maxBadSteps: 2, progress: false })).toThrow(/step 3: 3 consecutive/);
  });

  it("says so when the data is shorter than one block", () => {
    const data = packDocuments([[3, 4]], 16, 2);
    expect(() => trainLanguageModel(tinyModel(), data, { steps: 1, batchSize: 1, progress: false })).toThrow(/fewer than one block/);
  });
});

describe("held-out loss", () => {
  it("splits blocks deterministically and reports validation loss before and after", async () => {
    const { splitBlocks } = await import("./index.js");
    const doc = Array.from({ length: 400 }, (_, i) => 3 + (i % 12));
    const packed = packDocuments([doc], 8, 2);
    const { train, validation } = splitBlocks(packed, 5);
    expect(train.numBlocks + validation.numBlocks).toBe(packed.numBlocks);
    expect(validation.numBlocks).toBe(Math.floor(packed.numBlocks / 5));
    expect(Array.from(validation.ids.subarray(0, 8))).toEqual(Array.from(packed.ids.subarray(4 * 8, 5 * 8)));
    const r = trainLanguageModel(tinyModel(), train, { steps: 40, batchSize: 4, lr: 1e-2, validation, evalEvery: 10, progress: false });
    expect(r.steps.filter((m) => m.valLoss !== undefined).map((m) => m.step)).toEqual([10, 20, 30, 40]);
    expect(r.valLossAfter!).toBeLessThan(r.valLossBefore! - 1);
  });
});
