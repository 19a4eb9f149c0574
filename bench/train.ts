/**
 * Training throughput benchmark: `npm run bench -- train [tiny|small|all] [--steps N] [--batch B]
 * [--threads N] [--profile] [--no-torch]`.
 *
 * Trains a Llama config with our engine (native kernels) and with PyTorch 1.13 (bench/train_torch.py,
 * plain-torch Llama, run by /usr/bin/python3 as a child process with the same threads, batch and
 * sequence length), in one run on the same machine, and reports forward+backward+AdamW tokens/s and
 * the ratio. MFU = model FLOPs/s / cblas_sgemm 1024^3 GFLOP/s measured in the same run, with
 * model FLOPs per step = 6·N·B·T (N: matmul parameters incl. lm_head, not the embedding lookup)
 * + 6·L·B·T²·d (causal attention: QKᵀ and PV over the lower triangle, forward + backward).
 * Configs (vocab 32000, MHA, untied lm_head, SwiGLU):
 *   tiny:  d=256, 4 layers, 4 heads, ffn 704, seq 256, batch 8
 *   small: d=768, 12 layers, 12 heads, ffn 2048, seq 512, batch 4
 * --profile wraps the kernels with timers and prints where a step's time goes.
 * On a shared machine other processes only slow steps down, so tokens/s and the ratio use each
 * engine's best step (means printed too), and MFU takes that step against sgemm measured right before
 * and after it.
 * Each config ends with one JSON line. Not a test.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { AdamW, setBackend, Tape, zeroGrad, type Kernels } from "../src/engine/index.js";
import { getNativeKernels, nativeStatus, setThreads } from "../src/engine/kernels/index.js";
import { CausalLM, parseConfig } from "../src/model/index.js";
import { sgemmGflops } from "./kernels.js";

interface BenchConfig {
  name: string;
  d: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
  seq: number;
  batch: number;
  steps: number;
  warmup: number;
}

const CONFIGS: Record<string, Omit<BenchConfig, "name">> = {
  tiny: { d: 256, layers: 4, heads: 4, ffn: 704, vocab: 32000, seq: 256, batch: 8, steps: 3, warmup: 1 },
  small: { d: 768, layers: 12, heads: 12, ffn: 2048, vocab: 32000, seq: 512, batch: 4, steps: 2, warmup: 1 },
};

function hfConfig(c: BenchConfig): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"], model_type: "llama",
    vocab_size: c.vocab, hidden_size: c.d, intermediate_size: c.ffn, num_hidden_layers: c.layers,
    num_attention_heads: c.heads, num_key_value_heads: c.heads, max_position_embeddings: c.seq,
    rope_theta: 10000.0, rms_norm_eps: 1e-6, hidden_act: "silu", tie_word_embeddings: false,
    initializer_range: 0.02, bos_token_id: 1, eos_token_id: 2, torch_dtype: "float32",
  };
}

/** FLOPs of one training step (see header). */
function stepFlops(c: BenchConfig): number {
  const matmulParams = c.layers * (4 * c.d * c.d + 3 * c.d * c.ffn) + c.vocab * c.d;
  const tokens = c.batch * c.seq;
  return 6 * matmulParams * tokens + 6 * c.layers * c.batch * c.seq * c.seq * c.d;
}

/** Kernels wrapped with per-method wall-clock accumulators. */
function profiled(k: Kernels): { kernels: Kernels; times: Map<string, { s: number; calls: number }> } {
  const times = new Map<string, { s: number; calls: number }>();
  const wrapped: Record<string, unknown> = { name: `${k.name}+profile` };
  for (const key of Object.keys(k) as (keyof Kernels)[]) {
    const fn = k[key];
    if (typeof fn !== "function") continue;
    wrapped[key] = (...args: unknown[]) => {
      const t = process.hrtime.bigint();
      const r = (fn as (...a: unknown[]) => unknown).apply(k, args);
      const e = times.get(key) ?? { s: 0, calls: 0 };
      e.s += Number(process.hrtime.bigint() - t) / 1e9;
      e.calls++;
      times.set(key, e);
      return r;
    };
  }
  return { kernels: wrapped as unknown as Kernels, times };
}

