/**
 * The one trainer every stage runs. Given an Objective (which tensors train, the loss of a batch) and
 * a DataSource (items to collate), it owns:
 *   - checks before work: every option, batch vs data size, sequence length (through the objective),
 *     and a memory estimate printed at start and refused with the numbers above free memory;
 *   - item order (a seeded shuffle per epoch), the cursor, micro-batching and gradient accumulation
 *     (micro-batches weighted by the objective's `weight`, so k micro-batches = one batch);
 *   - AdamW with decoupled weight decay on matrices only (the engine's rule), warmup + cosine / linear /
 *     constant, global-norm clipping, and the NaN/Inf guard (skip the step, abort after N in a row);
 *   - held-out evaluation, progress (tokens/s, ETA), metrics JSONL with a run id on every line;
 *   - one process per run folder (a lock file), checkpoints (atomic, checksummed, last N kept) and resume that reproduces the uninterrupted run
 *     bit for bit: random streams are pure functions of (seed, step, micro-batch), and everything
 *     else that changes (weights, moments, order, cursor, counters) is in the checkpoint.
 *
 * Not here: any particular loss (objectives live with their stage; lm.ts is next-token), file formats
 * of checkpoints (checkpoint.ts), the metrics file rules (metrics.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import { freemem } from "node:os";
import { join } from "node:path";
import { AdamW, Tape, clipGradNorm, decayOnlyMatrices, kernels, zeroGrad, type Tensor } from "../../engine/index.js";
import { Progress } from "../progress.js";
import { learningRate, SCHEDULE_KINDS, type ScheduleKind } from "../schedule.js";
import {
  checkpointDirName,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  removeInterruptedSaves,
  saveCheckpoint,
  type TrainingState,
} from "./checkpoint.js";
import { CheckpointCorruptError, InsufficientMemoryError, RecipeMismatchError, RunConflictError, TrainingError, TrainingOptionsError, TrainingStoppedError } from "./errors.js";
import { describeMemory, estimateMemory, formatBytes, type MemoryEstimate } from "./memory.js";
import { acquireRunLock } from "./lock.js";
import { MetricsLog, readMetrics, type MetricsLine } from "./metrics.js";
import type { DataSource, Objective, StepContext } from "./objective.js";
import { ItemOrder, STREAM, streamRng } from "./streams.js";

export interface TrainOptions<Batch> {
  /** Optimizer steps. */
  steps: number;
  /** Items per optimizer step. */
  batchSize: number;
  /** Items per forward/backward pass; must divide batchSize (batchSize / microBatchSize = accumulation steps). Defaults to batchSize. */
  microBatchSize?: number;
  /** Peak learning rate. */
  lr: number;
  /** Defaults to "cosine". */
  schedule?: ScheduleKind;
  /** Defaults to 5% of the steps (at least 1). */
  warmupSteps?: number;
  /** Final learning rate as a fraction of the peak (cosine, linear). Defaults to 0.1. */
  minLrRatio?: number;
  /** Decoupled weight decay on tensors of rank >= 2. Defaults to 0.01. */
  weightDecay?: number;
  /** Defaults to 0.9. */
  beta1?: number;
  /** Defaults to 0.999. */
  beta2?: number;
  /** Defaults to 1e-8. */
  eps?: number;
  /** Global gradient-norm limit; Infinity = no clipping. Defaults to 1.0. */
  maxGradNorm?: number;
  /** Seed of the item order and of every random stream given to the objective. Defaults to 0. */
  seed?: number;
  /** Shuffle the items each epoch. Defaults to true. */
  shuffle?: boolean;
  /** Consecutive non-finite steps tolerated before aborting. Defaults to 5. */
  maxBadSteps?: number;
  /** Held-out items: mean loss before the first step, every `evalEvery` steps and after the last. */
  evalData?: DataSource<Batch>;
  /** Defaults to every 10% of the steps. */
  evalEvery?: number;
  /** Items per evaluation pass. Defaults to microBatchSize. */
  evalBatchSize?: number;
  /** Where `metrics.jsonl` and `checkpoints/` go. Without it nothing is written. */
  runDir?: string;
  /** Defaults to every 10% of the steps; the last step is always saved. */
  checkpointEvery?: number;
  /** Checkpoints kept (oldest removed). Defaults to 2. */
  keepCheckpoints?: number;
  /** true: continue from the newest checkpoint in runDir (required to exist); a path: from that checkpoint folder. */
  resume?: boolean | string;
  /** Start a new run in a runDir that holds another run's checkpoints and metrics, removing them. Defaults to false (refused). */
  overwrite?: boolean;
  /** Further facts that define the run (model, data files), hashed with the options: a resume must match. */
  recipe?: Record<string, unknown>;
  /** Refuse when the estimate exceeds free memory. Defaults to true. */
  checkMemory?: boolean;
  /** Free memory to check against. Defaults to os.freemem(). */
  freeMemoryBytes?: number;
  /** Show a progress line on stderr. Defaults to true. */
  progress?: boolean;
  /** Where start-up and checkpoint messages go. Defaults to stderr. */
  log?: (line: string) => void;
  /**
   * Stop early (e.g. on Ctrl-C, wired by the CLI): checked after each step; the run saves a checkpoint
   * of that step (with runDir) and throws TrainingStoppedError, so `resume` continues exactly there.
   */
  signal?: AbortSignal;
}

