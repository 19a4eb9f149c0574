/**
 * End-to-end (slow: about a minute on an idle 2-core machine): the quick start on the bundled sample
 * corpus with a short schedule — corpus build, tokenizer, a tiny model from scratch, all four stages
 * (CPT, SFT, DFPO, MoE-LoRA), the held-out effect table, samples — then the pipeline's bookkeeping:
 * a second run skips every step, a changed recipe redoes that stage and what follows, a stage left
 * "running" by a killed process resumes from its checkpoint, and `pipeline status` says so.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { loadModel } from "../model/index.js";
import { runQuickstart, type QuickstartOptions } from "./index.js";
import { pipelineStatus, readManifest } from "./pipeline/run.js";

const tmp = tempDir("pedgpt-quickstart-");
const short: QuickstartOptions = {
  outDir: tmp, steps: 24, batchSize: 8, blockSize: 48, vocabSize: 600, lr: 5e-3, progress: false,
  stageSteps: { sft: 6, dfpo: 4, moe_lora: 4 }, evaluation: { maxRows: 16, generate: 1, maxNewTokens: 4 },
};

it("runs all four stages, reports each stage's effect, then skips, redoes and resumes steps", async () => {
  const lines: string[] = [];
  const report = await runQuickstart({ ...short, log: (l) => lines.push(l) });
  const names = report.manifest.steps.map((s) => `${s.name}:${s.status}`);
  expect(names).toEqual(["corpus:done", "tokenizer:done", "model:done", "cpt:done", "sft:done", "dfpo:done", "moe_lora:done", "evaluation:done"]);
  const m = readManifest(tmp)!;
  expect(m.codeVersion).toMatch(/\S/);
  for (const s of m.steps) {
    expect(s.inputHash, s.name).toMatch(/^[0-9a-f]{64}$/);
    expect(s.outputHash, s.name).toMatch(/^[0-9a-f]{64}$/);
    expect(s.seconds, s.name).toBeGreaterThan(0);
  }
  expect(m.steps.find((s) => s.name === "dfpo")!.recipe!.pref_ftx).toBe(0.5);

  // The effect table: one row per model, CPT lowers the held-out LM loss of the random model.
  const e = report.effects!;
  expect(e.map((r) => r.model)).toEqual(["base", "cpt", "sft", "dfpo", "moe_lora"]);
  expect(e[1]!.lm_loss).toBeLessThan(e[0]!.lm_loss);
  expect(e[3]!.reward_acc).not.toBeNull();
  expect(e[4]!.experts).toHaveLength(3);
  expect(readFileSync(join(tmp, "report.md"), "utf8")).toContain("| moe_lora |");
  const html = readFileSync(join(tmp, "report.html"), "utf8");
  for (const stage of ["cpt", "sft", "dfpo", "moe_lora"]) expect(html).toContain(`${stage}: loss`);
  expect(html).toContain("Each stage's effect on held-out data");
  expect(report.samples).toHaveLength(3);
  expect(report.chatCommand).toMatch(/pedgpt chat --model .*stages\/dfpo --adapter .*stages\/moe_lora/);
  expect((await loadModel(join(tmp, "stages", "dfpo"))).config.vocabSize).toBe(600);
  expect(existsSync(join(tmp, "stages", "moe_lora", "adapter_config.json"))).toBe(true);

  // Unchanged: every step skipped.
  const again = await runQuickstart({ ...short, log: () => {} });
  expect(again.manifest.steps.every((s) => s.status === "skipped")).toBe(true);

  // A changed DFPO schedule redoes dfpo and what follows, nothing before it.
  const changed = await runQuickstart({ ...short, stageSteps: { ...short.stageSteps, dfpo: 3 }, log: () => {} });
  expect(changed.manifest.steps.map((s) => s.status)).toEqual(["skipped", "skipped", "skipped", "skipped", "skipped", "done", "done", "done"]);

  // A process killed inside moe_lora: the manifest says "running"; the next run resumes from its checkpoint.
  const man = readManifest(tmp)!;
  const st = man.steps.find((s) => s.name === "moe_lora")!;
  st.status = "running";
  st.outputHash = null;
  writeFileSync(join(tmp, "manifest.json"), JSON.stringify(man));
  expect(pipelineStatus(tmp).some((l) => /^moe_lora\s+running/.test(l))).toBe(true);
  const resumed: string[] = [];
  const r3 = await runQuickstart({ ...short, stageSteps: { ...short.stageSteps, dfpo: 3 }, log: (l) => resumed.push(l) });
  expect(resumed.some((l) => /moe_lora \(resuming\)/.test(l))).toBe(true);
  expect(resumed.some((l) => /resuming run/.test(l))).toBe(true);
  expect(r3.manifest.steps.find((s) => s.name === "moe_lora")!.status).toBe("done");
  expect(pipelineStatus(tmp).some((l) => /^evaluation\s+(done|skipped)/.test(l))).toBe(true);
}, 900_000);
