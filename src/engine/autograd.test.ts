/**
 * The op set's backward against central finite differences (every op, every differentiable input),
 * and the tape's contracts: nothing recorded in noGrad, arena reuse across steps, gradients added
 * into leaves, views of leaves, clear errors. Runs on the reference kernels and, when built, native.
 */
import { describe, expect, it } from "vitest";
import { getNativeKernels, referenceKernels } from "./kernels/index.js";
import {
  add,
  alibiSlopes,
  attention,
  AutogradError,
  concatRows,
  crossEntropy,
  embedding,
  linear,
  matmul,
  mul,
  noGrad,
  reshape,
  rmsnorm,
  rope,
  ropeTables,
  rowNormalize,
  rowSlice,
  scale,
  splitColumns,
  softmax,
  softplus,
  logSigmoid,
  scaleRows,
  column,
  sum,
  swiglu,
  Tape,
  Tensor,
  withBackend,
  AdamW,
  clipGradNorm,
  gradNorm,
  zeroGrad,
  decayOnlyMatrices,
  type Kernels,
} from "./index.js";

/** Deterministic pseudo-random values in [-1, 1). */
function rand(n: number, seed: number, amp = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * amp;
  }
  return out;
}

function leaf(shape: number[], seed: number, amp = 1, name = "x"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(shape, rand(n, seed, amp), { requiresGrad: true, name });
}

/**
 * Compare the tape's gradient of L = Σ r·f(inputs) with central differences on up to `samples`
 * coordinates of each input. Returns the worst error (relative to max |analytic grad|).
 */
function gradcheck(inputs: Tensor[], f: () => Tensor, samples = 24, eps = 1e-2): number {
  const tape = new Tape();
  const out = tape.run(f);
  const r = rand(out.size, 999);
  for (const t of inputs) t.grad = null;
  tape.backward(out, r);
  const objective = (): number => {
    const y = noGrad(f);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += r[i]! * y.data[i]!;
    return s;
  };
  let worst = 0;
  for (const t of inputs) {
    const g = t.grad!;
    expect(g, `gradient of ${t.name}`).not.toBeNull();
    let gmax = 0;
    for (let i = 0; i < g.length; i++) gmax = Math.max(gmax, Math.abs(g[i]!));
    const step = Math.max(1, Math.floor(t.size / samples));
    for (let i = 0; i < t.size; i += step) {
      const old = t.data[i]!;
      t.data[i] = old + eps;
      const up = objective();
      t.data[i] = old - eps;
      const down = objective();
      t.data[i] = old;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(num - g[i]!) / Math.max(gmax, 1e-3);
      worst = Math.max(worst, err);
    }
  }
  return worst;
}

const backends: [string, Kernels][] = [["reference", referenceKernels]];
const native = getNativeKernels();
if (native) backends.push(["native", native]);

