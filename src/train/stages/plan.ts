/**
 * What every backend of a stage shares around training (the engine in-process, PyTorch under torchrun):
 * checking the starting model and template, tokenizing the datasets once into the binary format of
 * `../data/`, the held-out split, deriving steps, warmup and batch sizes from the recipe, the facts of
 * the run that are hashed into its checkpoints, and at the end `stage_report.json` plus the tokenizer
 * files beside the result. A backend only trains between `planStage` and `finishStage`.
 *
 * Not here: any training loop (trainer/, the torch package), objectives (preference.ts, ../lm.ts).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LORA_DEFAULTS, type AdapterSettings } from "../../model/adapters/index.js";
import { loadModel, modelInfo, type CausalLM } from "../../model/index.js";
import { checkTemplate, loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import { writeJsonAtomic } from "../../util/atomic.js";
import type { Backend, Recipe } from "../recipe.js";
import { TokenDataset, type DatasetKind } from "../data/format.js";
import type { ScheduleKind } from "../schedule.js";
import { epochOrder } from "../trainer/streams.js";
import type { TrainResult } from "../trainer/trainer.js";
import { prepareDataset, type PrepareCounts } from "./dataset.js";
import { DataPrepError } from "./prepare.js";

export class StageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StageError";
  }
}

export interface DatasetSummary {
  dir: string;
  rows: number;
  tokens: number;
  counts: PrepareCounts;
  reused: boolean;
}

export interface StageReport {
  stage: string;
  finetuningType: string;
  /** which trainer ran the stage */
  backend: Backend;
  outputDir: string;
  model: string;
  template: string;
  data: { train: DatasetSummary; eval: DatasetSummary | null; heldOutFromTrain: number };
  training: Omit<TrainResult, "steps" | "memory"> & { steps: number; lastScalars: Record<string, number> };
  reference?: { cacheFile: string; cached: boolean; seconds: number };
  adapter?: { parameters: number; experts: number; routerEntropy?: number; expertUsage?: number[] };
  /** torch backend: where and how it ran */
  torch?: { worldSize: number; device: string; precision: string; torchVersion: string };
  seconds: number;
}

/** The trainer settings a recipe implies (the engine's `TrainOptions` names; the torch plan maps them). */
export interface StageTrainer {
  steps: number;
  /** GLOBAL items per optimizer step: per_device × accumulation × world size */
  batchSize: number;
  /** items per forward pass per process (per_device_train_batch_size) */
  microBatchSize: number;
  evalBatchSize: number;
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  /** Infinity = no clipping */
  maxGradNorm: number;
  seed: number;
  checkpointEvery: number;
  keepCheckpoints?: number;
  evalEvery: number;
}

/** Everything decided before training, the same whichever backend trains. */
export interface StagePlan {
  recipe: Recipe;
  started: number;
  log: (line: string) => void;
  modelDir: string;
  outDir: string;
  cacheDir: string;
  template: string;
  tokenizer: Tokenizer;
  padId: number;
  kind: DatasetKind;
  trainData: DatasetSummary;
  evalData: DatasetSummary | null;
  /** training and held-out items of the training data (rows for pt/sft, pairs for dpo) */
  split: { train: number[]; held: number[] };
  trainer: StageTrainer;
  /** facts of the run hashed with the trainer settings into every checkpoint (a resume must match) */
  run: { stage: string; finetuningType: string; model: string; data: string; template: string };
  /** adapter settings for lora / moe_lora, null for full fine-tuning */
  adapter: AdapterSettings | null;
}

export interface PlanOptions {
  /** Processes that share one optimizer step (torch: nproc_per_node × nnodes). Defaults to 1. */
  worldSize?: number;
  /** Where tokenized datasets and reference log-probs are kept. Defaults to `<output_dir>/data`. */
  cacheDir?: string;
  log?: (line: string) => void;
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"];

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** Hash of the tokenizer files of a model folder (what the tokenized data depends on). */
function tokenizerHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of TOKENIZER_FILES) {
    const p = join(dir, f);
    if (existsSync(p)) h.update(f).update(readFileSync(p));
  }
  return h.digest("hex");
}

export function adapterSettings(r: Recipe): AdapterSettings {
  const targets = r.lora_target.length === 1 && r.lora_target[0] === "all" ? "all" : r.lora_target;
  return {
    ...LORA_DEFAULTS,
    r: r.lora_rank,
    alpha: r.lora_alpha,
    dropout: r.lora_dropout,
    targetModules: targets,
    experts: r.finetuning_type === "moe_lora" ? r.lora_nums : 1,
    // Only when asked, so the settings (and the hash of every seeded run) stay as they were.
    ...(r.moe_router_noise === "fixed" ? { routerNoise: "fixed" as const } : {}),
  };
}

