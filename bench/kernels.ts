/**
 * Kernel benchmark: `npm run bench -- kernels [--threads N] [--quick]`.
 *
 * Measures, native addon vs TypeScript reference in the same run: cblas_sgemm GFLOP/s at 1024^3
 * (the peak MFU is measured against), causal attention forward/backward (B=1, T=512, H=12, D=64)
 * and the element-wise/row-wise kernels (RMSNorm, RoPE, SwiGLU, cross-entropy, AdamW, and the narrow
 * router/preference ops: softmax, softplus, log-sigmoid, row scaling, row normalisation, column splits) in
 * elements/s. The reference is timed on smaller sizes where it would take seconds and reported as a
 * rate. Ends with one JSON line (bench/run.ts convention). Not a test; timings on a shared machine are
 * noisy, so each figure is the best of several runs.
 */
import { cpus } from "node:os";
import type { Kernels } from "../src/engine/kernels/index.js";
import { getNativeKernels, nativeStatus, referenceKernels, ropeTables, setThreads, getThreads } from "../src/engine/kernels/index.js";

/** Best wall time in seconds of `fn` over `reps` runs after `warm` warm-up runs. */
export function bestTime(fn: () => void, reps: number, warm = 1): number {
  for (let i = 0; i < warm; i++) fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return best;
}

function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() + Math.random() + Math.random() - 1.5) * 1.4;
  return a;
}

/** sgemm GFLOP/s of an n^3 product (best of reps). */
export function sgemmGflops(K: Kernels, n: number, reps: number): number {
  const A = randn(n * n), B = randn(n * n), C = new Float32Array(n * n);
  const t = bestTime(() => K.gemm({ transA: false, transB: false, M: n, N: n, K: n, alpha: 1, A, lda: n, B, ldb: n, beta: 0, C, ldc: n }), reps);
  return (2 * n * n * n) / t / 1e9;
}

/** GFLOP/s of the three products of a linear layer x (N, inF) -> y (N, outF) with W (outF, inF). */
function linearGflops(K: Kernels, N: number, inF: number, outF: number, reps: number): { fwd: number; dx: number; dw: number } {
  const x = randn(N * inF), w = randn(outF * inF), y = randn(N * outF), dx = new Float32Array(N * inF), dw = new Float32Array(outF * inF);
  const flops = 2 * N * inF * outF;
  const fwd = bestTime(() => K.gemm({ transA: false, transB: true, M: N, N: outF, K: inF, alpha: 1, A: x, lda: inF, B: w, ldb: inF, beta: 0, C: y, ldc: outF }), reps);
  const tdx = bestTime(() => K.gemm({ transA: false, transB: false, M: N, N: inF, K: outF, alpha: 1, A: y, lda: outF, B: w, ldb: inF, beta: 0, C: dx, ldc: inF }), reps);
  const tdw = bestTime(() => K.gemm({ transA: true, transB: false, M: outF, N: inF, K: N, alpha: 1, A: y, lda: outF, B: x, ldb: inF, beta: 1, C: dw, ldc: inF }), reps);
  return { fwd: flops / fwd / 1e9, dx: flops / tdx / 1e9, dw: flops / tdw / 1e9 };
}

function attentionRates(K: Kernels, B: number, T: number, H: number, D: number, reps: number): { fwd: number; bwd: number } {
  const shape = { B, Tq: T, Tk: T, H, Hkv: H, D, scale: 1 / Math.sqrt(D), alibiSlopes: null, keyMask: null };
  const q = randn(B * T * H * D), k = randn(q.length), v = randn(q.length);
  const out = new Float32Array(q.length), lse = new Float32Array(B * H * T);
  const dq = new Float32Array(q.length), dk = new Float32Array(q.length), dv = new Float32Array(q.length), dout = randn(q.length);
  const fwd = bestTime(() => K.attentionForward({ ...shape, out, lse, q, k, v }), reps);
  const bwd = bestTime(() => K.attentionBackward({ ...shape, dq, dk, dv, dout, q, k, v, out, lse }), reps);
  // causal attention FLOPs: QK^T and PV over the lower triangle, 2 products forward, 4 backward
  const flops = 2 * 2 * B * H * D * ((T * (T + 1)) / 2);
  return { fwd: flops / fwd / 1e9, bwd: (2 * flops) / bwd / 1e9 };
}

