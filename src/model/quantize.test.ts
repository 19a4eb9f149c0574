/**
 * Weight-only quantised inference on tiny models of each architecture: logits close to the f32
 * model's (q8_0 and bf16), cached decoding equal to full recomputation, and the refusals (recording
 * tape, stale weights, widths q8_0 cannot block, an existing base hook). `remove()` restores f32.
 * `QuantizedMatrix.fromMany` (shared allocations) gives the values of quantising one by one.
 */
import { describe, expect, it } from "vitest";
import { noGrad, QuantizedMatrix, Tape, Tensor } from "../engine/index.js";
import { CausalLM, parseConfig, presetConfig } from "./index.js";
import { quantizeForInference, QuantizeConflictError, QuantizedWeightsStaleError, ReleasedWeightsError } from "./quantize.js";
import { LORA_DEFAULTS, LoraAdapter } from "./adapters/index.js";
import { saveModel } from "./checkpoint.js";
import { tempDir } from "../../test/helpers/tempdir.js";

const width32 = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, vocab_size: 97, max_position_embeddings: 64, model_max_length: 64 };
const ids = Int32Array.from({ length: 24 }, (_, i) => (i * 37 + 5) % 97);

function tiny(preset: string, over: Record<string, unknown> = width32): CausalLM {
  return new CausalLM(parseConfig(presetConfig(preset, over), preset), { seed: 7 });
}

/** max |a - b| relative to max |b| */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

