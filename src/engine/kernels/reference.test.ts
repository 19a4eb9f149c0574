/**
 * The reference kernels against PyTorch 1.13 golden values (test/fixtures/kernels, written by
 * scripts/fixtures/kernels_torch.py). Each tensor has its own tolerance; the max |diff| is printed.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { referenceKernels as K } from "./reference.js";
import { alibiSlopes, ropeTables } from "./tables.js";
import { f32ToF16Bits } from "../../model/io/dtype.js";

const dir = fileURLToPath(new URL("../../../test/fixtures/kernels/", import.meta.url));
interface Desc { offset: number; shape: number[]; dtype: "f32" | "i32" | "u8" }
interface Case { params: Record<string, number>; tensors: Record<string, Desc> }
const index = JSON.parse(readFileSync(dir + "kernels.json", "utf8")) as { cases: Record<string, Case> };
const blob = readFileSync(dir + "kernels.bin");

function size(d: Desc): number {
  return d.shape.reduce((a, b) => a * b, 1);
}
function f32(c: Case, name: string): Float32Array {
  const d = c.tensors[name];
  if (!d || d.dtype !== "f32") throw new Error(`fixture tensor ${name} missing or not f32`);
  // copy out so kernels may write in place
  return new Float32Array(blob.buffer.slice(blob.byteOffset + d.offset, blob.byteOffset + d.offset + 4 * size(d)));
}
function i32(c: Case, name: string): Int32Array {
  const d = c.tensors[name]!;
  return new Int32Array(blob.buffer.slice(blob.byteOffset + d.offset, blob.byteOffset + d.offset + 4 * size(d)));
}
function u8(c: Case, name: string): Uint8Array {
  const d = c.tensors[name]!;
  return new Uint8Array(blob.buffer.slice(blob.byteOffset + d.offset, blob.byteOffset + d.offset + size(d)));
}
function get(name: string): Case {
  const c = index.cases[name];
  if (!c) throw new Error(`fixture case ${name} missing; regenerate with scripts/fixtures/kernels_torch.py`);
  return c;
}

/** max |a-b| / (1 + |b|) style check: |a - b| <= atol + rtol*|b|, infinities must match exactly. */
function close(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = atol): void {
  expect(got.length, `${label} length`).toBe(want.length);
  let maxDiff = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (!Number.isFinite(w)) {
      expect(g, `${label}[${i}]`).toBe(w);
      continue;
    }
    const d = Math.abs(g - w);
    if (!(d <= atol + rtol * Math.abs(w))) worst = i;
    if (d > maxDiff || Number.isNaN(d)) maxDiff = d;
  }
  console.log(`  ${label.padEnd(34)} max|diff| = ${maxDiff.toExponential(2)}  (atol ${atol}, rtol ${rtol})`);
  if (worst >= 0) expect.fail(`${label}[${worst}]: got ${got[worst]}, want ${want[worst]} (atol ${atol}, rtol ${rtol})`);
}