export interface StepMetrics {
  step: number;
  /** Mean loss of the batch (NaN/Inf on a skipped step). */
  loss: number;
  lr: number;
  gradNorm: number;
  /** Tokens trained on so far in the run. */
  tokens: number;
  /** Of this process (a resumed run counts from its restart). */
  tokensPerSecond: number;
  epoch: number;
  skipped: boolean;
  /** The objective's named scalars, averaged over the batch. */
  scalars: Record<string, number>;
  /** Mean held-out loss, on the steps where it was measured. */
  valLoss?: number;
  /** The objective's own held-out measures, on those steps. */
  evalScalars?: Record<string, number>;
}

export interface TrainResult {
  runId: string;
  /** Every step of the run, including those before a resume (read back from the metrics file). */
  steps: StepMetrics[];
  firstLoss: number;
  /** Mean loss over the last 10% of the finite steps (at least one). */
  finalLoss: number;
  /** Seconds of this process's training. */
  seconds: number;
  tokensPerSecond: number;
  valLossBefore?: number;
  valLossAfter?: number;
  skippedSteps: number;
  /** The step this process started from (0 = a fresh run). */
  resumedFrom: number;
  /** The last checkpoint written (null without runDir). */
  checkpoint: string | null;
  memory: MemoryEstimate;
  recipeHash: string;
}

const KNOWN = new Set(["run", "step", "loss", "lr", "gradNorm", "tokens", "tokensPerSecond", "epoch", "skipped", "valLoss"]);

function toLine(m: StepMetrics): Omit<MetricsLine, "run"> {
  const line: Record<string, unknown> = {
    step: m.step, loss: m.loss, lr: m.lr, gradNorm: m.gradNorm, tokens: m.tokens,
    tokensPerSecond: Math.round(m.tokensPerSecond * 10) / 10, epoch: Math.round(m.epoch * 1e4) / 1e4, skipped: m.skipped, ...m.scalars,
  };
  if (m.valLoss !== undefined) line.valLoss = m.valLoss;
  for (const [k, v] of Object.entries(m.evalScalars ?? {})) line[`eval/${k}`] = v;
  return line as Omit<MetricsLine, "run">;
}

/** JSON writes NaN/Inf as null; read back as NaN. */
const num = (v: unknown): number => (typeof v === "number" ? v : NaN);

