/**
 * Weight-only quantised inference benchmark: `npm run bench -- quant [--threads N] [--tokens N] [--layers N]`.
 *
 * On a Qwen2-0.5B-shaped model (hidden 896, 24 layers, 14/2 heads, ffn 4864, vocabulary 151936, tied
 * embeddings; random weights with the spread of initializer_range 0.02): greedy decode tokens/s with the linear weights
 * in f32, q8_0 and bf16, in the same run, and how far the quantised logits are from the f32 ones on a
 * prompt (max |diff| relative to the largest logit, top-1 agreement per position). Also the single
 * matrix-vector products at the model's shapes (M = 1) in GB/s of weights streamed: the f32 decode gemv
 * (gemm with M = 1), q8_0 (activation row quantised, then int8 × int8) and bf16. Each is the best of
 * repeated calls on one matrix, so a matrix that fits in the last-level cache (gate/up/down here) is
 * measured from cache, while lm_head streams from memory as every weight does in a real decode step.
 * The matrices are allocated as the model's weights are (advised onto 2 MiB pages).
 * Ends with one JSON line (bench/run.ts convention). Not a test; the machine may be shared, so figures
 * are noisy.
 */
import { getNativeKernels, getThreads, nativeStatus, setThreads } from "../src/engine/kernels/index.js";
import { noGrad, QuantizedMatrix, Tensor, type QuantFormat } from "../src/engine/index.js";
import { CausalLM, parseConfig } from "../src/model/index.js";
import { quantizeForInference } from "../src/model/quantize.js";
import { bestTime } from "./kernels.js";

function qwen2HalfB(layers: number): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"], model_type: "qwen2",
    vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: layers,
    num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rope_theta: 1000000.0,
    rms_norm_eps: 1e-6, hidden_act: "silu", initializer_range: 0.02, tie_word_embeddings: true,
    use_sliding_window: false, bos_token_id: 151643, eos_token_id: 151645, torch_dtype: "float32",
  };
}

/**
 * Weights of N(0, 0.02)-like spread (uniform with the same standard deviation) from a xorshift stream,
 * norms at 1: the model's seeded initialiser takes minutes at this size, and the bench needs only
 * realistic magnitudes, not a particular draw.
 */
function fastInit(model: CausalLM): void {
  let s = 0x9e3779b9;
  const a = 0.02 * Math.sqrt(3);
  for (const p of model.parameters()) {
    if (p.rank === 1) {
      p.data.fill(p.name.endsWith("norm.weight") ? 1 : 0);
      continue;
    }
    const d = p.data;
    for (let i = 0; i < d.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      d[i] = ((s >>> 0) / 4294967296 * 2 - 1) * a;
    }
    p.version++;
  }
}

function argmax(x: Float32Array, from: number, n: number): number {
  let best = from;
  for (let i = from; i < from + n; i++) if (x[i]! > x[best]!) best = i;
  return best - from;
}

/** Greedy decode of `tokens` tokens after the prompt; returns decode tokens/s (prefill not counted). */
function decodeRate(model: CausalLM, prompt: Int32Array, tokens: number): { rate: number; ids: number[] } {
  const V = model.config.vocabSize;
  const cache = model.newCache(1, prompt.length + tokens);
  let logits = noGrad(() => model.forward({ ids: prompt, B: 1, T: prompt.length }, { cache, lastOnly: true })).data;
  const ids: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < tokens; i++) {
    const next = argmax(logits, 0, V);
    ids.push(next);
    logits = noGrad(() => model.forward({ ids: Int32Array.of(next), B: 1, T: 1 }, { cache, lastOnly: true })).data;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { rate: tokens / s, ids };
}