/**
 * Seconds of causal attention forward + backward over one block of T tokens, plain and with documents of
 * `docLen` tokens packed in it (segment ids): packing should cost about its documents' length, not T.
 */
function packedAttentionTimes(K: Kernels, T: number, docLen: number, H: number, D: number, reps: number): { plain: number; packed: number } {
  const q = randn(T * H * D), k = randn(q.length), v = randn(q.length), dout = randn(q.length);
  const out = new Float32Array(q.length), lse = new Float32Array(H * T);
  const dq = new Float32Array(q.length), dk = new Float32Array(q.length), dv = new Float32Array(q.length);
  const segmentIds = Int32Array.from({ length: T }, (_, i) => Math.floor(i / docLen));
  const time = (seg: Int32Array | null) => {
    const shape = { B: 1, Tq: T, Tk: T, H, Hkv: H, D, scale: 1 / Math.sqrt(D), alibiSlopes: null, keyMask: null, segmentIds: seg };
    return bestTime(() => {
      K.attentionForward({ ...shape, out, lse, q, k, v });
      K.attentionBackward({ ...shape, dq, dk, dv, dout, q, k, v, out, lse });
    }, reps);
  };
  return { plain: time(null), packed: time(segmentIds) };
}

/** Million elements (or rows x width) per second for each element-wise/row-wise kernel. */
function elementRates(K: Kernels, N: number, C: number, V: number, reps: number): Record<string, number> {
  const n = N * C;
  const x = randn(n), y = randn(n), o = new Float32Array(n), w = randn(C), rstd = new Float32Array(N);
  const dx = new Float32Array(n), dw = new Float32Array(C);
  const D = 64, Hx = C / D;
  const { cos, sin } = ropeTables(10000, D, N);
  const pos = Int32Array.from({ length: N }, (_, i) => i);
  const logits = randn(N * V), targets = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
  const losses = new Float32Array(N), lseCE = new Float32Array(N), dlogits = new Float32Array(N * V), dl = new Float32Array(N).fill(1 / N);
  const m = new Float32Array(n), vv = new Float32Array(n);
  const rate = (elems: number, fn: () => void) => elems / bestTime(fn, reps) / 1e6;
  return {
    "rmsnorm fwd": rate(n, () => K.rmsnormForward(o, rstd, x, w, N, C, 1e-5)),
    "rmsnorm bwd": rate(n, () => K.rmsnormBackward(dx, dw, y, x, w, rstd, N, C)),
    "rope fwd": rate(n, () => K.ropeForward(o, cos, sin, pos, 1, N, Hx, D)),
    "swiglu fwd": rate(n, () => K.swigluForward(o, x, y, n)),
    "swiglu bwd": rate(n, () => K.swigluBackward(dx, o, y, x, w.length === 0 ? x : y, n)),
    "xent fwd": rate(N * V, () => K.crossEntropyForward(losses, lseCE, logits, targets, N, V, -100)),
    "xent bwd": rate(N * V, () => K.crossEntropyBackward(dlogits, dl, logits, lseCE, targets, N, V, -100)),
    adamw: rate(n, () => K.adamw({ param: o, grad: x, m, v: vv, n, lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 })),
    // the narrow ops routers and preference losses are built from (softmax over 8 experts per row)
    "softmax8 fwd": rate(n, () => K.softmaxForward(o, x, n / 8, 8)),
    "softmax8 bwd": rate(n, () => K.softmaxBackward(dx, y, o, n / 8, 8)),
    "softplus fwd": rate(n, () => K.softplusForward(o, x, n)),
    "logsig bwd": rate(n, () => K.logSigmoidBackward(dx, y, x, n)),
    "scaleRows fwd": rate(n, () => K.scaleRowsForward(o, x, rstd, N, C)),
    "scaleRows bwd": rate(n, () => K.scaleRowsBackward(dx, rstd, y, x, rstd, N, C)),
    "rownorm fwd": rate(n, () => K.rowNormalizeForward(o, rstd, x, N, C, 1e-12)),
    "split cols": rate(n / 2, () => K.copyBlock(o, 0, C / 2, x, C / 4, C, N, C / 2, false)),
  };
}

