/**
 * A stage on the torch backend: the launch options checked, the Python interpreter with torch found
 * (and CUDA when asked), then the shared stage plan (the same tokenized data, split and settings as the
 * engine), the hand-off plan written, torchrun run, and the Python side's result turned into the same
 * `stage_report.json` as the engine's (plus `backend: "torch"` and where it ran).
 *
 * Not here: the torchrun command and its errors (launch.ts), the plan file (plan.ts), the trainer
 * itself (python/pedgpt_torch).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { getThreads } from "../../engine/kernels/index.js";
import { openAdapterWeights, readAdapterConfig } from "../../model/adapters/io.js";
import type { Recipe } from "../recipe.js";
import { listCheckpoints } from "../trainer/checkpoint.js";
import { TrainingOptionsError, TrainingStoppedError } from "../trainer/errors.js";
import type { TrainResult } from "../trainer/trainer.js";
import { finishStage, planStage, routerSummary, StageError, type StagePlan, type StageReport } from "../stages/plan.js";
import type { StageOptions } from "../stages/run.js";
import { TorchBackendError } from "./errors.js";
import { checkDevice, failureError, resolveLaunch, runTorchrun } from "./launch.js";
import { buildTorchPlan, ERRORS_DIR, LOGS_DIR, RESULT_FILE, writeTorchPlan } from "./plan.js";
import { findPython } from "./python.js";

/**
 * `<output_dir>/torch_result.json`, written by rank 0 at the end of a run: the engine trainer's result
 * fields (steps as a count; the per-step lines are in metrics.jsonl), plus what ran it.
 */
export interface TorchResult extends Omit<TrainResult, "steps" | "memory" | "recipeHash"> {
  steps: number;
  lastScalars: Record<string, number>;
  worldSize: number;
  device: string;
  precision: string;
  torchVersion: string;
  reference?: { cacheFile: string; cached: boolean; seconds: number };
}

/** Reads and checks the result file; a missing or malformed field is named. */
export function readTorchResult(file: string): TorchResult {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new TorchBackendError(`${file}: the torch run exited normally but its result is ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `not valid JSON (${(e as Error).message})`}`, null, null);
  }
  const o = raw as Record<string, unknown>;
  const bad = (field: string, what: string) => new TorchBackendError(`${file}: field "${field}" must be ${what}, found ${JSON.stringify(o[field])}`, null, null);
  // JSON has no NaN: a loss the run never had (all steps skipped) comes as null.
  const num = (f: string, optional = false) => {
    const v = o[f];
    if (v === undefined && optional) return undefined;
    if (v === null) return NaN;
    if (typeof v !== "number") throw bad(f, "a number");
    return v;
  };
  const str = (f: string) => {
    if (typeof o[f] !== "string") throw bad(f, "a string");
    return o[f] as string;
  };
  if (o === null || typeof o !== "object") throw new TorchBackendError(`${file}: expected a JSON object`, null, null);
  const int = (f: string) => {
    const v = num(f)!;
    if (!Number.isInteger(v) || v < 0) throw bad(f, "an integer >= 0");
    return v;
  };
  const scalars = o.lastScalars ?? {};
  if (scalars === null || typeof scalars !== "object" || Array.isArray(scalars)) throw bad("lastScalars", "an object of numbers");
  const ref = o.reference as TorchResult["reference"] | undefined;
  if (ref !== undefined && ref !== null && (typeof ref.cacheFile !== "string" || typeof ref.cached !== "boolean" || typeof ref.seconds !== "number")) throw bad("reference", "{ cacheFile, cached, seconds }");
  const vb = num("valLossBefore", true);
  const va = num("valLossAfter", true);
  return {
    runId: str("runId"), firstLoss: num("firstLoss")!, finalLoss: num("finalLoss")!, seconds: num("seconds")!, tokensPerSecond: num("tokensPerSecond")!,
    ...(vb !== undefined ? { valLossBefore: vb } : {}), ...(va !== undefined ? { valLossAfter: va } : {}),
    skippedSteps: int("skippedSteps"), resumedFrom: int("resumedFrom"),
    checkpoint: o.checkpoint === null || o.checkpoint === undefined ? null : str("checkpoint"),
    steps: int("steps"), lastScalars: Object.fromEntries(Object.entries(scalars).map(([k, v]) => [k, typeof v === "number" ? v : NaN])),
    worldSize: int("worldSize"), device: str("device"), precision: str("precision"), torchVersion: str("torchVersion"),
    ...(ref ? { reference: ref } : {}),
  };
}

