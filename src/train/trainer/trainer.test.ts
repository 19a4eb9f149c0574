/**
 * Tests of the one trainer: gradient accumulation equals one batch, every option refused before any
 * work, the memory estimate (against the arena measured after a step, and the refusal), metrics files
 * that never mix runs, in-process resume equal to the uninterrupted run, checkpoint corruption and
 * truncation as named errors, recipe mismatches, keep-last-N. The kill -9 test is resume.test.ts.
 */
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { smallDisk } from "../../../test/helpers/tmpfs.js";
import { DiskFullError } from "../../util/atomic.js";
import { Tape, type Tensor } from "../../engine/index.js";
import { CausalLM, parseConfig, presetConfig, type LossInput } from "../../model/index.js";
import { LanguageModelObjective, packedBlocksSource } from "../lm.js";
import { packDocuments } from "../packing.js";
import { checkpointDirName, loadCheckpoint } from "./checkpoint.js";
import { CheckpointCorruptError, InsufficientMemoryError, RecipeMismatchError, RunConflictError, TrainingOptionsError, TrainingStoppedError } from "./errors.js";
import { causalLMActivationBytes } from "./memory.js";
import type { DataSource, LossResult, Objective, StepContext } from "./objective.js";
import { ItemOrder, streamSeed } from "./streams.js";
import { train, type TrainOptions } from "./trainer.js";

const tmp = tempDir("pedgpt-trainer-");
const quiet = { progress: false, log: () => {} } as const;

function tinyModel(seed = 1, maxPos = 64): CausalLM {
  const cfg = parseConfig(presetConfig("tiny-llama", {
    vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: maxPos,
  }), "test");
  return new CausalLM(cfg, { seed });
}

const blocks = () => packDocuments([Array.from({ length: 200 }, (_, i) => 3 + ((i * 7) % 50))], 8, 2);

/**
 * Sequences of one length whose labels are masked to different lengths, so micro-batches carry
 * different numbers of counted targets and accumulation must weight them.
 */
function maskedSource(n: number, T: number): DataSource<LossInput> {
  return {
    size: n,
    maxSequenceLength: T,
    batch(indices) {
      const B = indices.length;
      const ids = new Int32Array(B * T);
      const labels = new Int32Array(B * T);
      indices.forEach((item, b) => {
        const keep = 2 + ((item * 5) % (T - 2));
        for (let t = 0; t < T; t++) {
          ids[b * T + t] = 3 + ((item * 13 + t * 7) % 60);
          labels[b * T + t] = t < keep ? ids[b * T + t]! : -100;
        }
      });
      return { ids, B, T, labels };
    },
  };
}

/** The LM objective plus logged scalars: the mean counted label id (a mean over the loss's units) and one random draw. */
class ScalarLm implements Objective<LossInput> {
  readonly name = "lm-with-scalar";
  calls = 0;
  readonly inner: LanguageModelObjective;
  constructor(model: CausalLM) {
    this.inner = new LanguageModelObjective(model);
  }
  trainable(): readonly Tensor[] {
    return this.inner.trainable();
  }
  loss(b: LossInput, ctx: StepContext): LossResult {
    this.calls++;
    const r = this.inner.loss(b, ctx);
    let sum = 0;
    for (let i = 0; i < b.labels.length; i++) if (i % b.T > 0 && b.labels[i]! >= 0) sum += b.labels[i]!;
    return { ...r, scalars: { "probe/meanLabel": sum / r.weight, "probe/rng": ctx.rng.uniform() } };
  }
  check(plan: Parameters<NonNullable<Objective<LossInput>["check"]>>[0]): void {
    this.inner.check(plan);
  }
}

