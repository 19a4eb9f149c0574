/**
 * Training throughput benchmark: `npm run bench -- train [tiny|small|all] [--steps N] [--batch B]
 * [--threads N] [--profile] [--no-torch]`.
 *
 * Trains a Llama config with our engine (native kernels) and with PyTorch 1.13 (bench/train_torch.py,
 * plain-torch Llama, run by /usr/bin/python3 as a child process with the same threads, batch and
 * sequence length), in one run on the same machine, and reports forward+backward+AdamW tokens/s and
 * the ratio. MFU = model FLOPs/s / the sgemm peak measured in the same run, with model FLOPs per
 * step = 6·N·B·T (N: matmul parameters incl. lm_head, not the embedding lookup) + 6·L·B·T²·d (causal
 * attention: QKᵀ and PV over the lower triangle, forward + backward). The peak is the best sgemm rate
 * over 1024³ and every product shape of the model's linear layers (forward, input gradient, weight
 * gradient), measured before and after the timed steps and around each step (1024³): one square shape
 * alone ran slower than the model's large lm_head products and gave MFU above 100 %.
 * Configs (vocab 32000, MHA, untied lm_head, SwiGLU):
 *   tiny:  d=256, 4 layers, 4 heads, ffn 704, seq 256, batch 8
 *   small: d=768, 12 layers, 12 heads, ffn 2048, seq 512, batch 4
 * --profile wraps the kernels with timers and prints where a step's time goes.
 * The two engines run alternately, one step each (PyTorch stays loaded in its child process between
 * steps), so both see the same machine load; on a shared machine other processes only slow steps
 * down, so tokens/s and the ratio use each engine's best step (means printed too), and MFU takes that
 * step against that peak.
 * Each config ends with one JSON line. Not a test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { AdamW, setBackend, Tape, zeroGrad, type Kernels } from "../src/engine/index.js";
import { getNativeKernels, nativeStatus, setThreads } from "../src/engine/kernels/index.js";
import { CausalLM, parseConfig } from "../src/model/index.js";
import { bestTime, sgemmGflops } from "./kernels.js";

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

/**
 * The sgemm peak for MFU: the best GFLOP/s over 1024³ and the three products (forward, dX, dW) of each
 * distinct linear shape of the config, so no product the model runs is faster than the "peak".
 */
