/**
 * The one argument-validation layer of the kernel boundary.
 *
 * `validated(impl)` wraps any `Kernels` implementation (reference, native, a future GPU backend) so
 * every call is checked before it reaches the implementation: a bad shape or offset becomes a
 * KernelArgumentError (a RangeError) naming the kernel, the argument and what was expected, instead
 * of a silent out-of-bounds read in C++ or a NaN in JavaScript. Implementations themselves do no
 * checking and may trust their arguments. This module does no math.
 */
import type { AttentionShape, BatchedGemmArgs, F32, GemmArgs, Kernels } from "./kernels.js";

/** Thrown for an argument that does not fit the documented shape contract. */
export class KernelArgumentError extends RangeError {
  constructor(kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = "KernelArgumentError";
  }
}

function fail(kernel: string, message: string): never {
  throw new KernelArgumentError(kernel, message);
}

export function checkInt(kernel: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) fail(kernel, `${name} must be an integer >= ${min}, got ${v}`);
}

/** The array must hold at least `need` elements. */
export function checkLen(kernel: string, name: string, arr: ArrayLike<number>, need: number): void {
  if (arr.length < need) fail(kernel, `${name} has ${arr.length} elements, needs at least ${need}`);
}

/** Element span touched by a (rows, cols) row-major view with leading dimension ld. */
function span(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

export function checkGemm(kernel: string, a: GemmArgs, batch = 1, strides?: { A: number; B: number; C: number }): void {
  const { M, N, K } = a;
  checkInt(kernel, "M", M);
  checkInt(kernel, "N", N);
  checkInt(kernel, "K", K);
  checkInt(kernel, "batch", batch);
  const aRows = a.transA ? K : M;
  const aCols = a.transA ? M : K;
  const bRows = a.transB ? N : K;
  const bCols = a.transB ? K : N;
  if (!Number.isInteger(a.lda) || a.lda < Math.max(1, aCols)) fail(kernel, `lda=${a.lda} must be >= ${aCols} (transA=${a.transA})`);
  if (!Number.isInteger(a.ldb) || a.ldb < Math.max(1, bCols)) fail(kernel, `ldb=${a.ldb} must be >= ${bCols} (transB=${a.transB})`);
  if (!Number.isInteger(a.ldc) || a.ldc < Math.max(1, N)) fail(kernel, `ldc=${a.ldc} must be >= N=${N}`);
  const ao = a.aOffset ?? 0;
  const bo = a.bOffset ?? 0;
  const co = a.cOffset ?? 0;
  checkInt(kernel, "aOffset", ao);
  checkInt(kernel, "bOffset", bo);
  checkInt(kernel, "cOffset", co);
  if (batch === 0) return;
  const sA = strides?.A ?? 0;
  const sB = strides?.B ?? 0;
  const sC = strides?.C ?? 0;
  checkInt(kernel, "strideA", sA);
  checkInt(kernel, "strideB", sB);
  checkInt(kernel, "strideC", sC);
  if (K > 0 && M > 0) checkLen(kernel, "A", a.A, ao + (batch - 1) * sA + span(aRows, aCols, a.lda));
  if (K > 0 && N > 0) checkLen(kernel, "B", a.B, bo + (batch - 1) * sB + span(bRows, bCols, a.ldb));
  checkLen(kernel, "C", a.C, co + (batch - 1) * sC + span(M, N, a.ldc));
  if (!Number.isFinite(a.alpha) || !Number.isFinite(a.beta)) fail(kernel, `alpha and beta must be finite numbers`);
}

export function checkBatchedGemm(kernel: string, a: BatchedGemmArgs): void {
  checkGemm(kernel, a, a.batch, { A: a.strideA, B: a.strideB, C: a.strideC });
}

export function checkIds(kernel: string, name: string, ids: Int32Array, n: number, limit: number): void {
  checkLen(kernel, name, ids, n);
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= limit) fail(kernel, `${name}[${i}]=${id} is outside [0,${limit})`);
  }
}

export function checkTargets(kernel: string, targets: Int32Array, N: number, V: number, ignoreIndex: number): void {
  checkLen(kernel, "targets", targets, N);
  for (let i = 0; i < N; i++) {
    const t = targets[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= V)) fail(kernel, `targets[${i}]=${t} is outside [0,${V}) and is not ignoreIndex=${ignoreIndex}`);
  }
}

