/**
 * End-to-end (slow-ish, ~10–20 s): the quick-start job on the bundled sample corpus with a short
 * schedule — corpus build, tokenizer training, packing, training, checkpoint, sampling.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { loadModel } from "../model/index.js";
import { runQuickstart } from "./index.js";

const tmp = tempDir("pedgpt-quickstart-");

it("builds, trains, saves and samples", async () => {
  const lines: string[] = [];
  const report = await runQuickstart({
    outDir: tmp, steps: 40, batchSize: 4, blockSize: 64, vocabSize: 800, lr: 5e-3, log: (l) => lines.push(l),
  });
  expect(report.corpus.documents).toBeGreaterThan(500);
  expect(report.tokenizer.vocabSize).toBe(800);
  expect(report.data.blocks).toBeGreaterThan(100);
  expect(report.data.heldOutBlocks).toBeGreaterThan(5);
  expect(report.training.valLossAfter!).toBeLessThan(report.training.valLossBefore!);
  expect(report.training.finalLoss).toBeLessThan(report.training.firstLoss - 0.5);
  expect(report.samples).toHaveLength(3);
  for (const f of ["model/config.json", "model/model.safetensors", "model/tokenizer.json", "metrics.jsonl", "report.json", "corpus/stats.json"]) {
    expect(existsSync(join(tmp, f)), f).toBe(true);
  }
  const reloaded = await loadModel(join(tmp, "model"));
  expect(reloaded.config.vocabSize).toBe(800);
  expect(JSON.parse(readFileSync(join(tmp, "report.json"), "utf8")).model.parameters).toBe(report.model.parameters);
  expect(lines.some((l) => l.startsWith("[4/4]"))).toBe(true);
});