describe.each(backends)("op gradients vs finite differences (%s)", (_n, k) => {
  const check = (inputs: Tensor[], f: () => Tensor, tol = 2e-2): void =>
    withBackend(k, () => {
      expect(gradcheck(inputs, f)).toBeLessThan(tol);
    });

  it("linear with bias (x, W, b)", () => {
    const x = leaf([2, 3, 5], 1, 1, "x");
    const w = leaf([4, 5], 2, 1, "w");
    const b = leaf([4], 3, 1, "b");
    check([x, w, b], () => linear(x, w, b));
  });

  it("matmul (a, b)", () => {
    const a = leaf([3, 4], 41, 1, "a");
    const b = leaf([4, 2], 42, 1, "b");
    check([a, b], () => matmul(a, b));
  });

  it("embedding (table)", () => {
    const table = leaf([7, 4], 4, 1, "table");
    const ids = Int32Array.from([3, 1, 3, 6, 0]);
    check([table], () => embedding(table, ids));
  });

  it("rmsnorm (x, weight)", () => {
    const x = leaf([3, 6], 5, 1, "x");
    const w = leaf([6], 6, 1, "w");
    check([x, w], () => rmsnorm(x, w, 1e-6));
  });

  it("rope (in place on a copy)", () => {
    const x = leaf([2, 3, 2 * 4], 7, 1, "x");
    const tables = ropeTables(10000, 4, 16);
    const pos = Int32Array.from([0, 1, 2, 5, 6, 7]);
    check([x], () => rope(scale(x, 1), tables, pos, { B: 2, T: 3, heads: 2, D: 4 }));
  });

  it("attention: GQA, ALiBi, key padding, cached past (Tk > Tq)", () => {
    const B = 2, Tq = 3, Tk = 5, H = 4, Hkv = 2, D = 4;
    const q = leaf([B, Tq, H * D], 8, 1, "q");
    const kk = leaf([B, Tk, Hkv * D], 9, 1, "k");
    const v = leaf([B, Tk, Hkv * D], 10, 1, "v");
    const keyMask = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 1, 1, 1]);
    check([q, kk, v], () => attention(q, kk, v, { B, Tq, Tk, H, Hkv, D, alibiSlopes: alibiSlopes(H), keyMask }));
  });

  it("swiglu (gate, up)", () => {
    const g = leaf([3, 5], 11, 2, "gate");
    const u = leaf([3, 5], 12, 1, "up");
    check([g, u], () => swiglu(g, u));
  });

  it("cross-entropy with an ignored row", () => {
    const logits = leaf([4, 6], 13, 2, "logits");
    const targets = Int32Array.from([2, -100, 5, 0]);
    check([logits], () => crossEntropy(logits, targets));
  });

  it("add, mul, scale, reshape, sum with weights", () => {
    const a = leaf([2, 3], 14, 1, "a");
    const b = leaf([2, 3], 15, 1, "b");
    const w = rand(6, 16);
    check([a, b], () => sum(reshape(scale(mul(add(a, b), b), 0.5), [6]), w));
  });

  it("concatRows and rowSlice", () => {
    const a = leaf([2, 3], 17, 1, "a");
    const b = leaf([3, 3], 18, 1, "b");
    check([a, b], () => {
      const c = concatRows([mul(a, a), b]);
      return add(rowSlice(c, 1, 3), rowSlice(c, 2, 3));
    });
  });

  it("splitColumns (fused q/k/v)", () => {
    const x = leaf([3, 7], 22, 1, "qkv");
    check([x], () => {
      const [a, b, c] = splitColumns(mul(x, x), [2, 4, 1]);
      return concatRows([reshape(mul(a!, a!), [6]), reshape(b!, [12]), reshape(scale(c!, 3), [3])].map((t) => reshape(t, [t.size, 1])));
    });
  });

  it("softmax, softplus, logSigmoid, scaleRows, column (router and preference ops)", () => {
    const logits = leaf([4, 3], 23, 2, "router_logits");
    const noise = leaf([4, 3], 24, 2, "noise_logits");
    const h = leaf([4, 5], 25, 1, "expert_out");
    check([logits, noise, h], () => {
      const gate = softmax(add(logits, mul(softplus(noise), noise)));
      return add(scaleRows(h, column(gate, 1)), scaleRows(h, column(gate, 2)));
    });
    const margin = leaf([5], 26, 8, "margin");
    check([margin], () => logSigmoid(margin));
  });

  it("rowNormalize (NormHead)", () => {
    const w = leaf([5, 4], 19, 1, "w");
    check([w], () => rowNormalize(w));
  });

  it("slices of a leaf write their gradient into the leaf's gradient", () =>
    withBackend(k, () => {
      const w = leaf([6, 3], 20, 1, "W_pack");
      const x = leaf([2, 3], 21, 1, "x");
      expect(gradcheck([w, x], () => add(linear(x, w.slice(0, [3, 3])), mul(linear(x, w.slice(9, [3, 3])), linear(x, w.slice(0, [3, 3])))))).toBeLessThan(2e-2);
    }));
});

