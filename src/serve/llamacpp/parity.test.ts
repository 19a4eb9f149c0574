/**
 * Our model's logits vs llama.cpp's on the same GGUF export: for each architecture (Llama with GQA,
 * tied and untied; Qwen2 with biases; Baichuan2 RoPE and ALiBi, both at the depths llama.cpp maps to
 * `baichuan` and at small depths, which export as `llama` / `refact`), a random tiny model is
 * exported as f32 and its logits over a token sequence must agree within 1e-3 (max |diff|). Also
 * covered: q/k biases (permuted with their rows), head_dim ≠ hidden/heads, tied embeddings (with
 * NormHead the normalised embedding is written as the head). f16 and
 * q8_0 exports are compared with our forward on the weights read back (dequantized) from the file.
 * The max difference per case is printed.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noGrad, withBackend } from "../../engine/index.js";
import { referenceKernels } from "../../engine/kernels/index.js";
import { parseConfig } from "../../model/architectures.js";
import { CausalLM } from "../../model/model.js";
import { exportGguf, type GgufFileType, type TensorSource } from "../../model/io/gguf_export.js";
import { openGguf } from "../../model/io/gguf.js";
import { exportLoraGguf } from "../../model/io/gguf_lora.js";
import { LlamaCppLogits } from "./oracle.js";
import { mulberry32 as rng } from "../../util/random.js";

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-llamacpp-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});


const V = 96;
const base = { vocab_size: V, hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, rms_norm_eps: 1e-5, hidden_act: "silu", max_position_embeddings: 128 };

const CASES: Record<string, Record<string, unknown>> = {
  "llama (GQA 4/2, untied)": { architectures: ["LlamaForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 2, rope_theta: 10000 },
  "llama (tied embeddings)": { architectures: ["LlamaForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 4, tie_word_embeddings: true, rope_theta: 500000 },
  "llama (attention_bias + mlp_bias: permuted q/k biases)": {
    architectures: ["LlamaForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 2, attention_bias: true, mlp_bias: true,
  },
  "llama (head_dim 16 ≠ hidden/heads)": { architectures: ["LlamaForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 2, head_dim: 16 },
  "qwen2 (tied embeddings)": { architectures: ["Qwen2ForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 1, tie_word_embeddings: true },
  "qwen2 (q/k/v biases, GQA)": { architectures: ["Qwen2ForCausalLM"], ...base, num_hidden_layers: 2, num_key_value_heads: 2, rope_theta: 1000000 },
  "baichuan2 RoPE, 32 layers (gguf baichuan)": {
    architectures: ["BaichuanForCausalLM"], ...base, hidden_size: 16, intermediate_size: 32, num_attention_heads: 2, num_hidden_layers: 32, position_embedding: "rope",
  },
  "baichuan2 RoPE, 2 layers (gguf llama)": { architectures: ["BaichuanForCausalLM"], ...base, num_hidden_layers: 2, position_embedding: "rope" },
  "baichuan2 RoPE, tied embeddings + NormHead": { architectures: ["BaichuanForCausalLM"], ...base, num_hidden_layers: 2, position_embedding: "rope", tie_word_embeddings: true },
  "baichuan2 ALiBi, 40 layers (gguf baichuan)": {
    architectures: ["BaichuanForCausalLM"], ...base, hidden_size: 16, intermediate_size: 32, num_attention_heads: 2, num_hidden_layers: 40, position_embedding: "alibi",
  },
  "baichuan2 ALiBi, 5 heads, 2 layers (gguf refact)": {
    architectures: ["BaichuanForCausalLM"], ...base, hidden_size: 40, num_attention_heads: 5, num_hidden_layers: 2, position_embedding: "alibi",
  },
};

/** A model with every parameter random (norms around 1, biases non-zero) so each one matters. */
function randomModel(raw: Record<string, unknown>, seed: number): CausalLM {
  const model = new CausalLM(parseConfig(raw, "test config"));
  const r = rng(seed);
  for (const p of model.params.list) {
    const d = p.data;
    if (p.shape.length === 1) {
      const norm = p.name.endsWith("norm.weight");
      for (let i = 0; i < d.length; i++) d[i] = norm ? 0.7 + 0.6 * r() : 0.4 * (r() - 0.5);
    } else {
      const a = 2.5 / Math.sqrt(p.shape[1]!);
      for (let i = 0; i < d.length; i++) d[i] = a * (2 * r() - 1);
    }
    p.version++;
  }
  return model;
}

function sourceOf(model: CausalLM): TensorSource {
  const byName = new Map(model.params.list.map((p) => [p.name, p] as const));
  return {
    names: () => [...byName.keys()],
    has: (n) => byName.has(n),
    info: (n) => ({ shape: [...byName.get(n)!.shape] }),
    read: async (n) => byName.get(n)!.data,
  };
}

const TOKENS = [5, 17, 3, 88, 42, 42, 0, 61, 7, 95, 30, 12];

/**
 * Our logits on the TypeScript reference kernels: this file checks the model math and the export,
 * not the native addon (whose parity with the reference kernels is tested in src/engine).
 */
