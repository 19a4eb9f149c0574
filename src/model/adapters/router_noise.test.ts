/**
 * Fixed MoE-LoRA router noise (`routerNoise: "fixed"`, the cross-backend parity setting): the module
 * hash is 32-bit FNV-1a (published test vectors), the table of a row is the documented sequence of
 * normals, and an adapted layer in training computes exactly the gate that a plain re-implementation
 * in this test computes from that table, for every row of a batch and at every step; evaluation has
 * no noise, and the default ("seeded") still draws from the trainer's stream as before.
 */
import { describe, expect, it } from "vitest";
import { noGrad, Tensor } from "../../engine/index.js";
import { streamSeed } from "../../train/trainer/streams.js";
import { parseConfig } from "../architectures.js";
import { Rng } from "../init.js";
import { CausalLM } from "../model.js";
import { batchRowLength, fixedRouterNoise, fnv1a32, LORA_DEFAULTS, LoraAdapter, type AdapterSettings } from "./index.js";

const CFG = {
  architectures: ["LlamaForCausalLM"], vocab_size: 40, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};
const M = "model.layers.0.self_attn.q_proj";
const E = 4;

function adapter(routerNoise: AdapterSettings["routerNoise"], seed = 7): LoraAdapter {
  const settings: AdapterSettings = { ...LORA_DEFAULTS, r: 2, alpha: 4, experts: E, targetModules: ["q_proj"], wNoiseInit: "seed", ...(routerNoise ? { routerNoise } : {}) };
  const a = LoraAdapter.create(new CausalLM(parseConfig(CFG, "test"), { seed: 1 }), settings, { seed });
  // B is zero in a fresh adapter (output = base); give it values so the gate shows in the output.
  const rng = new Rng(99);
  const st = a.module(M);
  for (let i = 0; i < st.B.size; i++) st.B.data[i] = rng.normal();
  return a;
}

/** The adapter's delta for x (N, in), recomputed here from the tensors and the noise table. */
function expectedDelta(a: LoraAdapter, x: Float32Array, N: number, eps: ((n: number, e: number) => number) | null): Float32Array {
  const st = a.module(M);
  const { r } = a.settings;
  const inF = st.inF;
  const s = a.scale;
  const out = new Float32Array(N * st.out);
  for (let n = 0; n < N; n++) {
    const xn = x.subarray(n * inF, (n + 1) * inF);
    const dot = (w: Float32Array, row: number) => {
      let acc = 0;
      for (let i = 0; i < inF; i++) acc += w[row * inF + i]! * xn[i]!;
      return acc;
    };
    const logits = Array.from({ length: E - 1 }, (_, e) => {
      const z = dot(st.noise!.data, e);
      return dot(st.route!.data, e) + (eps ? eps(n, e) * Math.log1p(Math.exp(z)) : 0);
    });
    const mx = Math.max(...logits);
    const ex = logits.map((v) => Math.exp(v - mx));
    const sum = ex.reduce((p, v) => p + v, 0);
    const gate = [1, ...ex.map((v) => v / sum)];
    const h = Array.from({ length: E * r }, (_, c) => dot(st.A.data, c) * s * gate[Math.floor(c / r)]!);
    for (let o = 0; o < st.out; o++) {
      let acc = 0;
      for (let c = 0; c < E * r; c++) acc += st.B.data[o * E * r + c]! * h[c]!;
      out[n * st.out + o] = acc;
    }
  }
  return out;
}

function delta(a: LoraAdapter, x: Float32Array, N: number): Float32Array {
  const st = a.module(M);
  return noGrad(() => Float32Array.from(a.wrap(M, Tensor.from(x, [N, st.inF]), () => Tensor.zeros([N, st.out])).data));
}

const maxDiff = (p: Float32Array, q: Float32Array) => p.reduce((m, v, i) => Math.max(m, Math.abs(v - q[i]!)), 0);

describe("fixed router noise", () => {
  it("hashes module paths with 32-bit FNV-1a", () => {
    // Published FNV-1a 32-bit test vectors.
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // UTF-8 bytes, not UTF-16 code units: "é" is 0xc3 0xa9.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Number((BigInt(h ^ b) * 0x01000193n) & 0xffffffffn);
    expect(fnv1a32("é")).toBe(h);
  });

  it("is the documented sequence of normals, position-major", () => {
    const L = 5;
    const table = fixedRouterNoise(42, M, L, E - 1);
    const rng = new Rng(streamSeed(42, 4, fnv1a32(M), 0));
    const seq = Array.from({ length: L * (E - 1) }, () => rng.normal());
    expect(Array.from(table)).toEqual(seq.map((v) => Math.fround(v)));
    // Position 3, expert 1 is draw 3·(E−1)+1; a shorter row's table is the prefix of a longer one's.
    expect(table[3 * (E - 1) + 1]).toBe(Math.fround(seq[10]!));
    expect(Array.from(fixedRouterNoise(42, M, 2, E - 1))).toEqual(Array.from(table.subarray(0, 2 * (E - 1))));
    // Another module or seed gives another table.
    expect(fixedRouterNoise(42, "model.layers.0.self_attn.k_proj", L, E - 1)[0]).not.toBe(table[0]);
    expect(fixedRouterNoise(43, M, L, E - 1)[0]).not.toBe(table[0]);
  });

  it("a layer in training gates with the table by position in the row, the same every step and row", () => {
    const a = adapter("fixed", 7);
    const L = 3;
    const rows = 2;
    const N = rows * L;
    const inF = a.module(M).inF;
    const rng = new Rng(5);
    const x = Float32Array.from({ length: N * inF }, () => rng.normal());
    const table = fixedRouterNoise(7, M, L, E - 1);
    const want = expectedDelta(a, x, N, (n, e) => table[(n % L) * (E - 1) + e]!);
    // The trainer's stream does not matter: two different streams, two steps, the same output.
    a.train(new Rng(1), { rowLength: L });
    const first = delta(a, x, N);
    a.train(new Rng(2), { rowLength: L });
    const second = delta(a, x, N);
    expect(maxDiff(first, want)).toBeLessThan(1e-5);
    expect(Array.from(second)).toEqual(Array.from(first));
    // The noise changes the output (the check above is not vacuous), and evaluation has none.
    expect(maxDiff(first, expectedDelta(a, x, N, null))).toBeGreaterThan(1e-3);
    a.eval();
    expect(maxDiff(delta(a, x, N), expectedDelta(a, x, N, null))).toBeLessThan(1e-5);
    // Without the row length the position is unknown: an error, not a guess.
    a.train(new Rng(1));
    expect(() => delta(a, x, N)).toThrow(/row length/);
    // The objectives find it in next-token batches and in preference batches' input.
    expect([batchRowLength({ ids: [], B: 2, T: 5 }), batchRowLength({ input: { B: 4, T: 7 } }), batchRowLength({})]).toEqual([5, 7, undefined]);
  });

  it("seeded (the default) still draws ε from the trainer's stream, position by position", () => {
    expect(LORA_DEFAULTS.routerNoise).toBeUndefined();
    const a = adapter(undefined);
    const N = 4;
    const inF = a.module(M).inF;
    const rng = new Rng(5);
    const x = Float32Array.from({ length: N * inF }, () => rng.normal());
    a.train(new Rng(11));
    const got = delta(a, x, N);
    const draws = new Rng(11);
    const eps = Array.from({ length: N * (E - 1) }, () => draws.normal());
    expect(maxDiff(got, expectedDelta(a, x, N, (n, e) => eps[n * (E - 1) + e]!))).toBeLessThan(1e-5);
  });
});