export function checkRope(kernel: string, x: F32, cos: F32, sin: F32, positions: Int32Array, B: number, T: number, Hx: number, D: number): void {
  checkInt(kernel, "B", B);
  checkInt(kernel, "T", T);
  checkInt(kernel, "Hx", Hx);
  checkInt(kernel, "D", D, 2);
  if (D % 2 !== 0) fail(kernel, `head dim D=${D} must be even`);
  const half = D / 2;
  if (cos.length !== sin.length || cos.length % half !== 0) fail(kernel, `cos/sin tables must both be (maxPos, D/2=${half}); got lengths ${cos.length} and ${sin.length}`);
  checkLen(kernel, "x", x, B * T * Hx * D);
  checkIds(kernel, "positions", positions, B * T, cos.length / half);
}

export function checkAttention(
  kernel: string,
  a: AttentionShape,
  tensors: Record<string, { arr: ArrayLike<number>; len: "q" | "kv" | "lse" }>,
): void {
  const { B, Tq, Tk, H, Hkv, D } = a;
  checkInt(kernel, "B", B);
  checkInt(kernel, "Tq", Tq);
  checkInt(kernel, "Tk", Tk);
  checkInt(kernel, "H", H, 1);
  checkInt(kernel, "Hkv", Hkv, 1);
  checkInt(kernel, "D", D, 1);
  if (Tk < Tq) fail(kernel, `Tk=${Tk} must be >= Tq=${Tq}`);
  if (H % Hkv !== 0) fail(kernel, `H=${H} must be a multiple of Hkv=${Hkv}`);
  if (!Number.isFinite(a.scale)) fail(kernel, `scale must be finite, got ${a.scale}`);
  if (a.alibiSlopes) checkLen(kernel, "alibiSlopes", a.alibiSlopes, H);
  if (a.keyMask) checkLen(kernel, "keyMask", a.keyMask, B * Tk);
  if (a.segmentIds) checkLen(kernel, "segmentIds", a.segmentIds, B * Tk);
  const sizes = { q: B * Tq * H * D, kv: B * Tk * Hkv * D, lse: B * H * Tq };
  for (const [name, t] of Object.entries(tensors)) checkLen(kernel, name, t.arr, sizes[t.len]);
}

/** Row-wise kernels over (N, C): integer shape, then every named array at least N*C (or N) long. */
function checkRows(
  kernel: string, N: number, C: number, full: Record<string, ArrayLike<number> | null>, perRow: Record<string, ArrayLike<number> | null> = {}, rowName = "N",
): void {
  checkInt(kernel, rowName, N);
  checkInt(kernel, "C", C, 1);
  for (const [name, arr] of Object.entries(full)) if (arr) checkLen(kernel, name, arr, N * C);
  for (const [name, arr] of Object.entries(perRow)) if (arr) checkLen(kernel, name, arr, N);
}

/** Element-wise kernels over n elements. */
function checkElems(kernel: string, n: number, arrays: Record<string, ArrayLike<number> | null>): void {
  checkInt(kernel, "n", n);
  for (const [name, arr] of Object.entries(arrays)) if (arr) checkLen(kernel, name, arr, n);
}

export function checkCopyBlock(
  kernel: string, dst: F32, dOffset: number, ldd: number, src: F32, sOffset: number, lds: number, rows: number, cols: number,
): void {
  checkInt(kernel, "rows", rows);
  checkInt(kernel, "cols", cols);
  checkInt(kernel, "dOffset", dOffset);
  checkInt(kernel, "sOffset", sOffset);
  if (!Number.isInteger(ldd) || ldd < Math.max(1, cols)) fail(kernel, `ldd=${ldd} must be >= cols=${cols}`);
  if (!Number.isInteger(lds) || lds < Math.max(1, cols)) fail(kernel, `lds=${lds} must be >= cols=${cols}`);
  checkLen(kernel, "dst", dst, dOffset + span(rows, cols, ldd));
  checkLen(kernel, "src", src, sOffset + span(rows, cols, lds));
  if (dst.buffer === src.buffer && rows > 0 && cols > 0) {
    // the two element ranges, in bytes of the shared buffer, must be disjoint
    const d0 = dst.byteOffset + 4 * dOffset, d1 = d0 + 4 * span(rows, cols, ldd);
    const s0 = src.byteOffset + 4 * sOffset, s1 = s0 + 4 * span(rows, cols, lds);
    if (d0 < s1 && s0 < d1) fail(kernel, "dst and src blocks overlap in the same buffer");
  }
}

