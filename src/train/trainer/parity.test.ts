/**
 * The trainer against PyTorch (test/fixtures/train/trainer_parity.*, written by
 * scripts/fixtures/trainer_torch_parity.py): six steps of a tiny Llama with warmup + cosine, clipping
 * and AdamW with decay on matrices only, items in order across epochs. PyTorch computes each batch's
 * loss in one pass; the trainer runs it as 2 micro-batches of different counted-target sizes, so the
 * per-step loss, gradient norm and learning rate agreeing also checks the accumulation weighting.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { CausalLM, parseConfig, type LossInput } from "../../model/index.js";
import { LanguageModelObjective } from "../lm.js";
import type { DataSource } from "./objective.js";
import { train } from "./trainer.js";

const DIR = new URL("../../../test/fixtures/train/", import.meta.url);

interface Fixture {
  config: Record<string, unknown>;
  file: string;
  tensors: Record<string, { offset: number; shape: number[] }>;
  items: { input_ids: number[][]; labels: number[][] };
  trainer: { steps: number; batch_size: number; peak_lr: number; warmup_steps: number; min_lr_ratio: number; beta1: number; beta2: number; eps: number; weight_decay: number; clip: number };
  steps: { step: number; items: number[]; loss: number; grad_norm: number; lr: number }[];
}

it("six steps with accumulation, schedule, clipping and AdamW match PyTorch", async () => {
  const fx = JSON.parse(readFileSync(new URL("trainer_parity.json", DIR), "utf8")) as Fixture;
  const buf = readFileSync(new URL(fx.file, DIR));
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const model = new CausalLM(parseConfig(fx.config, "trainer_parity.json config"));
  for (const p of model.params.list) {
    const e = fx.tensors[`weight:${p.name}`];
    if (!e) throw new Error(`fixture has no weight ${p.name}`);
    p.data.set(all.subarray(e.offset, e.offset + p.size));
  }
  const T = fx.items.input_ids[0]!.length;
  const seen: number[][] = [];
  const data: DataSource<LossInput> = {
    size: fx.items.input_ids.length,
    batch(indices) {
      seen.push([...indices]);
      const ids = Int32Array.from(indices.flatMap((i) => fx.items.input_ids[i]!));
      const labels = Int32Array.from(indices.flatMap((i) => fx.items.labels[i]!));
      return { ids, B: indices.length, T, labels };
    },
  };
  const t = fx.trainer;
  const r = await train(new LanguageModelObjective(model), data, {
    steps: t.steps, batchSize: t.batch_size, microBatchSize: t.batch_size / 2, lr: t.peak_lr, schedule: "cosine",
    warmupSteps: t.warmup_steps, minLrRatio: t.min_lr_ratio, beta1: t.beta1, beta2: t.beta2, eps: t.eps,
    weightDecay: t.weight_decay, maxGradNorm: t.clip, shuffle: false, progress: false, log: () => {},
  });
  // Two micro-batches per step, together the fixture's items of that step.
  expect(seen.map((s, i) => (i % 2 === 0 ? [...s, ...seen[i + 1]!] : null)).filter(Boolean)).toEqual(fx.steps.map((s) => s.items));
  const rows = fx.steps.map((s, i) => {
    const m = r.steps[i]!;
    return { step: s.step, loss: Math.abs(m.loss - s.loss) / s.loss, norm: Math.abs(m.gradNorm - s.grad_norm) / s.grad_norm, lr: Math.abs(m.lr - s.lr) / s.lr };
  });
  console.log(rows.map((x) => `step ${x.step}: loss rel ${x.loss.toExponential(1)}, grad norm rel ${x.norm.toExponential(1)}`).join("\n"));
  for (const x of rows) {
    expect(x.lr, `step ${x.step} lr`).toBeLessThan(1e-12);
    expect(x.loss, `step ${x.step} loss`).toBeLessThan(1e-5);
    expect(x.norm, `step ${x.step} grad norm`).toBeLessThan(1e-5);
  }
});