function logitsDrift(ref: Float32Array, got: Float32Array, T: number, V: number): { rel: number; top1: number } {
  let d = 0, m = 0, agree = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ref[i]! - got[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  for (let t = 0; t < T; t++) if (argmax(ref, t * V, V) === argmax(got, t * V, V)) agree++;
  return { rel: d / m, top1: agree / T };
}

export default async function main(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const threads = opt("--threads", 2);
  const tokens = opt("--tokens", 16);
  const layers = opt("--layers", 24);
  const native = getNativeKernels();
  if (!native) {
    const st = nativeStatus();
    console.log(`native addon not available (${st.available ? "" : st.reason}); run \`npm run build:native\` first.`);
    console.log(JSON.stringify({ bench: "quant", metric: "decode tokens/s", ours: null, reference: null, ratio: null, error: "native addon not built" }));
    return;
  }
  setThreads(threads);
  const st = nativeStatus();
  console.log(`native addon: simd ${st.available ? st.simd : "?"}; threads ${getThreads()}`);

  // matrix-vector products at the model's shapes: GB/s of weight bytes streamed
  console.log("\nM=1 products (weights streamed per call; f32 gemv vs q8_0 vs bf16):");
  const mv: Record<string, Record<string, number>> = {};
  for (const [name, inF, outF] of [["896->4864 (gate/up)", 896, 4864], ["4864->896 (down)", 4864, 896], ["896->151936 (lm_head)", 896, 151936]] as const) {
    // allocated like model weights (parameter chunks): advised onto 2 MiB pages before being written
    const wd = new Float32Array(outF * inF);
    native.adviseHugePages(wd);
    for (let i = 0; i < wd.length; i++) wd[i] = Math.sin(i) * 0.02;
    const w = new Tensor([outF, inF], wd, { name });
    const x = Float32Array.from({ length: inF }, (_, i) => Math.cos(i));
    const y = new Float32Array(outF);
    const q8 = QuantizedMatrix.from(w, "q8_0"), bf = QuantizedMatrix.from(w, "bf16");
    const reps = outF > 100000 ? 5 : 30;
    const tf = bestTime(() => native.gemm({ transA: false, transB: true, M: 1, N: outF, K: inF, alpha: 1, A: x, lda: inF, B: w.data, ldb: inF, beta: 0, C: y, ldc: outF }), reps);
    const tq = bestTime(() => native.matmulQ8(y, x, q8.data as Int8Array, q8.scales!, 1, outF, inF), reps);
    const tb = bestTime(() => native.matmulBf16(y, x, bf.data as Uint16Array, 1, outF, inF), reps);
    mv[name] = { f32Ms: tf * 1e3, q8Ms: tq * 1e3, bf16Ms: tb * 1e3 };
    console.log(
      `  ${name.padEnd(24)} f32 ${(tf * 1e3).toFixed(3)} ms (${((4 * w.size) / tf / 1e9).toFixed(1)} GB/s)  ` +
        `q8_0 ${(tq * 1e3).toFixed(3)} ms (${(q8.bytes / tq / 1e9).toFixed(1)} GB/s, x${(tf / tq).toFixed(2)})  ` +
        `bf16 ${(tb * 1e3).toFixed(3)} ms (${(bf.bytes / tb / 1e9).toFixed(1)} GB/s, x${(tf / tb).toFixed(2)})`,
    );
  }

  const cfg = parseConfig(qwen2HalfB(layers), "Qwen2-0.5B-shaped (bench)");
  const t0 = Date.now();
  const model = new CausalLM(cfg);
  fastInit(model);
  const nParams = model.parameters().reduce((a, p) => a + p.size, 0);
  console.log(`\nQwen2-0.5B-shaped model, ${layers} layers: ${(nParams / 1e6).toFixed(0)} M parameters (filled in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const T = 8;
  const prompt = Int32Array.from({ length: T }, (_, i) => (i * 7919 + 13) % cfg.vocabSize);
  const V = cfg.vocabSize;
  const refLogits = noGrad(() => model.forward({ ids: prompt, B: 1, T })).data.slice();
  const f32 = decodeRate(model, prompt, tokens);
  console.log(`  f32   decode ${f32.rate.toFixed(2)} tokens/s`);
  const results: Record<string, { rate: number; speedup: number; rel: number; top1: number; bytes: number; f32Bytes: number; sameTokens: number }> = {};
  for (const format of ["q8_0", "bf16"] as QuantFormat[]) {
    const q = quantizeForInference(model, format);
    const drift = logitsDrift(refLogits, noGrad(() => model.forward({ ids: prompt, B: 1, T })).data, T, V);
    const run = decodeRate(model, prompt, tokens);
    let same = 0;
    while (same < tokens && run.ids[same] === f32.ids[same]) same++;
    results[format] = { rate: run.rate, speedup: run.rate / f32.rate, rel: drift.rel, top1: drift.top1, bytes: q.bytes, f32Bytes: q.f32Bytes, sameTokens: same };
    console.log(
      `  ${format.padEnd(5)} decode ${run.rate.toFixed(2)} tokens/s (x${(run.rate / f32.rate).toFixed(2)} vs f32); ` +
        `prompt logits max|diff|/max|logit| ${drift.rel.toExponential(2)}, top-1 agreement ${(100 * drift.top1).toFixed(0)} %; ` +
        `greedy tokens equal to f32 for ${same}/${tokens}; weights ${(q.bytes / 2 ** 20).toFixed(0)} MiB vs ${(q.f32Bytes / 2 ** 20).toFixed(0)} MiB f32`,
    );
    q.remove();
  }
  console.log(
    JSON.stringify({
      bench: "quant",
      metric: "decode tokens/s, Qwen2-0.5B-shaped",
      ours: Number(results.q8_0!.rate.toFixed(2)),
      reference: Number(f32.rate.toFixed(2)),
      ratio: Number(results.q8_0!.speedup.toFixed(2)),
      threads,
      layers,
      tokens,
      bf16: Number(results.bf16!.rate.toFixed(2)),
      bf16Ratio: Number(results.bf16!.speedup.toFixed(2)),
      q8LogitsRelErr: Number(results.q8_0!.rel.toExponential(2)),
      bf16LogitsRelErr: Number(results.bf16!.rel.toExponential(2)),
      q8Top1: results.q8_0!.top1,
      bf16Top1: results.bf16!.top1,
      matvecMs: mv,
    }),
  );
}