describe("tape contracts", () => {
  it("noGrad and tape.infer record nothing; backward on a constant is a clear error", () => {
    const tape = new Tape();
    const w = leaf([3, 3], 30, 1, "w");
    const x = new Tensor([2, 3], rand(6, 31));
    const y = tape.run(() => noGrad(() => sum(linear(x, w))));
    expect(tape.length).toBe(0);
    expect(y.requiresGrad).toBe(false);
    expect(() => tape.backward(y)).toThrow(AutogradError);
    const z = tape.infer(() => sum(linear(x, w)));
    expect(z.requiresGrad).toBe(false);
  });

  it("softplus and logSigmoid stay finite at extreme inputs", () => {
    const x = Tensor.from([-1000, 0, 1000]);
    expect(Array.from(noGrad(() => logSigmoid(x)).data)).toEqual([-1000, Math.fround(-Math.LN2), 0]);
    expect(Array.from(noGrad(() => softplus(x)).data)).toEqual([0, Math.fround(Math.LN2), 1000]);
  });

  it("non-scalar backward needs a seed of the right size", () => {
    const tape = new Tape();
    const w = leaf([3, 3], 32, 1, "w");
    const y = tape.run(() => linear(new Tensor([1, 3], rand(3, 33)), w));
    expect(() => tape.backward(y)).toThrow(/seed/);
  });

  it("reuses activation memory: the arena does not grow after the first step", () => {
    const tape = new Tape();
    const w = leaf([16, 8], 34, 1, "w");
    const x = new Tensor([4, 8], rand(32, 35));
    const step = (): void => {
      const y = tape.run(() => sum(rmsnorm(linear(x, w), Tensor.from(new Float32Array(16).fill(1)), 1e-6)));
      tape.backward(y);
    };
    step();
    const bytes = tape.arena.bytes;
    for (let i = 0; i < 3; i++) step();
    expect(tape.arena.bytes).toBe(bytes);
  });

  it("gradients of leaves accumulate over backward passes until zeroGrad", () => {
    const tape = new Tape();
    const w = leaf([2, 2], 36, 1, "w");
    const x = new Tensor([1, 2], Float32Array.from([1, 2]));
    tape.backward(tape.run(() => sum(linear(x, w))));
    const once = Float32Array.from(w.grad!);
    tape.backward(tape.run(() => sum(linear(x, w))));
    expect(Array.from(w.grad!)).toEqual(Array.from(once).map((v) => 2 * v));
    zeroGrad([w]);
    expect(Array.from(w.grad!)).toEqual([0, 0, 0, 0]);
  });

  it("clipGradNorm scales to the max norm (torch formula) and AdamW validates options", () => {
    const w = leaf([4], 37, 1, "w");
    w.grad = Float32Array.from([3, 4, 0, 0]);
    const before = clipGradNorm([w], 1);
    expect(before).toBeCloseTo(5, 6);
    expect(gradNorm([w])).toBeCloseTo(5 / (5 + 1e-6), 5);
    expect(() => new AdamW([w], { beta1: 1 })).toThrow(/beta1/);
    expect(() => new AdamW([w, w])).toThrow(/twice/);
  });

  it("AdamW applies decoupled weight decay only where asked", () => {
    const w = leaf([2, 2], 50, 1, "w");
    const b = leaf([2], 51, 1, "b");
    const w0 = Float32Array.from(w.data);
    const b0 = Float32Array.from(b.data);
    w.grad = new Float32Array(4);
    b.grad = new Float32Array(2);
    new AdamW([w, b], { lr: 0.1, weightDecay: 0.5, decay: decayOnlyMatrices }).step();
    // zero gradients: only the decay moves parameters, p *= 1 - lr*wd
    w0.forEach((v, i) => expect(w.data[i]).toBeCloseTo(v * (1 - 0.05), 6));
    expect(Array.from(b.data)).toEqual(Array.from(b0));
  });

  it("AdamW state round-trips (resume gives the same next step)", () => {
    const mk = (): Tensor => leaf([5], 38, 1, "p");
    const a = mk();
    const optA = new AdamW([a], { lr: 0.1 });
    a.grad = rand(5, 39);
    optA.step();
    const b = mk();
    b.data.set(a.data);
    const optB = new AdamW([b], { lr: 0.1 });
    optB.loadState(optA.state());
    a.grad = rand(5, 40);
    b.grad = rand(5, 40);
    optA.step();
    optB.step();
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(optB.stepCount).toBe(2);
  });
});
