/**
 * The hand-off plan from real stage recipes (no training): the global batch grows with the world size
 * (per device × accumulation × world) while the item order and the held-out split stay those of the
 * engine, dpo items are pairs with a reference cache of the torch backend's own, the adapter settings
 * carry the router-noise choice, the recipe hash ignores the world size but not the settings, and the
 * Python side's own plan check (python/pedgpt_torch/plan.py, plus its adapter-settings check when torch
 * is installed) accepts every plan this side writes. Also the result file's checks.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStageData } from "../../../test/helpers/stage_data.js";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { parseRecipe } from "../recipe.js";
import { planStage } from "../stages/plan.js";
import { pythonPackageRoot } from "./launch.js";
import { buildTorchPlan, writeTorchPlan, type TorchPlan } from "./plan.js";
import { DEFAULT_PYTHONS, probePython } from "./python.js";
import { readTorchResult } from "./stage.js";

const tmp = tempDir("pedgpt-torch-plan-");
const base = join(tmp, "base");
const data = join(tmp, "data");
const quiet = { log: () => {} };
const opts = { resume: false, device: "cpu" as const, precision: "auto" as const, threads: 1 };

beforeAll(async () => {
  await writeStageData(base, data, {
    sft: 20, pairs: 12, text: 20, modelSeed: 1, tokenizer: { documents: 300, vocabSize: 350 },
    config: { hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, max_position_embeddings: 64 },
  });
});

const recipe = (extra: Record<string, unknown>) => parseRecipe({
  model_name_or_path: base, dataset_dir: data, cutoff_len: 48, per_device_train_batch_size: 2, gradient_accumulation_steps: 2,
  num_train_epochs: 2, seed: 3, output_dir: join(tmp, "out"), backend: "torch", dataset: "sft", ...extra,
});

/** The Python side's checks of plan files, in one interpreter: per file null when accepted, else its message. */
function pythonCheck(files: string[], python: string, withAdapter: boolean): (string | null)[] {
  const code = [
    "import json, sys",
    "from pedgpt_torch.plan import load_plan",
    ...(withAdapter ? ["from pedgpt_torch.adapters import check_settings"] : []),
    "out = []",
    "for f in sys.argv[1:]:",
    "    try:",
    "        p = load_plan(f)",
    ...(withAdapter ? ["        if p['adapter'] is not None: check_settings(p['adapter'], 'plan')"] : []),
    "        out.append(None)",
    "    except Exception as e:",
    "        out.append(str(e))",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync(python, ["-c", code, ...files], { encoding: "utf8", env: { ...process.env, PYTHONPATH: pythonPackageRoot() } });
  if (r.status !== 0) throw new Error(`${python}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as (string | null)[];
}

describe("the torch plan", () => {
  it("global batch = per device × accumulation × world; the engine's split and items; the hash ignores the world size", async () => {
    const r = recipe({ stage: "sft", val_size: 4 });
    const one = buildTorchPlan(await planStage(r, { ...quiet, worldSize: 1 }), opts);
    const four = buildTorchPlan(await planStage(r, { ...quiet, worldSize: 4 }), opts);
    expect([one.trainer.batch_size, one.trainer.micro_batch_size]).toEqual([4, 2]);
    expect([four.trainer.batch_size, four.trainer.micro_batch_size]).toEqual([16, 2]);
    // Epochs over the 16 training rows: 2 × 16 / 4 = 8 steps on one process, 2 × 16 / 16 = 2 on four.
    expect([one.trainer.steps, four.trainer.steps]).toEqual([8, 2]);
    expect(one.train.items).toHaveLength(16);
    expect(one.eval!.items).toHaveLength(4);
    expect(one.eval!.dir).toBe(one.train.dir);
    expect([...one.train.items, ...one.eval!.items].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect([one.objective, one.adapter, one.reference]).toEqual([{ kind: "lm" }, null, null]);
    // Same global batch on 1 and 2 processes (accumulation halved): the same hash, so a resume may move.
    const two = buildTorchPlan(await planStage({ ...r, gradient_accumulation_steps: 1 }, { ...quiet, worldSize: 2 }), opts);
    expect(two.trainer.batch_size).toBe(4);
    expect(two.recipe_hash).toBe(one.recipe_hash);
    expect(four.recipe_hash).not.toBe(one.recipe_hash);
  });

  it("dpo: pairs as items, a reference cache of its own, the preference settings; moe_lora: the router-noise choice", async () => {
    const dpo = buildTorchPlan(await planStage(recipe({ stage: "dpo", dataset: "pairs", finetuning_type: "lora", pref_beta: 0.2, pref_ftx: 1, max_grad_norm: 0 }), quiet), opts);
    expect(dpo.train.items).toHaveLength(12);
    expect(dpo.objective).toEqual({ kind: "preference", loss: "sigmoid", beta: 0.2, ftx: 1, label_smoothing: 0, simpo_gamma: 0.5 });
    expect(dpo.reference!.cache_file).toMatch(/ref-logps-torch-[0-9a-f]{32}\.f64$/);
    expect(dpo.trainer.max_grad_norm).toBeNull();
    expect(dpo.adapter).toMatchObject({ r: 8, alpha: 16, experts: 1, router_noise: "seeded", target_modules: "all" });
    // A separate eval dataset gets its own reference cache (the held-out train items share the train's).
    const withEval = buildTorchPlan(await planStage(recipe({ stage: "dpo", dataset: "pairs", eval_dataset: "pairs", max_samples: 8 }), quiet), opts);
    expect(withEval.eval!.items).toEqual(Array.from({ length: 8 }, (_, i) => i));
    expect(withEval.reference!.eval_cache_file).toMatch(/ref-logps-torch-[0-9a-f]{32}\.f64$/);
    expect(dpo.reference!.eval_cache_file).toBeUndefined();
    const simpo = buildTorchPlan(await planStage(recipe({ stage: "dpo", dataset: "pairs", pref_loss: "simpo" }), quiet), opts);
    expect(simpo.reference).toBeNull();
    const moe = (noise: string) => recipe({ stage: "sft", finetuning_type: "moe_lora", lora_nums: 3, lora_target: "q_proj,v_proj", moe_router_noise: noise });
    const fixed = buildTorchPlan(await planStage(moe("fixed"), quiet), opts);
    const seeded = buildTorchPlan(await planStage(moe("seeded"), quiet), opts);
    expect(fixed.adapter).toMatchObject({ experts: 3, router_noise: "fixed", target_modules: ["q_proj", "v_proj"] });
    expect(fixed.recipe_hash).not.toBe(seeded.recipe_hash);
  });

  const py = DEFAULT_PYTHONS.map((p) => probePython(p)).find((p) => p.ok);
  it("is accepted by the Python side's own checks", async () => {
    // plan.py needs only the standard library; the adapter check needs torch.
    const python = py?.ok ? py.info.python : "/usr/bin/python3";
    const plans: TorchPlan[] = [
      buildTorchPlan(await planStage(recipe({ stage: "sft", val_size: 4 }), quiet), opts),
      buildTorchPlan(await planStage(recipe({ stage: "dpo", dataset: "pairs", finetuning_type: "lora" }), quiet), { ...opts, resume: true, device: "auto" }),
      buildTorchPlan(await planStage(recipe({ stage: "sft", finetuning_type: "moe_lora", lora_nums: 3, moe_router_noise: "fixed" }), quiet), opts),
      buildTorchPlan(await planStage(recipe({ stage: "pt", dataset: "text", max_steps: 1, per_device_train_batch_size: 1, gradient_accumulation_steps: 1 }), quiet), opts),
    ];
    const files = await Promise.all(plans.map((p, i) => writeTorchPlan({ ...p, output_dir: join(tmp, `check-${i}`) })));
    // And a bad field comes back named.
    files.push(await writeTorchPlan({ ...plans[0]!, output_dir: join(tmp, "check-bad"), device: "tpu" as never }));
    const verdicts = pythonCheck(files, python, py?.ok === true);
    expect(verdicts.slice(0, plans.length), plans.map((p) => `${p.stage}/${p.finetuning_type}`).join(", ")).toEqual(plans.map(() => null));
    expect(verdicts.at(-1)).toMatch(/field "device": must be "auto", "cpu" or "cuda", got "tpu"/);
  });
});

describe("the result file", () => {
  it("is checked field by field", () => {
    const file = join(tmp, "torch_result.json");
    const ok = {
      runId: "r1", firstLoss: 5, finalLoss: 4, seconds: 1.5, tokensPerSecond: 100, valLossBefore: 5.1, valLossAfter: 4.2, skippedSteps: 0, resumedFrom: 0,
      checkpoint: "/x/checkpoints/checkpoint-00000004", steps: 4, lastScalars: { "router/entropy": 0.6 }, worldSize: 2, device: "cpu", precision: "fp32", torchVersion: "1.13.1",
    };
    writeFileSync(file, JSON.stringify(ok));
    expect(readTorchResult(file)).toEqual(ok);
    // All steps skipped: no loss, written as null, read as NaN.
    writeFileSync(file, JSON.stringify({ ...ok, firstLoss: null, finalLoss: null }));
    expect(Number.isNaN(readTorchResult(file).firstLoss)).toBe(true);
    writeFileSync(file, JSON.stringify({ ...ok, steps: 2.5 }));
    expect(() => readTorchResult(file)).toThrow(`${file}: field "steps" must be an integer >= 0, found 2.5`);
    writeFileSync(file, JSON.stringify({ ...ok, device: 1 }));
    expect(() => readTorchResult(file)).toThrow(/field "device" must be a string, found 1/);
    writeFileSync(file, "{ cut");
    expect(() => readTorchResult(file)).toThrow(/its result is not valid JSON/);
    expect(() => readTorchResult(join(tmp, "none.json"))).toThrow(/exited normally but its result is missing/);
  });
});
