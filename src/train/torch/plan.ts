/**
 * The hand-off file of the torch backend, `<output_dir>/torch_plan.json` (format "pedgpt-torch-plan",
 * version 1): everything the Python trainer needs, decided on this side from the shared stage plan so
 * both backends train the same items in the same order with the same settings. Its fields are the
 * contract with `python/pedgpt_torch` (documented in python/README.md); this file builds and writes it.
 *
 * Not here: launching (launch.ts), the shared stage plan (../stages/plan.ts).
 */
import { createHash } from "node:crypto";
import { basename, join, resolve } from "node:path";
import { writeJsonAtomic } from "../../util/atomic.js";
import { hashDir, modelFiles } from "../pipeline/hash.js";
import { TokenDataset } from "../data/format.js";
import type { Device, Precision } from "../recipe.js";
import type { StagePlan } from "../stages/plan.js";
import { needsReference } from "../stages/preference.js";
import { recipeHash } from "../trainer/trainer.js";

export const PLAN_FILE = "torch_plan.json";
export const RESULT_FILE = "torch_result.json";
export const ERRORS_DIR = "torch_errors";
/** torchrun's per-rank logs of the latest launch */
export const LOGS_DIR = "torch_logs";
export const PLAN_FORMAT = "pedgpt-torch-plan";
export const PLAN_VERSION = 1;

export interface TorchPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  stage: "pt" | "sft" | "dpo";
  finetuning_type: "full" | "lora" | "moe_lora";
  model_dir: string;
  merge_adapter_dir: string | null;
  output_dir: string;
  template: string;
  pad_id: number;
  /** items = rows for pt/sft, pairs for dpo (pair k = rows 2k, 2k+1); data position i → item items[i] */
  train: { dir: string; items: number[] };
  eval: { dir: string; items: number[] } | null;
  trainer: {
    steps: number;
    /** GLOBAL items per optimizer step (= micro_batch_size × accumulation × world size) */
    batch_size: number;
    micro_batch_size: number;
    lr: number;
    schedule: "cosine" | "linear" | "constant";
    warmup_steps: number;
    min_lr_ratio: number;
    weight_decay: number;
    beta1: number;
    beta2: number;
    eps: number;
    /** null = no clipping */
    max_grad_norm: number | null;
    seed: number;
    shuffle: boolean;
    max_bad_steps: number;
    eval_every: number;
    eval_batch_size: number;
    checkpoint_every: number;
    keep_checkpoints: number;
  };
  objective: { kind: "lm" } | { kind: "preference"; loss: string; beta: number; ftx: number; label_smoothing: number; simpo_gamma: number };
  adapter: null | {
    r: number;
    alpha: number;
    dropout: number;
    target_modules: "all" | string[] | { regex: string };
    experts: number;
    router_noise: "seeded" | "fixed";
    rs_lora: boolean;
    noisy_gating: boolean;
    balance_loss_coef: number;
    w_noise_init: "zeros" | "seed";
  };
  /** eval_cache_file: the reference log-probs of a separate eval dataset (held-out train items use cache_file) */
  reference: null | { cache_file: string; batch_size: number; eval_cache_file?: string };
  recipe_hash: string;
  recipe: Record<string, unknown>;
  resume: boolean;
  overwrite: boolean;
  device: Device;
  precision: Precision;
  threads: number;
  gradient_checkpointing: boolean;
}