/**
 * One training run. Before every step and after the last, sgemm 1024^3 is measured (best of 3), so
 * each step's MFU can be taken against the peak of the same moment: on a shared machine the load
 * changes within seconds and a peak measured minutes away gives MFU figures far off in either direction.
 */
function runOurs(
  c: BenchConfig,
  native: Kernels,
  profile: boolean,
): { tokensPerS: number; stepS: number[]; peaks: number[]; losses: number[]; profile?: string } {
  const prof = profile ? profiled(native) : null;
  setBackend(prof ? prof.kernels : native);
  const model = new CausalLM(parseConfig(hfConfig(c), `bench ${c.name}`), { seed: 0 });
  model.params.allocGrads();
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const tokens = c.batch * c.seq;
  let seed = 12345;
  const ids = Int32Array.from({ length: tokens }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % c.vocab;
  });
  const input = { ids, B: c.batch, T: c.seq, labels: ids };
  const tape = new Tape();
  const stepS: number[] = [];
  const peaks: number[] = [];
  const losses: number[] = [];
  let measured = 0;
  for (let s = 0; s < c.warmup + c.steps; s++) {
    if (s >= c.warmup) peaks.push(sgemmGflops(native, 1024, 3)); // direct calls: not in the profile
    if (s === c.warmup && prof) prof.times.clear();
    const t0 = process.hrtime.bigint();
    zeroGrad(params);
    const out = tape.run(() => model.loss(input));
    tape.backward(out.loss);
    opt.step();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    const loss = out.loss.item();
    console.log(`ours  step ${s}: ${dt.toFixed(3)}s loss ${loss.toFixed(4)}`);
    if (s >= c.warmup) {
      stepS.push(dt);
      losses.push(loss);
      measured += dt;
    }
  }
  peaks.push(sgemmGflops(native, 1024, 3));
  let report: string | undefined;
  if (prof) {
    const rows = [...prof.times.entries()].sort((a, b) => b[1].s - a[1].s);
    const inKernels = rows.reduce((a, [, v]) => a + v.s, 0);
    const lines = rows.map(([name, v]) => `  ${name.padEnd(22)} ${(v.s / c.steps).toFixed(3)} s/step  ${((100 * v.s) / measured).toFixed(1).padStart(5)}%  ${(v.calls / c.steps).toFixed(0)} calls/step`);
    lines.push(`  ${"(outside kernels)".padEnd(22)} ${((measured - inKernels) / c.steps).toFixed(3)} s/step  ${((100 * (measured - inKernels)) / measured).toFixed(1).padStart(5)}%`);
    report = lines.join("\n");
  }
  return { tokensPerS: (tokens * c.steps) / measured, stepS, peaks, losses, profile: report };
}

function runTorch(c: BenchConfig, threads: number): { stepS: number[] | null; note: string } {
  const script = fileURLToPath(new URL("./train_torch.py", import.meta.url));
  const python = process.env.PEDGPT_TORCH_PYTHON ?? "/usr/bin/python3";
  const args = JSON.stringify({ d: c.d, layers: c.layers, heads: c.heads, ffn: c.ffn, vocab: c.vocab, seq: c.seq, batch: c.batch, steps: c.steps, warmup: c.warmup, threads });
  const r = spawnSync(python, [script, args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || "").trim().split("\n").slice(-3).join(" | ");
    return { stepS: null, note: `PyTorch reference did not run (${python} ${script}): ${why}. Needs python3-torch (apt) or PEDGPT_TORCH_PYTHON.` };
  }
  process.stdout.write((r.stderr || "").replace(/^/gm, "  "));
  const last = r.stdout.trim().split("\n").pop() ?? "";
  const res = JSON.parse(last) as { step_s: number[]; torch: string; threads: number };
  return { stepS: res.step_s, note: `torch ${res.torch}, ${res.threads} threads` };
}

