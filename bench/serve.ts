/**
 * Serving speed: `npm run bench -- serve [small|qwen2-0.5b] [--threads 2] [--prompt 128] [--decode 64]
 * [--streams 8] [--rounds 3] [--no-quant]`.
 *
 * One random model of the named shape, held by our engine (the same `BatchScheduler` the engine worker
 * runs, here in-process so only the step itself is timed) and exported to GGUF for llama.cpp
 * (node-llama-cpp, CPU), side by side in one run with the same threads:
 *   - prefill: tokens/s of a --prompt-token prompt up to its first token;
 *   - decode: tokens/s of one sequence after its first token, --decode tokens;
 *   - aggregate: total tokens/s of --streams sequences decoding together (our batched decode step vs
 *     llama.cpp's parallel sequences in one context);
 *   - quantised: our q8_0 and bf16 weights (quantizeForInference) vs llama.cpp on a q8_0 GGUF, decode,
 *     with the max |logit| difference to f32 on the prompt.
 * The machine is shared, so its load drifts while the bench runs: every comparison is measured in
 * --rounds rounds, ours and llama.cpp back to back in each (the order alternating between rounds), and
 * the table gives the median of the per-round ratios with their range, next to each side's median rate.
 * It also gives the ratio per second of process CPU time: on a loaded machine the kernel's scheduler
 * favours a thread that sleeps between tokens (llama.cpp's evaluation thread, woken per token) over one
 * that computes without pause (our decode loop), which distorts wall-clock ratios; at one thread the CPU
 * ratio is the fairer one. At more threads it is not (ggml's threads spin while they wait).
 * Shapes:
 *   small:      Qwen2-like, d=512, 8 layers, 8 heads (2 KV), ffn 1408, vocab 32000 (≈ 55 M parameters)
 *   qwen2-0.5b: d=896, 24 layers, 14 heads (2 KV), ffn 4864, vocab 151936, tied (≈ 494 M parameters)
 * Ends with one JSON line. Not a test.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { noGrad } from "../src/engine/index.js";
import { nativeStatus, setThreads } from "../src/engine/kernels/index.js";
import { parseConfig } from "../src/model/architectures.js";
import { exportGguf, memoryTensorSource, type GgufFileType } from "../src/model/io/gguf_export.js";
import { CausalLM } from "../src/model/model.js";
import { quantizeForInference } from "../src/model/quantize.js";
import { BatchScheduler } from "../src/serve/engine/scheduler.js";
import { LlamaCppGenerator } from "../src/serve/llamacpp/generator.js";
import { mulberry32 } from "../src/util/random.js";
import type { SamplingRequest } from "../src/serve/core.js";

const SHAPES: Record<string, Record<string, unknown>> = {
  small: { hidden_size: 512, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 2, intermediate_size: 1408, vocab_size: 32000, tie_word_embeddings: false },
  "qwen2-0.5b": { hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, tie_word_embeddings: true },
};

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${args[i + 1]}`);
  return v;
}

const greedy = (maxTokens: number): SamplingRequest => ({ maxTokens, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 });

/** One timing: tokens per wall-clock second and per second of this process's CPU time (all its threads). */
interface Rate {
  wall: number;
  cpu: number;
}

/** Starts a clock; `rate(n)` gives the rates of n tokens since then. */
function clock() {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return (n: number): Rate => {
    const c = process.cpuUsage(c0);
    return { wall: n / ((performance.now() - t0) / 1000), cpu: n / ((c.user + c.system) / 1e6) };
  };
}

interface Side {
  prefill(prompt: number[]): Promise<Rate>;
  decode(prompt: number[], tokens: number): Promise<Rate>;
  aggregate(prompts: number[][], tokens: number): Promise<Rate>;
}

/** Our engine through the batch scheduler; each call returns tokens/s. */
function ours(model: CausalLM, streams: number, ctx: number): Side {
  const sched = new BatchScheduler(model, streams, ctx, []);
  let id = 0;
  return {
    async prefill(prompt) {
      // admit (the prompt's forward) + the step that samples the first token
      const rate = clock();
      sched.admit({ id: id++, prompt, sampling: greedy(1) });
      sched.step();
      return rate(prompt.length);
    },
    async decode(prompt, tokens) {
      sched.admit({ id: id++, prompt, sampling: greedy(tokens + 1) });
      sched.step();
      const rate = clock();
      let n = 0;
      while (sched.active > 0) n += sched.step().filter((o) => o.token !== null).length;
      return rate(n);
    },
    async aggregate(prompts, tokens) {
      const rate = clock();
      for (const p of prompts) sched.admit({ id: id++, prompt: p, sampling: greedy(tokens) });
      let n = 0;
      while (sched.active > 0) n += sched.step().filter((o) => o.token !== null).length;
      return rate(n);
    },
  };
}