export default async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const ti = args.indexOf("--threads");
  const threads = ti >= 0 ? Number(args[ti + 1]) : cpus().length;
  const native = getNativeKernels();
  const st = nativeStatus();
  if (!native) {
    console.log(`native addon not available (${st.available ? "" : st.reason}); run \`npm run build:native\` first.`);
    console.log(JSON.stringify({ bench: "kernels", metric: "sgemm GFLOP/s", ours: null, reference: null, ratio: null, error: "native addon not built" }));
    return;
  }
  setThreads(threads);
  console.log(`native addon: ${st.available ? `${st.blas}; simd ${st.simd}` : ""}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(auto)"}; threads ${getThreads()}`);
  console.log("(shared machine: figures are best-of-N and still noisy)\n");

  const reps = quick ? 3 : 8;
  setThreads(1);
  const peak1 = sgemmGflops(native, 1024, reps);
  setThreads(threads);
  const peak = sgemmGflops(native, 1024, reps);
  const small = sgemmGflops(native, 256, reps * 4);
  const refGemm = sgemmGflops(referenceKernels, quick ? 96 : 160, 1);
  console.log(`sgemm 1024^3  native ${peak.toFixed(1)} GFLOP/s (${threads} threads), ${peak1.toFixed(1)} GFLOP/s (1 thread)`);
  console.log(`sgemm 256^3   native ${small.toFixed(1)} GFLOP/s`);
  console.log(`gemm reference (TypeScript, ${quick ? 96 : 160}^3) ${refGemm.toFixed(2)} GFLOP/s`);

  // the products of one linear layer of the `small` train config (2048 tokens, d=768, ffn=2048, V=32000)
  console.log("\nsgemm at model shapes (tokens=2048): forward y=xWᵀ, backward dx=dyW, dW+=dyᵀx");
  for (const [name, inF, outF] of [["768->768", 768, 768], ["768->2048", 768, 2048], ["2048->768", 2048, 768], ["lm_head 768->32000", 768, 32000]] as const) {
    if (quick && outF === 32000) continue;
    const rates = linearGflops(native, 2048, inF, outF, quick ? 2 : 4);
    console.log(`  ${name.padEnd(20)} fwd ${rates.fwd.toFixed(0).padStart(4)}  dx ${rates.dx.toFixed(0).padStart(4)}  dW ${rates.dw.toFixed(0).padStart(4)} GFLOP/s`);
  }

  const at = attentionRates(native, 1, 512, 12, 64, quick ? 2 : 5);
  const atRef = attentionRates(referenceKernels, 1, 128, 2, 64, 1);
  console.log(`\nattention causal B=1 T=512 H=12 D=64: native fwd ${at.fwd.toFixed(1)} GFLOP/s, bwd ${at.bwd.toFixed(1)} GFLOP/s`);
  console.log(`attention reference (T=128 H=2): fwd ${atRef.fwd.toFixed(2)} GFLOP/s, bwd ${atRef.bwd.toFixed(2)} GFLOP/s`);

  const pk = packedAttentionTimes(native, 2048, 256, 12, 64, quick ? 1 : 3);
  console.log(`attention fwd+bwd T=2048 H=12 D=64: one document ${(pk.plain * 1e3).toFixed(0)} ms, 8 packed documents of 256 ${(pk.packed * 1e3).toFixed(0)} ms (x${(pk.plain / pk.packed).toFixed(1)})`);

  const el = elementRates(native, 2048, 768, 32000, quick ? 2 : 5);
  const elRef = elementRates(referenceKernels, 64, 768, 4000, 1);
  console.log("\nelement-wise / row-wise kernels (M elements/s; native N=2048 C=768 V=32000, reference N=64 V=4000):");
  for (const name of Object.keys(el)) {
    console.log(`  ${name.padEnd(12)} native ${el[name]!.toFixed(0).padStart(6)}   reference ${elRef[name]!.toFixed(1).padStart(6)}   x${(el[name]! / elRef[name]!).toFixed(0)}`);
  }
  console.log(
    JSON.stringify({
      bench: "kernels",
      metric: "sgemm GFLOP/s 1024^3",
      ours: Number(peak.toFixed(1)),
      reference: Number(refGemm.toFixed(2)),
      ratio: Number((peak / refGemm).toFixed(1)),
      threads,
      sgemm1Thread: Number(peak1.toFixed(1)),
      attentionFwdGflops: Number(at.fwd.toFixed(1)),
      packedAttentionSpeedup: Number((pk.plain / pk.packed).toFixed(2)),
      attentionBwdGflops: Number(at.bwd.toFixed(1)),
    }),
  );
}
