/**
 * The native kernels: loads the N-API addon (native/build/Release/pedgpt_native.node) and adapts it
 * to the `Kernels` interface.
 *
 * This file is the whole native boundary: `NativeAddon` below lists every C++ export with the same
 * names and argument order as native/src/addon.cc. The shared validation layer (validate.ts) wraps
 * this adapter, so arguments are checked before they cross and the C++ side may trust shapes and
 * offsets. This module does not decide whether the native kernels are used; index.ts does.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { F32, Kernels } from "./kernels.js";
import { validated } from "./validate.js";

/** Typed view of the C++ exports (native/src/addon.cc). Typed arrays may be subarray views. */
export interface NativeAddon {
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: F32, aOffset: number, lda: number, B: F32, bOffset: number, ldb: number,
    beta: number, C: F32, cOffset: number, ldc: number,
  ): void;
  gemmBatched(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: F32, aOffset: number, lda: number, B: F32, bOffset: number, ldb: number,
    beta: number, C: F32, cOffset: number, ldc: number,
    batch: number, strideA: number, strideB: number, strideC: number,
  ): void;
  embeddingForward(out: F32, table: F32, ids: Int32Array, N: number, C: number): void;
  embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, N: number, C: number): void;
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void;
  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void;
  /** rows = B*T */
  ropeForward(x: F32, cos: F32, sin: F32, positions: Int32Array, rows: number, Hx: number, D: number): void;
  ropeBackward(dx: F32, cos: F32, sin: F32, positions: Int32Array, rows: number, Hx: number, D: number): void;
  attentionForward(
    out: F32, lse: F32, q: F32, k: F32, v: F32,
    B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number, scale: number,
    alibiSlopes: F32 | null, keyMask: Uint8Array | null, segmentIds: Int32Array | null,
  ): void;
  attentionBackward(
    dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    B: number, Tq: number, Tk: number, H: number, Hkv: number, D: number, scale: number,
    alibiSlopes: F32 | null, keyMask: Uint8Array | null, segmentIds: Int32Array | null,
  ): void;
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;
  crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;
  crossEntropyBackward(dlogits: F32, dlosses: F32, logits: F32, lse: F32, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;
  add(out: F32, a: F32, b: F32, n: number): void;
  mul(out: F32, a: F32, b: F32, n: number): void;
  axpy(y: F32, x: F32, alpha: number, n: number): void;
  scale(x: F32, alpha: number, n: number): void;
  sumSquares(x: F32, n: number): number;
  adamw(
    param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number, gradScale: number,
  ): void;
  softmaxForward(out: F32, inp: F32, N: number, C: number): void;
  softmaxBackward(dinp: F32, dout: F32, out: F32, N: number, C: number): void;
  softplusForward(out: F32, inp: F32, n: number): void;
  softplusBackward(dinp: F32, dout: F32, inp: F32, n: number): void;
  logSigmoidForward(out: F32, inp: F32, n: number): void;
  logSigmoidBackward(dinp: F32, dout: F32, inp: F32, n: number): void;
  weightedSum(x: F32, weights: F32 | null, n: number): number;
  weightedSumBackward(dinp: F32, weights: F32 | null, g: number, n: number): void;
  scaleRowsForward(out: F32, inp: F32, s: F32, N: number, C: number): void;
  scaleRowsBackward(dinp: F32 | null, ds: F32 | null, dout: F32, inp: F32, s: F32, N: number, C: number): void;
  copyBlock(dst: F32, dOffset: number, ldd: number, src: F32, sOffset: number, lds: number, rows: number, cols: number, accumulate: boolean): void;
  rowNormalizeForward(out: F32, norms: F32, inp: F32, R: number, C: number, eps: number): void;
  rowNormalizeBackward(dinp: F32, dout: F32, out: F32, norms: F32, R: number, C: number, eps: number): void;
  quantizeQ8(q: Int8Array, scales: F32, w: F32, rows: number, cols: number): void;
  quantizeBf16(out: Uint16Array, w: F32, n: number): void;
  quantizeActivationsQ8(q: Int8Array, scales: F32, x: F32, rows: number, cols: number): void;
  matmulQ8(y: F32, x: F32, q: Int8Array, scales: F32, M: number, N: number, K: number): void;
  matmulBf16(y: F32, x: F32, w: Uint16Array, M: number, N: number, K: number): void;
  adviseHugePages(buf: Float32Array | Int8Array | Uint16Array): number;
  /** Sets OpenBLAS threads and the addon's own pool together. */
  setThreads(n: number): void;
  getThreads(): number;
  /** build facts: BLAS config string, SIMD flags compiled in */
  info(): { blas: string; simd: string; threads: number };
}

const here = dirname(fileURLToPath(import.meta.url));

/** Where the built addon is expected: native/build/Release under the package root. */
export function nativeAddonPath(): string {
  // src/engine/kernels -> package root (also dist/src/engine/kernels -> dist, so look up for native/)
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "native", "build", "Release", "pedgpt_native.node");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return resolve(here, "../../../native/build/Release/pedgpt_native.node");
}

/** Loads the raw addon; throws with the path and the loader's message when it is missing or broken. */
export function loadNativeAddon(path = nativeAddonPath()): NativeAddon {
  if (!existsSync(path)) throw new Error(`native kernel addon not found at ${path}`);
  const require = createRequire(import.meta.url);
  return require(path) as NativeAddon;
}

