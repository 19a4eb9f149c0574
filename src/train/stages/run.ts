/**
 * One stage from its recipe (`pedgpt train RECIPE.yaml`): load the starting model and its tokenizer,
 * check the template, tokenize the datasets once (reused while their inputs are unchanged), build the
 * objective (next-token for pt and sft, the preference loss for dpo; full, LoRA or MoE-LoRA) and run it
 * on the one trainer, then save the model (full) or the adapter (LoRA / MoE-LoRA) in `output_dir` with
 * a `stage_report.json` that counts every skipped or truncated row.
 *
 * Not here: the loop (trainer/), losses (preference.ts, ../lm.ts), data files (../data/).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Tensor } from "../../engine/index.js";
import { LORA_DEFAULTS, LoraAdapter, loadAdapter, saveAdapter, type AdapterSettings } from "../../model/adapters/index.js";
import { loadModel, modelInfo, saveModel, type CausalLM, type LossInput } from "../../model/index.js";
import { checkTemplate, loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import { LanguageModelObjective } from "../lm.js";
import type { Recipe } from "../recipe.js";
import { TokenDataset, type DatasetKind } from "../data/format.js";
import { epochOrder } from "../trainer/streams.js";
import type { DataSource, LossResult, Objective, StepContext, TrainingPlan } from "../trainer/objective.js";
import { train, type TrainResult } from "../trainer/trainer.js";
import { pairsSource, referenceLogps, rowsSource } from "./batch.js";
import { prepareDataset, type PrepareCounts } from "./dataset.js";
import { PreferenceObjective, needsReference, type PairBatch } from "./preference.js";
import { DataPrepError } from "./prepare.js";

export class StageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StageError";
  }
}

export interface StageOptions {
  /** Continue the run in output_dir from its newest checkpoint. */
  resume?: boolean;
  log?: (line: string) => void;
  /** Progress line on stderr. Defaults to true. */
  progress?: boolean;
  /** Where tokenized datasets and reference log-probs are kept. Defaults to `<output_dir>/data`. */
  cacheDir?: string;
  /** Refuse when the memory estimate exceeds free memory. Defaults to true. */
  checkMemory?: boolean;
}

export interface StageReport {
  stage: string;
  finetuningType: string;
  outputDir: string;
  model: string;
  template: string;
  data: { train: DatasetSummary; eval: DatasetSummary | null; heldOutFromTrain: number };
  training: Omit<TrainResult, "steps" | "memory"> & { steps: number; lastScalars: Record<string, number> };
  reference?: { cacheFile: string; cached: boolean; seconds: number };
  adapter?: { parameters: number; experts: number; routerEntropy?: number; expertUsage?: number[] };
  seconds: number;
}

interface DatasetSummary {
  dir: string;
  rows: number;
  tokens: number;
  counts: PrepareCounts;
  reused: boolean;
}

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");

/** Hash of the tokenizer files of a model folder (what the tokenized data depends on). */
function tokenizerHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]) {
    const p = join(dir, f);
    if (existsSync(p)) h.update(f).update(readFileSync(p));
  }
  return h.digest("hex");
}

/** Wraps an objective so only an adapter trains; training mode and router statistics per micro-batch. */
class AdapterObjective<B> implements Objective<B> {
  readonly name: string;
  constructor(
    private readonly inner: Objective<B>,
    readonly adapter: LoraAdapter,
  ) {
    this.name = `${inner.name}+${adapter.settings.experts > 1 ? "moe_lora" : "lora"}`;
  }
  trainable(): readonly Tensor[] {
    return this.adapter.parameters();
  }
  loss(batch: B, ctx: StepContext): LossResult {
    if (ctx.training) this.adapter.train(ctx.rng);
    else this.adapter.eval();
    const r = this.inner.loss(batch, ctx);
    if (this.adapter.settings.experts > 1) {
      const stats = this.adapter.takeRouterStats();
      if (stats.length > 0) {
        const scalars = { ...(r.scalars ?? {}) };
        scalars["router/entropy"] = stats.reduce((a, s) => a + s.entropy, 0) / stats.length;
        const E = stats[0]!.meanGate.length;
        for (let e = 0; e < E; e++) scalars[`router/gate_${e + 1}`] = stats.reduce((a, s) => a + s.meanGate[e]!, 0) / stats.length;
        return { ...r, scalars };
      }
    }
    return r;
  }
  check(plan: TrainingPlan): void {
    this.inner.check?.(plan);
  }
  recipe(): Record<string, unknown> {
    return { ...(this.inner.recipe?.() ?? {}), adapter: { ...this.adapter.settings, targetModules: this.adapter.modules.length } };
  }
}

