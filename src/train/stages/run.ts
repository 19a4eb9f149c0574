/**
 * One stage from its recipe (`pedgpt train RECIPE.yaml`): everything around training is shared by both
 * backends (plan.ts: checks, tokenized data, split, trainer settings, the report); this file dispatches
 * to the backend and holds the engine's side: load the starting model, build the objective (next-token
 * for pt and sft, the preference loss for dpo; full, LoRA or MoE-LoRA), run it on the one trainer, then
 * save the model (full) or the adapter (LoRA / MoE-LoRA) in `output_dir`.
 *
 * Not here: the loop (trainer/), losses (preference.ts, ../lm.ts), data files (../data/), the torch
 * backend (../torch/).
 */
import { resolve } from "node:path";
import { AdapterObjective, LoraAdapter, loadAdapter, saveAdapter } from "../../model/adapters/index.js";
import { saveModel, type LossInput } from "../../model/index.js";
import { LanguageModelObjective } from "../lm.js";
import { checkBackendKeys, type Backend, type Recipe } from "../recipe.js";
import { TokenDataset } from "../data/format.js";
import type { DataSource, Objective } from "../trainer/objective.js";
import { train, type TrainResult } from "../trainer/trainer.js";
import type { LaunchOptions } from "../torch/launch.js";
import { runTorchStage } from "../torch/stage.js";
import { pairsSource, referenceLogps, rowsSource } from "./batch.js";
import { finishStage, loadStartModel, planStage, routerSummary, StageError, type StagePlan, type StageReport } from "./plan.js";
import { PreferenceObjective, needsReference, type PairBatch } from "./preference.js";

export { StageError, splitHeldOut, loadStartModel, type StageReport } from "./plan.js";

/** A stage's options; the torch launch options (LaunchOptions) override the recipe's nproc_per_node, device and precision. */
export interface StageOptions extends LaunchOptions {
  /** Continue the run in output_dir from its newest checkpoint. */
  resume?: boolean;
  log?: (line: string) => void;
  /** Progress line on stderr. Defaults to true. */
  progress?: boolean;
  /** Where tokenized datasets and reference log-probs are kept. Defaults to `<output_dir>/data`. */
  cacheDir?: string;
  /** Refuse when the memory estimate exceeds free memory (engine). Defaults to true. */
  checkMemory?: boolean;
  /** Stop after the current step with a checkpoint (e.g. on Ctrl-C); a resume continues there. */
  signal?: AbortSignal;
  /** Which trainer runs the stage; overrides the recipe's `backend`. */
  backend?: Backend;
}

/** The recipe with the options' overrides applied (command-line flags win over recipe keys), checked again. */
export function effectiveRecipe(r: Recipe, o: StageOptions): Recipe {
  const out: Recipe = {
    ...r,
    ...(o.backend !== undefined ? { backend: o.backend } : {}),
    ...(o.nprocPerNode !== undefined ? { nproc_per_node: o.nprocPerNode } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
  };
  const flags: Record<string, unknown> = { nproc_per_node: o.nprocPerNode, device: o.device, precision: o.precision };
  checkBackendKeys(out, (key) => (key !== undefined && flags[key] !== undefined ? `--${key.replace(/_/g, "-")}` : `recipe key "${key}" (with backend ${out.backend})`));
  if (out.backend === "engine") {
    const torchOnly = { nnodes: o.nnodes, "rdzv-endpoint": o.rdzvEndpoint, "rdzv-id": o.rdzvId, "node-rank": o.nodeRank, python: o.python };
    const given = Object.entries(torchOnly).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
    if (given.length > 0) throw new StageError(`${given.join(", ")} ${given.length > 1 ? "are" : "is"} for the torch backend; add --backend torch (or backend: torch in the recipe)`);
  }
  return out;
}

/** Runs one stage on the recipe's backend (or the one the options name). */
export async function runStage(recipe: Recipe, o: StageOptions = {}): Promise<StageReport> {
  const r = effectiveRecipe(recipe, o);
  if (r.backend === "torch") return runTorchStage(r, o);
  const plan = await planStage(r, { ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}), ...(o.log ? { log: o.log } : {}) });
  return runEngineStage(plan, o);
}

/** The engine's side: the model in this process, the one trainer, the result saved in our formats. */
async function runEngineStage(plan: StagePlan, o: StageOptions): Promise<StageReport> {
  const { recipe: r, modelDir, outDir, cacheDir, padId, split, log } = plan;
  const model = await loadStartModel(modelDir);
  const trainDs = new TokenDataset(plan.trainData.dir);
  const evalDs = plan.evalData ? new TokenDataset(plan.evalData.dir) : null;

  // Adapters: an earlier plain LoRA in adapter_name_or_path is merged first (as LLaMA-Factory does).
  let adapter: LoraAdapter | null = null;
  if (r.adapter_name_or_path !== null) {
    const prev = await loadAdapter(resolve(r.adapter_name_or_path), model);
    if (prev.settings.experts > 1) throw new StageError(`adapter_name_or_path ${r.adapter_name_or_path} is a MoE-LoRA adapter, whose routed experts cannot be merged into the base; train from a merged full model`);
    prev.attach(model);
    prev.merge(model);
  }
  if (plan.adapter) {
    adapter = LoraAdapter.create(model, plan.adapter, { seed: r.seed, baseModelPath: modelDir });
    adapter.attach(model);
    log(`      ${r.finetuning_type}: ${adapter.count()} trainable parameters in ${adapter.modules.length} modules (rank ${r.lora_rank}${adapter.settings.experts > 1 ? `, ${adapter.settings.experts} experts` : ""})`);
  }
  model.gradientCheckpointing = r.gradient_checkpointing;

  const common = {
    ...plan.trainer,
    runDir: outDir,
    resume: o.resume === true,
    overwrite: r.overwrite_output_dir,
    recipe: plan.run,
    progress: o.progress ?? true,
    checkMemory: o.checkMemory ?? true,
    log,
    ...(o.signal ? { signal: o.signal } : {}),
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
    // Under an adapter the base is frozen: the preference objective trains nothing itself and the
    // adapter objective supplies the adapter's tensors.
    const pref = new PreferenceObjective(model, opts);
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
  let adapterInfo: StageReport["adapter"];
  if (adapter) {
    await saveAdapter(adapter, outDir);
    adapterInfo = { parameters: adapter.count(), experts: adapter.settings.experts, ...routerSummary(result.steps.at(-1)?.scalars ?? {}) };
  } else {
    await saveModel(model, outDir, { metadata: { template: plan.template } });
  }
  const { steps: history, memory: _memory, ...summary } = result;
  return finishStage(plan, {
    backend: "engine",
    training: { ...summary, steps: history.length, lastScalars: history.at(-1)?.scalars ?? {} },
    ...(reference ? { reference } : {}),
    ...(adapterInfo ? { adapter: adapterInfo } : {}),
  });
}