function fromLine(l: MetricsLine): StepMetrics {
  const scalars: Record<string, number> = {};
  const evalScalars: Record<string, number> = {};
  for (const [k, v] of Object.entries(l)) {
    if (KNOWN.has(k)) continue;
    if (k.startsWith("eval/")) evalScalars[k.slice(5)] = num(v);
    else scalars[k] = num(v);
  }
  const m: StepMetrics = {
    step: l.step, loss: num(l.loss), lr: num(l.lr), gradNorm: num(l.gradNorm), tokens: num(l.tokens),
    tokensPerSecond: num(l.tokensPerSecond), epoch: num(l.epoch), skipped: l.skipped === true, scalars,
  };
  if (l.valLoss !== undefined) m.valLoss = num(l.valLoss);
  if (Object.keys(evalScalars).length > 0) m.evalScalars = evalScalars;
  return m;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v === undefined ? null : v;
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
}

/** The fields where two recipes differ, as "field: checkpoint A, now B". */
export function recipeDifferences(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(canonical(saved), "", a);
  flatten(canonical(now), "", b);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => `${k}: checkpoint ${a.get(k) ?? "(absent)"}, now ${b.get(k) ?? "(absent)"}`);
}

export function recipeHash(recipe: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify(canonical(recipe))).digest("hex");
}

function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

interface Resolved {
  steps: number;
  batchSize: number;
  microBatchSize: number;
  lr: number;
  schedule: ScheduleKind;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number;
  seed: number;
  shuffle: boolean;
  maxBadSteps: number;
  evalEvery: number;
  evalBatchSize: number;
  checkpointEvery: number;
  keepCheckpoints: number;
}

/** A value as the user would write it (NaN and Infinity included, which JSON turns into null). */
const show = (v: unknown): string => (typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v));

/** Every option checked and defaulted; throws TrainingOptionsError naming the option. */
function resolveOptions<B>(o: TrainOptions<B>, data: DataSource<B>): Resolved {
  const posInt = (name: string, v: unknown): number => {
    if (!(Number.isInteger(v) && (v as number) > 0)) throw new TrainingOptionsError(name, `must be a positive integer, got ${show(v)}`);
    return v as number;
  };
  const nonNegInt = (name: string, v: unknown): number => {
    if (!(Number.isInteger(v) && (v as number) >= 0)) throw new TrainingOptionsError(name, `must be an integer >= 0, got ${show(v)}`);
    return v as number;
  };
  const finite = (name: string, v: unknown, lo: number, hi: number, hiOpen = false): number => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi)) {
      throw new TrainingOptionsError(name, `must be a number in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${show(v)}`);
    }
    return v;
  };
  const steps = posInt("steps", o.steps);
  const batchSize = posInt("batchSize", o.batchSize);
  const microBatchSize = posInt("microBatchSize", o.microBatchSize ?? batchSize);
  if (batchSize % microBatchSize !== 0) {
    throw new TrainingOptionsError("microBatchSize", `${microBatchSize} does not divide the batch size ${batchSize} (accumulation needs batchSize = k × microBatchSize)`);
  }
  if (!Number.isInteger(data.size) || data.size < 1) throw new TrainingOptionsError("data", `the training data has no items (size ${data.size})`);
  if (batchSize > data.size) {
    throw new TrainingOptionsError("batchSize", `a batch of ${batchSize} items is larger than the training data (${data.size} items); use at most ${data.size}`);
  }
  const lr = finite("lr", o.lr, 0, 10);
  const schedule = o.schedule ?? "cosine";
  if (!SCHEDULE_KINDS.includes(schedule)) throw new TrainingOptionsError("schedule", `must be one of ${SCHEDULE_KINDS.join(", ")}, got ${show(schedule)}`);
  const warmupSteps = nonNegInt("warmupSteps", o.warmupSteps ?? Math.max(1, Math.round(steps * 0.05)));
  if (warmupSteps > steps) throw new TrainingOptionsError("warmupSteps", `${warmupSteps} is more than the ${steps} steps`);
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  if (!(typeof maxGradNorm === "number" && maxGradNorm > 0)) throw new TrainingOptionsError("maxGradNorm", `must be > 0 (Infinity = no clipping), got ${show(maxGradNorm)}`);
  const seed = o.seed ?? 0;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new TrainingOptionsError("seed", `must be an integer in [0, 2^32), got ${show(seed)}`);
  if (o.evalData !== undefined && !(Number.isInteger(o.evalData.size) && o.evalData.size >= 1)) {
    throw new TrainingOptionsError("evalData", `the held-out data has no items (size ${o.evalData.size}); pass none instead`);
  }
  if (o.keepCheckpoints !== undefined && o.runDir === undefined) throw new TrainingOptionsError("keepCheckpoints", "needs runDir (checkpoints are written there)");
  if (o.resume && o.runDir === undefined) throw new TrainingOptionsError("resume", "needs runDir (the resumed run continues its metrics file there)");
  if (o.resume && o.overwrite) throw new TrainingOptionsError("overwrite", "cannot be combined with resume");
  return {
    steps, batchSize, microBatchSize, lr, schedule, warmupSteps,
    minLrRatio: finite("minLrRatio", o.minLrRatio ?? 0.1, 0, 1),
    weightDecay: finite("weightDecay", o.weightDecay ?? 0.01, 0, 1e3),
    beta1: finite("beta1", o.beta1 ?? 0.9, 0, 1, true),
    beta2: finite("beta2", o.beta2 ?? 0.999, 0, 1, true),
    eps: finite("eps", o.eps ?? 1e-8, 0, 1),
    maxGradNorm, seed,
    shuffle: o.shuffle ?? true,
    maxBadSteps: nonNegInt("maxBadSteps", o.maxBadSteps ?? 5),
    evalEvery: posInt("evalEvery", o.evalEvery ?? Math.max(1, Math.round(steps / 10))),
    evalBatchSize: posInt("evalBatchSize", o.evalBatchSize ?? microBatchSize),
    checkpointEvery: posInt("checkpointEvery", o.checkpointEvery ?? Math.max(1, Math.round(steps / 10))),
    keepCheckpoints: posInt("keepCheckpoints", o.keepCheckpoints ?? 2),
  };
}

