/**
 * The shared parity suite: every kernel of an implementation, forward and backward, against the
 * TypeScript reference on random shapes with odd sizes (C=37, D=6, V=101, T=13, Tq<Tk, H=6/Hkv=2,
 * every gemm transpose with leading dims wider than the matrix and offsets). Forward values and
 * gradients have separate tolerances; max |diff| is printed per named tensor. The narrow row-wise ops
 * (softmax, softplus, log-sigmoid, weighted sum, row scaling, block copies, row normalisation) run on
 * router-like widths, on wide rows and on element counts large enough to split across threads.
 * Runs against the native addon at 1 and at 2 threads; skips with a message when it is not built.
 */
import { describe, expect, it } from "vitest";
import type { Kernels } from "./kernels.js";
import { referenceKernels as R } from "./reference.js";
import { compareClose } from "./compare.js";
import { getNativeKernels, nativeStatus, setThreads, ropeTables, alibiSlopes, BUILD_HINT } from "./index.js";

const FWD = { atol: 2e-5, rtol: 2e-5 };
const GRAD = { atol: 1e-4, rtol: 1e-4 };
/**
 * Per-kernel tolerances of the narrow row-wise kernels: exact where the kernel is one multiply or a
 * copy, f32 rounding of a short reduction or of exp/log1p elsewhere.
 */
const TOL = {
  softmax: { fwd: { atol: 1e-6, rtol: 1e-5 }, grad: { atol: 1e-5, rtol: 1e-5 } },
  softplus: { fwd: { atol: 1e-6, rtol: 1e-6 }, grad: { atol: 1e-6, rtol: 1e-5 } },
  logSigmoid: { fwd: { atol: 1e-6, rtol: 1e-6 }, grad: { atol: 1e-6, rtol: 1e-5 } },
  weightedSum: { fwd: { atol: 1e-9, rtol: 1e-12 }, grad: { atol: 1e-6, rtol: 1e-6 } },
  scaleRows: { fwd: { atol: 0, rtol: 0 }, grad: { atol: 0, rtol: 0 }, gradScale: { atol: 1e-5, rtol: 1e-5 } },
  copyBlock: { fwd: { atol: 0, rtol: 0 } },
  rowNormalize: { fwd: { atol: 1e-6, rtol: 1e-6 }, grad: { atol: 1e-5, rtol: 1e-5 } },
};
/** f32 dot products of length K (unit-normal inputs) drift like sqrt(K) ulps; the reference sums in f64 */
const gemmTol = (K: number) => ({ atol: 2e-6 * Math.max(1, K), rtol: 1e-5 });