describe("gradient accumulation", () => {
  it("k micro-batches give the batch's loss and gradient within 1e-6", async () => {
    const data = maskedSource(12, 10);
    const run = async (micro: number) => {
      const model = tinyModel(5);
      const r = await train(new LanguageModelObjective(model), data, { steps: 1, batchSize: 6, microBatchSize: micro, lr: 1e-3, maxGradNorm: Infinity, seed: 4, ...quiet });
      return { r, grads: model.parameters().map((p) => Float32Array.from(p.grad!)) };
    };
    const one = await run(6);
    for (const micro of [1, 2, 3]) {
      const acc = await run(micro);
      expect(Math.abs(acc.r.steps[0]!.loss - one.r.steps[0]!.loss)).toBeLessThan(1e-6);
      let worst = 0;
      one.grads.forEach((g, i) => {
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j]! - acc.grads[i]![j]!) / Math.max(1, Math.abs(g[j]!)));
      });
      console.log(`micro-batch ${micro}: worst relative gradient difference ${worst.toExponential(2)}`);
      expect(worst, `micro-batch ${micro}`).toBeLessThan(1e-6);
    }
  });

  it("averages the objective's scalars by weight, and several steps stay together", async () => {
    const data = maskedSource(12, 10);
    const a = await train(new ScalarLm(tinyModel(5)), data, { steps: 4, batchSize: 4, lr: 1e-3, seed: 4, ...quiet });
    const b = await train(new ScalarLm(tinyModel(5)), data, { steps: 4, batchSize: 4, microBatchSize: 2, lr: 1e-3, seed: 4, ...quiet });
    for (let s = 0; s < 4; s++) {
      expect(Math.abs(a.steps[s]!.loss - b.steps[s]!.loss)).toBeLessThan(1e-5);
      expect(b.steps[s]!.scalars["probe/meanLabel"]).toBeCloseTo(a.steps[s]!.scalars["probe/meanLabel"]!, 9);
    }
    // the random stream differs per micro-batch (a single batch draws only stream 0)
    expect(b.steps[0]!.scalars["probe/rng"]).not.toBe(a.steps[0]!.scalars["probe/rng"]);
  });
});