function ourLogits(model: CausalLM): Float32Array {
  return withBackend(referenceKernels, () => noGrad(() => model.forward({ ids: Int32Array.from(TOKENS), B: 1, T: TOKENS.length })).clone().data);
}

async function llamaLogits(file: string): Promise<Float32Array> {
  const oracle = await LlamaCppLogits.open(file, { contextSize: 64 });
  try {
    const rows = await oracle.logits(TOKENS);
    const out = new Float32Array(TOKENS.length * V);
    rows.forEach((row, i) => {
      expect(row.length).toBe(V);
      out.set(row, i * V);
    });
    return out;
  } finally {
    await oracle.dispose();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

async function exportAs(model: CausalLM, name: string, fileType: GgufFileType) {
  const file = path.join(tmp, `${name.replace(/[^a-z0-9]+/gi, "_")}.${fileType}.gguf`);
  const report = await exportGguf(file, model.config, sourceOf(model), { fileType, vocab: { kind: "synthetic" } });
  return { file, report };
}

describe("llama.cpp parity of exported GGUF models (f32)", () => {
  let seed = 100;
  for (const [name, raw] of Object.entries(CASES)) {
    const s = seed++;
    it(name, async () => {
      const model = randomModel(raw, s);
      const { file, report } = await exportAs(model, name, "f32");
      const ours = ourLogits(model);
      const theirs = await llamaLogits(file);
      const { diff, scale } = maxDiff(ours, theirs);
      console.log(`llama.cpp parity ${name} [gguf ${report.ggufArch}]: max |diff| ${diff.toExponential(2)} over ${TOKENS.length}×${V} logits (max |logit| ${scale.toFixed(2)})`);
      expect(Number.isFinite(diff)).toBe(true);
      expect(scale).toBeGreaterThan(0.5);
      expect(diff).toBeLessThanOrEqual(1e-3);
    });
  }
});

/** GGML interleaved → HF rotate-half rows (inverse of permuteQK). */
function unpermuteQK(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const d = rows / nHead;
  const half = d / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) out.set(w.subarray((h * d + 2 * j + t) * cols, (h * d + 2 * j + t + 1) * cols), (h * d + t * half + j) * cols);
    }
  }
  return out;
}

describe("f16 and q8_0 exports in llama.cpp", () => {
  it("llama f16/q8_0: llama.cpp's logits equal ours on the dequantized weights", async () => {
    const raw = CASES["llama (GQA 4/2, untied)"]!;
    const model = randomModel(raw, 7);
    const f32 = ourLogits(model);
    const names: Record<string, string> = {
      "token_embd.weight": "model.embed_tokens.weight",
      "output_norm.weight": "model.norm.weight",
      "output.weight": "lm_head.weight",
    };
    const layer: Record<string, string> = {
      attn_norm: "input_layernorm", attn_q: "self_attn.q_proj", attn_k: "self_attn.k_proj", attn_v: "self_attn.v_proj",
      attn_output: "self_attn.o_proj", ffn_norm: "post_attention_layernorm", ffn_gate: "mlp.gate_proj", ffn_up: "mlp.up_proj", ffn_down: "mlp.down_proj",
    };
    for (const fileType of ["f16", "q8_0"] as const) {
      const { file, report } = await exportAs(model, "quant", fileType);
      expect(report.fallbacks).toEqual([]);
      // Rebuild our model from what the file holds (dequantized), undoing the q/k permutation.
      const back = new CausalLM(model.config);
      const g = await openGguf(file);
      try {
        expect(g.tensors.get("blk.0.attn_q.weight")!.type).toBe(fileType === "f16" ? 1 : 8);
        expect(g.tensors.get("blk.0.attn_norm.weight")!.type).toBe(0);
        for (const [gname, info] of g.tensors) {
          const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(gname);
          const hf = m ? `model.layers.${m[1]}.${layer[m[2]!]}.weight` : names[gname]!;
          let w = await g.read(gname);
          if (m && (m[2] === "attn_q" || m[2] === "attn_k")) w = unpermuteQK(w, info.shape[0]!, info.shape[1]!, m[2] === "attn_q" ? model.config.numHeads : model.config.numKvHeads);
          back.params.get(hf).data.set(w);
          back.params.get(hf).version++;
        }
      } finally {
        await g.close();
      }
      const ours = ourLogits(back);
      const theirs = await llamaLogits(file);
      expect(theirs.every(Number.isFinite)).toBe(true);
      const exact = maxDiff(ours, theirs);
      const vsF32 = maxDiff(f32, theirs);
      console.log(
        `llama.cpp ${fileType}: max |diff| ${exact.diff.toExponential(2)} vs our logits on the dequantized weights; ${vsF32.diff.toExponential(2)} vs the f32 model (max |logit| ${vsF32.scale.toFixed(2)})`,
      );
      // ggml's CPU matmul also rounds the activations to the weight's dot-product type (f16, or
      // q8_0 blocks), so even on identical weights llama.cpp is not exact here; the bounds are
      // what that rounding allows, and the first must be tighter than the second.
      const tol = fileType === "f16" ? 2e-3 : 5e-2;
      expect(exact.diff).toBeLessThanOrEqual(tol * exact.scale);
      expect(exact.diff).toBeLessThanOrEqual(vsF32.diff);
      expect(vsF32.diff).toBeLessThan(0.1 * vsF32.scale);
    }
  });
});