/** y (M,N) = x (M,K) · Wᵀ over a quantised W (N,K) of `wLen` stored elements. */
function checkQuantMatmul(kernel: string, y: F32, x: F32, wLen: number, M: number, N: number, K: number): void {
  checkInt(kernel, "M", M);
  checkInt(kernel, "N", N);
  checkInt(kernel, "K", K, 1);
  checkLen(kernel, "x", x, M * K);
  checkLen(kernel, "y", y, M * N);
  if (wLen < N * K) fail(kernel, `weight has ${wLen} elements, needs at least N*K = ${N * K}`);
}

/**
 * `impl` behind the argument checks: each method validates exactly as documented in kernels.ts and
 * then calls the same method of `impl` with the same arguments. The wrapper adds one call per kernel
 * invocation and nothing else, so the native path stays cheap.
 */
export function validated(impl: Kernels): Kernels {
  return {
    name: impl.name,

    adviseHugePages(buf) {
      if (!(buf instanceof Float32Array || buf instanceof Int8Array || buf instanceof Uint16Array)) {
        fail("adviseHugePages", "buf must be a Float32Array, Int8Array or Uint16Array");
      }
      return impl.adviseHugePages(buf);
    },

    gemm(a) {
      checkGemm("gemm", a);
      impl.gemm(a);
    },
    gemmBatched(a) {
      checkBatchedGemm("gemmBatched", a);
      impl.gemmBatched(a);
    },
    embeddingForward(out, table, ids, C) {
      checkInt("embeddingForward", "C", C, 1);
      checkIds("embeddingForward", "ids", ids, ids.length, Math.floor(table.length / C));
      checkLen("embeddingForward", "out", out, ids.length * C);
      impl.embeddingForward(out, table, ids, C);
    },
    embeddingBackward(dtable, dout, ids, C) {
      checkInt("embeddingBackward", "C", C, 1);
      checkIds("embeddingBackward", "ids", ids, ids.length, Math.floor(dtable.length / C));
      checkLen("embeddingBackward", "dout", dout, ids.length * C);
      impl.embeddingBackward(dtable, dout, ids, C);
    },
    rmsnormForward(out, rstd, inp, weight, N, C, eps) {
      checkInt("rmsnormForward", "N", N);
      checkInt("rmsnormForward", "C", C, 1);
      checkLen("rmsnormForward", "inp", inp, N * C);
      checkLen("rmsnormForward", "out", out, N * C);
      checkLen("rmsnormForward", "rstd", rstd, N);
      checkLen("rmsnormForward", "weight", weight, C);
      impl.rmsnormForward(out, rstd, inp, weight, N, C, eps);
    },
    rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C) {
      checkInt("rmsnormBackward", "N", N);
      checkInt("rmsnormBackward", "C", C, 1);
      checkLen("rmsnormBackward", "dinp", dinp, N * C);
      checkLen("rmsnormBackward", "dout", dout, N * C);
      checkLen("rmsnormBackward", "inp", inp, N * C);
      checkLen("rmsnormBackward", "rstd", rstd, N);
      checkLen("rmsnormBackward", "weight", weight, C);
      checkLen("rmsnormBackward", "dweight", dweight, C);
      impl.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    },
    ropeForward(x, cos, sin, positions, B, T, Hx, D) {
      checkRope("ropeForward", x, cos, sin, positions, B, T, Hx, D);
      impl.ropeForward(x, cos, sin, positions, B, T, Hx, D);
    },
    ropeBackward(dx, cos, sin, positions, B, T, Hx, D) {
      checkRope("ropeBackward", dx, cos, sin, positions, B, T, Hx, D);
      impl.ropeBackward(dx, cos, sin, positions, B, T, Hx, D);
    },
    attentionForward(a) {
      checkAttention("attentionForward", a, {
        q: { arr: a.q, len: "q" },
        k: { arr: a.k, len: "kv" },
        v: { arr: a.v, len: "kv" },
        out: { arr: a.out, len: "q" },
        lse: { arr: a.lse, len: "lse" },
      });
      impl.attentionForward(a);
    },
    attentionBackward(a) {
      checkAttention("attentionBackward", a, {
        q: { arr: a.q, len: "q" },
        k: { arr: a.k, len: "kv" },
        v: { arr: a.v, len: "kv" },
        out: { arr: a.out, len: "q" },
        dout: { arr: a.dout, len: "q" },
        dq: { arr: a.dq, len: "q" },
        dk: { arr: a.dk, len: "kv" },
        dv: { arr: a.dv, len: "kv" },
        lse: { arr: a.lse, len: "lse" },
      });
      impl.attentionBackward(a);
    },
    swigluForward(out, gate, up, n) {
      checkInt("swigluForward", "n", n);
      checkLen("swigluForward", "out", out, n);
      checkLen("swigluForward", "gate", gate, n);
      checkLen("swigluForward", "up", up, n);
      impl.swigluForward(out, gate, up, n);
    },
    swigluBackward(dgate, dup, dout, gate, up, n) {
      checkInt("swigluBackward", "n", n);
      checkLen("swigluBackward", "dgate", dgate, n);
      checkLen("swigluBackward", "dup", dup, n);
      checkLen("swigluBackward", "dout", dout, n);
      checkLen("swigluBackward", "gate", gate, n);
      checkLen("swigluBackward", "up", up, n);
      impl.swigluBackward(dgate, dup, dout, gate, up, n);
    },
    crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex) {
      checkInt("crossEntropyForward", "N", N);
      checkInt("crossEntropyForward", "V", V, 1);
      checkLen("crossEntropyForward", "logits", logits, N * V);
      checkLen("crossEntropyForward", "losses", losses, N);
      checkLen("crossEntropyForward", "lse", lse, N);
      checkTargets("crossEntropyForward", targets, N, V, ignoreIndex);
      impl.crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex);
    },
    crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex) {
      checkInt("crossEntropyBackward", "N", N);
      checkInt("crossEntropyBackward", "V", V, 1);
      checkLen("crossEntropyBackward", "logits", logits, N * V);
      checkLen("crossEntropyBackward", "dlogits", dlogits, N * V);
      checkLen("crossEntropyBackward", "dlosses", dlosses, N);
      checkLen("crossEntropyBackward", "lse", lse, N);
      checkTargets("crossEntropyBackward", targets, N, V, ignoreIndex);
      impl.crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex);
    },
    add(out, a, b, n) {
      checkInt("add", "n", n);
      checkLen("add", "out", out, n);
      checkLen("add", "a", a, n);
      checkLen("add", "b", b, n);
      impl.add(out, a, b, n);
    },
    mul(out, a, b, n) {
      checkInt("mul", "n", n);
      checkLen("mul", "out", out, n);
      checkLen("mul", "a", a, n);
      checkLen("mul", "b", b, n);
      impl.mul(out, a, b, n);
    },
    axpy(y, x, alpha, n) {
      checkInt("axpy", "n", n);
      checkLen("axpy", "y", y, n);
      checkLen("axpy", "x", x, n);
      impl.axpy(y, x, alpha, n);
    },
    scale(x, alpha, n) {
      checkInt("scale", "n", n);
      checkLen("scale", "x", x, n);
      impl.scale(x, alpha, n);
    },
    sumSquares(x, n) {
      checkInt("sumSquares", "n", n);
      checkLen("sumSquares", "x", x, n);
      return impl.sumSquares(x, n);
    },
    adamw(a) {
      checkInt("adamw", "n", a.n);
      checkInt("adamw", "step", a.step, 1);
      checkLen("adamw", "param", a.param, a.n);
      checkLen("adamw", "grad", a.grad, a.n);
      checkLen("adamw", "m", a.m, a.n);
      checkLen("adamw", "v", a.v, a.n);
      impl.adamw(a);
    },
    softmaxForward(out, inp, N, C) {
      checkRows("softmaxForward", N, C, { out, inp });
      impl.softmaxForward(out, inp, N, C);
    },
    softmaxBackward(dinp, dout, out, N, C) {
      checkRows("softmaxBackward", N, C, { dinp, dout, out });
      impl.softmaxBackward(dinp, dout, out, N, C);
    },
    softplusForward(out, inp, n) {
      checkElems("softplusForward", n, { out, inp });
      impl.softplusForward(out, inp, n);
    },
    softplusBackward(dinp, dout, inp, n) {
      checkElems("softplusBackward", n, { dinp, dout, inp });
      impl.softplusBackward(dinp, dout, inp, n);
    },
    logSigmoidForward(out, inp, n) {
      checkElems("logSigmoidForward", n, { out, inp });
      impl.logSigmoidForward(out, inp, n);
    },
    logSigmoidBackward(dinp, dout, inp, n) {
      checkElems("logSigmoidBackward", n, { dinp, dout, inp });
      impl.logSigmoidBackward(dinp, dout, inp, n);
    },
    weightedSum(x, weights, n) {
      checkElems("weightedSum", n, { x, weights });
      return impl.weightedSum(x, weights, n);
    },
    weightedSumBackward(dinp, weights, g, n) {
      checkElems("weightedSumBackward", n, { dinp, weights });
      impl.weightedSumBackward(dinp, weights, g, n);
    },
    scaleRowsForward(out, inp, s, N, C) {
      checkRows("scaleRowsForward", N, C, { out, inp }, { s });
      impl.scaleRowsForward(out, inp, s, N, C);
    },
    scaleRowsBackward(dinp, ds, dout, inp, s, N, C) {
      checkRows("scaleRowsBackward", N, C, { dinp, dout, inp }, { ds, s });
      impl.scaleRowsBackward(dinp, ds, dout, inp, s, N, C);
    },
    copyBlock(dst, dOffset, ldd, src, sOffset, lds, rows, cols, accumulate) {
      checkCopyBlock("copyBlock", dst, dOffset, ldd, src, sOffset, lds, rows, cols);
      impl.copyBlock(dst, dOffset, ldd, src, sOffset, lds, rows, cols, accumulate);
    },
    rowNormalizeForward(out, norms, inp, R, C, eps) {
      checkRows("rowNormalizeForward", R, C, { out, inp }, { norms }, "R");
      if (!(eps > 0) || !Number.isFinite(eps)) fail("rowNormalizeForward", `eps must be a positive number, got ${eps}`);
      impl.rowNormalizeForward(out, norms, inp, R, C, eps);
    },
    rowNormalizeBackward(dinp, dout, out, norms, R, C, eps) {
      checkRows("rowNormalizeBackward", R, C, { dinp, dout, out }, { norms }, "R");
      if (!(eps > 0) || !Number.isFinite(eps)) fail("rowNormalizeBackward", `eps must be a positive number, got ${eps}`);
      impl.rowNormalizeBackward(dinp, dout, out, norms, R, C, eps);
    },
    quantizeQ8(q, scales, w, rows, cols) {
      checkInt("quantizeQ8", "rows", rows);
      checkInt("quantizeQ8", "cols", cols, 1);
      if (cols % 32 !== 0) fail("quantizeQ8", `cols=${cols} must be a multiple of the block size 32`);
      checkLen("quantizeQ8", "w", w, rows * cols);
      checkLen("quantizeQ8", "q", q, rows * cols);
      checkLen("quantizeQ8", "scales", scales, (rows * cols) / 32);
      impl.quantizeQ8(q, scales, w, rows, cols);
    },
    quantizeBf16(out, w, n) {
      checkElems("quantizeBf16", n, { out, w });
      impl.quantizeBf16(out, w, n);
    },
    quantizeActivationsQ8(q, scales, x, rows, cols) {
      checkInt("quantizeActivationsQ8", "rows", rows);
      checkInt("quantizeActivationsQ8", "cols", cols, 1);
      if (cols % 32 !== 0) fail("quantizeActivationsQ8", `cols=${cols} must be a multiple of the block size 32`);
      checkLen("quantizeActivationsQ8", "x", x, rows * cols);
      checkLen("quantizeActivationsQ8", "q", q, rows * cols);
      checkLen("quantizeActivationsQ8", "scales", scales, (rows * cols) / 32);
      impl.quantizeActivationsQ8(q, scales, x, rows, cols);
    },
    matmulQ8(y, x, q, scales, M, N, K) {
      checkQuantMatmul("matmulQ8", y, x, q.length, M, N, K);
      if (K % 32 !== 0) fail("matmulQ8", `K=${K} must be a multiple of the block size 32`);
      checkLen("matmulQ8", "scales", scales, (N * K) / 32);
      impl.matmulQ8(y, x, q, scales, M, N, K);
    },
    matmulBf16(y, x, w, M, N, K) {
      checkQuantMatmul("matmulBf16", y, x, w.length, M, N, K);
      impl.matmulBf16(y, x, w, M, N, K);
    },
  };
}