describe("checks before work", () => {
  const data = packedBlocksSource(blocks());
  const bad: [string, Partial<TrainOptions<LossInput>>, RegExp][] = [
    ["steps", { steps: 0 }, /steps: must be a positive integer, got 0/],
    ["batchSize", { batchSize: 1000 }, /batchSize: a batch of 1000 items is larger than the training data \(25 items\)/],
    ["microBatchSize", { batchSize: 4, microBatchSize: 3 }, /microBatchSize: 3 does not divide the batch size 4/],
    ["seed", { seed: Number("abc") }, /seed: must be an integer in \[0, 2\^32\), got NaN/],
    ["lr", { lr: NaN }, /lr: must be a number in \[0, 10\], got NaN/],
    ["warmupSteps", { warmupSteps: 50 }, /warmupSteps: 50 is more than the 10 steps/],
    ["schedule", { schedule: "step" as never }, /schedule: must be one of cosine, linear, constant/],
    ["maxGradNorm", { maxGradNorm: 0 }, /maxGradNorm: must be > 0/],
    ["resume", { resume: true }, /resume: needs runDir/],
    ["evalData", { evalData: { size: 0, batch: () => { throw new Error("unreachable"); } } }, /evalData: the held-out data has no items/],
  ];
  for (const [name, opts, msg] of bad) {
    it(`refuses ${name} before any forward pass`, async () => {
      const obj = new ScalarLm(tinyModel());
      const err = await train(obj, data, { steps: 10, batchSize: 2, lr: 1e-3, ...quiet, ...opts }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingOptionsError);
      expect((err as Error).message).toMatch(msg);
      expect(obj.calls).toBe(0);
    });
  }

  it("refuses a sequence longer than max_position_embeddings", async () => {
    const obj = new ScalarLm(tinyModel(1, 6));
    await expect(train(obj, data, { steps: 1, batchSize: 1, lr: 1e-3, ...quiet })).rejects.toThrow(/sequence length: 8 tokens is longer than the model's max_position_embeddings \(6\)/);
    expect(obj.calls).toBe(0);
  });

  it("prints the memory estimate and refuses it above free memory, with the numbers", async () => {
    const lines: string[] = [];
    const obj = new ScalarLm(tinyModel());
    const err = await train(obj, data, { steps: 1, batchSize: 2, lr: 1e-3, progress: false, log: (l) => lines.push(l), freeMemoryBytes: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientMemoryError);
    expect((err as Error).message).toMatch(/training needs [\d.]+ (KiB|MiB) more \(weights .* \+ gradients .* \+ optimizer .* \+ activations .*\) but 97.7 KiB is free/);
    expect(lines[0]).toMatch(/^memory estimate: weights/);
    expect(obj.calls).toBe(0);
  });

  it("estimates activations at or above what the engine's arena holds after a step, within 1.5x", () => {
    for (const [preset, B, T, ckpt] of [["tiny-llama", 4, 64, false], ["tiny-qwen2", 2, 32, false], ["tiny-baichuan", 2, 32, false], ["tiny-llama", 2, 64, true]] as const) {
      const cfg = parseConfig(presetConfig(preset, { vocab_size: 500 }), preset);
      const m = new CausalLM(cfg, { seed: 1 });
      m.gradientCheckpointing = ckpt;
      m.params.allocGrads();
      const tape = new Tape();
      const ids = Int32Array.from({ length: B * T }, (_, i) => 3 + (i % 400));
      const out = tape.run(() => m.loss({ ids, B, T, labels: ids }));
      tape.backward(out.loss);
      const measured = tape.arena.bytes + tape.scratch.bytes;
      const est = causalLMActivationBytes(cfg, B, T, { checkpointing: ckpt });
      expect(est, `${preset} B=${B} T=${T} checkpointing=${ckpt}`).toBeGreaterThanOrEqual(measured);
      expect(est).toBeLessThan(1.5 * measured);
    }
  });
});

const metricsOf = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
/** The fields of a metrics line that a resumed run must reproduce exactly (not timings). */
const exact = (l: Record<string, unknown>) => ({ run: l.run, step: l.step, loss: l.loss, lr: l.lr, gradNorm: l.gradNorm, tokens: l.tokens, epoch: l.epoch, skipped: l.skipped, valLoss: l.valLoss });

describe("run folders", () => {
  const data = blocks();
  const opts = (runDir: string, extra: Partial<TrainOptions<LossInput>> = {}): TrainOptions<LossInput> => ({
    steps: 8, batchSize: 3, lr: 3e-3, seed: 2, runDir, checkpointEvery: 3, keepCheckpoints: 5,
    evalData: packedBlocksSource(packDocuments([Array.from({ length: 40 }, (_, i) => 3 + ((i * 11) % 50))], 8, 2)), evalEvery: 4, ...quiet, ...extra,
  });

  it("a new run never mixes into another run's metrics; overwrite replaces it", async () => {
    const dir = join(tmp, "separate");
    const a = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 3 }));
    const before = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    const err = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 3 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunConflictError);
    expect((err as Error).message).toMatch(new RegExp(`holds another run \\(checkpoints up to step 3 and metrics.jsonl of run ${a.runId}\\)`));
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(before);
    const b = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 3, overwrite: true }));
    expect(b.runId).not.toBe(a.runId);
    const lines = metricsOf(dir);
    expect(new Set(lines.map((l) => l.run))).toEqual(new Set([b.runId]));
    expect(lines.map((l) => l.step)).toEqual([0, 1, 2, 3]);
  });

  it("resume equals the uninterrupted run: same metrics and bit-identical weights", async () => {
    const full = join(tmp, "full");
    const mFull = tinyModel();
    const r = await train(new LanguageModelObjective(mFull), packedBlocksSource(data), opts(full));
    expect(readdirSync(join(full, "checkpoints")).sort()).toEqual([3, 6, 8].map(checkpointDirName));
    // A copy of the run as if killed after step 7: checkpoints 6 and 8 gone, lines of 7 and 8 written, the last half-written.
    const cut = join(tmp, "cut");
    cpSync(full, cut, { recursive: true });
    for (const s of [6, 8]) rmSync(join(cut, "checkpoints", checkpointDirName(s)), { recursive: true });
    const text = readFileSync(join(cut, "metrics.jsonl"), "utf8");
    writeFileSync(join(cut, "metrics.jsonl"), text.slice(0, text.length - 20));
    const mRes = tinyModel(99); // other init: the checkpoint must overwrite every trainable value
    const logs: string[] = [];
    const r2 = await train(new LanguageModelObjective(mRes), packedBlocksSource(data), { ...opts(cut), resume: true, log: (l) => logs.push(l) });
    expect(logs.join("\n")).toMatch(/resuming run .* from .*checkpoint-00000003 \(step 3 of 8\); dropped 4 metrics line/);
    expect(r2.runId).toBe(r.runId);
    expect(r2.resumedFrom).toBe(3);
    expect(metricsOf(cut).map(exact)).toEqual(metricsOf(full).map(exact));
    expect(r2.steps.map((s) => s.loss)).toEqual(r.steps.map((s) => s.loss));
    expect(r2.valLossBefore).toBe(r.valLossBefore);
    mFull.parameters().forEach((p, i) => expect(Buffer.from(mRes.parameters()[i]!.data.buffer).equals(Buffer.from(p.data.buffer)), p.name).toBe(true));
    // Resuming from a chosen earlier checkpoint replays the later steps identically.
    const again = join(tmp, "again");
    cpSync(full, again, { recursive: true });
    const r4 = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(again), resume: join(again, "checkpoints", checkpointDirName(3)) });
    expect(r4.resumedFrom).toBe(3);
    expect(metricsOf(again).map(exact)).toEqual(metricsOf(full).map(exact));
    expect(readFileSync(join(again, "checkpoints", checkpointDirName(8), "trainable.safetensors")).equals(readFileSync(join(full, "checkpoints", checkpointDirName(8), "trainable.safetensors")))).toBe(true);
    // Resuming a finished run does nothing more and reports the same curve.
    const r3 = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(cut), resume: true });
    expect(r3.steps.map((s) => s.loss)).toEqual(r.steps.map((s) => s.loss));
    expect(metricsOf(cut).map(exact)).toEqual(metricsOf(full).map(exact));
  });

  it("a stop request saves the current step, and resume continues to the uninterrupted result", async () => {
    const full = join(tmp, "stop-full");
    const r = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(full));
    const dir = join(tmp, "stop");
    const ctl = new AbortController();
    const inner = new LanguageModelObjective(tinyModel());
    const stopping: Objective<LossInput> = {
      name: "lm",
      trainable: () => inner.trainable(),
      recipe: () => inner.recipe(),
      loss: (b, ctx) => {
        if (ctx.training && ctx.step === 5) ctl.abort();
        return inner.loss(b, ctx);
      },
    };
    const err = await train(stopping, packedBlocksSource(data), { ...opts(dir), signal: ctl.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingStoppedError);
    expect((err as Error).message).toMatch(/stopped after step 5 of 8; checkpoint .*checkpoint-00000005 saved, resume to continue/);
    const r2 = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(dir), resume: true });
    expect(r2.resumedFrom).toBe(5);
    expect(r2.steps.map((s) => s.loss)).toEqual(r.steps.map((s) => s.loss));
    expect(metricsOf(dir).map(exact)).toEqual(metricsOf(full).map(exact).map((l) => ({ ...l, run: r2.runId })));
  });

  it("refuses to resume with another recipe, naming the fields", async () => {
    const dir = join(tmp, "recipe");
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 3 }));
    const err = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(dir, { steps: 3, lr: 1e-2 }), resume: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecipeMismatchError);
    expect((err as Error).message).toMatch(/trainer\.lr: checkpoint 0\.003, now 0\.01/);
    const other = packDocuments([Array.from({ length: 200 }, (_, i) => 3 + ((i * 5) % 50))], 8, 2);
    await expect(train(new LanguageModelObjective(tinyModel()), packedBlocksSource(other), { ...opts(dir, { steps: 3 }), resume: true })).rejects.toThrow(/data\.fingerprint: checkpoint "blocks 25×8 sha256 /);
  });

  it("refuses to resume into metrics of another run", async () => {
    const dir = join(tmp, "foreign");
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 3 }));
    appendFileSync(join(dir, "metrics.jsonl"), JSON.stringify({ run: "someone-else", step: 1, loss: 1 }) + "\n");
    await expect(train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(dir, { steps: 3 }), resume: true })).rejects.toThrow(/holds lines of run someone-else, but the checkpoint is of run .*refusing to mix runs/);
  });

  it("keeps the last N checkpoints and removes leftovers of an interrupted save", async () => {
    const dir = join(tmp, "keep");
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), opts(dir, { steps: 5, checkpointEvery: 1, keepCheckpoints: 2 }));
    expect(readdirSync(join(dir, "checkpoints")).sort()).toEqual([4, 5].map(checkpointDirName));
    cpSync(join(dir, "checkpoints", checkpointDirName(5)), join(dir, "checkpoints", ".checkpoint-00000006.staging-1-abcd0123"), { recursive: true });
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { ...opts(dir, { steps: 5, checkpointEvery: 1, keepCheckpoints: 2 }), resume: true });
    expect(readdirSync(join(dir, "checkpoints")).sort()).toEqual([4, 5].map(checkpointDirName));
  });
});

