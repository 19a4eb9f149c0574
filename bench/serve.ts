/**
 * Serving speed: `npm run bench -- serve [small|qwen2-0.5b] [--threads 2] [--prompt 128] [--decode 64]
 * [--streams 8] [--no-quant]`.
 *
 * One random model of the named shape, held by our engine (the same `BatchScheduler` the engine worker
 * runs, here in-process so only kernels are timed) and exported to GGUF for llama.cpp (node-llama-cpp,
 * CPU), side by side in one run with the same threads:
 *   - prefill: tokens/s of a --prompt-token prompt up to its first token;
 *   - decode: tokens/s of one sequence after its first token, --decode tokens;
 *   - aggregate: total tokens/s of --streams sequences decoding together (our batched decode step vs
 *     llama.cpp's parallel sequences in one context);
 *   - quantised: our q8_0 and bf16 weights (quantizeForInference) vs llama.cpp on a q8_0 GGUF, decode,
 *     with the max |logit| difference to f32 on the prompt.
 * Each timing is the best of a few runs (the machine is shared). Shapes:
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

/** Our engine: prefill, single-sequence decode and aggregate decode through the batch scheduler. */
function ours(model: CausalLM, prompt: number[], decode: number, streams: number, ctx: number) {
  const sched = new BatchScheduler(model, streams, ctx, []);
  // prefill: admit + the first token
  let prefill = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    sched.admit({ id: r, prompt, sampling: greedy(1) });
    sched.step();
    prefill = Math.min(prefill, (performance.now() - t0) / 1000);
  }
  let dec = Infinity;
  for (let r = 0; r < 2; r++) {
    sched.admit({ id: 10 + r, prompt, sampling: greedy(decode + 1) });
    sched.step();
    const t0 = performance.now();
    let n = 0;
    while (sched.active > 0) n += sched.step().filter((o) => o.token !== null).length;
    dec = Math.min(dec, (performance.now() - t0) / 1000 / n);
  }
  let agg = 0;
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    for (let s = 0; s < streams; s++) sched.admit({ id: 100 + r * streams + s, prompt: prompt.slice(0, 16).map((t) => (t + s) % 256), sampling: greedy(decode) });
    let n = 0;
    while (sched.active > 0) n += sched.step().filter((o) => o.token !== null).length;
    agg = Math.max(agg, n / ((performance.now() - t0) / 1000));
  }
  return { prefillTps: prompt.length / prefill, decodeTps: 1 / dec, aggregateTps: agg };
}

async function theirs(file: string, prompt: number[], decode: number, streams: number, threads: number, ctx: number) {
  const gen = await LlamaCppGenerator.load(file, { threads, contextSize: ctx, parallel: streams });
  try {
    let prefill = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for await (const _ of gen.generate(prompt, { maxTokens: 1 })) void _;
      prefill = Math.min(prefill, (performance.now() - t0) / 1000);
    }
    let dec = Infinity;
    let produced = 0;
    for (let r = 0; r < 2; r++) {
      let t0 = 0;
      let n = 0;
      for await (const _ of gen.generate(prompt, { maxTokens: decode + 1 })) {
        if (n === 0) t0 = performance.now();
        n++;
      }
      produced = n - 1;
      if (produced > 0) dec = Math.min(dec, (performance.now() - t0) / 1000 / produced);
    }
    let agg = 0;
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now();
      const counts = await Promise.all(
        Array.from({ length: streams }, async (_, s) => {
          let n = 0;
          for await (const _t of gen.generate(prompt.slice(0, 16).map((t) => (t + s) % 256), { maxTokens: decode })) n++;
          return n;
        }),
      );
      agg = Math.max(agg, counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000));
    }
    return { prefillTps: prompt.length / prefill, decodeTps: produced > 0 ? 1 / dec : NaN, aggregateTps: agg };
  } finally {
    await gen.dispose();
  }
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
  const quant = !args.includes("--no-quant");
  setThreads(threads);
  const ctx = Math.max(P + D + 8, 256);
  console.log(`serve bench: ${shapeName}, ${threads} threads, prompt ${P}, decode ${D}, ${S} streams; kernels: ${kernelsLine()}`);
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
  try {
    const source = memoryTensorSource(new Map(model.params.list.map((p) => [p.name, { shape: p.shape, data: p.data }])));
    const files: Partial<Record<GgufFileType, string>> = {};
    for (const t of quant ? (["f32", "q8_0"] as const) : (["f32"] as const)) {
      files[t] = path.join(tmp, `m-${t}.gguf`);
      await exportGguf(files[t]!, model.config, source, { vocab: { kind: "synthetic" }, fileType: t });
    }
    const prompt = Array.from({ length: P }, (_, i) => 1 + ((i * 7919) % 250));
    const o = ours(model, prompt, D, S, ctx);
    const l = await theirs(files.f32!, prompt, D, S, threads, ctx);
    const rows: [string, number, number][] = [
      ["prefill tokens/s (f32)", o.prefillTps, l.prefillTps],
      ["decode tokens/s (f32)", o.decodeTps, l.decodeTps],
      [`aggregate tokens/s, ${S} streams (f32)`, o.aggregateTps, l.aggregateTps],
    ];
    const extra: Record<string, number> = {};
    if (quant) {
      const lq = await theirs(files.q8_0!, prompt, D, 1, threads, ctx);
      const ref = noGrad(() => Float32Array.from(model.forward({ ids: Int32Array.from(prompt), B: 1, T: P }).data));
      for (const fmtName of ["q8_0", "bf16"] as const) {
        const q = quantizeForInference(model, fmtName);
        try {
          const got = noGrad(() => Float32Array.from(model.forward({ ids: Int32Array.from(prompt), B: 1, T: P }).data));
          let maxDiff = 0;
          for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - got[i]!));
          const oq = ours(model, prompt, D, 1, ctx);
          rows.push([`decode tokens/s, ours ${fmtName} vs llama.cpp q8_0`, oq.decodeTps, lq.decodeTps]);
          extra[`${fmtName}_max_abs_logit_diff`] = Number(maxDiff.toExponential(3));
        } finally {
          q.remove();
        }
      }
    }
    console.log(`\n${"".padEnd(48)}${"ours".padStart(10)}${"llama.cpp".padStart(12)}${"ratio".padStart(8)}`);
    for (const [name, a, b] of rows) console.log(`${name.padEnd(48)}${fmt(a).padStart(10)}${fmt(b).padStart(12)}${(a / b).toFixed(2).padStart(8)}`);
    for (const [k, v] of Object.entries(extra)) console.log(`${k}: ${v}`);
    const json = {
      bench: "serve",
      shape: shapeName,
      threads,
      metric: "decode tokens/s (f32, one sequence)",
      ours: Number(o.decodeTps.toFixed(2)),
      reference: Number(l.decodeTps.toFixed(2)),
      ratio: Number((o.decodeTps / l.decodeTps).toFixed(3)),
      rows: Object.fromEntries(rows.map(([n, a, b]) => [n, { ours: Number(a.toFixed(2)), llamacpp: Number(b.toFixed(2)), ratio: Number((a / b).toFixed(3)) }])),
      ...extra,
    };
    console.log(JSON.stringify(json));
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