/** Deterministic held-out split: `val_size` items (a fraction or a count) chosen by a seeded shuffle. */
export function splitHeldOut(n: number, valSize: number, seed: number): { train: number[]; held: number[] } {
  const count = valSize <= 0 ? 0 : valSize < 1 ? Math.round(n * valSize) : Math.min(valSize, n - 1);
  if (count <= 0) return { train: Array.from({ length: n }, (_, i) => i), held: [] };
  if (count >= n) throw new StageError(`val_size ${valSize} leaves no training item out of ${n}`);
  const order = epochOrder(n, seed, 999, true);
  const held = order.slice(0, count).sort((a, b) => a - b);
  const heldSet = new Set(held);
  return { train: Array.from({ length: n }, (_, i) => i).filter((i) => !heldSet.has(i)), held };
}

async function tokenize(
  r: Recipe,
  kind: DatasetKind,
  names: string[],
  tokenizer: Tokenizer,
  tokHash: string,
  template: string,
  cacheDir: string,
  log: (l: string) => void,
): Promise<DatasetSummary> {
  const registry = resolve(r.dataset_dir, "dataset_info.json");
  const perDocument = kind === "pt" && r.neat_packing;
  const packing = kind === "sft" && (r.packing || r.neat_packing);
  // The key covers everything the rows depend on; the source files' bytes are hashed too.
  const sources = names.map((n) => n).join(",");
  let registryBytes = "";
  try {
    registryBytes = readFileSync(registry, "utf8");
  } catch {
    throw new DataPrepError(`${registry}: dataset_info.json not found (dataset_dir must point at the folder holding it)`);
  }
  const fileHashes: string[] = [];
  let reg: Record<string, { file_name?: string }>;
  try {
    reg = JSON.parse(registryBytes) as Record<string, { file_name?: string }>;
  } catch (e) {
    throw new DataPrepError(`${registry}: not valid JSON: ${(e as Error).message}`);
  }
  for (const n of names) {
    const f = reg[n]?.file_name;
    if (f && existsSync(resolve(r.dataset_dir, f))) fileHashes.push(sha(readFileSync(resolve(r.dataset_dir, f))));
  }
  const key = sha(JSON.stringify({ kind, sources, registry: sha(registryBytes), fileHashes, tokHash, template, cutoff: r.cutoff_len, packing, perDocument, max: r.max_samples })).slice(0, 16);
  const dir = join(cacheDir, `${kind}-${key}`);
  if (existsSync(join(dir, "meta.json"))) {
    const ds = new TokenDataset(dir);
    const counts = ds.meta.info.counts as PrepareCounts;
    ds.close();
    log(`      ${names.join(", ")}: tokenized data unchanged, reusing ${dir}`);
    return { dir, rows: ds.meta.rows, tokens: ds.meta.tokens, counts, reused: true };
  }
  const prepared = await prepareDataset({
    kind, datasets: names, registry, tokenizer, tokenizerHash: tokHash, template, cutoffLen: r.cutoff_len, packing, perDocument,
    maxSamples: r.max_samples ?? undefined, outDir: dir, overwrite: true,
  });
  const c = prepared.counts;
  log(`      ${names.join(", ")}: ${c.read} ${kind === "pt" ? "documents" : kind === "pairs" ? "pairs" : "conversations"} read, ${c.written} used, ${c.badRows} bad, ${c.truncated} truncated${kind === "pt" ? `, ${c.droppedTokens} tail tokens dropped` : ""} → ${prepared.meta.rows} rows, ${prepared.meta.tokens} tokens`);
  for (const [reason, n] of Object.entries(c.badReasons)) log(`        skipped ${n}: ${reason}`);
  return { dir, rows: prepared.meta.rows, tokens: prepared.meta.tokens, counts: c, reused: false };
}

/** The starting model must be a full model folder; an adapter folder here is an error. */
export function checkStartModel(dir: string): void {
  if (!existsSync(dir)) throw new StageError(`model_name_or_path ${dir} does not exist`);
  if (!existsSync(join(dir, "config.json"))) {
    if (existsSync(join(dir, "adapter_config.json"))) {
      throw new StageError(`model_name_or_path ${dir} is an adapter, not a model; give the base model and put the adapter in adapter_name_or_path (finetuning_type lora)`);
    }
    throw new StageError(`model_name_or_path ${dir}: no config.json (expected a model folder in Hugging Face layout)`);
  }
}

/** Loads the starting model: a full model folder (an adapter folder here is an error). */
export async function loadStartModel(dir: string): Promise<CausalLM> {
  checkStartModel(dir);
  return loadModel(dir);
}

