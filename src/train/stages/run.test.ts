/**
 * Stages from recipes on a tiny model: sft (full) learns the answers, dpo (full, cached reference)
 * raises the preference margin and reuses its cache on a second run, LoRA and MoE-LoRA train only the
 * adapter and save it in PEFT layout, a resumed run continues, and bad inputs (an adapter as the model,
 * a template that differs from the checkpoint's) are refused before any work.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStageData } from "../../../test/helpers/stage_data.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { loadModel } from "../../model/index.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { parseRecipe } from "../recipe.js";
import { runStage } from "./run.js";

const tmp = tempDir("pedgpt-stage-");
const base = join(tmp, "base");
const data = join(tmp, "data");

beforeAll(async () => {
  await writeStageData(base, data, { sft: 24, pairs: 16 });
});

const common = { model_name_or_path: "", dataset_dir: "", cutoff_len: 64, per_device_train_batch_size: 4, learning_rate: 3e-3, warmup_ratio: 0.1, logging_steps: 1, save_steps: 10, seed: 1 };
const quiet = { log: () => {}, progress: false, checkMemory: false };

describe("runStage", () => {
  it("sft (full) lowers the loss and saves a loadable model with its template", async () => {
    const out = join(tmp, "sft");
    const r = await runStage(parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", max_steps: 30, val_size: 4, output_dir: out }), quiet);
    expect(r.training.finalLoss).toBeLessThan(r.training.firstLoss);
    expect(r.data.heldOutFromTrain).toBe(4);
    expect(r.training.valLossAfter!).toBeLessThan(r.training.valLossBefore!);
    expect((await loadModel(out)).config.vocabSize).toBe(loadTokenizer(base).vocabSize);
    expect(existsSync(join(out, "tokenizer.json"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "stage_report.json"), "utf8")).template).toBe("default");
  });

  it("dpo (full) raises the margin, logs TRL's names, and reuses its reference cache", async () => {
    const out = join(tmp, "dpo");
    const recipe = parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "dpo", dataset: "pairs", max_steps: 12, pref_ftx: 0.5, output_dir: out, learning_rate: 5e-3 });
    const r = await runStage(recipe, quiet);
    expect(r.reference!.cached).toBe(false);
    const last = r.training.lastScalars;
    expect(last["rewards/margins"]!).toBeGreaterThan(0);
    expect(last["rewards/accuracies"]!).toBeGreaterThan(0.5);
    const again = await runStage({ ...recipe, overwrite_output_dir: true, max_steps: 2 }, quiet);
    expect(again.reference!.cached).toBe(true);
    expect(again.data.train.reused).toBe(true);
  });

  it("lora and moe_lora train only the adapter and save it in PEFT layout", async () => {
    for (const ft of ["lora", "moe_lora"] as const) {
      const out = join(tmp, ft);
      const r = await runStage(parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "sft", finetuning_type: ft, lora_nums: 3, lora_rank: 4, dataset: "sft", max_steps: 6, output_dir: out }), quiet);
      expect(r.training.finalLoss).toBeLessThan(r.training.firstLoss);
      expect(existsSync(join(out, "adapter_config.json"))).toBe(true);
      expect(existsSync(join(out, "config.json"))).toBe(false);
      if (ft === "moe_lora") {
        expect(r.adapter!.experts).toBe(3);
        expect(r.adapter!.expertUsage).toHaveLength(2);
        expect(r.adapter!.routerEntropy!).toBeGreaterThan(0);
      }
    }
  });

  it("resumes a run from its last checkpoint", async () => {
    const out = join(tmp, "resume");
    const recipe = parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", max_steps: 4, save_steps: 2, output_dir: out });
    await runStage(recipe, quiet);
    const r = await runStage({ ...recipe, max_steps: 4 }, { ...quiet, resume: true });
    expect(r.training.resumedFrom).toBe(4);
  });

  it("refuses an adapter as the model and a template that differs from the checkpoint's", async () => {
    await expect(runStage(parseRecipe({ ...common, model_name_or_path: join(tmp, "lora"), dataset_dir: data, stage: "sft", dataset: "sft", output_dir: join(tmp, "x") }), quiet)).rejects.toThrow(/is an adapter, not a model/);
    await expect(runStage(parseRecipe({ ...common, model_name_or_path: base, dataset_dir: data, stage: "sft", dataset: "sft", template: "qwen", output_dir: join(tmp, "y") }), quiet)).rejects.toThrow(/template/i);
  });
});