for (const preset of ["tiny-llama", "tiny-qwen2", "tiny-baichuan", "tiny-baichuan-alibi"]) {
  describe(`quantised inference, ${preset}`, () => {
    for (const [format, tol] of [["q8_0", 2e-2], ["bf16", 1e-2]] as const) {
      it(`${format}: logits within ${tol} of f32 (relative to the largest), remove() restores f32 exactly`, () => {
        const model = tiny(preset);
        const input = { ids, B: 2, T: 12 };
        const f32 = noGrad(() => model.forward(input)).data.slice();
        const q = quantizeForInference(model, format);
        expect(q.modules).toContain("lm_head");
        expect(q.modules.length).toBe(1 + model.config.numLayers * (model.config.architecture === "BaichuanForCausalLM" ? 5 : 7));
        expect(q.bytes / q.f32Bytes).toBeLessThan(format === "q8_0" ? 0.3 : 0.51);
        const quant = noGrad(() => model.forward(input)).data.slice();
        const err = relErr(quant, f32);
        console.log(`  ${preset} ${format}: logits max|diff| / max|logit| = ${err.toExponential(2)}, bytes ${q.bytes} vs f32 ${q.f32Bytes}`);
        expect(err).toBeLessThan(tol);
        expect(err).toBeGreaterThan(0); // the quantised path really ran
        q.remove();
        expect(Array.from(noGrad(() => model.forward(input)).data)).toEqual(Array.from(f32));
      });
    }

    it("q8_0 decoding with a KV cache equals recomputing the whole sequence", () => {
      const model = tiny(preset);
      const q = quantizeForInference(model, "q8_0");
      const T = 10;
      const full = noGrad(() => model.forward({ ids: ids.subarray(0, T), B: 1, T })).data;
      const cache = model.newCache(1, T);
      noGrad(() => model.forward({ ids: ids.subarray(0, 6), B: 1, T: 6 }, { cache }));
      const V = model.config.vocabSize;
      for (let t = 6; t < T; t++) {
        const step = noGrad(() => model.forward({ ids: ids.subarray(t, t + 1), B: 1, T: 1 }, { cache })).data;
        expect(relErr(step, full.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-5);
      }
      q.remove();
    });
  });
}

describe("releasing the f32 copies (serving)", () => {
  it("the same logits with a LoRA on top, the decoder linears' f32 bytes freed, and no way back", async () => {
    const model = tiny("tiny-qwen2");
    const q = quantizeForInference(model, "q8_0");
    const adapter = LoraAdapter.create(model, { ...LORA_DEFAULTS, r: 4, alpha: 8, targetModules: "all", experts: 1 }, { seed: 3 });
    for (const p of adapter.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = Math.sin(i + p.size) * 0.05; // B = 0 at init would hide the adapter
    adapter.eval();
    adapter.attach(model);
    const input = { ids, B: 2, T: 12 };
    const before = noGrad(() => model.forward(input)).data.slice();
    const decoderF32 = model.parameters().filter((p) => /^model\.layers\.\d+\.(self_attn|mlp)\./.test(p.name) && p.rank === 2).reduce((n, p) => n + 4 * p.size, 0);
    expect(q.releaseF32()).toBe(decoderF32);
    expect(q.releaseF32()).toBe(0);
    expect(Array.from(noGrad(() => model.forward(input)).data)).toEqual(Array.from(before));
    expect(() => q.remove()).toThrow(ReleasedWeightsError);
    await expect(saveModel(model, tempDir("released-"))).rejects.toThrow(/needs \d+ values, data has 0/);
  });
});

describe("QuantizedMatrix.fromMany (one shared allocation for a model's copies)", () => {
  it("gives exactly the values of quantising one by one, as views of shared buffers; a bad weight is refused first", () => {
    const ws = [[96, 64], [33, 32], [7, 128]].map(([r, c], n) => new Tensor([r!, c!], Float32Array.from({ length: r! * c! }, (_, i) => Math.sin(i * (n + 1)) * (n + 1)), { name: `w${n}` }));
    for (const format of ["q8_0", "bf16"] as const) {
      const many = QuantizedMatrix.fromMany(ws, format);
      ws.forEach((w, i) => {
        const one = QuantizedMatrix.from(w, format);
        expect(Array.from(many[i]!.data)).toEqual(Array.from(one.data));
        expect(many[i]!.scales ? Array.from(many[i]!.scales!) : null).toEqual(one.scales ? Array.from(one.scales) : null);
        expect([many[i]!.rows, many[i]!.cols, many[i]!.name]).toEqual([w.shape[0], w.shape[1], w.name]);
      });
      expect(many[1]!.data.buffer).toBe(many[0]!.data.buffer);
    }
    const bad = new Tensor([4, 40], new Float32Array(160), { name: "odd" });
    expect(() => QuantizedMatrix.fromMany([...ws, bad], "q8_0")).toThrow(/input width of "odd" to be a multiple of 32, got 40/);
    expect(() => QuantizedMatrix.fromMany(ws, "q4" as never)).toThrow(/unknown format "q4"/);
  });
});

describe("quantised inference refusals", () => {
  it("a recording tape is refused (quantised weights have no gradient)", () => {
    const model = tiny("tiny-llama");
    quantizeForInference(model, "bf16");
    const tape = new Tape();
    expect(() => tape.run(() => model.forward({ ids, B: 1, T: 24 }))).toThrow(/inference only; run inside noGrad/);
  });

  it("a weight changed after quantisation is a named error, not a silently stale copy", () => {
    const model = tiny("tiny-qwen2");
    const q = quantizeForInference(model, "q8_0");
    const w = model.params.get("model.layers.1.mlp.down_proj.weight");
    w.data[0] = 1;
    w.version++;
    expect(() => noGrad(() => model.forward({ ids, B: 1, T: 24 }))).toThrow(QuantizedWeightsStaleError);
    q.remove();
    expect(() => noGrad(() => model.forward({ ids, B: 1, T: 24 }))).not.toThrow();
  });

  it("q8_0 refuses an input width that is not a multiple of 32, naming the weight", () => {
    const model = tiny("tiny-llama", { ...width32, intermediate_size: 48 });
    expect(() => quantizeForInference(model, "q8_0")).toThrow(/model\.layers\.0\.mlp\.down_proj\.weight.*multiple of 32, got 48/);
    expect(model.linearHook).toBeNull(); // nothing half-installed
  });

  it("an existing base linear hook is not overwritten", () => {
    const model = tiny("tiny-llama");
    model.linearHook = (_m, x) => x;
    expect(() => quantizeForInference(model, "bf16")).toThrow(QuantizeConflictError);
  });
});