/**
 * What a node other than 0 reports: the result when it sees node 0's (a shared filesystem), else the
 * plan's facts with the losses unknown. It writes nothing, so node 0's report is never replaced.
 */
function nodeReport(plan: StagePlan, worldSize: number, seen: TorchResult | null, recipeHash: string): StageReport {
  const r = plan.recipe;
  return {
    stage: r.stage, finetuningType: r.finetuning_type, backend: "torch", outputDir: plan.outDir, model: plan.modelDir, template: plan.template,
    data: { train: plan.trainData, eval: plan.evalData, heldOutFromTrain: plan.split.held.length },
    training: seen
      ? { runId: seen.runId, firstLoss: seen.firstLoss, finalLoss: seen.finalLoss, seconds: seen.seconds, tokensPerSecond: seen.tokensPerSecond, skippedSteps: seen.skippedSteps, resumedFrom: seen.resumedFrom, checkpoint: seen.checkpoint, recipeHash, steps: seen.steps, lastScalars: seen.lastScalars }
      : { runId: "", firstLoss: NaN, finalLoss: NaN, seconds: NaN, tokensPerSecond: NaN, skippedSteps: 0, resumedFrom: 0, checkpoint: null, recipeHash, steps: plan.trainer.steps, lastScalars: {} },
    torch: { worldSize, device: seen?.device ?? r.device, precision: seen?.precision ?? r.precision, torchVersion: seen?.torchVersion ?? "" },
    seconds: (performance.now() - plan.started) / 1000,
  };
}