describe("reference kernels vs PyTorch 1.13 fixtures", () => {
  it("gemm, all four transpose layouts of the same product", () => {
    const c = get("gemm");
    const { M, N, K: Kd, alpha, beta } = c.params as { M: number; N: number; K: number; alpha: number; beta: number };
    const A = f32(c, "A");
    const B = f32(c, "B");
    const transpose = (x: Float32Array, r: number, cols: number) => {
      const t = new Float32Array(r * cols);
      for (let i = 0; i < r; i++) for (let j = 0; j < cols; j++) t[j * r + i] = x[i * cols + j]!;
      return t;
    };
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const Cm = f32(c, "C0");
        K.gemm({
          transA, transB, M, N, K: Kd, alpha, beta,
          A: transA ? transpose(A, M, Kd) : A, lda: transA ? M : Kd,
          B: transB ? transpose(B, Kd, N) : B, ldb: transB ? Kd : N,
          C: Cm, ldc: N,
        });
        close(`gemm transA=${transA} transB=${transB}`, Cm, f32(c, "C"), 1e-6);
      }
    }
  });

  it("rmsnorm forward and backward", () => {
    const c = get("rmsnorm");
    const { N, C, eps } = c.params as { N: number; C: number; eps: number };
    const out = new Float32Array(N * C);
    const rstd = new Float32Array(N);
    K.rmsnormForward(out, rstd, f32(c, "inp"), f32(c, "weight"), N, C, eps);
    close("rmsnorm out", out, f32(c, "out"), 1e-6);
    close("rmsnorm rstd", rstd, f32(c, "rstd"), 1e-6);
    const dinp = new Float32Array(N * C);
    const dweight = new Float32Array(C);
    K.rmsnormBackward(dinp, dweight, f32(c, "dout"), f32(c, "inp"), f32(c, "weight"), rstd, N, C);
    close("rmsnorm dinp", dinp, f32(c, "dinp"), 1e-5);
    close("rmsnorm dweight", dweight, f32(c, "dweight"), 1e-5);
  });

  it("rope tables, forward and backward", () => {
    const c = get("rope");
    const { B, T, Hx, D, theta, maxPos } = c.params as Record<string, number> as { B: number; T: number; Hx: number; D: number; theta: number; maxPos: number };
    const tabs = ropeTables(theta, D, maxPos);
    close("ropeTables cos", tabs.cos, f32(c, "cos"), 1e-6);
    close("ropeTables sin", tabs.sin, f32(c, "sin"), 1e-6);
    const x = f32(c, "x");
    K.ropeForward(x, f32(c, "cos"), f32(c, "sin"), i32(c, "positions"), B, T, Hx, D);
    close("rope out", x, f32(c, "out"), 1e-6);
    const dx = f32(c, "dout");
    K.ropeBackward(dx, f32(c, "cos"), f32(c, "sin"), i32(c, "positions"), B, T, Hx, D);
    close("rope dx", dx, f32(c, "dx"), 1e-6);
  });

  it("alibi slopes for power-of-two and other head counts", () => {
    for (const H of [5, 6, 8, 40]) close(`alibiSlopes(${H})`, alibiSlopes(H), f32(get(`alibi_${H}`), "slopes"), 1e-7);
  });

  for (const name of [
    "attention_gqa", "attention_alibi_pad", "attention_decode_gqa", "attention_decode_alibi",
    "attention_packed_gqa", "attention_packed_alibi_pad", "attention_packed_decode",
  ]) {
    it(`${name} forward and backward`, () => {
      const c = get(name);
      const p = c.params as { B: number; Tq: number; Tk: number; H: number; Hkv: number; D: number; scale: number };
      const shape = {
        ...p,
        alibiSlopes: c.tensors.alibiSlopes ? f32(c, "alibiSlopes") : null,
        keyMask: c.tensors.keyMask ? u8(c, "keyMask") : null,
        segmentIds: c.tensors.segmentIds ? i32(c, "segmentIds") : null,
      };
      const q = f32(c, "q"), k = f32(c, "k"), v = f32(c, "v");
      const out = new Float32Array(q.length).fill(NaN);
      const lse = new Float32Array(p.B * p.H * p.Tq).fill(NaN);
      K.attentionForward({ ...shape, out, lse, q, k, v });
      close(`${name} out`, out, f32(c, "out"), 1e-6);
      close(`${name} lse`, lse, f32(c, "lse"), 1e-6);
      const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
      K.attentionBackward({ ...shape, dq, dk, dv, dout: f32(c, "dout"), q, k, v, out, lse });
      close(`${name} dq`, dq, f32(c, "dq"), 1e-5);
      close(`${name} dk`, dk, f32(c, "dk"), 1e-5);
      close(`${name} dv`, dv, f32(c, "dv"), 1e-5);
    });
  }

  it("swiglu forward and backward", () => {
    const c = get("swiglu");
    const n = c.params.n!;
    const out = new Float32Array(n);
    K.swigluForward(out, f32(c, "gate"), f32(c, "up"), n);
    close("swiglu out", out, f32(c, "out"), 1e-6);
    const dgate = new Float32Array(n), dup = new Float32Array(n);
    K.swigluBackward(dgate, dup, f32(c, "dout"), f32(c, "gate"), f32(c, "up"), n);
    close("swiglu dgate", dgate, f32(c, "dgate"), 1e-6);
    close("swiglu dup", dup, f32(c, "dup"), 1e-6);
  });

  it("cross-entropy with ignore index, forward and backward", () => {
    const c = get("cross_entropy");
    const { N, V, ignoreIndex } = c.params as { N: number; V: number; ignoreIndex: number };
    const losses = new Float32Array(N), lse = new Float32Array(N);
    const logits = f32(c, "logits"), targets = i32(c, "targets");
    K.crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex);
    close("cross_entropy losses", losses, f32(c, "losses"), 1e-6);
    close("cross_entropy lse", lse, f32(c, "lse"), 1e-6);
    const dlogits = new Float32Array(N * V);
    K.crossEntropyBackward(dlogits, f32(c, "dlosses"), logits, lse, targets, N, V, ignoreIndex);
    close("cross_entropy dlogits", dlogits, f32(c, "dlogits"), 1e-6);
  });

  it("adamw matches torch.optim.AdamW over several steps", () => {
    const c = get("adamw");
    const { n, steps, lr, beta1, beta2, eps, weightDecay, gradScale } = c.params as Record<string, number> as {
      n: number; steps: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; gradScale: number;
    };
    const param = f32(c, "param0");
    const grads = f32(c, "grads");
    const params = f32(c, "params");
    const m = new Float32Array(n), v = new Float32Array(n);
    for (let s = 0; s < steps; s++) {
      K.adamw({ param, grad: grads.subarray(s * n, (s + 1) * n), m, v, n, lr, beta1, beta2, eps, weightDecay, step: s + 1, gradScale });
      close(`adamw param after step ${s + 1}`, param, params.subarray(s * n, (s + 1) * n), 1e-6);
    }
    close("adamw m", m, f32(c, "m"), 1e-6);
    close("adamw v", v, f32(c, "v"), 1e-6);
  });
});