function adapterSettings(r: Recipe): AdapterSettings {
  const targets = r.lora_target.length === 1 && r.lora_target[0] === "all" ? "all" : r.lora_target;
  return {
    ...LORA_DEFAULTS,
    r: r.lora_rank,
    alpha: r.lora_alpha,
    dropout: r.lora_dropout,
    targetModules: targets,
    experts: r.finetuning_type === "moe_lora" ? r.lora_nums : 1,
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

/** Loads the starting model: a full model folder (an adapter folder here is an error). */
export async function loadStartModel(dir: string): Promise<CausalLM> {
  if (!existsSync(dir)) throw new StageError(`model_name_or_path ${dir} does not exist`);
  if (!existsSync(join(dir, "config.json"))) {
    if (existsSync(join(dir, "adapter_config.json"))) {
      throw new StageError(`model_name_or_path ${dir} is an adapter, not a model; give the base model and put the adapter in adapter_name_or_path (finetuning_type lora)`);
    }
    throw new StageError(`model_name_or_path ${dir}: no config.json (expected a model folder in Hugging Face layout)`);
  }
  return loadModel(dir);
}

/** Runs one stage. */
export async function runStage(r: Recipe, o: StageOptions = {}): Promise<StageReport> {
  const started = performance.now();
  const log = o.log ?? ((l: string) => console.error(l));
  const modelDir = resolve(r.model_name_or_path);
  const outDir = resolve(r.output_dir);
  const cacheDir = o.cacheDir ?? join(outDir, "data");
  log(`[${r.stage}/${r.finetuning_type}] ${modelDir} → ${outDir}`);

  const model = await loadStartModel(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  const info = await modelInfo(modelDir);
  const template = info.template !== null ? checkTemplate(info.template, r.template ?? undefined) : r.template ?? "default";
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const tokHash = tokenizerHash(modelDir);

  const kind: DatasetKind = r.stage === "dpo" ? "pairs" : r.stage;
  const trainData = await tokenize(r, kind, r.dataset, tokenizer, tokHash, template, cacheDir, log);
  const evalData = r.eval_dataset.length > 0 ? await tokenize(r, kind, r.eval_dataset, tokenizer, tokHash, template, cacheDir, log) : null;
  const trainDs = new TokenDataset(trainData.dir);
  const evalDs = evalData ? new TokenDataset(evalData.dir) : null;
  const items = kind === "pairs" ? trainDs.rows / 2 : trainDs.rows;
  const split = splitHeldOut(items, evalDs ? 0 : r.val_size, r.seed);

  // Adapters: an earlier plain LoRA in adapter_name_or_path is merged first (as LLaMA-Factory does).
  let adapter: LoraAdapter | null = null;
  if (r.adapter_name_or_path !== null) {
    const prev = await loadAdapter(resolve(r.adapter_name_or_path), model);
    if (prev.settings.experts > 1) throw new StageError(`adapter_name_or_path ${r.adapter_name_or_path} is a MoE-LoRA adapter, whose routed experts cannot be merged into the base; train from a merged full model`);
    prev.attach(model);
    prev.merge(model);
  }
  if (r.finetuning_type !== "full") {
    adapter = LoraAdapter.create(model, adapterSettings(r), { seed: r.seed, baseModelPath: modelDir });
    adapter.attach(model);
    log(`      ${r.finetuning_type}: ${adapter.count()} trainable parameters in ${adapter.modules.length} modules (rank ${r.lora_rank}${adapter.settings.experts > 1 ? `, ${adapter.settings.experts} experts` : ""})`);
  }
  model.gradientCheckpointing = r.gradient_checkpointing;

  const steps = r.max_steps > 0 ? r.max_steps : Math.max(1, Math.ceil((r.num_train_epochs * split.train.length) / (r.per_device_train_batch_size * r.gradient_accumulation_steps)));
  const warmupSteps = r.lr_scheduler_type === "constant" ? 0 : r.warmup_steps > 0 ? r.warmup_steps : Math.round(r.warmup_ratio * steps);
  const schedule = r.lr_scheduler_type === "constant_with_warmup" ? "constant" : r.lr_scheduler_type;
  const common = {
    steps,
    batchSize: r.per_device_train_batch_size * r.gradient_accumulation_steps,
    microBatchSize: r.per_device_train_batch_size,
    evalBatchSize: r.per_device_eval_batch_size,
    lr: r.learning_rate,
    schedule,
    warmupSteps,
    minLrRatio: 0,
    weightDecay: r.weight_decay,
    maxGradNorm: r.max_grad_norm > 0 ? r.max_grad_norm : Infinity,
    seed: r.seed,
    runDir: outDir,
    checkpointEvery: r.save_steps,
    ...(r.save_total_limit !== null ? { keepCheckpoints: r.save_total_limit } : {}),
    // Held-out loss before and after only, unless eval_steps asks for more (LLaMA-Factory evaluates
    // during training only when asked; on short schedules the trainer's default every 10% costs more
    // than the training itself).
    evalEvery: r.eval_steps ?? steps,
    resume: o.resume === true,
    overwrite: r.overwrite_output_dir,
    recipe: { stage: r.stage, finetuningType: r.finetuning_type, model: modelDir, data: trainDs.meta.contentHash, template },
    progress: o.progress ?? true,
    checkMemory: o.checkMemory ?? true,
    log,
  };

  let result: TrainResult;
  let reference: StageReport["reference"];
  if (r.stage === "dpo") {
    const opts = { loss: r.pref_loss, beta: r.pref_beta, ftx: r.pref_ftx, labelSmoothing: r.dpo_label_smoothing, simpoGamma: r.simpo_gamma };
    let refAll: Float64Array | null = null;
    let refEval: Float64Array | null = null;
    if (needsReference(r.pref_loss)) {
      // Reference = the starting model: with an adapter, the same model with the adapter disabled.
      const forward = adapter ? <T>(fn: () => T) => adapter!.withDisabled(fn) : undefined;
      const ref = referenceLogps(model, trainDs, { cacheDir, padId, batchSize: r.per_device_eval_batch_size, forward, log });
      refAll = ref.logps;
      reference = { cacheFile: ref.cacheFile, cached: ref.cached, seconds: ref.seconds };
      log(`      reference log-probs ${ref.cached ? "read from" : `computed in ${ref.seconds.toFixed(1)} s, cached in`} ${ref.cacheFile}`);
      if (evalDs) refEval = referenceLogps(model, evalDs, { cacheDir, padId, batchSize: r.per_device_eval_batch_size, forward, log }).logps;
    }
    const trainable = adapter ? adapter.parameters() : model.parameters().filter((p) => p.requiresGrad);
    const pref = new PreferenceObjective(model, opts, trainable);
    const objective: Objective<PairBatch> = adapter ? new AdapterObjective(pref, adapter) : pref;
    const source = pairsSource(trainDs, { padId, pairs: split.train, refLogps: refAll });
    const held: DataSource<PairBatch> | undefined = evalDs
      ? pairsSource(evalDs, { padId, refLogps: refEval })
      : split.held.length > 0 ? pairsSource(trainDs, { padId, pairs: split.held, refLogps: refAll }) : undefined;
    result = await train(objective, source, { ...common, ...(held ? { evalData: held } : {}) });
  } else {
    const lm = new LanguageModelObjective(model);
    const objective: Objective<LossInput> = adapter ? new AdapterObjective(lm, adapter) : lm;
    const source = rowsSource(trainDs, { padId, rows: split.train });
    const held = evalDs ? rowsSource(evalDs, { padId }) : split.held.length > 0 ? rowsSource(trainDs, { padId, rows: split.held }) : undefined;
    result = await train(objective, source, { ...common, ...(held ? { evalData: held } : {}) });
  }
  trainDs.close();
  evalDs?.close();

  // The result: a full model folder (with tokenizer and template) or an adapter folder.
  mkdirSync(outDir, { recursive: true });
  let adapterInfo: StageReport["adapter"];
  if (adapter) {
    await saveAdapter(adapter, outDir);
    adapterInfo = { parameters: adapter.count(), experts: adapter.settings.experts };
    const last = result.steps.at(-1)?.scalars ?? {};
    if (last["router/entropy"] !== undefined) {
      adapterInfo.routerEntropy = last["router/entropy"];
      adapterInfo.expertUsage = Object.keys(last).filter((k) => k.startsWith("router/gate_")).sort().map((k) => last[k]!);
    }
  } else {
    await saveModel(model, outDir, { metadata: { template } });
  }
  for (const f of ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]) {
    if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(outDir, f));
  }
  const { steps: history, memory: _memory, ...summary } = result;
  const report: StageReport = {
    stage: r.stage,
    finetuningType: r.finetuning_type,
    outputDir: outDir,
    model: modelDir,
    template,
    data: { train: trainData, eval: evalData, heldOutFromTrain: split.held.length },
    training: { ...summary, steps: history.length, lastScalars: history.at(-1)?.scalars ?? {} },
    ...(reference ? { reference } : {}),
    ...(adapterInfo ? { adapter: adapterInfo } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  writeFileSync(join(outDir, "stage_report.json"), JSON.stringify(report, null, 2) + "\n");
  log(`      ${r.stage} done in ${report.seconds.toFixed(1)} s: loss ${result.firstLoss.toFixed(3)} → ${result.finalLoss.toFixed(3)}${result.valLossAfter !== undefined ? `, held-out ${result.valLossBefore?.toFixed(3)} → ${result.valLossAfter.toFixed(3)}` : ""}`);
  return report;
}