function checkTrainable(trainable: readonly Tensor[], objective: string): void {
  if (trainable.length === 0) throw new TrainingOptionsError("objective", `"${objective}" has no trainable tensors`);
  const names = new Set<string>();
  for (const t of trainable) {
    if (!t.leaf) throw new TrainingOptionsError("objective", `"${objective}": trainable tensor "${t.name}" is an activation, not a parameter`);
    if (!t.requiresGrad) throw new TrainingOptionsError("objective", `"${objective}": trainable tensor "${t.name}" has requiresGrad = false`);
    if (t.name.length === 0) throw new TrainingOptionsError("objective", `"${objective}": a trainable tensor has no name (names key checkpoints)`);
    if (names.has(t.name)) throw new TrainingOptionsError("objective", `"${objective}": trainable tensor name "${t.name}" appears twice`);
    names.add(t.name);
  }
}

async function folderState(runDir: string): Promise<{ checkpoints: number[]; metricsRuns: string[] }> {
  const checkpoints = (await listCheckpoints(join(runDir, "checkpoints"))).map((c) => c.step);
  const mf = join(runDir, "metrics.jsonl");
  let metricsRuns: string[] = [];
  if (existsSync(mf)) {
    try {
      metricsRuns = readMetrics(mf).runs;
    } catch {
      metricsRuns = ["(unreadable)"];
    }
    if (metricsRuns.length === 0 && (await fs.stat(mf)).size > 0) metricsRuns = ["(unknown)"];
    if (metricsRuns.length === 0) metricsRuns = ["(empty)"];
  }
  return { checkpoints, metricsRuns };
}

/**
 * Train `objective` on `data`. Everything is checked before the first forward pass; with `runDir`,
 * metrics and checkpoints are written there and `resume` continues a killed run exactly.
 */
