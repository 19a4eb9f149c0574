/**
 * `pedgpt engine info|check`: which kernels the engine runs on, and a quick self-check of the native
 * addon against the TypeScript reference. Option parsing and printing only; the work is in
 * src/engine/kernels.
 */
import type { Command } from "commander";
import { BUILD_HINT, getKernels, getNativeKernels, getThreads, nativeStatus, referenceKernels, setThreads } from "../../engine/kernels/index.js";
import { compareClose } from "../../engine/kernels/compare.js";

function parseThreads(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be an integer >= 1, got ${v}`);
  return n;
}

export function register(program: Command): void {
  const engine = program.command("engine").description("numeric engine: kernel backend status and self-check");

  engine
    .command("info")
    .description("show the kernels in use, the native addon's BLAS and SIMD build, and the thread count")
    .action(() => {
      const st = nativeStatus();
      const k = getKernels();
      console.log(`kernels in use: ${k.name}${process.env.PEDGPT_KERNELS ? ` (PEDGPT_KERNELS=${process.env.PEDGPT_KERNELS})` : ""}`);
      console.log(`native addon:   ${st.path}`);
      if (st.available) {
        console.log(`  BLAS:         ${st.blas}`);
        console.log(`  SIMD:         ${st.simd}`);
        console.log(`  OPENBLAS_CORETYPE: ${process.env.OPENBLAS_CORETYPE ?? "(auto-detected)"}`);
      } else {
        console.log(`  unavailable:  ${st.reason}`);
        console.log(`  ${BUILD_HINT}`);
      }
      console.log(`threads:        ${getThreads()}`);
    });

  engine
    .command("check")
    .option("--threads <n>", "threads for the native kernels (default: number of cores)")
    .description("run a few native kernels against the TypeScript reference and print the max differences")
    .action((o: { threads?: string }) => {
      const native = getNativeKernels();
      if (!native) throw new Error(`the native kernel addon is not available (${(nativeStatus() as { reason?: string }).reason ?? ""}); ${BUILD_HINT}`);
      const threads = parseThreads(o.threads);
      if (threads) setThreads(threads);
      let seed = 7;
      const rand = (n: number) =>
        Float32Array.from({ length: n }, () => {
          seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
          return seed / 2147483648 - 1;
        });
      const results: ReturnType<typeof compareClose>[] = [];
      // gemm with a transposed B, as a linear layer uses it
      const M = 67, N = 45, K = 129;
      const A = rand(M * K), B = rand(N * K), c1 = new Float32Array(M * N), c2 = new Float32Array(M * N);
      const g = { transA: false, transB: true, M, N, K, alpha: 1, A, lda: K, B, ldb: K, beta: 0, ldc: N };
      referenceKernels.gemm({ ...g, C: c1 });
      native.gemm({ ...g, C: c2 });
      results.push(compareClose("gemm 67x45x129 (B transposed)", c2, c1, 1e-4, 1e-5));
      // causal GQA attention with padding, forward and one gradient
      const sh = { B: 2, Tq: 19, Tk: 19, H: 6, Hkv: 2, D: 8, scale: 1 / Math.sqrt(8), alibiSlopes: null, keyMask: Uint8Array.from({ length: 38 }, (_, i) => (i === 0 ? 0 : 1)) };
      const q = rand(2 * 19 * 6 * 8), k = rand(2 * 19 * 2 * 8), v = rand(k.length);
      const o1 = new Float32Array(q.length), o2 = new Float32Array(q.length), l1 = new Float32Array(2 * 6 * 19), l2 = l1.slice();
      referenceKernels.attentionForward({ ...sh, out: o1, lse: l1, q, k, v });
      native.attentionForward({ ...sh, out: o2, lse: l2, q, k, v });
      results.push(compareClose("attention forward (GQA, padding)", o2, o1, 2e-5));
      const dout = rand(q.length);
      const dq1 = new Float32Array(q.length), dq2 = dq1.slice(), dk1 = new Float32Array(k.length), dk2 = dk1.slice(), dv1 = dk1.slice(), dv2 = dk1.slice();
      referenceKernels.attentionBackward({ ...sh, dq: dq1, dk: dk1, dv: dv1, dout, q, k, v, out: o1, lse: l1 });
      native.attentionBackward({ ...sh, dq: dq2, dk: dk2, dv: dv2, dout, q, k, v, out: o1, lse: l1 });
      results.push(compareClose("attention backward dk", dk2, dk1, 1e-4));
      // cross-entropy over a 32000-word vocabulary
      const V = 32000, rows = 4;
      const logits = rand(rows * V).map((x) => 8 * x), tg = Int32Array.from([5, -100, 31999, 0]);
      const ls1 = new Float32Array(rows), ls2 = ls1.slice(), e1 = ls1.slice(), e2 = ls1.slice();
      referenceKernels.crossEntropyForward(ls1, e1, logits, tg, rows, V, -100);
      native.crossEntropyForward(ls2, e2, logits, tg, rows, V, -100);
      results.push(compareClose("cross-entropy losses (V=32000)", ls2, ls1, 2e-5));
      for (const r of results) console.log(r.message);
      const bad = results.filter((r) => !r.ok);
      console.log(`threads ${getThreads()}: ${bad.length === 0 ? "native kernels agree with the reference" : `${bad.length} mismatch(es)`}`);
      if (bad.length > 0) throw new Error("native kernels disagree with the reference; rebuild with `npm run build:native` and run `npx vitest run src/engine/kernels`");
    });
}
