/**
 * Model behaviour beyond gradient parity: config validation, save/load round trips and checkpoint
 * errors, KV-cache decoding equal to full recomputation (single and left-padded batches), generation,
 * activation checkpointing equal to plain backward, deterministic init, and the `model` CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { add, AdamW, clipGradNorm, linear, noGrad, Tape, Tensor, zeroGrad } from "../engine/index.js";
import { writeCheckpoint } from "./io/sharded.js";
import {
  CausalLM,
  generate,
  generateBatch,
  sampleToken,
  Rng,
  loadModel,
  ModelConfigError,
  ModelInputError,
  modelInfo,
  parseConfig,
  presetConfig,
  presetNames,
  saveModel,
  baichuanPositionRule,
  scoreContinuations,
  decoderParamSpecs,
} from "./index.js";

const tmp = mkdtempSync(path.join(tmpdir(), "pedgpt-model-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const small = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, vocab_size: 50, max_position_embeddings: 64, model_max_length: 64 };

function tinyModel(preset: string, seed = 1): CausalLM {
  return new CausalLM(parseConfig(presetConfig(preset, small), preset), { seed });
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("config validation", () => {
  const base = presetConfig("tiny-llama");
  const bad = (over: Record<string, unknown>, field: string): void => {
    let err: unknown;
    try {
      parseConfig({ ...base, ...over }, "x/config.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as ModelConfigError).field).toBe(field);
    expect((err as Error).message).toContain("x/config.json");
  };

  it("names the field and value of unsupported or malformed configs", () => {
    bad({ architectures: ["GPT2LMHeadModel"] }, "architectures");
    bad({ rope_scaling: { type: "yarn", factor: 2 } }, "rope_scaling");
    bad({ rope_scaling: { rope_type: "llama3", factor: 8 } }, "low_freq_factor");
    bad({ num_key_value_heads: 3 }, "num_key_value_heads");
    bad({ hidden_act: "gelu" }, "hidden_act");
    bad({ hidden_size: "128" }, "hidden_size");
    bad({ vocab_size: undefined }, "vocab_size");
    expect(() => parseConfig({ ...presetConfig("tiny-qwen2"), use_sliding_window: true })).toThrow(/use_sliding_window/);
    expect(() => parseConfig({ ...presetConfig("tiny-baichuan"), z_loss_weight: 0.1 })).toThrow(/z_loss_weight/);
  });

  it("reads released configs and lays out their parameters with the published counts", () => {
    // Field values as in the public config.json of each checkpoint (no weights needed).
    const llama2 = {
      architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 4096, intermediate_size: 11008,
      num_attention_heads: 32, num_hidden_layers: 32, num_key_value_heads: 32, max_position_embeddings: 4096,
      rms_norm_eps: 1e-5, rope_scaling: null, tie_word_embeddings: false, vocab_size: 32000, hidden_act: "silu", pretraining_tp: 1,
    };
    const qwen2 = {
      architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_size: 896, intermediate_size: 4864,
      num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, max_position_embeddings: 131072,
      rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 131072, use_sliding_window: false, max_window_layers: 24,
      tie_word_embeddings: true, vocab_size: 151936, hidden_act: "silu",
    };
    const baichuan2 = {
      architectures: ["BaichuanForCausalLM"], model_type: "baichuan", hidden_size: 4096, intermediate_size: 11008,
      num_attention_heads: 32, num_hidden_layers: 32, max_position_embeddings: 4096, model_max_length: 4096,
      rms_norm_eps: 1e-6, tie_word_embeddings: false, vocab_size: 125696, hidden_act: "silu", pad_token_id: 0,
    };
    const count = (raw: Record<string, unknown>): number =>
      decoderParamSpecs(parseConfig(raw)).reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
    expect(count(llama2)).toBe(6_738_415_616);
    expect(count(qwen2)).toBe(494_032_768);
    expect(count(baichuan2)).toBe(7_505_973_248);
    const q = parseConfig(qwen2);
    expect([q.headDim, q.numKvHeads, q.qkvBias, q.oBias, q.tieWordEmbeddings]).toEqual([64, 2, true, false, true]);
    expect(parseConfig(baichuan2).position).toBe("rope");
  });

  it("decides Baichuan2's position scheme like the released checkpoints", () => {
    const b7 = { architectures: ["BaichuanForCausalLM"], hidden_size: 4096, max_position_embeddings: 4096, model_max_length: 4096 };
    const b13 = { architectures: ["BaichuanForCausalLM"], hidden_size: 5120, model_max_length: 4096 };
    expect(baichuanPositionRule(b7).position).toBe("rope");
    expect(baichuanPositionRule(b13).position).toBe("alibi");
    expect(baichuanPositionRule({ hidden_size: 64, max_position_embeddings: 128 }).position).toBe("rope");
    expect(baichuanPositionRule({ hidden_size: 64, model_max_length: 128 }).position).toBe("alibi");
    expect(baichuanPositionRule({ hidden_size: 4096, position_embedding: "alibi" }).position).toBe("alibi");
    const cfg = parseConfig({ ...b13, vocab_size: 10, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 40 });
    expect(cfg.position).toBe("alibi");
    expect(cfg.maxPositions).toBe(4096);
    expect(cfg.normHead).toBe(true);
  });
});

describe("checkpoints", () => {
  it("save → load gives the same parameters and logits, for every preset", async () => {
    for (const name of presetNames()) {
      const m = tinyModel(name, 7);
      const dir = path.join(tmp, name);
      await saveModel(m, dir);
      const back = await loadModel(dir);
      expect(back.config.architecture).toBe(m.config.architecture);
      for (const p of m.params.list) expect(maxDiff(back.params.get(p.name).data, p.data)).toBe(0);
      const x = { ids: Int32Array.from([1, 4, 9, 16, 25]), B: 1, T: 5 };
      const a = noGrad(() => m.forward(x)).data;
      const b = noGrad(() => back.forward(x)).data;
      expect(maxDiff(a, b)).toBe(0);
      const info = await modelInfo(dir);
      expect(info.parameterCount).toBe(m.params.count());
      expect(info.dtypes).toEqual({ F32: m.params.list.length });
    }
  });

  it("rejects checkpoints with missing, extra or misshapen tensors", async () => {
    const m = tinyModel("tiny-qwen2");
    const entries = m.params.list.map((p) => ({ name: p.name, shape: p.shape, data: p.data }));
    const cfgJson = JSON.stringify(m.config.raw);
    const write = async (dir: string, es: typeof entries): Promise<void> => {
      await writeCheckpoint(dir, es);
      writeFileSync(path.join(dir, "config.json"), cfgJson);
    };
    await write(path.join(tmp, "missing"), entries.slice(1));
    await expect(loadModel(path.join(tmp, "missing"))).rejects.toThrow(/missing 1 tensor.*model\.embed_tokens\.weight/);
    await write(path.join(tmp, "extra"), [...entries, { name: "model.layers.9.mlp.up_proj.weight", shape: [2], data: new Float32Array(2) }]);
    await expect(loadModel(path.join(tmp, "extra"))).rejects.toThrow(/not used.*layers\.9/);
    const wrong = entries.map((e) => (e.name === "model.norm.weight" ? { ...e, shape: [16, 2] } : e));
    await write(path.join(tmp, "shape"), wrong);
    await expect(loadModel(path.join(tmp, "shape"))).rejects.toThrow(/model\.norm\.weight.*\[16, 2\].*\[32\]/);
    writeFileSync(path.join(tmp, "shape", "config.json"), "{ not json");
    await expect(loadModel(path.join(tmp, "shape"))).rejects.toThrow(/config\.json.*JSON/);
  });
});

describe("inference", () => {
  it("rejects out-of-vocabulary ids and bad labels with their position", () => {
    const m = tinyModel("tiny-llama");
    expect(() => noGrad(() => m.forward({ ids: Int32Array.from([1, 50]), B: 1, T: 2 }))).toThrow(ModelInputError);
    expect(() => noGrad(() => m.loss({ ids: Int32Array.from([1, 2]), B: 1, T: 2, labels: Int32Array.from([1, 77]) }))).toThrow(/label 77 at batch 0, position 1/);
  });

  for (const name of presetNames()) {
    it(`KV-cache decoding equals full recomputation (${name})`, () => {
      const m = tinyModel(name, 3);
      const seq = [1, 7, 3, 22, 5, 9, 41, 2];
      const V = m.config.vocabSize;
      const full = noGrad(() => m.forward({ ids: Int32Array.from(seq), B: 1, T: seq.length })).clone().data;
      const cache = m.newCache(1, seq.length);
      const tape = new Tape();
      // prefill 3 tokens, then one at a time
      let got = tape.infer(() => m.forward({ ids: Int32Array.from(seq.slice(0, 3)), B: 1, T: 3 }, { cache })).clone().data;
      expect(maxDiff(got, full.subarray(0, 3 * V))).toBeLessThan(1e-5);
      for (let t = 3; t < seq.length; t++) {
        got = tape.infer(() => m.forward({ ids: Int32Array.from([seq[t]!]), B: 1, T: 1 }, { cache, lastOnly: true })).clone().data;
        expect(maxDiff(got, full.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-5);
      }
    });
  }

  it("a left-padded batch with a cache matches each sequence alone", () => {
    for (const name of ["tiny-qwen2", "tiny-baichuan-alibi"]) {
      const m = tinyModel(name, 5);
      const a = [1, 8, 9, 10, 11];
      const b = [1, 30, 31];
      const V = m.config.vocabSize;
      const alone = (s: number[]): Float32Array => noGrad(() => m.forward({ ids: Int32Array.from(s), B: 1, T: s.length }, { lastOnly: true })).clone().data;
      const ids = Int32Array.from([...a, 0, 0, ...b]);
      const mask = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
      const positions = Int32Array.from([0, 1, 2, 3, 4, 0, 0, 0, 1, 2]);
      const cache = m.newCache(2, 6);
      const out = noGrad(() => m.forward({ ids, B: 2, T: 5, attentionMask: mask, positions }, { cache, lastOnly: true })).clone().data;
      expect(maxDiff(out.subarray(0, V), alone(a))).toBeLessThan(1e-5);
      expect(maxDiff(out.subarray(V), alone(b))).toBeLessThan(1e-5);
      // one more token each
      const step = noGrad(() =>
        m.forward({ ids: Int32Array.from([12, 32]), B: 2, T: 1, positions: Int32Array.from([5, 3]) }, { cache, lastOnly: true }),
      ).clone().data;
      expect(maxDiff(step.subarray(0, V), alone([...a, 12]))).toBeLessThan(1e-5);
      expect(maxDiff(step.subarray(V), alone([...b, 32]))).toBeLessThan(1e-5);
    }
  });

  it("generate: cached greedy equals uncached greedy; top-k 1 is greedy; seeds reproduce; eos stops", () => {
    const m = tinyModel("tiny-baichuan", 11);
    const prompt = [1, 5, 6];
    const g1 = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [] });
    const g2 = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [], useCache: false });
    expect(g1.tokens).toEqual(g2.tokens);
    expect(g1.finishReason).toBe("length");
    const k1 = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [], temperature: 1, topK: 1 });
    expect(k1.tokens).toEqual(g1.tokens);
    const s1 = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [], temperature: 1.5, seed: 4 });
    const s2 = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [], temperature: 1.5, seed: 4 });
    expect(s1.tokens).toEqual(s2.tokens);
    const stopAt = g1.tokens[3]!;
    const e = generate(m, prompt, { maxNewTokens: 12, eosTokenIds: [stopAt] });
    expect(e.finishReason).toBe("eos");
    expect(e.tokens[e.tokens.length - 1]).toBe(stopAt);
    expect(e.tokens.length).toBeLessThanOrEqual(4);
  });
});

describe("scoring continuations", () => {
  it("sums the continuation's token log-probs, batched or not", () => {
    const m = tinyModel("tiny-qwen2", 13);
    const prompt = [1, 4, 5];
    const conts = [[7], [8, 9, 10], [11, 12]];
    const batched = scoreContinuations(m, prompt, conts);
    const single = conts.map((c) => scoreContinuations(m, prompt, [c], { batchSize: 1 })[0]!);
    batched.forEach((s, i) => {
      expect(s.count).toBe(conts[i]!.length);
      expect(s.sum).toBeCloseTo(single[i]!.sum, 4);
    });
    // by hand: log-softmax of the full-sequence logits at each predicting position
    const seq = [...prompt, ...conts[1]!];
    const logits = noGrad(() => m.forward({ ids: Int32Array.from(seq), B: 1, T: seq.length })).clone().data;
    const V = m.config.vocabSize;
    let want = 0;
    for (let t = prompt.length - 1; t < seq.length - 1; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      want += row[seq[t + 1]!]! - lse;
    }
    expect(batched[1]!.sum).toBeCloseTo(want, 4);
  });
});

describe("sampling", () => {
  it("top-k keeps the k best, top-p the smallest nucleus, plain temperature follows the softmax", () => {
    const logits = Float32Array.from([0, 3, 1, 2.5, -1, 2.9]);
    const draw = (opts: { temperature: number; topK?: number; topP?: number }, n = 3000): Map<number, number> => {
      const rng = new Rng(1);
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const t = sampleToken(logits, opts, rng);
        counts.set(t, (counts.get(t) ?? 0) + 1);
      }
      return counts;
    };
    expect([...draw({ temperature: 1, topK: 2 }).keys()].sort()).toEqual([1, 5]);
    // probabilities ∝ e^3, e^2.9, e^2.5, … : top-p 0.5 keeps {1, 5}; 0.3 keeps {1}
    expect([...draw({ temperature: 1, topP: 0.5 }).keys()].sort()).toEqual([1, 5]);
    expect([...draw({ temperature: 1, topP: 0.3 }).keys()]).toEqual([1]);
    const free = draw({ temperature: 1 }, 20000);
    const z = Array.from(logits).reduce((a, v) => a + Math.exp(v), 0);
    expect(free.get(3)! / 20000).toBeCloseTo(Math.exp(2.5) / z, 1);
    expect(sampleToken(logits, { temperature: 0 }, new Rng(0))).toBe(1);
  });
});

describe("batched generation", () => {
  it("equals generate per prompt (greedy and seeded sampling), each stopping on its own eos", () => {
    for (const name of ["tiny-llama", "tiny-baichuan-alibi"]) {
      const m = tinyModel(name, 12);
      const prompts = [[1, 5, 6, 7, 8], [1, 9], [1, 20, 21]];
      const batch = generateBatch(m, prompts, { maxNewTokens: 8, eosTokenIds: [] });
      prompts.forEach((p, b) => expect(batch[b]!.tokens, `${name} prompt ${b}`).toEqual(generate(m, p, { maxNewTokens: 8, eosTokenIds: [] }).tokens));
      const sampled = generateBatch(m, prompts, { maxNewTokens: 6, eosTokenIds: [], temperature: 1.2, topK: 10, seed: 3 });
      prompts.forEach((p, b) => expect(sampled[b]!.tokens).toEqual(generate(m, p, { maxNewTokens: 6, eosTokenIds: [], temperature: 1.2, topK: 10, seed: 3 + b }).tokens));
      const stop = batch[1]!.tokens[2]!;
      const withEos = generateBatch(m, prompts, { maxNewTokens: 8, eosTokenIds: [stop] });
      prompts.forEach((p, b) => {
        const single = generate(m, p, { maxNewTokens: 8, eosTokenIds: [stop] });
        expect(withEos[b]).toEqual(single);
      });
    }
  });
});

describe("training", () => {
  it("activation checkpointing gives the same gradients as keeping activations", () => {
    for (const name of ["tiny-llama", "tiny-baichuan"]) {
      const m = tinyModel(name, 2);
      m.params.allocGrads();
      const batch = {
        B: 2, T: 6,
        ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]),
        attentionMask: Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
        labels: Int32Array.from([-100, -100, 3, 4, 5, 6, 7, 8, 9, 10, -100, -100]),
      };
      const tape = new Tape();
      const l1 = tape.run(() => m.loss(batch));
      tape.backward(l1.loss);
      const g1 = m.params.list.map((p) => Float32Array.from(p.grad!));
      for (const p of m.params.list) p.grad!.fill(0);
      m.gradientCheckpointing = true;
      const l2 = tape.run(() => m.loss(batch));
      expect(l2.loss.item()).toBe(l1.loss.item());
      expect(l2.count).toBe(7);
      tape.backward(l2.loss);
      m.params.list.forEach((p, i) => expect(maxDiff(p.grad!, g1[i]!), p.name).toBeLessThan(1e-6));
    }
  });

  it("a linear hook (adapter) sees every linear layer and trains its own parameters, with or without checkpointing", () => {
    for (const name of ["tiny-qwen2", "tiny-baichuan-alibi"]) {
      const m = tinyModel(name, 9);
      m.params.setRequiresGrad(false);
      const adapters = new Map<string, { A: Tensor; B: Tensor }>();
      const seen: string[] = [];
      m.linearHook = (module, x, w, b) => {
        seen.push(module);
        let ad = adapters.get(module);
        if (!ad) {
          const r = 2;
          const A = new Tensor([r, w.shape[1]!], Float32Array.from({ length: r * w.shape[1]! }, (_, i) => Math.sin(i + 1) * 0.1), { requiresGrad: true, name: module + ".A" });
          const B = new Tensor([w.shape[0]!, r], Float32Array.from({ length: r * w.shape[0]! }, (_, i) => Math.cos(i) * 0.1), { requiresGrad: true, name: module + ".B" });
          ad = { A, B };
          adapters.set(module, ad);
        }
        return add(linear(x, w, b), linear(linear(x, ad.A), ad.B));
      };
      const batch = { B: 1, T: 5, ids: Int32Array.from([1, 2, 3, 4, 5]), labels: Int32Array.from([1, 2, 3, 4, 5]) };
      const tape = new Tape();
      tape.backward(tape.run(() => m.loss(batch)).loss);
      const perLayer = m.config.qkv === "packed" ? 5 : 7;
      expect(new Set(seen).size).toBe(perLayer * m.config.numLayers);
      expect(seen).toContain("model.layers.1.mlp.down_proj");
      const g1 = [...adapters.values()].map((a) => Float32Array.from(a.A.grad!));
      expect(g1.every((g) => g.some((v) => v !== 0))).toBe(true);
      expect(m.params.list.every((p) => p.grad === null)).toBe(true);
      for (const a of adapters.values()) {
        a.A.grad = null;
        a.B.grad = null;
      }
      m.gradientCheckpointing = true;
      tape.backward(tape.run(() => m.loss(batch)).loss);
      [...adapters.values()].forEach((a, i) => expect(maxDiff(a.A.grad!, g1[i]!)).toBeLessThan(1e-6));
    }
  });

  it("lossAndGrad: two scaled half-batches accumulate the full batch's gradient", () => {
    const m = tinyModel("tiny-qwen2", 6);
    const tape = new Tape();
    const full = { B: 2, T: 4, ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), labels: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    const r = m.lossAndGrad(full, tape);
    expect(r.count).toBe(6);
    const g = m.params.list.map((p) => Float32Array.from(p.grad!));
    for (const p of m.params.list) p.grad!.fill(0);
    const h1 = m.lossAndGrad({ B: 1, T: 4, ids: full.ids.slice(0, 4), labels: full.labels.slice(0, 4) }, tape, { scale: 0.5 });
    const h2 = m.lossAndGrad({ B: 1, T: 4, ids: full.ids.slice(4), labels: full.labels.slice(4) }, tape, { scale: 0.5 });
    expect((h1.loss + h2.loss) / 2).toBeCloseTo(r.loss, 5);
    m.params.list.forEach((p, i) => expect(maxDiff(p.grad!, g[i]!), p.name).toBeLessThan(1e-6));
  });

  it("AdamW training memorises a small batch (every preset)", () => {
    for (const name of presetNames()) {
      const m = tinyModel(name, 8);
      const opt = new AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0 });
      const tape = new Tape();
      const ids = Int32Array.from([1, 10, 11, 12, 13, 14, 15, 2, 1, 20, 21, 22, 23, 24, 25, 2]);
      const batch = { B: 2, T: 8, ids, labels: ids };
      const losses: number[] = [];
      for (let s = 0; s < 40; s++) {
        zeroGrad(m.parameters());
        losses.push(m.lossAndGrad(batch, tape).loss);
        clipGradNorm(m.parameters(), 1);
        opt.step();
      }
      expect(losses[0]).toBeGreaterThan(3);
      expect(losses[losses.length - 1], name).toBeLessThan(0.2);
    }
  });

  it("a training step allocates no new activation memory after the first", () => {
    const m = tinyModel("tiny-baichuan", 4);
    m.params.allocGrads();
    const batch = { B: 2, T: 4, ids: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), labels: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    const tape = new Tape();
    const step = (): void => tape.backward(tape.run(() => m.loss(batch)).loss);
    step();
    const bytes = tape.arena.bytes;
    step();
    step();
    expect(tape.arena.bytes).toBe(bytes);
  });

  it("random init is deterministic per seed and uses initializer_range", () => {
    const a = tinyModel("tiny-qwen2", 42);
    const b = tinyModel("tiny-qwen2", 42);
    const c = tinyModel("tiny-qwen2", 43);
    const w = (m: CausalLM): Float32Array => m.params.get("model.layers.0.mlp.up_proj.weight").data;
    expect(maxDiff(w(a), w(b))).toBe(0);
    expect(maxDiff(w(a), w(c))).toBeGreaterThan(0);
    const d = w(a);
    const std = Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023);
    expect(Array.from(a.params.get("model.norm.weight").data).every((v) => v === 1)).toBe(true);
    expect(Array.from(a.params.get("model.layers.0.self_attn.q_proj.bias").data).every((v) => v === 0)).toBe(true);
  });
});

describe("pedgpt model CLI", () => {
  it("init from a preset, then info", async () => {
    const { runCli } = await import("../cli/main.js");
    const out = path.join(tmp, "cli");
    const logs: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => void logs.push(a.join(" "));
    try {
      await runCli(["node", "pedgpt", "model", "init", "--config", "tiny-llama", "--out", out, "--vocab-size", "300", "--seed", "5"]);
      await runCli(["node", "pedgpt", "model", "info", out]);
    } finally {
      console.log = orig;
    }
    expect(process.exitCode ?? 0).toBe(0);
    const text = logs.join("\n");
    expect(text).toMatch(/wrote LlamaForCausalLM/);
    expect(text).toMatch(/vocabulary\s+300/);
    expect(text).toMatch(/model\.safetensors/);
  });
});