function sgemmPeak(K: Kernels, c: BenchConfig, reps: number): { gflops: number; shape: string } {
  const N = c.batch * c.seq;
  const shapes = new Map<string, [number, number]>();
  for (const [inF, outF] of [[c.d, c.d], [c.d, c.ffn], [c.ffn, c.d], [c.d, c.vocab]] as const) shapes.set(`${inF}x${outF}`, [inF, outF]);
  let best = { gflops: sgemmGflops(K, 1024, reps), shape: "1024³" };
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  for (const [inF, outF] of shapes.values()) {
    const x = rnd(N * inF), w = rnd(outF * inF), y = rnd(N * outF), dx = new Float32Array(N * inF), dw = new Float32Array(outF * inF);
    const flops = 2 * N * inF * outF;
    const runs: [string, () => void][] = [
      ["fwd", () => K.gemm({ transA: false, transB: true, M: N, N: outF, K: inF, alpha: 1, A: x, lda: inF, B: w, ldb: inF, beta: 0, C: y, ldc: outF })],
      ["dX", () => K.gemm({ transA: false, transB: false, M: N, N: inF, K: outF, alpha: 1, A: y, lda: outF, B: w, ldb: inF, beta: 0, C: dx, ldc: inF })],
      ["dW", () => K.gemm({ transA: true, transB: false, M: outF, N: inF, K: N, alpha: 1, A: y, lda: outF, B: x, ldb: inF, beta: 1, C: dw, ldc: inF })],
    ];
    for (const [what, fn] of runs) {
      const g = flops / bestTime(fn, reps) / 1e9;
      if (g > best.gflops) best = { gflops: g, shape: `${what} ${N}x${inF}→${outF}` };
    }
  }
  return best;
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

interface StepResult {
  s: number;
  loss: number;
}

/** Our engine, set up for one config; step() runs forward + backward + AdamW once. */
function oursTrainer(c: BenchConfig, native: Kernels, profile: boolean) {
  const prof = profile ? profiled(native) : null;
  setBackend(prof ? prof.kernels : native);
  const model = new CausalLM(parseConfig(hfConfig(c), `bench ${c.name}`), { seed: 0 });
  model.params.allocGrads();
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  let seed = 12345;
  const ids = Int32Array.from({ length: c.batch * c.seq }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % c.vocab;
  });
  const input = { ids, B: c.batch, T: c.seq, labels: ids };
  const tape = new Tape();
  return {
    step(): StepResult {
      const t0 = process.hrtime.bigint();
      zeroGrad(params);
      const out = tape.run(() => model.loss(input));
      tape.backward(out.loss);
      opt.step();
      return { s: Number(process.hrtime.bigint() - t0) / 1e9, loss: out.loss.item() };
    },
    /** forget the warm-up steps' kernel times */
    resetProfile(): void {
      prof?.times.clear();
    },
    /** per-kernel share of `total` seconds over `steps` steps */
    profileReport(total: number, steps: number): string | undefined {
      if (!prof) return undefined;
      const rows = [...prof.times.entries()].sort((a, b) => b[1].s - a[1].s);
      const inKernels = rows.reduce((a, [, v]) => a + v.s, 0);
      const pct = (x: number) => ((100 * x) / total).toFixed(1).padStart(5);
      const lines = rows.map(([name, v]) => `  ${name.padEnd(22)} ${(v.s / steps).toFixed(3)} s/step  ${pct(v.s)}%  ${(v.calls / steps).toFixed(0)} calls/step`);
      lines.push(`  ${"(outside kernels)".padEnd(22)} ${((total - inKernels) / steps).toFixed(3)} s/step  ${pct(total - inKernels)}%`);
      return lines.join("\n");
    },
  };
}

/**
 * PyTorch in a child process (bench/train_torch.py --interactive) that runs one step per request, so
 * the bench can alternate the two engines step by step and both see the same machine load.
 */