describe("what trains and what is logged", () => {
  const data = blocks();

  it("trains only the objective's tensors: the frozen rest is untouched, counted as frozen, and not checkpointed", async () => {
    const model = tinyModel();
    const trainedNames = ["model.norm.weight", "model.layers.1.mlp.down_proj.weight"];
    for (const p of model.parameters()) p.requiresGrad = trainedNames.includes(p.name);
    const before = model.parameters().map((p) => Float32Array.from(p.data));
    const lines: string[] = [];
    const dir = join(tmp, "subset");
    await train(new LanguageModelObjective(model), packedBlocksSource(data), { steps: 3, batchSize: 2, lr: 1e-2, runDir: dir, progress: false, log: (l) => lines.push(l) });
    model.parameters().forEach((p, i) => {
      const same = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).equals(Buffer.from(before[i]!.buffer));
      expect(same, p.name).toBe(!trainedNames.includes(p.name));
    });
    expect(lines[0]).toMatch(/memory estimate: weights 8\.1 KiB \+ frozen 72\.5 KiB \+ gradients 8\.1 KiB \+ optimizer 16\.3 KiB/);
    const ck = await loadCheckpoint(join(dir, "checkpoints", checkpointDirName(3)));
    expect([...ck.weights.keys()].sort()).toEqual([...trainedNames].sort());
  });

  it("logs the objective's own held-out measures as eval/<name> at the evaluation steps", async () => {
    const inner = new LanguageModelObjective(tinyModel());
    let evals = 0;
    const obj: Objective<LossInput> = {
      name: "lm-with-eval",
      trainable: () => inner.trainable(),
      loss: (b, ctx) => inner.loss(b, ctx),
      evaluate: (ctx) => {
        expect(ctx.training).toBe(false);
        return { calls: ++evals };
      },
    };
    const dir = join(tmp, "evalx");
    const held = packedBlocksSource(packDocuments([Array.from({ length: 30 }, (_, i) => 3 + i)], 8, 2));
    await train(obj, packedBlocksSource(data), { steps: 4, batchSize: 2, lr: 1e-3, runDir: dir, evalData: held, evalEvery: 2, ...quiet });
    expect(metricsOf(dir).map((l) => [l.step, l["eval/calls"]])).toEqual([[0, 1], [1, undefined], [2, 2], [3, undefined], [4, 3]]);
  });

  it("one process per run folder: a live holder is refused, a killed one's lock is taken over", async () => {
    const { spawnSync } = await import("node:child_process");
    const { hostname } = await import("node:os");
    const dir = join(tmp, "locked");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    const lockFile = join(dir, "train.lock");
    writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, host: hostname(), started: "earlier" }));
    const o = { steps: 1, batchSize: 2, lr: 1e-3, runDir: dir, ...quiet };
    await expect(train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), o)).rejects.toThrow(new RegExp(`is in use by training process ${process.ppid} \\(started earlier\\)`));
    expect(existsSync(join(dir, "metrics.jsonl"))).toBe(false);
    const dead = spawnSync("true").pid!;
    writeFileSync(lockFile, JSON.stringify({ pid: dead, host: hostname(), started: "earlier" }));
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), o);
    expect(existsSync(lockFile)).toBe(false);
    expect(metricsOf(dir).map((l) => l.step)).toEqual([1]);
  });

  it("asks to resume only where there is a checkpoint", async () => {
    await expect(train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { steps: 2, batchSize: 2, lr: 1e-3, runDir: join(tmp, "nothing"), resume: true, ...quiet }))
      .rejects.toThrow(/resume: .*nothing.checkpoints holds no checkpoint to resume from/);
  });

  it("a full disk while checkpointing stops the run with DiskFullError and leaves no partial checkpoint", async (ctx) => {
    const disk = smallDisk("160k");
    if ("skip" in disk) return ctx.skip(disk.skip);
    const err = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { steps: 2, batchSize: 2, lr: 1e-3, runDir: disk.dir, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toMatch(/disk full while writing .*checkpoint-00000001; nothing was replaced/);
    expect(readdirSync(join(disk.dir, "checkpoints"))).toEqual([]);
  });
});