/** The `Kernels` implementation over a loaded addon, every call argument-checked before it crosses. */
export function nativeKernels(addon: NativeAddon): Kernels {
  return validated({
    name: "native",

    adviseHugePages: (buf) => addon.adviseHugePages(buf),

    gemm(a) {
      addon.gemm(a.transA, a.transB, a.M, a.N, a.K, a.alpha, a.A, a.aOffset ?? 0, a.lda, a.B, a.bOffset ?? 0, a.ldb, a.beta, a.C, a.cOffset ?? 0, a.ldc);
    },
    gemmBatched(a) {
      addon.gemmBatched(
        a.transA, a.transB, a.M, a.N, a.K, a.alpha, a.A, a.aOffset ?? 0, a.lda, a.B, a.bOffset ?? 0, a.ldb,
        a.beta, a.C, a.cOffset ?? 0, a.ldc, a.batch, a.strideA, a.strideB, a.strideC,
      );
    },
    embeddingForward(out, table, ids, C) {
      addon.embeddingForward(out, table, ids, ids.length, C);
    },
    embeddingBackward(dtable, dout, ids, C) {
      addon.embeddingBackward(dtable, dout, ids, ids.length, C);
    },
    rmsnormForward(out, rstd, inp, weight, N, C, eps) {
      addon.rmsnormForward(out, rstd, inp, weight, N, C, eps);
    },
    rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C) {
      addon.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
    },
    ropeForward(x, cos, sin, positions, B, T, Hx, D) {
      addon.ropeForward(x, cos, sin, positions, B * T, Hx, D);
    },
    ropeBackward(dx, cos, sin, positions, B, T, Hx, D) {
      addon.ropeBackward(dx, cos, sin, positions, B * T, Hx, D);
    },
    attentionForward(a) {
      addon.attentionForward(a.out, a.lse, a.q, a.k, a.v, a.B, a.Tq, a.Tk, a.H, a.Hkv, a.D, a.scale, a.alibiSlopes, a.keyMask, a.segmentIds ?? null);
    },
    attentionBackward(a) {
      addon.attentionBackward(
        a.dq, a.dk, a.dv, a.dout, a.q, a.k, a.v, a.out, a.lse,
        a.B, a.Tq, a.Tk, a.H, a.Hkv, a.D, a.scale, a.alibiSlopes, a.keyMask, a.segmentIds ?? null,
      );
    },
    swigluForward(out, gate, up, n) {
      addon.swigluForward(out, gate, up, n);
    },
    swigluBackward(dgate, dup, dout, gate, up, n) {
      addon.swigluBackward(dgate, dup, dout, gate, up, n);
    },
    crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex) {
      addon.crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex);
    },
    crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex) {
      addon.crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex);
    },
    add(out, a, b, n) {
      addon.add(out, a, b, n);
    },
    mul(out, a, b, n) {
      addon.mul(out, a, b, n);
    },
    axpy(y, x, alpha, n) {
      addon.axpy(y, x, alpha, n);
    },
    scale(x, alpha, n) {
      addon.scale(x, alpha, n);
    },
    sumSquares(x, n) {
      return addon.sumSquares(x, n);
    },
    adamw(a) {
      addon.adamw(a.param, a.grad, a.m, a.v, a.n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.step, a.gradScale ?? 1);
    },
    softmaxForward: (out, inp, N, C) => addon.softmaxForward(out, inp, N, C),
    softmaxBackward: (dinp, dout, out, N, C) => addon.softmaxBackward(dinp, dout, out, N, C),
    softplusForward: (out, inp, n) => addon.softplusForward(out, inp, n),
    softplusBackward: (dinp, dout, inp, n) => addon.softplusBackward(dinp, dout, inp, n),
    logSigmoidForward: (out, inp, n) => addon.logSigmoidForward(out, inp, n),
    logSigmoidBackward: (dinp, dout, inp, n) => addon.logSigmoidBackward(dinp, dout, inp, n),
    weightedSum: (x, weights, n) => addon.weightedSum(x, weights, n),
    weightedSumBackward: (dinp, weights, g, n) => addon.weightedSumBackward(dinp, weights, g, n),
    scaleRowsForward: (out, inp, s, N, C) => addon.scaleRowsForward(out, inp, s, N, C),
    scaleRowsBackward: (dinp, ds, dout, inp, s, N, C) => addon.scaleRowsBackward(dinp, ds, dout, inp, s, N, C),
    copyBlock: (dst, dOffset, ldd, src, sOffset, lds, rows, cols, accumulate) =>
      addon.copyBlock(dst, dOffset, ldd, src, sOffset, lds, rows, cols, accumulate),
    rowNormalizeForward: (out, norms, inp, R, C, eps) => addon.rowNormalizeForward(out, norms, inp, R, C, eps),
    rowNormalizeBackward: (dinp, dout, out, norms, R, C, eps) => addon.rowNormalizeBackward(dinp, dout, out, norms, R, C, eps),
    quantizeQ8: (q, scales, w, rows, cols) => addon.quantizeQ8(q, scales, w, rows, cols),
    quantizeBf16: (out, w, n) => addon.quantizeBf16(out, w, n),
    quantizeActivationsQ8: (q, scales, x, rows, cols) => addon.quantizeActivationsQ8(q, scales, x, rows, cols),
    matmulQ8: (y, x, q, scales, M, N, K) => addon.matmulQ8(y, x, q, scales, M, N, K),
    matmulBf16: (y, x, w, M, N, K) => addon.matmulBf16(y, x, w, M, N, K),
  });
}