describe("narrow row-wise kernels vs PyTorch 1.13 fixtures", () => {
  it("softmax (F.softmax) forward and backward, a row with ±60 logits", () => {
    const c = get("softmax");
    const { N, C } = c.params as { N: number; C: number };
    const out = new Float32Array(N * C);
    K.softmaxForward(out, f32(c, "inp"), N, C);
    close("softmax out", out, f32(c, "out"), 1e-6);
    const dinp = new Float32Array(N * C);
    K.softmaxBackward(dinp, f32(c, "dout"), out, N, C);
    close("softmax dinp", dinp, f32(c, "dinp"), 1e-6);
  });

  for (const [name, fwd, bwd] of [
    ["softplus", "softplusForward", "softplusBackward"],
    ["log_sigmoid", "logSigmoidForward", "logSigmoidBackward"],
  ] as const) {
    it(`${name} (torch.nn.functional) forward and backward at ±100`, () => {
      const c = get(name);
      const n = c.params.n!;
      const out = new Float32Array(n);
      K[fwd](out, f32(c, "inp"), n);
      close(`${name} out`, out, f32(c, "out"), 1e-6);
      const dinp = new Float32Array(n);
      K[bwd](dinp, f32(c, "dout"), f32(c, "inp"), n);
      close(`${name} dinp`, dinp, f32(c, "dinp"), 1e-6);
    });
  }

  it("weighted and plain sum forward and backward", () => {
    for (const name of ["weighted_sum", "plain_sum"]) {
      const c = get(name);
      const { n, g } = c.params as { n: number; g: number };
      const weights = c.tensors.weights ? f32(c, "weights") : null;
      close(`${name} out`, [K.weightedSum(f32(c, "x"), weights, n)], f32(c, "out"), 1e-6);
      const dinp = new Float32Array(n);
      K.weightedSumBackward(dinp, weights, g, n);
      close(`${name} dinp`, dinp, f32(c, "dinp"), 1e-6);
    }
  });

  it("scaleRows forward and backward", () => {
    const c = get("scale_rows");
    const { N, C } = c.params as { N: number; C: number };
    const out = new Float32Array(N * C);
    K.scaleRowsForward(out, f32(c, "inp"), f32(c, "s"), N, C);
    close("scale_rows out", out, f32(c, "out"), 1e-6);
    const dinp = new Float32Array(N * C), ds = new Float32Array(N);
    K.scaleRowsBackward(dinp, ds, f32(c, "dout"), f32(c, "inp"), f32(c, "s"), N, C);
    close("scale_rows dinp", dinp, f32(c, "dinp"), 1e-6);
    close("scale_rows ds", ds, f32(c, "ds"), 1e-6);
  });

  it("copyBlock as torch.split and a column pick, gradients accumulated into one buffer", () => {
    const c = get("split_columns");
    const { N, W, column: j } = c.params as unknown as { N: number; W: number; column: number };
    const widths = (c.params as unknown as { widths: number[] }).widths;
    const x = f32(c, "x");
    const dx = new Float32Array(N * W);
    let off = 0;
    widths.forEach((w, i) => {
      const part = new Float32Array(N * w);
      K.copyBlock(part, 0, w, x, off, W, N, w, false);
      close(`split part${i}`, part, f32(c, `part${i}`), 0);
      K.copyBlock(dx, off, W, f32(c, `dpart${i}`), 0, w, N, w, true);
      off += w;
    });
    const col = new Float32Array(N);
    K.copyBlock(col, 0, 1, x, j, W, N, 1, false);
    close("column", col, f32(c, "column"), 0);
    K.copyBlock(dx, j, W, f32(c, "dcolumn"), 0, 1, N, 1, true);
    close("split + column dx", dx, f32(c, "dx"), 1e-6);
  });

  it("rowNormalize (F.normalize) forward and backward, a zero row on the eps floor", () => {
    const c = get("row_normalize");
    const { R, C, eps } = c.params as { R: number; C: number; eps: number };
    const out = new Float32Array(R * C), norms = new Float32Array(R);
    K.rowNormalizeForward(out, norms, f32(c, "inp"), R, C, eps);
    close("row_normalize out", out, f32(c, "out"), 1e-6);
    const dinp = new Float32Array(R * C);
    K.rowNormalizeBackward(dinp, f32(c, "dout"), out, norms, R, C, eps);
    // the floored row's gradient is dout/eps (~1e12): relative tolerance
    close("row_normalize dinp", dinp, f32(c, "dinp"), 1e-5, 1e-6);
  });
});