export default async function main(args: string[]): Promise<void> {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const which = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "all";
  const names = which === "all" ? Object.keys(CONFIGS) : [which];
  for (const n of names) if (!CONFIGS[n]) throw new RangeError(`unknown train bench config "${n}"; available: ${Object.keys(CONFIGS).join(", ")}, all`);
  const threads = Number(flag("--threads") ?? Math.min(2, cpus().length));
  const native = getNativeKernels();
  if (!native) {
    const st = nativeStatus();
    console.log(`native addon not available (${st.available ? "" : st.reason}); run \`npm run build:native\` first.`);
    for (const n of names) console.log(JSON.stringify({ bench: `train-${n}`, metric: "tokens/s", ours: null, reference: null, ratio: null, mfu: null, error: "native addon not built" }));
    return;
  }
  setThreads(threads);
  const st = nativeStatus();
  console.log(`threads ${threads}; ${st.available ? st.blas : ""}; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? "(auto)"}`);
  console.log("(shared machine: other work running at the same time makes these timings noisy)");

  for (const n of names) {
    const c: BenchConfig = { name: n, ...CONFIGS[n]! };
    if (flag("--steps")) c.steps = Number(flag("--steps"));
    if (flag("--batch")) c.batch = Number(flag("--batch"));
    console.log(`\n== train-${n}: d=${c.d} L=${c.layers} H=${c.heads} ffn=${c.ffn} V=${c.vocab} T=${c.seq} B=${c.batch}, ${c.warmup} warm-up + ${c.steps} timed steps`);
    const ours = runOurs(c, native, args.includes("--profile"));
    if (ours.profile) console.log(`per-kernel time (timed steps):\n${ours.profile}`);
    const flops = stepFlops(c);
    const tokens = c.batch * c.seq;
    // On a shared machine other processes only ever slow a step down, so the best step of each engine
    // is the comparable figure (means printed too). MFU of a step: its model FLOPs/s over the larger of
    // the two sgemm peaks measured right before and right after it.
    const mfus = ours.stepS.map((t, i) => flops / t / (Math.max(ours.peaks[i]!, ours.peaks[i + 1]!) * 1e9));
    const bestIdx = ours.stepS.indexOf(Math.min(...ours.stepS));
    const oursBest = ours.stepS[bestIdx]!;
    const peakBest = Math.max(ours.peaks[bestIdx]!, ours.peaks[bestIdx + 1]!);
    const mfu = mfus[bestIdx]!;
    console.log(`sgemm 1024^3 around the timed steps: ${ours.peaks.map((p) => p.toFixed(0)).join(", ")} GFLOP/s`);
    console.log(`ours: best step ${oursBest.toFixed(3)}s = ${(tokens / oursBest).toFixed(0)} tokens/s (mean ${ours.tokensPerS.toFixed(0)}), ${(flops / oursBest / 1e9).toFixed(1)} model GFLOP/s`);
    console.log(`MFU per step: ${mfus.map((m) => (100 * m).toFixed(1) + "%").join(", ")}; best step ${(100 * mfu).toFixed(1)}% of ${peakBest.toFixed(1)} GFLOP/s`);
    const torch = args.includes("--no-torch") ? { stepS: null, note: "skipped (--no-torch)" } : runTorch(c, threads);
    const torchBest = torch.stepS ? Math.min(...torch.stepS) : null;
    if (torch.stepS && torchBest !== null) {
      const mean = torch.stepS.reduce((a, b) => a + b, 0) / torch.stepS.length;
      console.log(`torch: best step ${torchBest.toFixed(3)}s = ${(tokens / torchBest).toFixed(0)} tokens/s (mean ${(tokens / mean).toFixed(0)}) (${torch.note})`);
    } else {
      console.log(`torch: n/a (${torch.note})`);
    }
    const oursTps = tokens / oursBest;
    const refTps = torchBest === null ? null : tokens / torchBest;
    console.log(
      JSON.stringify({
        bench: `train-${n}`,
        metric: "tokens/s",
        ours: Number(oursTps.toFixed(1)),
        reference: refTps === null ? null : Number(refTps.toFixed(1)),
        ratio: refTps === null ? null : Number((oursTps / refTps).toFixed(2)),
        mfu: Number(mfu.toFixed(3)),
        sgemmGflops: Number(peakBest.toFixed(1)),
        threads,
      }),
    );
  }
}
