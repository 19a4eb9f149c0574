/**
 * Next-token training of a causal LM on packed blocks: the loop that the quick start runs today and
 * that continued pre-training (stage 1) builds on. One step = one batch of blocks: forward, loss over
 * every token, backward, global-norm clipping, AdamW with warmup + cosine, metrics as JSONL.
 *
 * A step whose loss or gradient norm is not finite is skipped (no update) and logged; too many in a
 * row abort the run with the step number, since continuing would only waste time.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { AdamW, Tape, clipGradNorm, zeroGrad } from "../engine/index.js";
import { Rng, type CausalLM } from "../model/index.js";
import type { PackedBlocks } from "./packing.js";
import { Progress } from "./progress.js";
import { cosineWithWarmup } from "./schedule.js";
import { TrainingError } from "./trainer/errors.js";

export interface LmTrainOptions {
  steps: number;
  /** Blocks per step. */
  batchSize: number;
  /** Peak learning rate. Defaults to 3e-3 (tiny models). */
  lr?: number;
  /** Defaults to 5% of steps. */
  warmupSteps?: number;
  /** Defaults to 0.01. */
  weightDecay?: number;
  /** Global gradient-norm limit. Defaults to 1.0. */
  maxGradNorm?: number;
  /** Seed of the block order. Defaults to 0. */
  seed?: number;
  /** Append one JSON object per step here (created with its folder). */
  metricsFile?: string;
  /** Consecutive non-finite steps tolerated before aborting. Defaults to 5. */
  maxBadSteps?: number;
  /** Show a progress bar on stderr. Defaults to true. */
  progress?: boolean;
  /** Held-out blocks: their mean loss is measured before training, every `evalEvery` steps and at the end. */
  validation?: PackedBlocks;
  /** Defaults to every 10% of the steps. */
  evalEvery?: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  skipped: boolean;
  /** mean held-out loss, on the steps where it was measured */
  valLoss?: number;
}

export interface LmTrainResult {
  steps: StepMetrics[];
  firstLoss: number;
  /** mean loss over the last 10% of steps (at least one) */
  finalLoss: number;
  seconds: number;
  tokensPerSecond: number;
  /** held-out loss before the first and after the last step (when validation blocks were given) */
  valLossBefore?: number;
  valLossAfter?: number;
}

export { TrainingError };

/** Mean of the last `fraction` of finite losses (at least one). */
function tailMean(history: readonly StepMetrics[], fraction: number): number {
  const ok = history.filter((m) => !m.skipped);
  const n = Math.max(1, Math.round(ok.length * fraction));
  const tail = ok.slice(-n);
  return tail.reduce((s, m) => s + m.loss, 0) / tail.length;
}

/** Mean next-token loss over packed blocks, without recording gradients. */
export function evaluateLoss(model: CausalLM, data: PackedBlocks, batchSize: number, tape = new Tape()): number {
  const T = data.blockSize;
  let total = 0;
  let count = 0;
  for (let start = 0; start < data.numBlocks; start += batchSize) {
    const B = Math.min(batchSize, data.numBlocks - start);
    const ids = data.ids.subarray(start * T, (start + B) * T);
    const out = tape.infer(() => model.loss({ ids, B, T, labels: ids }));
    total += out.loss.data[0]! * out.count;
    count += out.count;
  }
  return count > 0 ? total / count : NaN;
}

export function trainLanguageModel(model: CausalLM, data: PackedBlocks, o: LmTrainOptions): LmTrainResult {
  const { steps, batchSize } = o;
  if (!(Number.isInteger(steps) && steps > 0)) throw new TrainingError(`steps must be a positive integer, got ${steps}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new TrainingError(`batchSize must be a positive integer, got ${batchSize}`);
  if (data.numBlocks < 1) {
    throw new TrainingError(`no training block: ${data.totalTokens} tokens are fewer than one block of ${data.blockSize}`);
  }
  const T = data.blockSize;
  const B = batchSize;
  const params = model.parameters();
  // No weight decay on norms and biases (1-D tensors), as common practice and LLaMA-Factory do.
  const optimizer = new AdamW(params, { lr: o.lr ?? 3e-3, weightDecay: o.weightDecay ?? 0.01, decay: (p) => p.shape.length > 1 });
  const schedule = { peak: o.lr ?? 3e-3, totalSteps: steps, warmupSteps: o.warmupSteps ?? Math.max(1, Math.round(steps * 0.05)) };
  const rng = new Rng(o.seed ?? 0);
  const tape = new Tape();
  const ids = new Int32Array(B * T);
  const progress = o.progress === false ? null : new Progress({ unit: "step", total: steps });
  if (o.metricsFile) mkdirSync(dirname(o.metricsFile), { recursive: true });

  // A fresh random permutation of the blocks each epoch.
  let order: number[] = [];
  let cursor = 0;
  const nextBlock = (): number => {
    if (cursor >= order.length) {
      order = Array.from({ length: data.numBlocks }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      cursor = 0;
    }
    return order[cursor++]!;
  };

  const history: StepMetrics[] = [];
  const validation = o.validation && o.validation.numBlocks > 0 ? o.validation : null;
  const evalEvery = o.evalEvery ?? Math.max(1, Math.round(steps / 10));
  const valLossBefore = validation ? evaluateLoss(model, validation, B, tape) : undefined;
  const started = performance.now();
  let badRun = 0;
  let tokensDone = 0;
  for (let step = 1; step <= steps; step++) {
    for (let b = 0; b < B; b++) {
      const blk = nextBlock();
      ids.set(data.ids.subarray(blk * T, (blk + 1) * T), b * T);
    }
    zeroGrad(params);
    const out = tape.run(() => model.loss({ ids, B, T, labels: ids }));
    const loss = out.loss.data[0]!;
    let norm = NaN;
    if (Number.isFinite(loss)) {
      tape.backward(out.loss);
      norm = clipGradNorm(params, o.maxGradNorm ?? 1.0);
    }
    const lr = cosineWithWarmup(step, schedule);
    const skipped = !Number.isFinite(loss) || !Number.isFinite(norm);
    if (skipped) {
      badRun++;
      if (badRun > (o.maxBadSteps ?? 5)) {
        progress?.finish();
        throw new TrainingError(`step ${step}: ${badRun} consecutive steps with a non-finite loss or gradient (loss ${loss}, grad norm ${norm}); lower the learning rate`);
      }
    } else {
      badRun = 0;
      optimizer.step({ lr });
    }
    tokensDone += B * T;
    const seconds = (performance.now() - started) / 1000;
    const m: StepMetrics = { step, loss, lr, gradNorm: norm, tokens: tokensDone, tokensPerSecond: tokensDone / seconds, skipped };
    if (validation && (step % evalEvery === 0 || step === steps)) m.valLoss = evaluateLoss(model, validation, B, tape);
    history.push(m);
    if (o.metricsFile) appendFileSync(o.metricsFile, JSON.stringify(m) + "\n");
    const lastVal = history.findLast((h) => h.valLoss !== undefined)?.valLoss;
    progress?.update(step, {
      loss: skipped ? "skipped" : loss.toFixed(3),
      ...(lastVal !== undefined ? { "val loss": lastVal.toFixed(3) } : {}),
      lr: lr.toExponential(1),
      "tok/s": Math.round(m.tokensPerSecond).toString(),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const firstLoss = history.find((m) => !m.skipped)?.loss ?? NaN;
  const valLossAfter = history.at(-1)?.valLoss;
  return { steps: history, firstLoss, finalLoss: tailMean(history, 0.1), seconds, tokensPerSecond: tokensDone / seconds, valLossBefore, valLossAfter };
}