/** llama.cpp through node-llama-cpp; each call returns tokens/s. */
function theirs(gen: LlamaCppGenerator): Side {
  return {
    async prefill(prompt) {
      const rate = clock();
      for await (const _ of gen.generate(prompt, { maxTokens: 1 })) void _;
      return rate(prompt.length);
    },
    async decode(prompt, tokens) {
      let rate = clock();
      let n = 0;
      for await (const _ of gen.generate(prompt, { maxTokens: tokens + 1 })) {
        if (n === 0) rate = clock();
        n++;
      }
      return n > 1 ? rate(n - 1) : { wall: NaN, cpu: NaN };
    },
    async aggregate(prompts, tokens) {
      const rate = clock();
      const counts = await Promise.all(
        prompts.map(async (p) => {
          let n = 0;
          for await (const _t of gen.generate(p, { maxTokens: tokens })) n++;
          return n;
        }),
      );
      return rate(counts.reduce((a, b) => a + b, 0));
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One comparison's per-round rates. */
interface Row {
  name: string;
  ours: Rate[];
  theirs: Rate[];
}

function kernelsLine(): string {
  const s = nativeStatus();
  return s.available ? `native (${s.blas}, ${s.simd})` : `reference (${s.reason})`;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

export default async function main(args: string[]): Promise<void> {
  const shapeName = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a)) ?? "small";
  const shape = SHAPES[shapeName];
  if (!shape) throw new Error(`unknown shape "${shapeName}"; expected ${Object.keys(SHAPES).join(" or ")}`);
  const threads = flag(args, "--threads", 2);
  const P = flag(args, "--prompt", 128);
  const D = flag(args, "--decode", 64);
  const S = flag(args, "--streams", 8);
  const rounds = flag(args, "--rounds", 3);
  const quant = !args.includes("--no-quant");
  setThreads(threads);
  const ctx = Math.max(P + D + 8, 256);
  console.log(`serve bench: ${shapeName}, ${threads} threads, prompt ${P}, decode ${D}, ${S} streams, ${rounds} rounds; kernels: ${kernelsLine()}`);
  const raw = { architectures: ["Qwen2ForCausalLM"], ...shape, rms_norm_eps: 1e-6, max_position_embeddings: 4096, rope_theta: 1000000, hidden_act: "silu" };
  const model = new CausalLM(parseConfig(raw, shapeName));
  const rnd = mulberry32(7);
  for (const p of model.params.list) {
    const a = p.shape.length === 1 ? 0 : 1 / Math.sqrt(p.shape[1]!);
    for (let i = 0; i < p.data.length; i++) p.data[i] = p.shape.length === 1 ? 1 : a * (2 * rnd() - 1);
    p.version++;
  }
  const params = model.params.list.reduce((n, p) => n + p.data.length, 0);
  console.log(`model: ${(params / 1e6).toFixed(1)} M parameters`);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-bench-serve-"));
  const gens: LlamaCppGenerator[] = [];
  try {
    const source = memoryTensorSource(new Map(model.params.list.map((p) => [p.name, { shape: p.shape, data: p.data }])));
    const files: Partial<Record<GgufFileType, string>> = {};
    for (const t of quant ? (["f32", "q8_0"] as const) : (["f32"] as const)) {
      files[t] = path.join(tmp, `m-${t}.gguf`);
      await exportGguf(files[t]!, model.config, source, { vocab: { kind: "synthetic" }, fileType: t });
    }
    const prompt = Array.from({ length: P }, (_, i) => 1 + ((i * 7919) % 250));
    const streamPrompts = Array.from({ length: S }, (_, s) => prompt.slice(0, 16).map((t) => (t + s) % 256));
    const lf = await LlamaCppGenerator.load(files.f32!, { threads, contextSize: ctx, parallel: S });
    gens.push(lf);
    const lq = quant ? await LlamaCppGenerator.load(files.q8_0!, { threads, contextSize: ctx, parallel: 1 }) : null;
    if (lq) gens.push(lq);
    const us = ours(model, S, ctx);
    const them = theirs(lf);
    const themQ = lq ? theirs(lq) : null;

    const extra: Record<string, number> = {};
    if (quant) {
      const ref = noGrad(() => Float32Array.from(model.forward({ ids: Int32Array.from(prompt), B: 1, T: P }).data));
      for (const fmtName of ["q8_0", "bf16"] as const) {
        const q = quantizeForInference(model, fmtName);
        const got = noGrad(() => Float32Array.from(model.forward({ ids: Int32Array.from(prompt), B: 1, T: P }).data));
        q.remove();
        let maxDiff = 0;
        for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[i]!));
        extra[`${fmtName}_max_abs_logit_diff`] = Number(maxDiff.toExponential(3));
      }
    }

    // warm both sides once (first-call allocations, page faults on fresh weights)
    await us.prefill(prompt);
    await them.prefill(prompt);
    const rows: Row[] = [
      { name: "prefill tokens/s (f32)", ours: [], theirs: [] },
      { name: "decode tokens/s (f32)", ours: [], theirs: [] },
      { name: `aggregate tokens/s, ${S} streams (f32)`, ours: [], theirs: [] },
    ];
    if (quant) {
      rows.push({ name: "decode tokens/s, ours q8_0 vs llama.cpp q8_0", ours: [], theirs: [] });
      rows.push({ name: "decode tokens/s, ours bf16 vs llama.cpp q8_0", ours: [], theirs: [] });
    }
    /** ours and theirs back to back, the order alternating by round */
    const pair = async (r: number, row: Row, a: () => Promise<Rate>, b: () => Promise<Rate>) => {
      if (r % 2 === 0) {
        row.ours.push(await a());
        row.theirs.push(await b());
      } else {
        row.theirs.push(await b());
        row.ours.push(await a());
      }
    };
    for (let r = 0; r < rounds; r++) {
      await pair(r, rows[0]!, () => us.prefill(prompt), () => them.prefill(prompt));
      await pair(r, rows[1]!, () => us.decode(prompt, D), () => them.decode(prompt, D));
      await pair(r, rows[2]!, () => us.aggregate(streamPrompts, D), () => them.aggregate(streamPrompts, D));
      if (themQ) {
        for (const [k, fmtName] of [[3, "q8_0"], [4, "bf16"]] as const) {
          const q = quantizeForInference(model, fmtName);
          try {
            await us.decode(prompt.slice(0, 8), 2); // first touch of the fresh quantised copies
            await pair(r, rows[k]!, () => us.decode(prompt, D), () => themQ.decode(prompt, D));
          } finally {
            q.remove();
          }
        }
      }
      console.log(`round ${r + 1}/${rounds}, ratios (wall): ` + rows.map((row) => `${(row.ours[r]!.wall / row.theirs[r]!.wall).toFixed(2)}`).join(" "));
    }

    const summary = rows.map((row) => {
      const ratios = row.ours.map((o, i) => o.wall / row.theirs[i]!.wall);
      const cpuRatios = row.ours.map((o, i) => o.cpu / row.theirs[i]!.cpu);
      return {
        name: row.name,
        ours: median(row.ours.map((o) => o.wall)),
        theirs: median(row.theirs.map((o) => o.wall)),
        ratio: median(ratios),
        lo: Math.min(...ratios),
        hi: Math.max(...ratios),
        cpuRatio: median(cpuRatios),
      };
    });
    console.log(`\n${"".padEnd(48)}${"ours".padStart(10)}${"llama.cpp".padStart(12)}${"ratio".padStart(8)}   range         per CPU-second`);
    for (const x of summary) {
      console.log(
        `${x.name.padEnd(48)}${fmt(x.ours).padStart(10)}${fmt(x.theirs).padStart(12)}${x.ratio.toFixed(2).padStart(8)}   ` +
          `${`${x.lo.toFixed(2)}–${x.hi.toFixed(2)}`.padEnd(14)}${x.cpuRatio.toFixed(2)}`,
      );
    }
    console.log(
      "(tokens per wall-clock second; ratio = median over rounds of ours / llama.cpp, range = its min–max; per CPU-second = the same\n" +
        " median ratio of tokens per second of process CPU time, which a loaded machine's scheduling distorts less — at 1 thread)",
    );
    for (const [k, v] of Object.entries(extra)) console.log(`${k}: ${v}`);
    const dec = summary[1]!;
    const json = {
      bench: "serve",
      shape: shapeName,
      threads,
      rounds,
      metric: "decode tokens/s (f32, one sequence), median over rounds",
      ours: Number(dec.ours.toFixed(2)),
      reference: Number(dec.theirs.toFixed(2)),
      ratio: Number(dec.ratio.toFixed(3)),
      rows: Object.fromEntries(
        summary.map((x) => [
          x.name,
          { ours: Number(x.ours.toFixed(2)), llamacpp: Number(x.theirs.toFixed(2)), ratio: Number(x.ratio.toFixed(3)), ratioMin: Number(x.lo.toFixed(3)), ratioMax: Number(x.hi.toFixed(3)), cpuRatio: Number(x.cpuRatio.toFixed(3)) },
        ]),
      ),
      ...extra,
    };
    console.log(JSON.stringify(json));
  } finally {
    for (const g of gens) await g.dispose();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