class TorchTrainer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderrTail = "";

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.on("data", (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
  }

  static async start(c: BenchConfig, threads: number): Promise<{ trainer: TorchTrainer | null; note: string }> {
    const script = fileURLToPath(new URL("./train_torch.py", import.meta.url));
    const python = process.env.PEDGPT_TORCH_PYTHON ?? "/usr/bin/python3";
    const cfg = JSON.stringify({ d: c.d, layers: c.layers, heads: c.heads, ffn: c.ffn, vocab: c.vocab, seq: c.seq, batch: c.batch, steps: c.steps, warmup: c.warmup, threads });
    const t = new TorchTrainer(spawn(python, [script, cfg, "--interactive"], { stdio: ["pipe", "pipe", "pipe"] }));
    const spawnError = new Promise<string>((resolve) => t.child.on("error", (e) => resolve(e.message)));
    const first = await Promise.race([t.lines.next().then((r) => (r.done ? null : r.value)), spawnError.then(() => null)]);
    if (first === null) {
      const why = (await Promise.race([spawnError, Promise.resolve("")])) || t.stderrTail.trim().split("\n").slice(-2).join(" | ");
      t.child.kill();
      return { trainer: null, note: `PyTorch reference did not start (${python} ${script}): ${why}. Needs python3-torch (apt) or PEDGPT_TORCH_PYTHON.` };
    }
    const hello = JSON.parse(first) as { torch: string; threads: number };
    return { trainer: t, note: `torch ${hello.torch}, ${hello.threads} threads` };
  }

  async step(): Promise<StepResult> {
    this.child.stdin.write("step\n");
    const r = await this.lines.next();
    if (r.done) throw new Error(`PyTorch reference exited during a step: ${this.stderrTail.trim().split("\n").slice(-3).join(" | ")}`);
    const res = JSON.parse(r.value) as { step_s: number; loss: number };
    return { s: res.step_s, loss: res.loss };
  }

  close(): void {
    this.child.stdin.end("quit\n");
  }
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
    const ours = oursTrainer(c, native, args.includes("--profile"));
    const started = args.includes("--no-torch") ? { trainer: null, note: "skipped (--no-torch)" } : await TorchTrainer.start(c, threads);
    const torch = started.trainer;
    // Warm-up, then timed steps alternating ours / PyTorch, sgemm 1024^3 measured right before and
    // after each of our steps (direct kernel calls, outside the profile).
    const oursS: number[] = [], torchS: number[] = [], around: number[] = [];
    const flops = stepFlops(c);
    const tokens = c.batch * c.seq;
    let peakBefore = { gflops: 0, shape: "" };
    let peakAfter = { gflops: 0, shape: "" };
    try {
      for (let s = 0; s < c.warmup + c.steps; s++) {
        const timed = s >= c.warmup;
        if (s === c.warmup) {
          ours.resetProfile();
          peakBefore = sgemmPeak(native, c, 2);
          console.log(`sgemm peak before the timed steps: ${peakBefore.gflops.toFixed(0)} GFLOP/s (${peakBefore.shape})`);
        }
        const before = timed ? sgemmGflops(native, 1024, 3) : 0;
        const o = ours.step();
        const after = timed ? sgemmGflops(native, 1024, 3) : 0;
        const t = torch ? await torch.step() : null;
        console.log(
          `step ${s}${timed ? "" : " (warm-up)"}: ours ${o.s.toFixed(3)}s loss ${o.loss.toFixed(4)}` +
            (t ? ` | torch ${t.s.toFixed(3)}s loss ${t.loss.toFixed(4)}` : "") +
            (timed ? ` | sgemm 1024³ ${before.toFixed(0)}/${after.toFixed(0)} GFLOP/s, ${(flops / o.s / 1e9).toFixed(1)} model GFLOP/s` : ""),
        );
        if (!timed) continue;
        oursS.push(o.s);
        if (t) torchS.push(t.s);
        around.push(before, after);
      }
      peakAfter = sgemmPeak(native, c, 2);
      console.log(`sgemm peak after the timed steps: ${peakAfter.gflops.toFixed(0)} GFLOP/s (${peakAfter.shape})`);
    } finally {
      torch?.close();
    }
    const total = oursS.reduce((a, b) => a + b, 0);
    const report = ours.profileReport(total, c.steps);
    if (report) console.log(`per-kernel time (timed steps):\n${report}`);
    // On a shared machine other processes only ever slow a step down, so each engine's best step is
    // the comparable figure (means printed too), and the peak is the best sgemm rate seen in the run.
    const oursBest = Math.min(...oursS);
    const peak = [peakBefore, peakAfter, ...around.map((g) => ({ gflops: g, shape: "1024³" }))].reduce((a, b) => (b.gflops > a.gflops ? b : a));
    const peakBest = peak.gflops;
    const mfu = flops / oursBest / (peakBest * 1e9);
    console.log(`ours:  best step ${oursBest.toFixed(3)}s = ${(tokens / oursBest).toFixed(0)} tokens/s (mean ${((tokens * oursS.length) / total).toFixed(0)}), ${(flops / oursBest / 1e9).toFixed(1)} model GFLOP/s, MFU ${(100 * mfu).toFixed(1)}% of the ${peakBest.toFixed(0)} GFLOP/s sgemm peak (${peak.shape})`);
    const torchBest = torchS.length > 0 ? Math.min(...torchS) : null;
    if (torchBest !== null) {
      const mean = torchS.reduce((a, b) => a + b, 0) / torchS.length;
      console.log(`torch: best step ${torchBest.toFixed(3)}s = ${(tokens / torchBest).toFixed(0)} tokens/s (mean ${(tokens / mean).toFixed(0)}) (${started.note})`);
    } else {
      console.log(`torch: n/a (${started.note})`);
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
        sgemmPeakShape: peak.shape,
        threads,
      }),
    );
  }
}
