/**
 * Preference losses against PyTorch autograd (test/fixtures/train/, written by
 * scripts/fixtures/dpo_torch_parity.py): for sigmoid (+ ftx and label smoothing), hinge, IPO, SimPO
 * and ORPO on a tiny Llama with a perturbed reference, the loss, the rewards and every policy gradient
 * agree within 1e-4 relative. Plus the exact facts: policy = reference and μ = 0 gives ln 2, and the
 * analytic derivatives agree with finite differences.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Tape, zeroGrad } from "../../engine/index.js";
import { CausalLM, parseConfig, Rng, type LossInput } from "../../model/index.js";
import { pairLoss, PreferenceObjective, sequenceLogps, type PairLogps, type PreferenceLossType } from "./preference.js";

const DIR = new URL("../../../test/fixtures/train/", import.meta.url);
interface Fixture {
  config: Record<string, unknown>;
  pairs: number;
  batch: { B: number; T: number; input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  ref_logps: number[];
  cases: Record<string, { options: { loss: PreferenceLossType; beta: number; ftx: number; ls: number; gamma?: number }; loss: number; policy_logps: number[]; rewards_chosen: number[]; rewards_rejected: number[] }>;
  tensors: Record<string, { offset: number; shape: number[] }>;
}
const fx = JSON.parse(readFileSync(new URL("dpo.json", DIR), "utf8")) as Fixture;
const buf = readFileSync(new URL("dpo.bin", DIR));
const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const get = (key: string): Float32Array => {
  const t = fx.tensors[key];
  if (!t) throw new Error(`fixture has no tensor ${key}`);
  return all.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1));
};

function model(prefix: "weight" | "ref"): CausalLM {
  const m = new CausalLM(parseConfig(fx.config, "fixture"));
  for (const p of m.parameters()) p.data.set(get(`${prefix}:${p.name}`));
  return m;
}

const { B, T } = fx.batch;
const input: LossInput = {
  ids: Int32Array.from(fx.batch.input_ids.flat()),
  B,
  T,
  attentionMask: Uint8Array.from(fx.batch.attention_mask.flat()),
  labels: Int32Array.from(fx.batch.labels.flat()),
};
const ctx = { training: true, rng: new Rng(0), step: 1, micro: 0 };

function relErr(ours: Float32Array, ref: Float32Array): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - ref[i]!));
  }
  return maxAbs === 0 ? maxDiff : maxDiff / maxAbs;
}

describe("preference losses vs PyTorch", () => {
  const reference = model("ref");
  const tape = new Tape();
  const refLogps = sequenceLogps(reference, input, tape);

  it("reference log-probs (sums over response tokens)", () => {
    fx.ref_logps.forEach((v, i) => expect(Math.abs(refLogps[i]! - v) / Math.abs(v)).toBeLessThan(1e-5));
  });

  for (const [name, c] of Object.entries(fx.cases)) {
    it(name, () => {
      const policy = model("weight");
      const obj = new PreferenceObjective(policy, { loss: c.options.loss, beta: c.options.beta, ftx: c.options.ftx, labelSmoothing: c.options.ls, simpoGamma: c.options.gamma });
      zeroGrad(policy.parameters());
      const t = new Tape();
      const r = t.run(() => obj.loss({ input, pairs: fx.pairs, refLogps, indices: [0, 1] }, ctx));
      t.backward(r.loss);
      expect(Math.abs(r.scalars!["loss/exact"]! - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-5);
      expect(Math.abs(r.loss.data[0]! - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-5);
      expect(r.weight).toBe(fx.pairs);
      const meanRc = c.rewards_chosen.reduce((a, b) => a + b, 0) / fx.pairs;
      expect(r.scalars!["rewards/chosen"]!).toBeCloseTo(meanRc, 4);
      for (const p of policy.parameters()) {
        expect(relErr(p.grad!, get(`grad:${name}:${p.name}`)), `gradient of ${p.name}`).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it("policy = reference and μ = 0: the first sigmoid-DPO loss is exactly ln 2", () => {
    const policy = model("ref");
    const obj = new PreferenceObjective(policy, { loss: "sigmoid", beta: 0.1, ftx: 0 });
    const t = new Tape();
    const r = t.run(() => obj.loss({ input, pairs: fx.pairs, refLogps, indices: [0, 1] }, ctx));
    expect(r.scalars!["loss/exact"]).toBe(Math.LN2);
    expect(r.scalars!["rewards/margins"]).toBe(0);
    expect(Math.abs(r.loss.data[0]! - Math.LN2)).toBeLessThan(1e-7);
  });
});

describe("pairLoss", () => {
  const p: PairLogps = { chosen: -12.5, rejected: -15.25, refChosen: -13, refRejected: -14, chosenTokens: 6, rejectedTokens: 4 };
  const variants: [PreferenceLossType, Record<string, number>][] = [
    ["sigmoid", { beta: 0.1, labelSmoothing: 0.2, ftx: 0.3 }],
    ["hinge", { beta: 0.5 }],
    ["ipo", { beta: 0.1, ftx: 1 }],
    ["simpo", { beta: 2, simpoGamma: 0.5 }],
    ["orpo", { beta: 0.1 }],
  ];
  it.each(variants)("%s: analytic derivatives match central differences", (loss, o) => {
    const opts = { loss, ...o };
    const r = pairLoss(p, opts);
    const h = 1e-5;
    const fd = (key: "chosen" | "rejected") => (pairLoss({ ...p, [key]: p[key] + h }, opts).loss - pairLoss({ ...p, [key]: p[key] - h }, opts).loss) / (2 * h);
    expect(r.dChosen).toBeCloseTo(fd("chosen"), 6);
    expect(r.dRejected).toBeCloseTo(fd("rejected"), 6);
  });
  it("rejects options that do not apply", () => {
    expect(() => new PreferenceObjective(new CausalLM(parseConfig(fx.config, "fixture")), { loss: "ipo", labelSmoothing: 0.1 })).toThrow(/sigmoid loss only/);
  });
});