export async function train<Batch>(objective: Objective<Batch>, data: DataSource<Batch>, o: TrainOptions<Batch>): Promise<TrainResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const r = resolveOptions(o, data);
  const trainable = objective.trainable();
  checkTrainable(trainable, objective.name);
  const maxSeq = Math.max(data.maxSequenceLength ?? 0, o.evalData?.maxSequenceLength ?? 0);
  objective.check?.({ steps: r.steps, batchSize: r.batchSize, microBatchSize: r.microBatchSize, dataSize: data.size, ...(maxSeq > 0 ? { maxSequenceLength: maxSeq } : {}) });

  const trainableCount = trainable.reduce((n, t) => n + t.size, 0);
  const extra = objective.memory?.(Math.max(r.microBatchSize, o.evalData ? r.evalBatchSize : 0), maxSeq > 0 ? maxSeq : undefined) ?? { frozenBytes: 0, activationBytes: 0 };
  const memory = estimateMemory(trainableCount, extra.frozenBytes, extra.activationBytes);
  const free = o.freeMemoryBytes ?? freemem();
  log(`memory estimate: ${describeMemory(memory)}; ${formatBytes(free)} free${objective.memory ? "" : ` (activations not estimated by objective "${objective.name}")`}`);
  if ((o.checkMemory ?? true) && memory.toAllocateBytes > free) {
    throw new InsufficientMemoryError(
      memory.toAllocateBytes, free,
      `not enough free memory: training needs ${formatBytes(memory.toAllocateBytes)} more (${describeMemory(memory)}) but ${formatBytes(free)} is free; lower the micro-batch size or the sequence length, or train an adapter instead of the whole model`,
    );
  }

  const recipe: Record<string, unknown> = {
    trainer: {
      steps: r.steps, batchSize: r.batchSize, microBatchSize: r.microBatchSize, lr: r.lr, schedule: r.schedule, warmupSteps: r.warmupSteps,
      minLrRatio: r.minLrRatio, weightDecay: r.weightDecay, beta1: r.beta1, beta2: r.beta2, eps: r.eps,
      maxGradNorm: Number.isFinite(r.maxGradNorm) ? r.maxGradNorm : "none", seed: r.seed, shuffle: r.shuffle,
      evalEvery: r.evalEvery, evalBatchSize: r.evalBatchSize,
    },
    objective: { name: objective.name, ...(objective.recipe?.() ?? {}) },
    trainable: { tensors: trainable.length, values: trainableCount, names: createHash("sha256").update(trainable.map((t) => `${t.name}:${t.shape.join("x")}`).join("\n")).digest("hex").slice(0, 16) },
    data: { size: data.size, fingerprint: data.fingerprint?.() ?? null },
    evalData: o.evalData ? { size: o.evalData.size, fingerprint: o.evalData.fingerprint?.() ?? null } : null,
    run: o.recipe ?? {},
  };
  const hash = recipeHash(recipe);

  for (const t of trainable) if (t.grad === null) t.grad = new Float32Array(t.size);
  const optimizer = new AdamW(trainable, { lr: r.lr, beta1: r.beta1, beta2: r.beta2, eps: r.eps, weightDecay: r.weightDecay, decay: decayOnlyMatrices });
  let order = new ItemOrder(data.size, r.seed, r.shuffle);
  let runId = newRunId();
  let startStep = 0;
  let skippedSteps = 0;
  let badRun = 0;
  let tokensDone = 0;
  let metrics: MetricsLog | null = null;
  const history: StepMetrics[] = [];
  let valLossBefore: number | undefined;
  const ckptRoot = o.runDir ? join(o.runDir, "checkpoints") : null;

  if (o.runDir) await fs.mkdir(o.runDir, { recursive: true });
  const lock = o.runDir ? await acquireRunLock(o.runDir) : null;
  try {
    if (o.runDir && ckptRoot) {
      const stale = await removeInterruptedSaves(ckptRoot);
      if (stale.length > 0) log(`removed ${stale.length} unfinished checkpoint folder(s) of an interrupted save`);
      const metricsFile = join(o.runDir, "metrics.jsonl");
      if (o.resume) {
        let dir: string;
        if (typeof o.resume === "string") dir = o.resume;
        else {
          const all = await listCheckpoints(ckptRoot);
          if (all.length === 0) throw new TrainingOptionsError("resume", `${ckptRoot} holds no checkpoint to resume from`);
          dir = all[all.length - 1]!.dir;
          if (all.length > 1) {
            try {
              await fs.access(join(dir, "manifest.json"));
            } catch {
              throw new CheckpointCorruptError(dir, `incomplete: no manifest.json; the previous checkpoint ${all[all.length - 2]!.dir} may be intact: remove the damaged folder to resume from it`);
            }
          }
        }
        const ck = await loadCheckpoint(dir);
        const s = ck.state;
        if (s.recipeHash !== hash) {
          const diffs = recipeDifferences(s.recipe, recipe);
          throw new RecipeMismatchError(dir, diffs.length > 0 ? diffs : [`recipe hash ${s.recipeHash.slice(0, 12)} ≠ ${hash.slice(0, 12)}`]);
        }
        const wfile = join(dir, "trainable.safetensors");
        for (const t of trainable) {
          const w = ck.weights.get(t.name);
          if (w === undefined) throw new CheckpointCorruptError(wfile, `no tensor "${t.name}" (the objective trains it)`);
          if (w.length !== t.size) throw new CheckpointCorruptError(wfile, `tensor "${t.name}" has ${w.length} values, expected ${t.size} (shape [${t.shape.join(", ")}])`);
        }
        if (ck.weights.size !== trainable.length) throw new CheckpointCorruptError(wfile, `holds ${ck.weights.size} tensors, the objective trains ${trainable.length}`);
        try {
          optimizer.loadState(ck.optimizer);
        } catch (err) {
          throw new CheckpointCorruptError(join(dir, "optimizer.safetensors"), (err as Error).message, { cause: err });
        }
        for (const t of trainable) {
          t.data.set(ck.weights.get(t.name)!);
          t.version++;
        }
        const bad = ItemOrder.matches(data.size, r.seed, r.shuffle, s.order);
        if (bad) throw new CheckpointCorruptError(join(dir, "state.json"), `item order: ${bad}`);
        order = new ItemOrder(data.size, r.seed, r.shuffle, s.order);
        runId = s.runId;
        startStep = s.step;
        skippedSteps = s.guard.skippedSteps;
        badRun = s.guard.badRun;
        tokensDone = s.tokens;
        const resumed = await MetricsLog.resume(metricsFile, runId, startStep);
        metrics = resumed.log;
        for (const l of resumed.kept) {
          if (l.step === 0) valLossBefore = num(l.valLoss);
          else history.push(fromLine(l));
        }
        log(`resuming run ${runId} from ${dir} (step ${startStep} of ${r.steps})` +
          (resumed.dropped > 0 ? `; dropped ${resumed.dropped} metrics line(s) written after that checkpoint` : "") +
          (resumed.missing ? `; ${metricsFile} was missing, started anew` : ""));
      } else {
        const st = await folderState(o.runDir);
        if (st.checkpoints.length > 0 || st.metricsRuns.length > 0) {
          const what = [
            st.checkpoints.length > 0 ? `checkpoints up to step ${st.checkpoints[st.checkpoints.length - 1]}` : "",
            st.metricsRuns.length > 0 ? `metrics.jsonl of run ${st.metricsRuns.join(", ")}` : "",
          ].filter(Boolean).join(" and ");
          if (!o.overwrite) throw new RunConflictError(o.runDir, `holds another run (${what}); resume it, choose another folder, or start over with overwrite`);
          for (const c of await listCheckpoints(ckptRoot)) await fs.rm(c.dir, { recursive: true, force: true });
          await fs.rm(metricsFile, { force: true });
          log(`starting over in ${o.runDir}: removed the previous run's ${what}`);
        }
        metrics = MetricsLog.create(metricsFile, runId);
      }
    }

    log(`run ${runId}: objective "${objective.name}", ${trainable.length} trainable tensors (${trainableCount} values), ${r.steps} steps of ${r.batchSize} items` +
      (r.microBatchSize < r.batchSize ? ` (${r.batchSize / r.microBatchSize} micro-batches of ${r.microBatchSize})` : "") +
      `, ${data.size} training items${o.evalData ? `, ${o.evalData.size} held out` : ""}`);

    const tape = new Tape();
    const evaluate = (step: number): { loss: number; extra?: Record<string, number> } => {
      const ev = o.evalData!;
      let total = 0;
      let weight = 0;
      for (let start = 0, i = 0; start < ev.size; start += r.evalBatchSize, i++) {
        const idx = Array.from({ length: Math.min(r.evalBatchSize, ev.size - start) }, (_, j) => start + j);
        const batch = ev.batch(idx);
        const ctx: StepContext = { training: false, rng: streamRng(r.seed, STREAM.eval, step, i), step, micro: i };
        const out = tape.infer(() => objective.loss(batch, ctx));
        total += out.loss.item() * out.weight;
        weight += out.weight;
      }
      const extra = objective.evaluate?.({ training: false, rng: streamRng(r.seed, STREAM.eval, step, -1), step, micro: 0 });
      return { loss: weight > 0 ? total / weight : NaN, ...(extra ? { extra } : {}) };
    };

    if (o.evalData && startStep === 0) {
      const e = evaluate(0);
      valLossBefore = e.loss;
      metrics?.append({ step: 0, valLoss: e.loss, ...Object.fromEntries(Object.entries(e.extra ?? {}).map(([k, v]) => [`eval/${k}`, v])) });
    }

    const schedule = { kind: r.schedule, peak: r.lr, totalSteps: r.steps, warmupSteps: r.warmupSteps, minRatio: r.minLrRatio };
    const accumulation = r.batchSize / r.microBatchSize;
    const progress = o.progress === false || startStep >= r.steps ? null : new Progress({ unit: "step", total: r.steps });
    const started = performance.now();
    const tokensAtStart = tokensDone;
    let lastCheckpoint: string | null = null;
    let savedStep = startStep;
    const k = kernels();

    const save = async (step: number): Promise<void> => {
      if (!ckptRoot) return;
      const state: TrainingState = {
        runId, recipeHash: hash, recipe, objective: objective.name, step, optimizerStep: optimizer.stepCount,
        order: order.state(), rng: { generator: "xoshiro128** seeded by streamSeed(seed, purpose, step, micro-batch)", seed: r.seed },
        guard: { badRun, skippedSteps }, tokens: tokensDone,
      };
      lastCheckpoint = await saveCheckpoint(ckptRoot, state, trainable, optimizer.state());
      savedStep = step;
      await pruneCheckpoints(ckptRoot, r.keepCheckpoints);
    };

    try {
      for (let step = startStep + 1; step <= r.steps; step++) {
        zeroGrad(trainable);
        const indices = order.next(r.batchSize);
        let weight = 0;
        let lossSum = 0;
        let tokens = 0;
        let finite = true;
        const scalarSums: Record<string, number> = {};
        for (let micro = 0; micro < accumulation; micro++) {
          const batch = data.batch(indices.slice(micro * r.microBatchSize, (micro + 1) * r.microBatchSize));
          const ctx: StepContext = { training: true, rng: streamRng(r.seed, STREAM.step, step, micro), step, micro };
          const out = tape.run(() => objective.loss(batch, ctx));
          const l = out.loss.item();
          tokens += out.tokens;
          if (!Number.isFinite(l)) {
            finite = false;
            lossSum = l;
            break;
          }
          if (!(out.weight > 0)) continue;
          // Seeding backward with the weight adds weight × d(mean)/dθ = d(sum)/dθ; one division below
          // turns the sum over all micro-batches into the batch mean.
          tape.backward(out.loss, Float32Array.of(out.weight));
          weight += out.weight;
          lossSum += l * out.weight;
          for (const [name, v] of Object.entries(out.scalars ?? {})) scalarSums[name] = (scalarSums[name] ?? 0) + v * out.weight;
        }
        let norm = NaN;
        const loss = finite ? (weight > 0 ? lossSum / weight : NaN) : lossSum;
        if (finite && weight > 0) {
          for (const t of trainable) k.scale(t.grad!, 1 / weight, t.size);
          norm = clipGradNorm(trainable, r.maxGradNorm);
        }
        const lr = learningRate(step, schedule);
        const skipped = !Number.isFinite(loss) || !Number.isFinite(norm);
        if (skipped) {
          badRun++;
          skippedSteps++;
          if (badRun > r.maxBadSteps) {
            throw new TrainingError(
              weight === 0 && finite
                ? `step ${step}: ${badRun} consecutive steps with nothing to train on (no counted targets in the batch)`
                : `step ${step}: ${badRun} consecutive steps with a non-finite loss or gradient (loss ${loss}, grad norm ${norm}); lower the learning rate`,
            );
          }
        } else {
          badRun = 0;
          optimizer.step({ lr });
        }
        tokensDone += tokens;
        const seconds = (performance.now() - started) / 1000;
        const scalars: Record<string, number> = {};
        for (const [name, v] of Object.entries(scalarSums)) scalars[name] = weight > 0 ? v / weight : NaN;
        const m: StepMetrics = {
          step, loss, lr, gradNorm: norm, tokens: tokensDone, tokensPerSecond: (tokensDone - tokensAtStart) / Math.max(seconds, 1e-9),
          epoch: order.epochs, skipped, scalars,
        };
        if (o.evalData && (step % r.evalEvery === 0 || step === r.steps)) {
          const e = evaluate(step);
          m.valLoss = e.loss;
          if (e.extra) m.evalScalars = e.extra;
        }
        history.push(m);
        metrics?.append(toLine(m));
        const lastVal = history.findLast((h) => h.valLoss !== undefined)?.valLoss;
        progress?.update(step, {
          loss: skipped ? "skipped" : loss.toFixed(3),
          ...(lastVal !== undefined ? { "val loss": lastVal.toFixed(3) } : {}),
          lr: lr.toExponential(1),
          "tok/s": Math.round(m.tokensPerSecond).toString(),
        }, startStep);
        if (step % r.checkpointEvery === 0 || step === r.steps || o.signal?.aborted) await save(step);
        if (o.signal?.aborted && step < r.steps) {
          throw new TrainingStoppedError(step, lastCheckpoint, `stopped after step ${step} of ${r.steps}` +
            (lastCheckpoint ? `; checkpoint ${lastCheckpoint} saved, resume to continue` : " (no runDir: nothing saved)"));
        }
      }
    } finally {
      progress?.finish();
    }
    if (ckptRoot && lastCheckpoint === null) {
      const existing = await listCheckpoints(ckptRoot);
      lastCheckpoint = existing.find((c) => c.step === savedStep)?.dir ?? join(ckptRoot, checkpointDirName(savedStep));
    }

    const seconds = (performance.now() - started) / 1000;
    const ok = history.filter((h) => !h.skipped);
    const tail = ok.slice(-Math.max(1, Math.round(ok.length * 0.1)));
    return {
      runId,
      steps: history,
      firstLoss: ok[0]?.loss ?? NaN,
      finalLoss: tail.length > 0 ? tail.reduce((s, h) => s + h.loss, 0) / tail.length : NaN,
      seconds,
      tokensPerSecond: (tokensDone - tokensAtStart) / Math.max(seconds, 1e-9),
      ...(valLossBefore !== undefined ? { valLossBefore } : {}),
      ...(history.at(-1)?.valLoss !== undefined ? { valLossAfter: history.at(-1)!.valLoss! } : {}),
      skippedSteps,
      resumedFrom: startStep,
      checkpoint: lastCheckpoint,
      memory,
      recipeHash: hash,
    };
  } finally {
    await lock?.release();
  }
}