/** Deterministic xorshift PRNG so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return {
    uniform: next,
    int: (n: number) => Math.floor(next() * n),
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
}
type Rng = ReturnType<typeof rng>;
const randn = (r: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => r.normal() * scale);

function check(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: { atol: number; rtol: number }): void {
  const res = compareClose(label, got, want, tol.atol, tol.rtol);
  console.log("  " + res.message.split("\n")[0]);
  if (!res.ok) expect.fail(res.message);
}

export function kernelParitySuite(K: Kernels): void {
  it("gemm: all transpose combos, leading dims > width, offsets, beta", () => {
    const r = rng(1);
    // includes matrix-vector shapes (M = 1: a decode step through a linear layer; N = 1)
    for (const [M, N, Kd] of [[13, 37, 6], [70, 33, 91], [1, 5, 1], [1, 301, 77], [3, 64, 50], [45, 1, 29]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const beta of [0, 0.5]) {
            const lda = (transA ? M : Kd) + 3, ldb = (transB ? Kd : N) + 2, ldc = N + 5;
            const aOffset = 7, bOffset = 3, cOffset = 11;
            const A = randn(r, aOffset + (transA ? Kd : M) * lda);
            const B = randn(r, bOffset + (transB ? N : Kd) * ldb);
            const C0 = randn(r, cOffset + M * ldc);
            if (beta === 0) C0.fill(NaN, cOffset, cOffset + N); // beta = 0 must ignore old C content
            const args = { transA, transB, M, N, K: Kd, alpha: 1.25, A, aOffset, lda, B, bOffset, ldb, beta, cOffset, ldc };
            const want = C0.slice();
            const got = C0.slice();
            R.gemm({ ...args, C: want });
            K.gemm({ ...args, C: got });
            check(`gemm ${M}x${N}x${Kd} tA=${+transA} tB=${+transB} beta=${beta}`, got, want, gemmTol(Kd));
          }
        }
      }
    }
    // K = 0: C = beta*C
    const C = Float32Array.from([1, 2, 3, 4]);
    K.gemm({ transA: false, transB: false, M: 2, N: 2, K: 0, alpha: 1, A: new Float32Array(0), lda: 1, B: new Float32Array(0), ldb: 2, beta: 0.5, C, ldc: 2 });
    expect(Array.from(C)).toEqual([0.5, 1, 1.5, 2]);
  });

  it("gemmBatched: many small products and a few large ones", () => {
    const r = rng(2);
    for (const [batch, M, N, Kd, transA, transB] of [[5, 13, 6, 37, false, true], [3, 17, 9, 4, true, false], [2, 270, 260, 250, false, false]] as const) {
      const lda = (transA ? M : Kd) + 1, ldb = (transB ? Kd : N) + 1, ldc = N + 1;
      const strideA = (transA ? Kd : M) * lda + 2, strideB = (transB ? N : Kd) * ldb + 1, strideC = M * ldc + 3;
      const A = randn(r, 1 + batch * strideA), B = randn(r, 2 + batch * strideB), C0 = randn(r, 3 + batch * strideC);
      const args = { transA, transB, M, N, K: Kd, alpha: 0.5, A, aOffset: 1, lda, B, bOffset: 2, ldb, beta: 1, cOffset: 3, ldc, batch, strideA, strideB, strideC };
      const want = C0.slice(), got = C0.slice();
      R.gemmBatched({ ...args, C: want });
      K.gemmBatched({ ...args, C: got });
      check(`gemmBatched b=${batch} ${M}x${N}x${Kd}`, got, want, gemmTol(Kd));
    }
  });

  it("embedding forward and backward with repeated ids", () => {
    const r = rng(3);
    const V = 101, C = 37, N = 29;
    const table = randn(r, V * C);
    const ids = Int32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 7 : r.int(V)));
    const want = new Float32Array(N * C), got = new Float32Array(N * C);
    R.embeddingForward(want, table, ids, C);
    K.embeddingForward(got, table, ids, C);
    check("embedding out", got, want, FWD);
    const dout = randn(r, N * C);
    const dw = randn(r, V * C), dg = dw.slice();
    R.embeddingBackward(dw, dout, ids, C);
    K.embeddingBackward(dg, dout, ids, C);
    check("embedding dtable", dg, dw, GRAD);
    expect(() => K.embeddingForward(got, table, Int32Array.from([V]), C)).toThrow(/outside \[0,101\)/);
  });

  it("rmsnorm forward and backward", () => {
    const r = rng(4);
    for (const [N, C] of [[13, 37], [64, 768]] as const) {
      const inp = randn(r, N * C), weight = randn(r, C, 0.5).map((x) => 1 + x);
      const o1 = new Float32Array(N * C), o2 = new Float32Array(N * C), r1 = new Float32Array(N), r2 = new Float32Array(N);
      R.rmsnormForward(o1, r1, inp, weight, N, C, 1e-5);
      K.rmsnormForward(o2, r2, inp, weight, N, C, 1e-5);
      check(`rmsnorm N=${N} C=${C} out`, o2, o1, FWD);
      check(`rmsnorm N=${N} C=${C} rstd`, r2, r1, FWD);
      const dout = randn(r, N * C);
      const dx1 = randn(r, N * C), dx2 = dx1.slice(), dw1 = randn(r, C), dw2 = dw1.slice();
      R.rmsnormBackward(dx1, dw1, dout, inp, weight, r1, N, C);
      K.rmsnormBackward(dx2, dw2, dout, inp, weight, r1, N, C);
      check(`rmsnorm N=${N} C=${C} dinp`, dx2, dx1, GRAD);
      check(`rmsnorm N=${N} C=${C} dweight`, dw2, dw1, GRAD);
    }
  });

  it("rope forward and backward (D=6, odd head count, arbitrary positions)", () => {
    const r = rng(5);
    const B = 2, T = 13, Hx = 3, D = 6, maxPos = 40;
    const { cos, sin } = ropeTables(10000, D, maxPos);
    const positions = Int32Array.from({ length: B * T }, () => r.int(maxPos));
    const x = randn(r, B * T * Hx * D);
    const a = x.slice(), b = x.slice();
    R.ropeForward(a, cos, sin, positions, B, T, Hx, D);
    K.ropeForward(b, cos, sin, positions, B, T, Hx, D);
    check("rope out", b, a, FWD);
    R.ropeBackward(a, cos, sin, positions, B, T, Hx, D);
    K.ropeBackward(b, cos, sin, positions, B, T, Hx, D);
    check("rope backward(forward(x))", b, a, GRAD);
    check("rope backward(forward(x)) == x", b, x, GRAD);
  });

  const attnCases = [
    { name: "GQA B=2 T=13 H=6 Hkv=2 D=6", B: 2, Tq: 13, Tk: 13, H: 6, Hkv: 2, D: 6, alibi: false, mask: false },
    { name: "ALiBi+pad B=2 T=13 H=6 Hkv=6 D=8", B: 2, Tq: 13, Tk: 13, H: 6, Hkv: 6, D: 8, alibi: true, mask: true },
    { name: "decode Tq=3 Tk=13 H=6 Hkv=2 pad", B: 2, Tq: 3, Tk: 13, H: 6, Hkv: 2, D: 6, alibi: false, mask: true },
    { name: "decode Tq=1 Tk=37 ALiBi H=5 Hkv=1", B: 1, Tq: 1, Tk: 37, H: 5, Hkv: 1, D: 4, alibi: true, mask: false },
    { name: "blocks T=300 H=4 Hkv=2 D=16 pad", B: 1, Tq: 300, Tk: 300, H: 4, Hkv: 2, D: 16, alibi: false, mask: true },
    { name: "serial B=1 Hkv=1 T=150 Tk=170 D=8", B: 1, Tq: 150, Tk: 170, H: 2, Hkv: 1, D: 8, alibi: true, mask: false },
    { name: "packed segments B=2 T=13 GQA", B: 2, Tq: 13, Tk: 13, H: 6, Hkv: 2, D: 6, alibi: false, mask: false, seg: true },
    { name: "packed segments+ALiBi+pad T=13", B: 2, Tq: 13, Tk: 13, H: 4, Hkv: 4, D: 8, alibi: true, mask: true, seg: true },
    { name: "packed segments decode Tq=3 Tk=13", B: 2, Tq: 3, Tk: 13, H: 6, Hkv: 2, D: 6, alibi: false, mask: false, seg: true },
    { name: "packed segments blocks T=300 pad", B: 1, Tq: 300, Tk: 300, H: 4, Hkv: 2, D: 16, alibi: false, mask: true, seg: true },
    { name: "packed long documents T=400 ALiBi B=2", B: 2, Tq: 400, Tk: 400, H: 2, Hkv: 1, D: 8, alibi: true, mask: false, seg: true, docLen: 150 },
    { name: "recurring segment ids T=300 (not contiguous)", B: 1, Tq: 300, Tk: 300, H: 2, Hkv: 2, D: 8, alibi: false, mask: false, seg: true, cycle: true },
  ];
  /**
   * Documents of pseudo-random lengths (1 to maxLen tokens) packed back to back in each sequence; with
   * `cycle`, ids that recur (0, 1, 2, 0, 1, …: a layout the native kernel must not take for packing).
   */
  const packedSegments = (r: Rng, B: number, Tk: number, maxLen = 40, cycle = false): Int32Array => {
    const seg = new Int32Array(B * Tk);
    for (let b = 0; b < B; b++) {
      let id = 100 * b, left = 1 + r.int(Math.min(maxLen, Tk));
      for (let j = 0; j < Tk; j++) {
        if (cycle) { seg[b * Tk + j] = Math.floor(j / 7) % 3; continue; }
        if (left === 0) { id++; left = 1 + r.int(Math.min(maxLen, Tk)); }
        seg[b * Tk + j] = id;
        left--;
      }
    }
    return seg;
  };
  for (const c of attnCases) {
    it(`attention ${c.name}: forward and backward`, () => {
      const r = rng(6);
      const { B, Tq, Tk, H, Hkv, D } = c;
      let keyMask: Uint8Array | null = null;
      if (c.mask) {
        keyMask = new Uint8Array(B * Tk).fill(1);
        for (let j = 0; j < Math.min(3, Tk); j++) keyMask[j] = 0; // left padding of batch 0: its first rows see nothing
        if (B > 1) keyMask[Tk + Math.floor(Tk / 2)] = 0; // a hole in batch 1
      }
      const segmentIds = "seg" in c && c.seg ? packedSegments(r, B, Tk, "docLen" in c ? c.docLen : 40, "cycle" in c && c.cycle) : null;
      const shape = { B, Tq, Tk, H, Hkv, D, scale: 1 / Math.sqrt(D), alibiSlopes: c.alibi ? alibiSlopes(H) : null, keyMask, segmentIds };
      const q = randn(r, B * Tq * H * D), k = randn(r, B * Tk * Hkv * D), v = randn(r, B * Tk * Hkv * D);
      const o1 = new Float32Array(q.length).fill(NaN), o2 = o1.slice();
      const l1 = new Float32Array(B * H * Tq).fill(NaN), l2 = l1.slice();
      R.attentionForward({ ...shape, out: o1, lse: l1, q, k, v });
      K.attentionForward({ ...shape, out: o2, lse: l2, q, k, v });
      check(`attention ${c.name} out`, o2, o1, FWD);
      check(`attention ${c.name} lse`, l2, l1, FWD);
      const dout = randn(r, q.length);
      const dq1 = randn(r, q.length), dk1 = randn(r, k.length), dv1 = randn(r, v.length);
      const dq2 = dq1.slice(), dk2 = dk1.slice(), dv2 = dv1.slice();
      R.attentionBackward({ ...shape, dq: dq1, dk: dk1, dv: dv1, dout, q, k, v, out: o1, lse: l1 });
      K.attentionBackward({ ...shape, dq: dq2, dk: dk2, dv: dv2, dout, q, k, v, out: o1, lse: l1 });
      check(`attention ${c.name} dq`, dq2, dq1, GRAD);
      check(`attention ${c.name} dk`, dk2, dk1, GRAD);
      check(`attention ${c.name} dv`, dv2, dv1, GRAD);
    });
  }

  it("attention: NaN in a query reaches the output and lse (never an all-zero 'empty' row)", () => {
    const r = rng(11);
    const B = 1, T = 4, H = 2, D = 4;
    const q = randn(r, B * T * H * D), k = randn(r, B * T * H * D), v = randn(r, B * T * H * D);
    q.fill(NaN, 0, D); // token 0, head 0: every visible score of that row is NaN
    q[(2 * H + 1) * D] = NaN; // token 2, head 1: NaN mixed with finite rows
    const shape = { B, Tq: T, Tk: T, H, Hkv: H, D, scale: 0.5, alibiSlopes: null, keyMask: null };
    for (const impl of [R, K]) {
      const out = new Float32Array(q.length), lse = new Float32Array(B * H * T);
      impl.attentionForward({ ...shape, out, lse, q, k, v });
      expect(Number.isNaN(out[0]!) && Number.isNaN(lse[0]!), `${impl.name}: all-NaN row`).toBe(true);
      expect(Number.isNaN(out[(2 * H + 1) * D]!) && Number.isNaN(lse[1 * T + 2]!), `${impl.name}: NaN row`).toBe(true);
      expect(Number.isFinite(out[(1 * H + 0) * D]!), `${impl.name}: other rows`).toBe(true);
    }
  });

  it("swiglu forward and backward (serial and parallel sizes)", () => {
    const r = rng(7);
    for (const n of [1001, 70001]) {
      const gate = randn(r, n, 4), up = randn(r, n);
      const o1 = new Float32Array(n), o2 = new Float32Array(n);
      R.swigluForward(o1, gate, up, n);
      K.swigluForward(o2, gate, up, n);
      check(`swiglu n=${n} out`, o2, o1, FWD);
      const dout = randn(r, n);
      const g1 = randn(r, n), u1 = randn(r, n), g2 = g1.slice(), u2 = u1.slice();
      R.swigluBackward(g1, u1, dout, gate, up, n);
      K.swigluBackward(g2, u2, dout, gate, up, n);
      check(`swiglu n=${n} dgate`, g2, g1, GRAD);
      check(`swiglu n=${n} dup`, u2, u1, GRAD);
    }
  });

  it("cross-entropy forward and backward with ignore index", () => {
    const r = rng(8);
    for (const [N, V] of [[13, 101], [6, 32000]] as const) {
      const logits = randn(r, N * V, 4);
      const targets = Int32Array.from({ length: N }, (_, i) => (i % 4 === 1 ? -100 : r.int(V)));
      const ls1 = new Float32Array(N), ls2 = new Float32Array(N), lse1 = new Float32Array(N), lse2 = new Float32Array(N);
      R.crossEntropyForward(ls1, lse1, logits, targets, N, V, -100);
      K.crossEntropyForward(ls2, lse2, logits, targets, N, V, -100);
      check(`cross_entropy N=${N} V=${V} losses`, ls2, ls1, FWD);
      check(`cross_entropy N=${N} V=${V} lse`, lse2, lse1, FWD);
      const dl = randn(r, N);
      const d1 = randn(r, N * V, 0.01), d2 = d1.slice();
      R.crossEntropyBackward(d1, dl, logits, lse1, targets, N, V, -100);
      K.crossEntropyBackward(d2, dl, logits, lse1, targets, N, V, -100);
      check(`cross_entropy N=${N} V=${V} dlogits`, d2, d1, GRAD);
    }
    expect(() => K.crossEntropyForward(new Float32Array(1), new Float32Array(1), new Float32Array(3), Int32Array.from([-1]), 1, 3, -100)).toThrow(/outside/);
  });

  it("element-wise kernels and sumSquares", () => {
    const r = rng(9);
    for (const n of [37, 100003]) {
      const a = randn(r, n), b = randn(r, n);
      const o1 = new Float32Array(n), o2 = new Float32Array(n);
      R.add(o1, a, b, n);
      K.add(o2, a, b, n);
      check(`add n=${n}`, o2, o1, FWD);
      R.mul(o1, a, b, n);
      K.mul(o2, a, b, n);
      check(`mul n=${n}`, o2, o1, FWD);
      R.axpy(o1, a, -0.3, n);
      K.axpy(o2, a, -0.3, n);
      check(`axpy n=${n}`, o2, o1, FWD);
      R.scale(o1, 1.7, n);
      K.scale(o2, 1.7, n);
      check(`scale n=${n}`, o2, o1, FWD);
      check(`sumSquares n=${n}`, [K.sumSquares(a, n)], [R.sumSquares(a, n)], { atol: 0, rtol: 1e-6 });
    }
  });

  it("softmax forward and backward (router widths, a wide row, a row with -inf and huge values)", () => {
    const r = rng(13);
    for (const [N, C] of [[37, 4], [5000, 8], [3, 1001], [1, 1]] as const) {
      const inp = randn(r, N * C, 3);
      if (N * C > 8) { inp[1] = -Infinity; inp[2] = 80; inp[3] = -80; }
      const o1 = new Float32Array(N * C), o2 = new Float32Array(N * C).fill(NaN);
      R.softmaxForward(o1, inp, N, C);
      K.softmaxForward(o2, inp, N, C);
      check(`softmax N=${N} C=${C} out`, o2, o1, TOL.softmax.fwd);
      const dout = randn(r, N * C);
      const d1 = randn(r, N * C), d2 = d1.slice();
      R.softmaxBackward(d1, dout, o1, N, C);
      K.softmaxBackward(d2, dout, o1, N, C);
      check(`softmax N=${N} C=${C} dinp`, d2, d1, TOL.softmax.grad);
    }
  });

  it("softplus and log-sigmoid forward and backward (extreme inputs, parallel sizes)", () => {
    const r = rng(14);
    for (const n of [41, 70001]) {
      const inp = randn(r, n, 6);
      inp.set([0, 100, -100, 30, -30, 1e-7, -1e-7, 88, -88, 200, -200]);
      for (const [label, fwd, bwd] of [
        ["softplus", "softplusForward", "softplusBackward"],
        ["logSigmoid", "logSigmoidForward", "logSigmoidBackward"],
      ] as const) {
        const o1 = new Float32Array(n), o2 = new Float32Array(n).fill(NaN);
        R[fwd](o1, inp, n);
        K[fwd](o2, inp, n);
        check(`${label} n=${n} out`, o2, o1, TOL[label].fwd);
        const dout = randn(r, n);
        const d1 = randn(r, n), d2 = d1.slice();
        R[bwd](d1, dout, inp, n);
        K[bwd](d2, dout, inp, n);
        check(`${label} n=${n} dinp`, d2, d1, TOL[label].grad);
      }
    }
  });

  it("weighted sum forward and backward, with and without weights", () => {
    const r = rng(15);
    for (const n of [13, 200003]) {
      const x = randn(r, n), w = randn(r, n);
      for (const weights of [null, w]) {
        const label = `weightedSum n=${n} ${weights ? "weighted" : "plain"}`;
        // the reference sums in double, the native kernel in double per block: equal to f64 rounding
        check(label, [K.weightedSum(x, weights, n)], [R.weightedSum(x, weights, n)], TOL.weightedSum.fwd);
        const d1 = randn(r, n), d2 = d1.slice();
        R.weightedSumBackward(d1, weights, -0.37, n);
        K.weightedSumBackward(d2, weights, -0.37, n);
        check(`${label} dinp`, d2, d1, TOL.weightedSum.grad);
      }
    }
  });

  it("scaleRows forward and backward (either gradient target may be absent)", () => {
    const r = rng(16);
    for (const [N, C] of [[13, 37], [2048, 64]] as const) {
      const inp = randn(r, N * C), sc = randn(r, N);
      const o1 = new Float32Array(N * C), o2 = new Float32Array(N * C).fill(NaN);
      R.scaleRowsForward(o1, inp, sc, N, C);
      K.scaleRowsForward(o2, inp, sc, N, C);
      check(`scaleRows N=${N} C=${C} out`, o2, o1, TOL.scaleRows.fwd);
      const dout = randn(r, N * C);
      const dx1 = randn(r, N * C), dx2 = dx1.slice(), ds1 = randn(r, N), ds2 = ds1.slice();
      R.scaleRowsBackward(dx1, ds1, dout, inp, sc, N, C);
      K.scaleRowsBackward(dx2, ds2, dout, inp, sc, N, C);
      check(`scaleRows N=${N} C=${C} dinp`, dx2, dx1, TOL.scaleRows.grad);
      check(`scaleRows N=${N} C=${C} ds`, ds2, ds1, TOL.scaleRows.gradScale);
      const only = ds1.slice();
      K.scaleRowsBackward(null, only, dout, inp, sc, N, C);
      R.scaleRowsBackward(null, ds1, dout, inp, sc, N, C);
      check(`scaleRows N=${N} C=${C} ds only`, only, ds1, TOL.scaleRows.gradScale);
    }
  });

  it("copyBlock: column picks, splits, contiguous copies, accumulation", () => {
    const r = rng(17);
    for (const [rows, cols, lds, ldd, sOff, dOff] of [[29, 1, 7, 1, 3, 0], [300, 37, 111, 37, 37, 0], [64, 64, 64, 64, 0, 0], [5, 3, 4, 9, 1, 6]] as const) {
      const src = randn(r, sOff + rows * lds);
      const dst0 = randn(r, dOff + rows * ldd);
      for (const accumulate of [false, true]) {
        const d1 = dst0.slice(), d2 = dst0.slice();
        R.copyBlock(d1, dOff, ldd, src, sOff, lds, rows, cols, accumulate);
        K.copyBlock(d2, dOff, ldd, src, sOff, lds, rows, cols, accumulate);
        check(`copyBlock ${rows}x${cols} lds=${lds} ldd=${ldd} acc=${+accumulate}`, d2, d1, TOL.copyBlock.fwd);
      }
    }
    const buf = new Float32Array(20);
    expect(() => K.copyBlock(buf.subarray(2), 0, 4, buf, 0, 4, 3, 4, false)).toThrow(/overlap/);
    expect(() => K.copyBlock(new Float32Array(8), 0, 2, new Float32Array(8), 0, 4, 2, 4, false)).toThrow(/ldd=2 must be >= cols=4/);
  });

  it("rowNormalize forward and backward (a zero row takes the eps floor)", () => {
    const r = rng(18);
    for (const [R_, C] of [[13, 37], [1000, 96]] as const) {
      const inp = randn(r, R_ * C);
      inp.fill(0, C, 2 * C); // row 1: all zeros
      const o1 = new Float32Array(R_ * C), o2 = new Float32Array(R_ * C).fill(NaN);
      const n1 = new Float32Array(R_), n2 = new Float32Array(R_);
      R.rowNormalizeForward(o1, n1, inp, R_, C, 1e-12);
      K.rowNormalizeForward(o2, n2, inp, R_, C, 1e-12);
      check(`rowNormalize R=${R_} C=${C} out`, o2, o1, TOL.rowNormalize.fwd);
      check(`rowNormalize R=${R_} C=${C} norms`, n2, n1, TOL.rowNormalize.fwd);
      const dout = randn(r, R_ * C);
      const d1 = randn(r, R_ * C), d2 = d1.slice();
      R.rowNormalizeBackward(d1, dout, o1, n1, R_, C, 1e-12);
      K.rowNormalizeBackward(d2, dout, o1, n1, R_, C, 1e-12);
      // the floored row's gradient is dout / 1e-12 (~1e12): compare it relatively
      check(`rowNormalize R=${R_} C=${C} dinp`, d2, d1, TOL.rowNormalize.grad);
    }
  });

  it("quantizeQ8 and quantizeBf16 give bit-identical results (ties, zero blocks, NaN)", () => {
    const r = rng(19);
    const rows = 37, cols = 96;
    const w = randn(r, rows * cols, 2);
    w.fill(0, 32, 64); // an all-zero block: scale 0
    w.set([127, -63.5, 63.5, 0.5], 64); // exact halves after scaling by 127/127: round away from zero
    const q1 = new Int8Array(w.length), q2 = new Int8Array(w.length).fill(99);
    const s1 = new Float32Array(w.length / 32), s2 = new Float32Array(w.length / 32).fill(NaN);
    R.quantizeQ8(q1, s1, w, rows, cols);
    K.quantizeQ8(q2, s2, w, rows, cols);
    expect(Array.from(q2)).toEqual(Array.from(q1));
    expect(Array.from(s2)).toEqual(Array.from(s1));
    const v = w.slice(0, 1000);
    v.set([NaN, Infinity, -Infinity, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
    const h1 = new Uint16Array(v.length), h2 = new Uint16Array(v.length);
    R.quantizeBf16(h1, v, v.length);
    K.quantizeBf16(h2, v, v.length);
    expect(Array.from(h2)).toEqual(Array.from(h1));
  });

  it("gemm decode shapes (nn.Linear layout, M = 1..4): long rows cut into spans, tails, rows not a multiple of the group", () => {
    const r = rng(22);
    for (const [M, N, Kd] of [[1, 37, 2100], [2, 19, 4864], [3, 11, 2085], [4, 9, 40], [1, 70, 7]] as const) {
      const A = randn(r, M * Kd), B = randn(r, N * Kd);
      const want = new Float32Array(M * N), got = new Float32Array(M * N).fill(NaN);
      R.gemm({ transA: false, transB: true, M, N, K: Kd, alpha: 1, A, lda: Kd, B, ldb: Kd, beta: 0, C: want, ldc: N });
      K.gemm({ transA: false, transB: true, M, N, K: Kd, alpha: 1, A, lda: Kd, B, ldb: Kd, beta: 0, C: got, ldc: N });
      check(`gemm decode ${M}x${N}x${Kd}`, got, want, gemmTol(Kd));
      // a row's products are the same computed alone
      const one = new Float32Array(N);
      K.gemm({ transA: false, transB: true, M: 1, N, K: Kd, alpha: 1, A: A.subarray((M - 1) * Kd), lda: Kd, B, ldb: Kd, beta: 0, C: one, ldc: N });
      expect(Array.from(one)).toEqual(Array.from(got.subarray((M - 1) * N)));
    }
  });

  it("quantizeActivationsQ8 gives bit-identical results (ties, zero and non-finite blocks, many rows)", () => {
    const r = rng(21);
    const rows = 41, cols = 128;
    const x = randn(r, rows * cols, 3);
    x.set(Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 127 : i - 16 + 0.5)), 0); // exact ties
    x.fill(0, 32, 64);
    x[70] = NaN;
    x[100] = -Infinity;
    for (let i = 128; i < 160; i++) x[i] = (i - 144) * 1e-30; // tiny magnitudes
    const q1 = new Int8Array(x.length), q2 = new Int8Array(x.length).fill(99);
    const d1 = new Float32Array(x.length / 32), d2 = new Float32Array(x.length / 32).fill(7);
    R.quantizeActivationsQ8(q1, d1, x, rows, cols);
    K.quantizeActivationsQ8(q2, d2, x, rows, cols);
    expect(Array.from(q2)).toEqual(Array.from(q1));
    expect(Array.from(d2)).toEqual(Array.from(d1));
  });

  it("matmulQ8 and matmulBf16: decode rows, small batches, prompt-sized panels", () => {
    const r = rng(20);
    for (const [M, N, Kd] of [[1, 67, 96], [3, 130, 64], [5, 33, 32], [8, 64, 128], [9, 70, 96], [40, 150, 160]] as const) {
      const w = randn(r, N * Kd), x = randn(r, M * Kd);
      const q = new Int8Array(N * Kd), sc = new Float32Array((N * Kd) / 32), h = new Uint16Array(N * Kd);
      R.quantizeQ8(q, sc, w, N, Kd);
      R.quantizeBf16(h, w, N * Kd);
      const y1 = new Float32Array(M * N), y2 = new Float32Array(M * N).fill(NaN);
      R.matmulQ8(y1, x, q, sc, M, N, Kd);
      K.matmulQ8(y2, x, q, sc, M, N, Kd);
      check(`matmulQ8 ${M}x${N}x${Kd}`, y2, y1, gemmTol(Kd));
      y2.fill(NaN);
      R.matmulBf16(y1, x, h, M, N, Kd);
      K.matmulBf16(y2, x, h, M, N, Kd);
      check(`matmulBf16 ${M}x${N}x${Kd}`, y2, y1, gemmTol(Kd));
    }
    // bf16 widths need not be a multiple of the vector length
    const x = randn(r, 2 * 45), w = randn(r, 7 * 45), h = new Uint16Array(7 * 45);
    R.quantizeBf16(h, w, h.length);
    const y1 = new Float32Array(14), y2 = new Float32Array(14);
    R.matmulBf16(y1, x, h, 2, 7, 45);
    K.matmulBf16(y2, x, h, 2, 7, 45);
    check("matmulBf16 2x7x45", y2, y1, gemmTol(45));
  });

  it("adamw: three steps with weight decay and gradient scale", () => {
    const r = rng(10);
    const n = 100003;
    const p1 = randn(r, n), p2 = p1.slice(), m1 = new Float32Array(n), m2 = new Float32Array(n), v1 = new Float32Array(n), v2 = new Float32Array(n);
    for (let step = 1; step <= 3; step++) {
      const grad = randn(r, n, step);
      const args = { grad, n, lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, gradScale: 0.25 };
      R.adamw({ ...args, param: p1, m: m1, v: v1 });
      K.adamw({ ...args, param: p2, m: m2, v: v2 });
      check(`adamw step ${step} param`, p2, p1, FWD);
    }
    check("adamw m", m2, m1, FWD);
    check("adamw v", v2, v1, FWD);
  });
}