const count = (n: number) => Array.from({ length: n }, (_, i) => i);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** The plan of a stage for the torch trainer. */
export function buildTorchPlan(p: StagePlan, o: { resume: boolean; device: Device; precision: Precision; threads: number }): TorchPlan {
  const r = p.recipe;
  const t = p.trainer;
  const pairs = p.kind === "pairs";
  const evalItems = p.evalData ? count(pairs ? p.evalData.rows / 2 : p.evalData.rows) : p.split.held;
  const evalSet = p.evalData ? { dir: p.evalData.dir, items: evalItems } : p.split.held.length > 0 ? { dir: p.trainData.dir, items: p.split.held } : null;
  const mergeDir = r.adapter_name_or_path !== null ? resolve(r.adapter_name_or_path) : null;
  const trainer: TorchPlan["trainer"] = {
    steps: t.steps, batch_size: t.batchSize, micro_batch_size: t.microBatchSize, lr: t.lr, schedule: t.schedule,
    warmup_steps: t.warmupSteps, min_lr_ratio: t.minLrRatio, weight_decay: t.weightDecay,
    // The engine trainer's defaults, which the stage leaves as they are.
    beta1: 0.9, beta2: 0.999, eps: 1e-8,
    max_grad_norm: Number.isFinite(t.maxGradNorm) ? t.maxGradNorm : null,
    seed: t.seed, shuffle: true, max_bad_steps: 5,
    eval_every: t.evalEvery, eval_batch_size: t.evalBatchSize, checkpoint_every: t.checkpointEvery, keep_checkpoints: t.keepCheckpoints ?? 2,
  };
  const objective: TorchPlan["objective"] = r.stage === "dpo"
    ? { kind: "preference", loss: r.pref_loss, beta: r.pref_beta, ftx: r.pref_ftx, label_smoothing: r.dpo_label_smoothing, simpo_gamma: r.simpo_gamma }
    : { kind: "lm" };
  const a = p.adapter;
  const adapter: TorchPlan["adapter"] = a === null ? null : {
    r: a.r, alpha: a.alpha, dropout: a.dropout,
    target_modules: a.targetModules === "all" ? "all" : Array.isArray(a.targetModules) ? [...a.targetModules] : a.targetModules as { regex: string },
    experts: a.experts, router_noise: a.routerNoise ?? "seeded", rs_lora: a.rsLora, noisy_gating: a.noisyGating,
    balance_loss_coef: a.balanceLossCoef, w_noise_init: a.wNoiseInit,
  };
  let reference: TorchPlan["reference"] = null;
  if (r.stage === "dpo" && needsReference(r.pref_loss)) {
    // The engine keys its cache by the loaded weights; this side never loads them, so the key is the
    // model folder's files (and the merged adapter's) with the data: a cache of one backend is not
    // taken for the other's.
    const models = ["torch", hashDir(p.modelDir, modelFiles), mergeDir ? hashDir(mergeDir, modelFiles) : ""].join(":");
    const file = (dataHash: string) => join(p.cacheDir, `ref-logps-torch-${sha(`${models}:${dataHash}`).slice(0, 32)}.f64`);
    reference = { cache_file: file(p.run.data), batch_size: r.per_device_eval_batch_size };
    if (p.evalData) {
      const ds = new TokenDataset(p.evalData.dir);
      reference.eval_cache_file = file(ds.meta.contentHash);
      ds.close();
    }
  }
  // What a checkpoint must match to be resumed: everything that changes the run, not how many
  // processes share it (the data order and the global batch do not depend on that).
  const hashed: Record<string, unknown> = {
    backend: "torch", trainer, objective, adapter, run: p.run, mergeAdapter: mergeDir,
    data: { items: p.split.train.length, order: sha(p.split.train.join(",")) },
    evalData: evalSet ? { data: basename(evalSet.dir), items: sha(evalSet.items.join(",")) } : null,
  };
  return {
    format: PLAN_FORMAT, version: PLAN_VERSION, stage: r.stage, finetuning_type: r.finetuning_type, model_dir: p.modelDir, merge_adapter_dir: mergeDir,
    output_dir: p.outDir, template: p.template, pad_id: p.padId,
    train: { dir: p.trainData.dir, items: p.split.train }, eval: evalSet,
    trainer, objective, adapter, reference,
    recipe_hash: recipeHash(hashed), recipe: hashed,
    resume: o.resume, overwrite: r.overwrite_output_dir,
    device: o.device, precision: o.precision, threads: o.threads, gradient_checkpointing: r.gradient_checkpointing,
  };
}

/**
 * Writes the plan into the output folder through the atomic writer; returns its path. Node 0 writes
 * `torch_plan.json`; another node of a multi-node run writes its own `torch_plan.node-<r>.json`, so on a
 * shared filesystem no node replaces the file another node's ranks are reading.
 */
export async function writeTorchPlan(plan: TorchPlan, nodeRank = 0): Promise<string> {
  const file = join(plan.output_dir, nodeRank === 0 ? PLAN_FILE : PLAN_FILE.replace(/\.json$/, `.node-${nodeRank}.json`));
  await writeJsonAtomic(file, plan);
  return file;
}
