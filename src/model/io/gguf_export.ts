/**
 * Export of a Hugging Face-layout Llama-family model (Llama, Qwen2, Baichuan/Baichuan2) to a GGUF
 * file that llama.cpp loads: architecture metadata keys, tensor renaming, and the weight transforms
 * llama.cpp's own converter applies. Facts taken from llama.cpp's public source (llama-arch,
 * models/*.cpp, convert_hf_to_gguf.py):
 *
 * - llama: q/k rows are permuted from HF's rotate-half RoPE layout to GGML's interleaved pairs
 *   (per head, rows [0..d/2) and [d/2..d) are interleaved). qwen2 uses NEOX RoPE in llama.cpp, so
 *   no permutation.
 * - baichuan: `W_pack` (q;k;v stacked) is split, q/k permuted as for llama. llama.cpp chooses the
 *   position encoding from the layer count alone: 32 layers → RoPE (7B), 40 → ALiBi with max bias 8
 *   (13B), anything else → none. So other depths are written as the architecture with the same
 *   math: `llama` for RoPE, `refact` (RMSNorm, SwiGLU, ALiBi max bias 8) for ALiBi.
 *   Baichuan2's NormHead divides each lm_head row by its L2 norm at inference; llama.cpp does not,
 *   so the normalised rows are written.
 * - 1-D tensors (norms, biases) stay F32 in every file type, as llama.cpp's converter does; a 2-D
 *   tensor whose rows are not a multiple of 32 cannot be Q8_0 and is written F16 (reported).
 *
 * Not here: the GGUF container (`gguf.ts`), vocabulary metadata (`gguf_vocab.ts`), LoRA adapters
 * (`gguf_lora.ts`).
 */
import { checkOutputFile } from "../../util/atomic.js";
import { assertFinite } from "../../util/finite.js";
import { parseConfig } from "../architectures.js";
import type { ModelConfig } from "../config.js";
import { CheckpointFormatError, CheckpointWriteError } from "./errors.js";
import { gv, writeGguf, type GgufTensorEntry, type GgufTensorType, type GgufValue } from "./gguf.js";
import { ggufVocabMetadata, type GgufVocabSource } from "./gguf_vocab.js";

/** What the exporter needs from a weight store; every TensorReader fits. */
export interface TensorSource {
  names(): string[];
  has(name: string): boolean;
  info(name: string): { shape: number[] };
  read(name: string): Promise<Float32Array>;
}

/** An in-memory TensorSource (for models held in memory, and tests). */
export function memoryTensorSource(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): TensorSource {
  return {
    names: () => [...tensors.keys()],
    has: (n) => tensors.has(n),
    info: (n) => {
      const t = tensors.get(n);
      if (!t) throw new Error(`no tensor "${n}"`);
      return { shape: [...t.shape] };
    },
    read: async (n) => {
      const t = tensors.get(n);
      if (!t) throw new Error(`no tensor "${n}"`);
      return t.data;
    },
  };
}

export type GgufFileType = "f32" | "f16" | "q8_0";

/**
 * The llama.cpp architecture a model runs as. Baichuan maps to `baichuan` only where llama.cpp
 * would infer the right position scheme from the depth (32 layers RoPE, 40 ALiBi); otherwise to the
 * identical-math `llama` (RoPE) or `refact` (RMSNorm + SwiGLU + ALiBi with max bias 8, any depth).
 */
export function ggufArchitecture(cfg: ModelConfig): "llama" | "qwen2" | "baichuan" | "refact" {
  switch (cfg.architecture) {
    case "LlamaForCausalLM":
      return "llama";
    case "Qwen2ForCausalLM":
      return "qwen2";
    case "BaichuanForCausalLM":
      if (cfg.position === "alibi") return cfg.numLayers === 40 ? "baichuan" : "refact";
      return cfg.numLayers === 32 ? "baichuan" : "llama";
  }
}

/**
 * HF rotate-half → GGML interleaved row order for q/k projections (weights or biases): within each
 * of `nHead` heads of `d` rows, new row 2j+t takes old row t·d/2+j.
 */
export function permuteQK(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const d = rows / nHead;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new RangeError(`permuteQK: ${rows} rows do not split into ${nHead} heads of even size`);
  const half = d / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const src = (h * d + t * half + j) * cols;
        const dst = (h * d + 2 * j + t) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Divides each row by its L2 norm (torch F.normalize, eps 1e-12): Baichuan2's NormHead. */
export function normalizeRows(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += w[r * cols + c]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(ss), 1e-12);
    for (let c = 0; c < cols; c++) out[r * cols + c] = w[r * cols + c]! * inv;
  }
  return out;
}

export interface ExportGgufOptions {
  /** Tensor storage. Defaults to "f32". */
  fileType?: GgufFileType;
  /** `general.name`. Defaults to the architecture. */
  name?: string;
  /**
   * Vocabulary to embed: a Hugging Face tokenizer directory, or `synthetic` for models trained on
   * bare token ids (see gguf_vocab.ts). Required, so a real model is never exported without its own.
   */
  vocab: GgufVocabSource;
  /** Chat template id of the checkpoint, stored as `pedgpt.template`. */
  templateId?: string;
  /** Extra metadata appended as is. */
  extraMetadata?: ReadonlyArray<readonly [string, GgufValue]>;
}