describe("LoRA adapter GGUF in llama.cpp", () => {
  const LORA_CASES: [string, Record<string, unknown>, string[]][] = [
    ["llama (GQA)", CASES["llama (GQA 4/2, untied)"]!, ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]],
    ["qwen2", CASES["qwen2 (q/k/v biases, GQA)"]!, ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.down_proj"]],
    ["baichuan2 W_pack (RoPE)", CASES["baichuan2 RoPE, 2 layers (gguf llama)"]!, ["self_attn.W_pack", "self_attn.o_proj", "mlp.up_proj"]],
  ];
  for (const [name, raw, modules] of LORA_CASES) {
    it(`${name}: base + adapter in llama.cpp = our model with merged weights`, async () => {
      const base = randomModel(raw, 31);
      const r = rng(77);
      const rank = 4;
      const alpha = 8;
      const scale = 0.5;
      const adapter = new Map<string, { shape: number[]; data: Float32Array }>();
      const merged = new CausalLM(base.config);
      for (const p of base.params.list) merged.params.get(p.name).data.set(p.data);
      for (let l = 0; l < base.config.numLayers; l++) {
        for (const mod of modules) {
          const w = merged.params.get(`model.layers.${l}.${mod}.weight`);
          const [out, inp] = w.shape as [number, number];
          const A = Float32Array.from({ length: rank * inp }, () => (r() - 0.5) / Math.sqrt(inp));
          const B = Float32Array.from({ length: out * rank }, () => r() - 0.5);
          adapter.set(`base_model.model.model.layers.${l}.${mod}.lora_A.weight`, { shape: [rank, inp], data: A });
          adapter.set(`base_model.model.model.layers.${l}.${mod}.lora_B.weight`, { shape: [out, rank], data: B });
          // W += scale · (alpha / r) · B·A
          const s = (scale * alpha) / rank;
          for (let i = 0; i < out; i++) for (let j = 0; j < inp; j++) {
            let acc = 0;
            for (let k = 0; k < rank; k++) acc += B[i * rank + k]! * A[k * inp + j]!;
            w.data[i * inp + j]! += s * acc;
          }
          w.version++;
        }
      }
      if (!base.config.normHead && !base.config.tieWordEmbeddings) {
        // An adapter on the untied lm_head too (output.weight in llama.cpp).
        const w = merged.params.get("lm_head.weight");
        const [out, inp] = w.shape as [number, number];
        const A = Float32Array.from({ length: rank * inp }, () => (r() - 0.5) / Math.sqrt(inp));
        const B = Float32Array.from({ length: out * rank }, () => r() - 0.5);
        adapter.set("base_model.model.lm_head.lora_A.weight", { shape: [rank, inp], data: A });
        adapter.set("base_model.model.lm_head.lora_B.weight", { shape: [out, rank], data: B });
        const s = (scale * alpha) / rank;
        for (let i = 0; i < out; i++) for (let j = 0; j < inp; j++) {
          let acc = 0;
          for (let k = 0; k < rank; k++) acc += B[i * rank + k]! * A[k * inp + j]!;
          w.data[i * inp + j]! += s * acc;
        }
        w.version++;
      }
      const baseFile = (await exportAs(base, `lora base ${name}`, "f32")).file;
      const loraFile = path.join(tmp, `lora_${name.replace(/[^a-z0-9]+/gi, "_")}.gguf`);
      const src: TensorSource = {
        names: () => [...adapter.keys()],
        has: (n) => adapter.has(n),
        info: (n) => ({ shape: adapter.get(n)!.shape }),
        read: async (n) => adapter.get(n)!.data,
      };
      const report = await exportLoraGguf(loraFile, base.config, src, { alpha });
      expect(report.rank).toBe(rank);
      const oracle = await LlamaCppLogits.open(baseFile, { contextSize: 64, lora: [{ filePath: loraFile, scale }] });
      let theirs: Float32Array;
      try {
        const rows = await oracle.logits(TOKENS);
        theirs = new Float32Array(TOKENS.length * V);
        rows.forEach((row, i) => theirs.set(row, i * V));
      } finally {
        await oracle.dispose();
      }
      const ours = ourLogits(merged);
      const { diff, scale: mx } = maxDiff(ours, theirs);
      const moved = maxDiff(ourLogits(base), theirs).diff;
      console.log(`llama.cpp LoRA ${name} [gguf ${report.ggufArch}, ${report.targets.length} adapted tensors]: max |diff| ${diff.toExponential(2)} (adapter moves logits by up to ${moved.toFixed(2)}, max |logit| ${mx.toFixed(2)})`);
      expect(moved).toBeGreaterThan(0.1);
      expect(diff).toBeLessThanOrEqual(1e-3);
    });
  }
});