/** Everything before training: checks, tokenized data, split, trainer settings. Loads no weights. */
export async function planStage(r: Recipe, o: PlanOptions = {}): Promise<StagePlan> {
  const started = performance.now();
  const log = o.log ?? ((l: string) => console.error(l));
  const worldSize = o.worldSize ?? 1;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new StageError(`world size must be an integer >= 1, got ${worldSize}`);
  const modelDir = resolve(r.model_name_or_path);
  const outDir = resolve(r.output_dir);
  const cacheDir = o.cacheDir ?? join(outDir, "data");
  log(`[${r.stage}/${r.finetuning_type}${r.backend === "torch" ? ", torch" : ""}] ${modelDir} → ${outDir}`);

  checkStartModel(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  const info = await modelInfo(modelDir);
  const template = info.template !== null ? checkTemplate(info.template, r.template ?? undefined) : r.template ?? "default";
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const tokHash = tokenizerHash(modelDir);

  const kind: DatasetKind = r.stage === "dpo" ? "pairs" : r.stage;
  const trainData = await tokenize(r, kind, r.dataset, tokenizer, tokHash, template, cacheDir, log);
  const evalData = r.eval_dataset.length > 0 ? await tokenize(r, kind, r.eval_dataset, tokenizer, tokHash, template, cacheDir, log) : null;
  const trainDs = new TokenDataset(trainData.dir);
  const contentHash = trainDs.meta.contentHash;
  const items = kind === "pairs" ? trainDs.rows / 2 : trainDs.rows;
  trainDs.close();
  const split = splitHeldOut(items, evalData ? 0 : r.val_size, r.seed);

  const batchSize = r.per_device_train_batch_size * r.gradient_accumulation_steps * worldSize;
  const steps = r.max_steps > 0 ? r.max_steps : Math.max(1, Math.ceil((r.num_train_epochs * split.train.length) / batchSize));
  const warmupSteps = r.lr_scheduler_type === "constant" ? 0 : r.warmup_steps > 0 ? r.warmup_steps : Math.round(r.warmup_ratio * steps);
  const schedule = r.lr_scheduler_type === "constant_with_warmup" ? "constant" : r.lr_scheduler_type;
  const trainer: StageTrainer = {
    steps,
    batchSize,
    microBatchSize: r.per_device_train_batch_size,
    evalBatchSize: r.per_device_eval_batch_size,
    lr: r.learning_rate,
    schedule,
    warmupSteps,
    minLrRatio: 0,
    weightDecay: r.weight_decay,
    maxGradNorm: r.max_grad_norm > 0 ? r.max_grad_norm : Infinity,
    seed: r.seed,
    checkpointEvery: r.save_steps,
    ...(r.save_total_limit !== null ? { keepCheckpoints: r.save_total_limit } : {}),
    // Held-out loss before and after only, unless eval_steps asks for more (LLaMA-Factory evaluates
    // during training only when asked; on short schedules the trainer's default every 10% costs more
    // than the training itself).
    evalEvery: r.eval_steps ?? steps,
  };
  return {
    recipe: r, started, log, modelDir, outDir, cacheDir, template, tokenizer, padId, kind, trainData, evalData, split, trainer,
    run: { stage: r.stage, finetuningType: r.finetuning_type, model: modelDir, data: contentHash, template },
    adapter: r.finetuning_type === "full" ? null : adapterSettings(r),
  };
}

/** Router statistics of the last step, as the report shows them (MoE-LoRA only). */
export function routerSummary(lastScalars: Record<string, number>): { routerEntropy?: number; expertUsage?: number[] } {
  if (lastScalars["router/entropy"] === undefined) return {};
  return {
    routerEntropy: lastScalars["router/entropy"],
    expertUsage: Object.keys(lastScalars).filter((k) => /^router\/gate_\d+$/.test(k))
      .sort((a, b) => Number(a.slice("router/gate_".length)) - Number(b.slice("router/gate_".length))).map((k) => lastScalars[k]!),
  };
}

/** What a backend hands back after training; the rest of the report comes from the plan. */
export interface StageOutcome {
  backend: Backend;
  training: StageReport["training"];
  reference?: StageReport["reference"];
  adapter?: StageReport["adapter"];
  torch?: StageReport["torch"];
}

/** Copies the tokenizer files beside the result and writes `stage_report.json` (atomically). */
export async function finishStage(plan: StagePlan, outcome: StageOutcome): Promise<StageReport> {
  const { recipe: r, modelDir, outDir } = plan;
  mkdirSync(outDir, { recursive: true });
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(outDir, f));
  }
  const report: StageReport = {
    stage: r.stage,
    finetuningType: r.finetuning_type,
    backend: outcome.backend,
    outputDir: outDir,
    model: modelDir,
    template: plan.template,
    data: { train: plan.trainData, eval: plan.evalData, heldOutFromTrain: plan.split.held.length },
    training: outcome.training,
    ...(outcome.reference ? { reference: outcome.reference } : {}),
    ...(outcome.adapter ? { adapter: outcome.adapter } : {}),
    ...(outcome.torch ? { torch: outcome.torch } : {}),
    seconds: (performance.now() - plan.started) / 1000,
  };
  await writeJsonAtomic(join(outDir, "stage_report.json"), report);
  const t = outcome.training;
  plan.log(`      ${r.stage} done in ${report.seconds.toFixed(1)} s: loss ${t.firstLoss.toFixed(3)} → ${t.finalLoss.toFixed(3)}${t.valLossAfter !== undefined ? `, held-out ${t.valLossBefore?.toFixed(3)} → ${t.valLossAfter.toFixed(3)}` : ""}`);
  return report;
}