/** Runs one stage on PyTorch under torchrun. `r` is the effective recipe (options already applied). */
export async function runTorchStage(r: Recipe, o: StageOptions): Promise<StageReport> {
  const log = o.log ?? ((l: string) => console.error(l));
  // Everything checked before any work: options, then the interpreter and its devices.
  const launch = resolveLaunch({
    nprocPerNode: r.nproc_per_node, nnodes: o.nnodes, rdzvEndpoint: o.rdzvEndpoint, rdzvId: o.rdzvId, nodeRank: o.nodeRank,
    device: r.device, precision: r.precision, python: o.python,
  }, r.output_dir);
  if (o.resume && r.overwrite_output_dir) throw new TrainingOptionsError("overwrite", "cannot be combined with resume");
  if (r.adapter_name_or_path !== null) {
    const prev = await readAdapterConfig(r.adapter_name_or_path);
    if (prev.settings.experts > 1) throw new StageError(`adapter_name_or_path ${r.adapter_name_or_path} is a MoE-LoRA adapter, whose routed experts cannot be merged into the base; train from a merged full model`);
  }
  const info = findPython(launch.python);
  checkDevice(launch, info);
  log(`      torch ${info.torchVersion} (Python ${info.pythonVersion}, ${info.python}); ${launch.worldSize} process${launch.worldSize > 1 ? "es" : ""}` +
    `${launch.nnodes > 1 ? ` on ${launch.nnodes} nodes` : ""}, device ${launch.device}${launch.device === "auto" ? ` → ${info.cudaAvailable ? "cuda" : "cpu"}` : ""}`);

  const plan = await planStage(r, { worldSize: launch.worldSize, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), log });
  const t = plan.trainer;
  if (t.batchSize % (t.microBatchSize * launch.worldSize) !== 0) {
    throw new TrainingOptionsError("batchSize", `${t.batchSize} items per step is not a whole number of micro-batches of ${t.microBatchSize} on each of ${launch.worldSize} processes`);
  }
  if (t.batchSize > plan.split.train.length) {
    throw new TrainingOptionsError("batchSize", `a batch of ${t.batchSize} items (${t.microBatchSize} per device × ${r.gradient_accumulation_steps} accumulation × ${launch.worldSize} processes) is larger than the training data (${plan.split.train.length} items)`);
  }
  if (o.resume && (await listCheckpoints(join(plan.outDir, "checkpoints"))).length === 0) {
    throw new TrainingOptionsError("resume", `${join(plan.outDir, "checkpoints")} holds no checkpoint to resume from`);
  }
  const threads = Math.max(1, Math.floor(getThreads() / launch.nprocPerNode));
  const torchPlan = buildTorchPlan(plan, { resume: o.resume === true, device: launch.device, precision: launch.precision, threads });
  // A previous run's result or error files must not be taken for this run's. Only node 0 clears them:
  // on a shared filesystem a later node would remove what node 0's ranks are writing.
  const logDir = join(plan.outDir, LOGS_DIR, `node-${launch.nodeRank}`);
  if (launch.nodeRank === 0) {
    rmSync(join(plan.outDir, RESULT_FILE), { force: true });
    rmSync(join(plan.outDir, ERRORS_DIR), { recursive: true, force: true });
  }
  rmSync(logDir, { recursive: true, force: true });
  const planFile = await writeTorchPlan(torchPlan, launch.nodeRank);
  log(`      plan ${planFile}: ${t.steps} steps of ${t.batchSize} items (${t.microBatchSize} per process × ${t.batchSize / (t.microBatchSize * launch.worldSize)} accumulation × ${launch.worldSize}), ${threads} thread${threads > 1 ? "s" : ""} per process`);

  const run = await runTorchrun(info.python, launch, planFile, logDir, { threads, passThrough: o.progress !== false, ...(o.signal ? { signal: o.signal } : {}) });
  if (run.aborted) {
    const ck = (await listCheckpoints(join(plan.outDir, "checkpoints"))).at(-1) ?? null;
    throw new TrainingStoppedError(ck?.step ?? 0, ck?.dir ?? null, `stopped${ck ? `; checkpoint ${ck.dir} (step ${ck.step}) is the newest, resume to continue` : " before the first checkpoint"}`);
  }
  if (run.code !== 0) throw failureError(plan.outDir, run.output, run.code, run.signal, logDir);
  const resultFile = join(plan.outDir, RESULT_FILE);
  if (launch.nodeRank !== 0) {
    // Rank 0 (on node 0) writes the result, the model and the report; this node only took part.
    log(`      node ${launch.nodeRank}: its ranks finished; node 0 writes the result in its ${plan.outDir}`);
    const seen = existsSync(resultFile) ? readTorchResult(resultFile) : null;
    return nodeReport(plan, launch.worldSize, seen, torchPlan.recipe_hash);
  }
  const result = readTorchResult(resultFile);

  let adapter: StageReport["adapter"];
  if (plan.adapter) {
    const reader = await openAdapterWeights(plan.outDir);
    let parameters = 0;
    try {
      for (const n of reader.names()) parameters += reader.info(n).shape.reduce((a, d) => a * d, 1);
    } finally {
      await reader.close();
    }
    adapter = { parameters, experts: plan.adapter.experts, ...routerSummary(result.lastScalars) };
  } else if (!existsSync(join(plan.outDir, "config.json"))) {
    throw new TorchBackendError(`${plan.outDir}: the torch run finished but wrote no model (config.json missing)`, null, null);
  }
  return finishStage(plan, {
    backend: "torch",
    training: {
      runId: result.runId, firstLoss: result.firstLoss, finalLoss: result.finalLoss, seconds: result.seconds, tokensPerSecond: result.tokensPerSecond,
      ...(result.valLossBefore !== undefined ? { valLossBefore: result.valLossBefore } : {}),
      ...(result.valLossAfter !== undefined ? { valLossAfter: result.valLossAfter } : {}),
      skippedSteps: result.skippedSteps, resumedFrom: result.resumedFrom, checkpoint: result.checkpoint, recipeHash: torchPlan.recipe_hash,
      steps: result.steps, lastScalars: result.lastScalars,
    },
    ...(result.reference ? { reference: result.reference } : {}),
    ...(adapter ? { adapter } : {}),
    torch: { worldSize: result.worldSize, device: result.device, precision: result.precision, torchVersion: result.torchVersion },
  });
}