const native = getNativeKernels();
if (!native) {
  const st = nativeStatus();
  describe.skip(`native kernel parity: SKIPPED, addon not built (${st.available ? "" : st.reason}); ${BUILD_HINT}`, () => {
    it("needs the addon", () => {});
  });
  console.warn(`[parity] native addon not available; native-vs-reference parity suite skipped. ${BUILD_HINT}`);
} else {
  describe("native kernels: results do not depend on the thread count", () => {
    it("reductions (rmsnorm dweight, sumSquares, weightedSum, cross-entropy, q8_0 and f32 decode products) are bitwise equal at 1 and 2 threads", () => {
      const r = rng(12);
      const N = 300, C = 96, V = 1000;
      const inp = randn(r, N * C), w = randn(r, C), dout = randn(r, N * C), x = randn(r, 200_003), logits = randn(r, 64 * V, 3);
      const targets = Int32Array.from({ length: 64 }, (_, i) => (i * 37) % V);
      const run = (threads: number) => {
        setThreads(threads);
        const out = new Float32Array(N * C), rstd = new Float32Array(N), dx = new Float32Array(N * C), dw = new Float32Array(C);
        native.rmsnormForward(out, rstd, inp, w, N, C, 1e-6);
        native.rmsnormBackward(dx, dw, dout, inp, w, rstd, N, C);
        const losses = new Float32Array(64), lse = new Float32Array(64), dl = new Float32Array(64 * V);
        native.crossEntropyForward(losses, lse, logits, targets, 64, V, -100);
        native.crossEntropyBackward(dl, new Float32Array(64).fill(1 / 64), logits, lse, targets, 64, V, -100);
        const ws = native.weightedSum(x, x.slice().reverse(), x.length);
        // quantised decode products (rows split across threads) and a prompt-sized panel product
        const q = new Int8Array(N * C), sc = new Float32Array((N * C) / 32), yq = new Float32Array(3 * N), yp = new Float32Array(20 * N);
        native.quantizeQ8(q, sc, inp, N, C);
        native.matmulQ8(yq, dout, q, sc, 3, N, C);
        native.matmulQ8(yp, dout, q, sc, 20, N, C);
        // a decode row's products do not depend on how many rows share the step
        const y1 = new Float32Array(N);
        native.matmulQ8(y1, dout.subarray(C, 2 * C), q, sc, 1, N, C);
        expect(Array.from(y1)).toEqual(Array.from(yq.subarray(N, 2 * N)));
        // f32 decode products (weight rows split across threads), also nested inside a batched product
        const yg = new Float32Array(3 * N), yb = new Float32Array(6 * N), yl = new Float32Array(2 * 64);
        native.gemm({ transA: false, transB: true, M: 2, N: 64, K: 2 * C * 12, alpha: 1, A: x, lda: 2 * C * 12, B: x.subarray(5000), ldb: 2 * C * 12, beta: 0, C: yl, ldc: 64 });
        native.gemm({ transA: false, transB: true, M: 3, N, K: C, alpha: 1, A: dout, lda: C, B: inp, ldb: C, beta: 0, C: yg, ldc: N });
        native.gemm({ transA: false, transB: true, M: 1, N, K: C, alpha: 1, A: dout.subarray(C), lda: C, B: inp, ldb: C, beta: 0, C: y1, ldc: N });
        expect(Array.from(y1)).toEqual(Array.from(yg.subarray(N, 2 * N)));
        native.gemmBatched({ transA: false, transB: true, M: 1, N: 50, K: C, alpha: 1, A: dout, lda: C, B: inp, ldb: C, beta: 0, C: yb, ldc: 50, batch: 6, strideA: C, strideB: 50 * C, strideC: 50 });
        return { dx, dw, ss: native.sumSquares(x, x.length), ws, losses, dl, yq, yp, yg, yb, yl };
      };
      const a = run(1), b = run(2);
      expect(Array.from(b.dw)).toEqual(Array.from(a.dw));
      expect(Array.from(b.dx)).toEqual(Array.from(a.dx));
      expect(b.ss).toBe(a.ss);
      expect(b.ws).toBe(a.ws);
      expect(Array.from(b.yq)).toEqual(Array.from(a.yq));
      expect(Array.from(b.yp)).toEqual(Array.from(a.yp));
      expect(Array.from(b.yg)).toEqual(Array.from(a.yg));
      expect(Array.from(b.yb)).toEqual(Array.from(a.yb));
      expect(Array.from(b.yl)).toEqual(Array.from(a.yl));
      expect(Array.from(b.losses)).toEqual(Array.from(a.losses));
      expect(Array.from(b.dl)).toEqual(Array.from(a.dl));
    });
  });

  for (const threads of [1, 2]) {
    describe(`native kernels vs reference, ${threads} thread(s)`, () => {
      it("sets the thread count", () => {
        setThreads(threads);
        expect(nativeStatus()).toMatchObject({ available: true, threads });
      });
      kernelParitySuite(native);
    });
  }
}