export interface ExportGgufReport {
  file: string;
  /** Architecture written in the GGUF (see `ggufArchitecture`). */
  ggufArch: string;
  fileType: GgufFileType;
  tensors: number;
  bytes: number;
  /** Tensors stored in another type than asked, and why. */
  fallbacks: { tensor: string; wanted: GgufTensorType; used: GgufTensorType; reason: string }[];
  /** Source tensors deliberately not exported (e.g. rotary `inv_freq` buffers), with the reason. */
  skipped: { tensor: string; reason: string }[];
}

// Buffers some checkpoints carry that are recomputed from the config, never learned.
const IGNORABLE = /(^|\.)rotary_emb\.inv_freq$|(^|\.)attn\.masked_bias$|(^|\.)attn\.bias$/;

const FTYPE_CODE: Record<GgufFileType, number> = { f32: 0, f16: 1, q8_0: 7 };

/**
 * Writes `weights` (HF names) as a GGUF file loadable by llama.cpp. Every source tensor is either
 * exported or listed in `skipped`; a missing or mis-shaped tensor is an error naming it.
 */
export async function exportGguf(
  outFile: string,
  config: Record<string, unknown> | ModelConfig,
  weights: TensorSource,
  options: ExportGgufOptions,
): Promise<ExportGgufReport> {
  await checkOutputFile(outFile);
  const c: ModelConfig = "raw" in config && "architecture" in config ? (config as ModelConfig) : parseConfig(config, `${outFile} (config)`);
  const fileType = options.fileType ?? "f32";
  const ggufArch = ggufArchitecture(c);
  const used = new Set<string>();
  const report: ExportGgufReport = { file: outFile, ggufArch, fileType, tensors: 0, bytes: 0, fallbacks: [], skipped: [] };
  const tensors: GgufTensorEntry[] = [];

  const shapeOf = (name: string, expect: number[]): number[] => {
    if (!weights.has(name)) throw new CheckpointFormatError(outFile, `source tensor "${name}" is missing (expected shape [${expect.join(", ")}])`);
    const s = weights.info(name).shape;
    if (s.length !== expect.length || s.some((d, i) => d !== expect[i])) {
      throw new CheckpointFormatError(outFile, `source tensor "${name}": expected shape [${expect.join(", ")}], found [${s.join(", ")}]`);
    }
    return s;
  };
  const typeFor = (ggufName: string, shape: readonly number[]): GgufTensorType => {
    if (shape.length < 2 || fileType === "f32") return "F32";
    if (fileType === "f16") return "F16";
    if (shape[shape.length - 1]! % 32 !== 0) {
      report.fallbacks.push({ tensor: ggufName, wanted: "Q8_0", used: "F16", reason: `row length ${shape[shape.length - 1]} is not a multiple of 32` });
      return "F16";
    }
    return "Q8_0";
  };
  /** Adds a tensor read from `src` (optionally transformed) under `ggufName`. */
  const add = (ggufName: string, src: string, expect: number[], transform?: (x: Float32Array) => Float32Array): void => {
    const shape = shapeOf(src, expect);
    used.add(src);
    tensors.push({
      name: ggufName,
      shape,
      type: typeFor(ggufName, shape),
      data: async () => {
        const x = await weights.read(src);
        // Checked as loaded, under the source name and file; the GGUF writer checks again before writing.
        const info = weights.info(src) as { file?: string };
        assertFinite(info.file ?? outFile, src, x, "load");
        return transform ? transform(x) : x;
      },
    });
  };

  const H = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  // llama.cpp runs qwen2 with NEOX (rotate-half) RoPE like HF; llama/baichuan with interleaved pairs.
  // ALiBi models have no RoPE, but permuting q and k rows alike leaves q·k unchanged, so we follow the
  // converter and permute for every non-qwen2 model.
  const permute = c.architecture !== "Qwen2ForCausalLM";
  const pq = (rows: number, cols: number, heads: number) => (permute ? (x: Float32Array) => permuteQK(x, rows, cols, heads) : undefined);
  add("token_embd.weight", "model.embed_tokens.weight", [c.vocabSize, H]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const b = `blk.${i}.`;
    add(`${b}attn_norm.weight`, `${p}input_layernorm.weight`, [H]);
    if (c.qkv === "packed") {
      const src = `${p}self_attn.W_pack.weight`;
      shapeOf(src, [3 * H, H]);
      used.add(src);
      const part = (k: number, nHead: number | null) => async () => {
        const w = await weights.read(src);
        const slice = w.slice(k * H * H, (k + 1) * H * H);
        return nHead === null ? slice : permuteQK(slice, H, H, nHead);
      };
      tensors.push({ name: `${b}attn_q.weight`, shape: [H, H], type: typeFor(`${b}attn_q.weight`, [H, H]), data: part(0, c.numHeads) });
      tensors.push({ name: `${b}attn_k.weight`, shape: [H, H], type: typeFor(`${b}attn_k.weight`, [H, H]), data: part(1, c.numKvHeads) });
      tensors.push({ name: `${b}attn_v.weight`, shape: [H, H], type: typeFor(`${b}attn_v.weight`, [H, H]), data: part(2, null) });
    } else {
      add(`${b}attn_q.weight`, `${p}self_attn.q_proj.weight`, [qDim, H], pq(qDim, H, c.numHeads));
      add(`${b}attn_k.weight`, `${p}self_attn.k_proj.weight`, [kvDim, H], pq(kvDim, H, c.numKvHeads));
      add(`${b}attn_v.weight`, `${p}self_attn.v_proj.weight`, [kvDim, H]);
    }
    if (c.qkvBias) {
      // Biases follow their rows through the permutation.
      add(`${b}attn_q.bias`, `${p}self_attn.q_proj.bias`, [qDim], pq(qDim, 1, c.numHeads));
      add(`${b}attn_k.bias`, `${p}self_attn.k_proj.bias`, [kvDim], pq(kvDim, 1, c.numKvHeads));
      add(`${b}attn_v.bias`, `${p}self_attn.v_proj.bias`, [kvDim]);
    }
    add(`${b}attn_output.weight`, `${p}self_attn.o_proj.weight`, [H, qDim]);
    if (c.oBias) add(`${b}attn_output.bias`, `${p}self_attn.o_proj.bias`, [H]);
    add(`${b}ffn_norm.weight`, `${p}post_attention_layernorm.weight`, [H]);
    add(`${b}ffn_gate.weight`, `${p}mlp.gate_proj.weight`, [I, H]);
    add(`${b}ffn_up.weight`, `${p}mlp.up_proj.weight`, [I, H]);
    add(`${b}ffn_down.weight`, `${p}mlp.down_proj.weight`, [H, I]);
    if (c.mlpBias) {
      add(`${b}ffn_gate.bias`, `${p}mlp.gate_proj.bias`, [I]);
      add(`${b}ffn_up.bias`, `${p}mlp.up_proj.bias`, [I]);
      add(`${b}ffn_down.bias`, `${p}mlp.down_proj.bias`, [H]);
    }
  }
  add("output_norm.weight", "model.norm.weight", [H]);
  if (c.tieWordEmbeddings) {
    if (c.normHead) {
      // llama.cpp would reuse the raw embedding as the head; write the normalised copy explicitly.
      add("output.weight", "model.embed_tokens.weight", [c.vocabSize, H], (x) => normalizeRows(x, c.vocabSize, H));
    }
    if (weights.has("lm_head.weight")) {
      used.add("lm_head.weight");
      report.skipped.push({ tensor: "lm_head.weight", reason: "tie_word_embeddings: the head is the embedding" });
    }
  } else {
    add("output.weight", "lm_head.weight", [c.vocabSize, H], c.normHead ? (x) => normalizeRows(x, c.vocabSize, H) : undefined);
  }
  for (const n of weights.names()) {
    if (used.has(n)) continue;
    if (IGNORABLE.test(n)) {
      report.skipped.push({ tensor: n, reason: "buffer recomputed from the config" });
      continue;
    }
    throw new CheckpointFormatError(outFile, `source tensor "${n}" has no place in a ${c.architecture} GGUF; refusing to drop it silently`);
  }

  const a = ggufArch;
  const meta: (readonly [string, GgufValue])[] = [
    ["general.architecture", gv.str(a)],
    ["general.name", gv.str(options.name ?? c.architecture)],
    ["general.file_type", gv.u32(FTYPE_CODE[fileType])],
    ["general.quantization_version", gv.u32(2)],
    [`${a}.vocab_size`, gv.u32(c.vocabSize)],
    [`${a}.context_length`, gv.u32(c.maxPositions)],
    [`${a}.embedding_length`, gv.u32(H)],
    [`${a}.block_count`, gv.u32(c.numLayers)],
    [`${a}.feed_forward_length`, gv.u32(I)],
    [`${a}.rope.dimension_count`, gv.u32(c.headDim)],
    [`${a}.attention.head_count`, gv.u32(c.numHeads)],
    [`${a}.attention.head_count_kv`, gv.u32(c.numKvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, gv.f32(c.rmsNormEps)],
    [`${a}.rope.freq_base`, gv.f32(c.ropeTheta)],
  ];
  if (qDim !== H) meta.push([`${a}.attention.key_length`, gv.u32(c.headDim)], [`${a}.attention.value_length`, gv.u32(c.headDim)]);
  if (options.templateId) meta.push(["pedgpt.template", gv.str(options.templateId)]);
  meta.push(...(await ggufVocabMetadata(options.vocab, c.vocabSize)));
  if (options.extraMetadata) meta.push(...options.extraMetadata);
  report.bytes = await writeGguf(outFile, meta, tensors);
  report.tensors = tensors.length;
  return report;
}
