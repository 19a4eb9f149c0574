/**
 * A pipeline stage on the torch backend (slow: a corpus build, a tiny model, a short torchrun SFT and
 * the evaluation): the manifest records the stage's backend, and changing it (in the recipe or with the
 * pipeline-wide overrides) re-runs that stage (and only what follows) on the other backend. Skipped, with the reason, when no Python with torch is found.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { torchForTests } from "../../../test/helpers/torch.js";
import { loadPipeline } from "./config.js";
import { pipelineStatus, readManifest, runPipeline } from "./run.js";

const hasTorch = torchForTests("pipeline torch-backend e2e test") !== null;

const tmp = tempDir("pedgpt-pipeline-torch-");

function pipelineFile(backend: "torch" | "engine"): string {
  const file = join(tmp, `pipeline-${backend}.yaml`);
  const torch = backend === "torch" ? ", backend: torch, nproc_per_node: 2" : "";
  writeFileSync(file, [
    `out_dir: ${join(tmp, "run")}`,
    `corpus: ${resolve("configs/corpus/sample.json")}`,
    "tokenizer: { vocab_size: 600 }",
    "model: { preset: tiny-llama, seed: 0 }",
    "template: default",
    "stages:",
    `  - { name: sft, recipe: { stage: sft, dataset: pedcorpus_medkqa_train_sharegpt, max_samples: 24, cutoff_len: 64, per_device_train_batch_size: 2, max_steps: 2, learning_rate: 1.0e-3, seed: 0${torch} } }`,
    "evaluation: { max_rows: 4, generate: 0, max_new_tokens: 1 }",
    "",
  ].join("\n"));
  return file;
}

it.skipIf(!hasTorch)("records each stage's backend; a backend change re-runs the stage", { timeout: 600_000 }, async () => {
  const quiet = { log: () => {}, progress: false, checkMemory: false };
  await runPipeline(loadPipeline(pipelineFile("torch")), quiet);
  const first = readManifest(join(tmp, "run"))!;
  const sft = first.steps.find((s) => s.name === "sft")!;
  expect([sft.status, sft.backend, sft.recipe!.backend, sft.recipe!.nproc_per_node]).toEqual(["done", "torch", "torch", 2]);
  expect(sft.summary).toMatchObject({ backend: "torch", torch: { worldSize: 2, device: "cpu" }, steps: 2 });
  expect(pipelineStatus(join(tmp, "run")).some((l) => /^sft \(torch\)\s+done\b/.test(l))).toBe(true);

  await runPipeline(loadPipeline(pipelineFile("engine")), quiet);
  const second = readManifest(join(tmp, "run"))!;
  expect(second.steps.map((s) => `${s.name}:${s.status}`)).toEqual(["corpus:skipped", "tokenizer:skipped", "model:skipped", "sft:done", "evaluation:done"]);
  const again = second.steps.find((s) => s.name === "sft")!;
  expect([again.backend, (again.summary as { backend: string }).backend]).toEqual(["engine", "engine"]);
  expect(again.inputHash).not.toBe(sft.inputHash);

  // `pipeline run --backend torch --nproc-per-node 2` on the engine file: the overrides make the stage's
  // recipe the torch one again, so the stage is redone on torch with the first run's input hash.
  await runPipeline(loadPipeline(pipelineFile("engine")), { ...quiet, stages: { backend: "torch", nprocPerNode: 2 } });
  const third = readManifest(join(tmp, "run"))!.steps.find((s) => s.name === "sft")!;
  expect([third.status, third.backend, third.inputHash]).toEqual(["done", "torch", sft.inputHash]);
  // An override the engine cannot honour is refused before any step runs.
  await expect(runPipeline(loadPipeline(pipelineFile("engine")), { ...quiet, stages: { nprocPerNode: 2 } })).rejects.toThrow(/--nproc-per-node: nproc_per_node 2 needs backend: torch/);
  expect(readManifest(join(tmp, "run"))!.steps.find((s) => s.name === "sft")!.backend).toBe("torch");
});