describe("reference kernels: contracts not covered by torch fixtures", () => {
  it("embedding gathers rows and accumulates repeated ids in backward", () => {
    const C = 3;
    const table = Float32Array.from({ length: 4 * C }, (_, i) => i);
    const ids = Int32Array.from([2, 0, 2]);
    const out = new Float32Array(ids.length * C);
    K.embeddingForward(out, table, ids, C);
    expect(Array.from(out)).toEqual([6, 7, 8, 0, 1, 2, 6, 7, 8]);
    const dtable = new Float32Array(4 * C);
    K.embeddingBackward(dtable, Float32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]), ids, C);
    expect(Array.from(dtable)).toEqual([2, 2, 2, 0, 0, 0, 4, 4, 4, 0, 0, 0]);
    expect(() => K.embeddingForward(out, table, Int32Array.from([4]), C)).toThrow(/ids\[0\]=4 is outside \[0,4\)/);
  });

  it("gemm with beta = 0 ignores NaN in C and honours offsets and leading dims", () => {
    // A is a 2x2 window at offset 1 of a 3-wide buffer; B (2x1) at offset 2 with ldb 2
    const A = Float32Array.from([9, 1, 2, 9, 3, 4, 9]);
    const B = Float32Array.from([9, 9, 5, 9, 6, 9]);
    const C = Float32Array.from([NaN, NaN, NaN, NaN]);
    K.gemm({ transA: false, transB: false, M: 2, N: 1, K: 2, alpha: 1, A, aOffset: 1, lda: 3, B, bOffset: 2, ldb: 2, beta: 0, C, cOffset: 1, ldc: 2 });
    expect(Array.from(C)).toEqual([NaN, 17, NaN, 39]);
    expect(() => K.gemm({ transA: false, transB: false, M: 2, N: 1, K: 2, alpha: 1, A, lda: 1, B, ldb: 1, beta: 0, C, ldc: 1 })).toThrow(/lda=1 must be >= 2/);
  });

  it("cross-entropy rejects a target outside the vocabulary", () => {
    expect(() => K.crossEntropyForward(new Float32Array(1), new Float32Array(1), new Float32Array(3), Int32Array.from([3]), 1, 3, -100)).toThrow(
      /targets\[0\]=3 is outside \[0,3\)/,
    );
  });

  it("attention and rope reject shapes outside the contract with the argument named", () => {
    const base = { B: 1, Tq: 2, Tk: 2, H: 3, Hkv: 2, D: 4, scale: 0.5, alibiSlopes: null, keyMask: null };
    const q = new Float32Array(24), kv = new Float32Array(16);
    const args = { out: new Float32Array(24), lse: new Float32Array(6), q, k: kv, v: kv };
    expect(() => K.attentionForward({ ...base, ...args })).toThrow(/H=3 must be a multiple of Hkv=2/);
    expect(() => K.attentionForward({ ...base, H: 2, Tq: 3, ...args })).toThrow(/Tk=2 must be >= Tq=3/);
    expect(() => K.attentionForward({ ...base, H: 2, Hkv: 2, ...args, lse: new Float32Array(3) })).toThrow(/lse has 3 elements, needs at least 4/);
    const { cos, sin } = ropeTables(10000, 4, 8);
    expect(() => K.ropeForward(new Float32Array(12), cos, sin, Int32Array.from([0]), 1, 1, 3, 3)).toThrow(/head dim D=3 must be even/);
    expect(() => K.ropeForward(new Float32Array(4), cos, sin, Int32Array.from([8]), 1, 1, 1, 4)).toThrow(/positions\[0\]=8 is outside \[0,8\)/);
  });

  it("narrow kernels reject arguments outside the contract with the argument named", () => {
    const a = new Float32Array(6);
    expect(() => K.softmaxForward(a, new Float32Array(5), 2, 3)).toThrow(/softmaxForward: inp has 5 elements, needs at least 6/);
    expect(() => K.softmaxForward(a, a.slice(), 2, 0)).toThrow(/softmaxForward: C must be an integer >= 1, got 0/);
    expect(() => K.logSigmoidBackward(a, a.slice(), new Float32Array(2), 6)).toThrow(/logSigmoidBackward: inp has 2 elements/);
    expect(() => K.weightedSum(a, new Float32Array(3), 6)).toThrow(/weightedSum: weights has 3 elements/);
    expect(() => K.scaleRowsForward(a, a.slice(), new Float32Array(1), 2, 3)).toThrow(/scaleRowsForward: s has 1 elements, needs at least 2/);
    expect(() => K.scaleRowsBackward(null, new Float32Array(1), a, a.slice(), new Float32Array(2), 2, 3)).toThrow(/scaleRowsBackward: ds has 1 elements/);
    expect(() => K.copyBlock(a, 0, 3, new Float32Array(6), 4, 3, 2, 3, false)).toThrow(/copyBlock: src has 6 elements, needs at least 10/);
    expect(() => K.copyBlock(a, 0, 3, a, 0, 3, 2, 3, true)).toThrow(/copyBlock: dst and src blocks overlap/);
    expect(() => K.rowNormalizeForward(a, new Float32Array(2), a.slice(), 2, 3, 0)).toThrow(/rowNormalizeForward: eps must be a positive number, got 0/);
    expect(() => K.rowNormalizeForward(a, new Float32Array(2), a.slice(), 1.5, 3, 1e-12)).toThrow(/rowNormalizeForward: R must be an integer >= 0, got 1.5/);
    expect(() => K.matmulQ8(new Float32Array(4), new Float32Array(64), new Int8Array(32), new Float32Array(2), 2, 2, 32)).toThrow(/matmulQ8: weight has 32 elements, needs at least N\*K = 64/);
    expect(() => K.matmulBf16(new Float32Array(2), new Float32Array(3), new Uint16Array(6), 1, 2, 3)).not.toThrow();
    expect(() => K.matmulBf16(new Float32Array(1), new Float32Array(3), new Uint16Array(6), 1, 2, 3)).toThrow(/matmulBf16: y has 1 elements, needs at least 2/);
    const base = { B: 1, Tq: 2, Tk: 2, H: 1, Hkv: 1, D: 2, scale: 1, alibiSlopes: null, keyMask: null, segmentIds: Int32Array.from([0]) };
    expect(() => K.attentionForward({ ...base, out: new Float32Array(4), lse: new Float32Array(2), q: new Float32Array(4), k: new Float32Array(4), v: new Float32Array(4) })).toThrow(
      /attentionForward: segmentIds has 1 elements, needs at least 2/,
    );
  });

  it("attention with segment ids equals attention run on each document alone", () => {
    // two documents packed in one row of 5 tokens vs the same documents as separate sequences
    const D = 3, H = 2;
    const q = Float32Array.from({ length: 5 * H * D }, (_, i) => Math.sin(i + 1));
    const k = Float32Array.from({ length: 5 * H * D }, (_, i) => Math.cos(2 * i));
    const v = Float32Array.from({ length: 5 * H * D }, (_, i) => (i % 7) - 3);
    const run = (lo: number, hi: number, seg: Int32Array | null) => {
      const T = hi - lo, w = H * D;
      const out = new Float32Array(T * w), lse = new Float32Array(H * T);
      K.attentionForward({ B: 1, Tq: T, Tk: T, H, Hkv: H, D, scale: 0.5, alibiSlopes: null, keyMask: null, segmentIds: seg, out, lse,
        q: q.subarray(lo * w, hi * w), k: k.subarray(lo * w, hi * w), v: v.subarray(lo * w, hi * w) });
      return out;
    };
    const packed = run(0, 5, Int32Array.from([4, 4, 4, 9, 9]));
    close("packed doc 1", packed.subarray(0, 3 * H * D), run(0, 3, null), 1e-7);
    close("packed doc 2", packed.subarray(3 * H * D), run(3, 5, null), 1e-7);
  });

  it("q8_0: per-32 block scales amax/127, values rounded half away from zero, error at most half a step", () => {
    const w = new Float32Array(64);
    for (let i = 0; i < 32; i++) w[i] = (i - 16) * 0.37;
    w[32] = -2.54; // block 2: amax 2.54, step 0.02; 1.27 = 63.5 steps rounds away from zero to 64
    w[33] = 1.27;
    w[34] = -1.27;
    const q = new Int8Array(64), scales = new Float32Array(2);
    K.quantizeQ8(q, scales, w, 2, 32);
    expect(scales[0]).toBe(Math.fround(Math.fround(16 * 0.37) / 127));
    expect(q[0]).toBe(-127);
    expect(Array.from(q.subarray(32, 36))).toEqual([-127, 64, -64, 0]);
    for (let i = 0; i < 64; i++) expect(Math.abs(q[i]! * scales[i >> 5]! - w[i]!)).toBeLessThanOrEqual(scales[i >> 5]! / 2 + 1e-7);
    expect(() => K.quantizeQ8(q, scales, w, 1, 48)).toThrow(/quantizeQ8: cols=48 must be a multiple of the block size 32/);
  });

  it("q8_0 activations: ggml's x86 quantize_row_q8_0 exactly (int8 values; its f16 scale is our f32 scale rounded)", () => {
    // written by ggml itself: scripts/fixtures/kernels_ggml_q8.py
    const fx = JSON.parse(readFileSync(dir + "ggml_q8_activations.json", "utf8")) as { cols: number; x: number[]; q: number[]; d_f16_bits: number[] };
    const x = Float32Array.from(fx.x);
    const q = new Int8Array(fx.cols), d = new Float32Array(fx.cols / 32);
    K.quantizeActivationsQ8(q, d, x, 1, fx.cols);
    expect(Array.from(q)).toEqual(fx.q);
    expect(Array.from(d, f32ToF16Bits)).toEqual(fx.d_f16_bits);
    // ties go to the even neighbour (ggml rounds with _mm256_round_ps), not away from zero as weights do
    const tie = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 127 : i - 16 + 0.5));
    K.quantizeActivationsQ8(q, d, tie, 1, 32);
    expect(Array.from(q.subarray(1, 6))).toEqual([-14, -14, -12, -12, -10]); // -14.5, -13.5, -12.5, -11.5, -10.5
    // a non-finite block: scale NaN, values 0, so the products it feeds are NaN, not finite garbage
    const bad = Float32Array.from({ length: 64 }, (_, i) => i + 1);
    bad[40] = Infinity;
    K.quantizeActivationsQ8(q, d, bad, 2, 32);
    expect(Number.isNaN(d[1]!)).toBe(true);
    expect(Array.from(q.subarray(32, 64)).every((v) => v === 0)).toBe(true);
    const y = new Float32Array(2);
    const w = new Int8Array(64).fill(1), ws = Float32Array.of(1, 1);
    K.matmulQ8(y, bad.subarray(0, 32), w, ws, 1, 2, 32);
    K.matmulQ8(y.subarray(1), bad.subarray(32), w.subarray(0, 32), ws.subarray(0, 1), 1, 1, 32);
    expect(Number.isFinite(y[0]!)).toBe(true);
    expect(Number.isNaN(y[1]!)).toBe(true);
    expect(() => K.quantizeActivationsQ8(q, d, x, 1, 48)).toThrow(/quantizeActivationsQ8: cols=48 must be a multiple of the block size 32/);
  });

  it("matmulQ8: the product of the q8_0 activations and weights (exact integer block sums)", () => {
    // x = 1..32 quantises to q = round(i·127/32) with d = 32/127; w one block of 2s with scale 0.5
    const x = Float32Array.from({ length: 32 }, (_, i) => i + 1);
    const q = new Int8Array(32), d = new Float32Array(1);
    K.quantizeActivationsQ8(q, d, x, 1, 32);
    const isum = q.reduce((a, v) => a + 2 * v, 0);
    const y = new Float32Array(1);
    K.matmulQ8(y, x, new Int8Array(32).fill(2), Float32Array.of(0.5), 1, 1, 32);
    expect(y[0]).toBe(Math.fround(Math.fround(0.5 * d[0]!) * isum));
    expect(Math.abs(y[0]! - 528)).toBeLessThan(528 * 0.01); // Σ i = 528: within the activations' rounding
  });

  it("bf16: round to nearest even on the upper half, NaN kept", () => {
    const v = Float32Array.from([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, NaN, Infinity, 3.4e38]);
    const h = new Uint16Array(v.length);
    K.quantizeBf16(h, v, v.length);
    // 1+2^-8 is a tie (rounds down to even 0x3f80), 1+3·2^-8 a tie rounding up, just above a tie rounds up
    expect(Array.from(h.subarray(0, 5), (x) => x.toString(16))).toEqual(["3f80", "c000", "3f80", "3f82", "3f81"]);
    expect(h[5]! & 0x7f80).toBe(0x7f80);
    expect(h[5]! & 0x7f).not.toBe(0);
    expect(h[6]).toBe(0x7f80);
    expect(h[7]).toBe(0x7f80); // 3.4e38 rounds past the largest bf16 to infinity
    const y = new Float32Array(1);
    K.matmulBf16(y, Float32Array.from([2, 1]), Uint16Array.from([0x3f80, 0xc000]), 1, 1, 2);
    expect(y[0]).toBe(0);
  });

  it("elementwise helpers and sumSquares", () => {
    const a = Float32Array.from([1, 2, 3]);
    const b = Float32Array.from([4, 5, 6]);
    const out = new Float32Array(3);
    K.add(out, a, b, 3);
    expect(Array.from(out)).toEqual([5, 7, 9]);
    K.mul(out, a, b, 3);
    expect(Array.from(out)).toEqual([4, 10, 18]);
    K.axpy(out, a, -2, 3);
    expect(Array.from(out)).toEqual([2, 6, 12]);
    K.scale(out, 0.5, 3);
    expect(Array.from(out)).toEqual([1, 3, 6]);
    expect(K.sumSquares(a, 3)).toBe(14);
  });
});