describe("checkpoint damage is a named error", () => {
  const data = blocks();
  const make = async (name: string): Promise<string> => {
    const dir = join(tmp, name);
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { steps: 2, batchSize: 2, lr: 1e-3, runDir: dir, checkpointEvery: 2, ...quiet });
    return join(dir, "checkpoints", checkpointDirName(2));
  };

  it("loads an intact checkpoint with everything the run needs", async () => {
    const ck = await loadCheckpoint(await make("intact"));
    expect(ck.state.step).toBe(2);
    expect(ck.state.optimizerStep).toBe(2);
    expect(ck.state.order.cursor).toBe(4);
    expect(ck.weights.size).toBe(tinyModel().parameters().length);
    expect(ck.optimizer.m.size).toBe(ck.weights.size);
  });

  it("a flipped byte fails the checksum", async () => {
    const dir = await make("flip");
    const f = join(dir, "trainable.safetensors");
    const bytes = readFileSync(f);
    bytes[bytes.length - 7] ^= 0x40;
    writeFileSync(f, bytes);
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointCorruptError);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/trainable\.safetensors: corrupted: SHA-256 .*, manifest\.json records/);
  });

  it("a truncated file says truncated, with both sizes", async () => {
    const dir = await make("trunc");
    const f = join(dir, "optimizer.safetensors");
    const size = readFileSync(f).length;
    truncateSync(f, size - 100);
    await expect(loadCheckpoint(dir)).rejects.toThrow(new RegExp(`optimizer\\.safetensors: truncated or altered: ${size - 100} bytes, manifest\\.json records ${size}`));
  });

  it("a missing manifest, a missing file and an unknown version are refused", async () => {
    const dir = await make("parts");
    const manifest = readFileSync(join(dir, "manifest.json"), "utf8");
    writeFileSync(join(dir, "manifest.json"), manifest.replace('"version": 1', '"version": 99'));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/version 99 is not supported/);
    writeFileSync(join(dir, "manifest.json"), manifest);
    rmSync(join(dir, "state.json"));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/state\.json: missing \(listed in manifest\.json\)/);
    rmSync(join(dir, "manifest.json"));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/incomplete: no manifest\.json/);
  });

  it("resume stops on the damaged newest checkpoint instead of silently using an older one", async () => {
    const dir = join(tmp, "newest");
    await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { steps: 4, batchSize: 2, lr: 1e-3, runDir: dir, checkpointEvery: 2, ...quiet });
    const newest = join(dir, "checkpoints", checkpointDirName(4));
    truncateSync(join(newest, "state.json"), 10);
    const err = await train(new LanguageModelObjective(tinyModel()), packedBlocksSource(data), { steps: 4, batchSize: 2, lr: 1e-3, runDir: dir, checkpointEvery: 2, resume: true, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointCorruptError);
    expect((err as Error).message).toMatch(/checkpoint-00000004.state\.json: truncated/);
    expect(existsSync(join(dir, "checkpoints", checkpointDirName(2)))).toBe(true);
  });
});

describe("streams and order", () => {
  it("gives every (step, micro-batch) its own seed", () => {
    const seen = new Set<number>();
    for (let step = 1; step <= 50; step++) for (let micro = 0; micro < 4; micro++) seen.add(streamSeed(7, 2, step, micro));
    expect(seen.size).toBe(200);
    expect(streamSeed(7, 2, 3, 1)).toBe(streamSeed(7, 2, 3, 1));
  });

  it("hands out each item once per epoch, reshuffling per epoch, and restores from its state", () => {
    const o = new ItemOrder(10, 3, true);
    const e0 = o.next(10);
    const e1 = o.next(10);
    expect([...e0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect([...e1].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(e1).not.toEqual(e0);
    const p = new ItemOrder(10, 3, true);
    p.next(13);
    const q = new ItemOrder(10, 3, true, p.state());
    expect(ItemOrder.matches(10, 3, true, p.state())).toBeNull();
    expect(ItemOrder.matches(10, 4, true, p.state())).toMatch(/differs at position/);
    expect(q.next(9)).toEqual(p.next(9));
  });
});
