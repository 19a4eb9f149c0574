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
 *   (13B), anything else → none. A RoPE Baichuan with another depth is exactly a Llama after the
 *   split, so we write it as `llama`; an ALiBi Baichuan must have 40 layers or export refuses.
 *   Baichuan2's NormHead divides each lm_head row by its L2 norm at inference; llama.cpp does not,
 *   so the normalised rows are written.
 * - 1-D tensors (norms, biases) stay F32 in every file type, as llama.cpp's converter does; a 2-D
 *   tensor whose rows are not a multiple of 32 cannot be Q8_0 and is written F16 (reported).
 *
 * Not here: the GGUF container (`gguf.ts`), vocabulary metadata (`gguf_vocab.ts`), LoRA adapters
 * (`gguf_lora.ts`).
 */
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

export type HfArchitecture = "llama" | "qwen2" | "baichuan";
export type GgufFileType = "f32" | "f16" | "q8_0";

/** The hyper-parameters export needs, resolved from a config.json. */
export interface ResolvedConfig {
  arch: HfArchitecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  contextLength: number;
  tieWordEmbeddings: boolean;
  /** Baichuan only: ALiBi (13B) instead of RoPE (7B). */
  alibi: boolean;
}

function field(config: Record<string, unknown>, key: string, where: string): number {
  const v = config[key];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new CheckpointFormatError(where, `config field "${key}" must be a number, found ${JSON.stringify(v)}`);
  return v;
}

/** Architecture of a config: from `architectures[0]`, else `model_type`. */
export function configArchitecture(config: Record<string, unknown>, where = "config.json"): HfArchitecture {
  const archs = Array.isArray(config.architectures) ? (config.architectures as unknown[]) : [];
  const name = typeof archs[0] === "string" ? (archs[0] as string) : undefined;
  const byClass: Record<string, HfArchitecture> = {
    LlamaForCausalLM: "llama",
    Qwen2ForCausalLM: "qwen2",
    BaichuanForCausalLM: "baichuan",
    BaiChuanForCausalLM: "baichuan",
  };
  if (name && byClass[name]) return byClass[name]!;
  const mt = config.model_type;
  if (mt === "llama" || mt === "qwen2" || mt === "baichuan") return mt;
  throw new CheckpointFormatError(
    where,
    `unsupported architecture ${JSON.stringify(name ?? mt)}; expected architectures[0] one of ${Object.keys(byClass).join(", ")} (or model_type llama/qwen2/baichuan)`,
  );
}

/**
 * Whether a Baichuan config uses ALiBi. An explicit `position_embedding` ("alibi" | "rope") wins;
 * otherwise the Baichuan2 releases tell them apart by size: 13B (40 layers, hidden 5120) is ALiBi.
 */
export function baichuanUsesAlibi(config: Record<string, unknown>): boolean {
  const pe = config.position_embedding ?? config.position_encoding;
  if (pe === "alibi") return true;
  if (pe === "rope" || pe === "rotary") return false;
  return config.num_hidden_layers === 40 && config.hidden_size === 5120;
}

export function resolveConfig(config: Record<string, unknown>, where = "config.json"): ResolvedConfig {
  const arch = configArchitecture(config, where);
  const hiddenSize = field(config, "hidden_size", where);
  const numHeads = field(config, "num_attention_heads", where);
  const numKvHeads = config.num_key_value_heads == null ? numHeads : field(config, "num_key_value_heads", where);
  const headDim = config.head_dim == null ? hiddenSize / numHeads : field(config, "head_dim", where);
  if (!Number.isInteger(headDim)) throw new CheckpointFormatError(where, `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  if (numHeads % numKvHeads !== 0) throw new CheckpointFormatError(where, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const ctx = config.max_position_embeddings ?? config.model_max_length ?? 4096;
  return {
    arch,
    hiddenSize,
    intermediateSize: field(config, "intermediate_size", where),
    numLayers: field(config, "num_hidden_layers", where),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: field(config, "vocab_size", where),
    rmsNormEps: config.rms_norm_eps == null ? 1e-6 : field(config, "rms_norm_eps", where),
    ropeTheta: config.rope_theta == null ? 10000 : field(config, "rope_theta", where),
    contextLength: typeof ctx === "number" ? ctx : 4096,
    tieWordEmbeddings: config.tie_word_embeddings === true,
    alibi: arch === "baichuan" && baichuanUsesAlibi(config),
  };
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
  /** Vocabulary to embed. Defaults to `{ kind: "none" }` (token ids only, for tiny test models). */
  vocab?: GgufVocabSource;
  /** Baichuan2 NormHead: normalise lm_head rows. Defaults to true for baichuan. */
  normHead?: boolean;
  /** Chat template id of the checkpoint, stored as `pedgpt.template`. */
  templateId?: string;
  /** Extra metadata appended as is. */
  extraMetadata?: ReadonlyArray<readonly [string, GgufValue]>;
}

export interface ExportGgufReport {
  file: string;
  /** Architecture written in the GGUF (`llama` for a RoPE Baichuan not of 32 layers). */
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
  config: Record<string, unknown>,
  weights: TensorSource,
  options: ExportGgufOptions = {},
): Promise<ExportGgufReport> {
  const c = resolveConfig(config);
  const fileType = options.fileType ?? "f32";
  let ggufArch: string = c.arch;
  if (c.arch === "baichuan") {
    if (c.alibi && c.numLayers !== 40) {
      throw new CheckpointWriteError(
        outFile,
        `llama.cpp applies Baichuan ALiBi only to 40-layer models (it picks RoPE/ALiBi by layer count); this ALiBi model has ${c.numLayers} layers and would run without position encoding`,
      );
    }
    if (!c.alibi && c.numLayers !== 32) ggufArch = "llama";
  }
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
        return transform ? transform(x) : x;
      },
    });
  };
  const addOptional = (ggufName: string, src: string, expect: number[], transform?: (x: Float32Array) => Float32Array): void => {
    if (weights.has(src)) add(ggufName, src, expect, transform);
  };

  const H = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const permuteQ = c.arch !== "qwen2";
  add("token_embd.weight", "model.embed_tokens.weight", [c.vocabSize, H]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    const b = `blk.${i}.`;
    add(`${b}attn_norm.weight`, `${p}input_layernorm.weight`, [H]);
    if (c.arch === "baichuan") {
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
      add(`${b}attn_q.weight`, `${p}self_attn.q_proj.weight`, [qDim, H], permuteQ ? (x) => permuteQK(x, qDim, H, c.numHeads) : undefined);
      add(`${b}attn_k.weight`, `${p}self_attn.k_proj.weight`, [kvDim, H], permuteQ ? (x) => permuteQK(x, kvDim, H, c.numKvHeads) : undefined);
      add(`${b}attn_v.weight`, `${p}self_attn.v_proj.weight`, [kvDim, H]);
      if (c.arch === "qwen2") {
        add(`${b}attn_q.bias`, `${p}self_attn.q_proj.bias`, [qDim]);
        add(`${b}attn_k.bias`, `${p}self_attn.k_proj.bias`, [kvDim]);
        add(`${b}attn_v.bias`, `${p}self_attn.v_proj.bias`, [kvDim]);
      } else {
        // Llama with attention_bias: biases follow their rows through the permutation.
        addOptional(`${b}attn_q.bias`, `${p}self_attn.q_proj.bias`, [qDim], (x) => permuteQK(x, qDim, 1, c.numHeads));
        addOptional(`${b}attn_k.bias`, `${p}self_attn.k_proj.bias`, [kvDim], (x) => permuteQK(x, kvDim, 1, c.numKvHeads));
        addOptional(`${b}attn_v.bias`, `${p}self_attn.v_proj.bias`, [kvDim]);
      }
    }
    add(`${b}attn_output.weight`, `${p}self_attn.o_proj.weight`, [H, qDim]);
    if (c.arch === "llama") addOptional(`${b}attn_output.bias`, `${p}self_attn.o_proj.bias`, [H]);
    add(`${b}ffn_norm.weight`, `${p}post_attention_layernorm.weight`, [H]);
    add(`${b}ffn_gate.weight`, `${p}mlp.gate_proj.weight`, [c.intermediateSize, H]);
    add(`${b}ffn_up.weight`, `${p}mlp.up_proj.weight`, [c.intermediateSize, H]);
    add(`${b}ffn_down.weight`, `${p}mlp.down_proj.weight`, [H, c.intermediateSize]);
  }
  add("output_norm.weight", "model.norm.weight", [H]);
  const normHead = c.arch === "baichuan" && (options.normHead ?? true);
  if (c.tieWordEmbeddings) {
    if (weights.has("lm_head.weight")) {
      used.add("lm_head.weight");
      report.skipped.push({ tensor: "lm_head.weight", reason: "tie_word_embeddings: llama.cpp reuses token_embd.weight" });
    }
    if (normHead) throw new CheckpointWriteError(outFile, "NormHead with tied embeddings cannot be exported: llama.cpp would use the unnormalised embedding as the head");
  } else if (weights.has("lm_head.weight") || c.arch === "baichuan") {
    add("output.weight", "lm_head.weight", [c.vocabSize, H], normHead ? (x) => normalizeRows(x, c.vocabSize, H) : undefined);
  } else {
    throw new CheckpointFormatError(outFile, `source tensor "lm_head.weight" is missing and tie_word_embeddings is not true`);
  }
  for (const n of weights.names()) {
    if (used.has(n)) continue;
    if (IGNORABLE.test(n)) {
      report.skipped.push({ tensor: n, reason: "buffer recomputed from the config" });
      continue;
    }
    throw new CheckpointFormatError(outFile, `source tensor "${n}" has no place in a ${c.arch} GGUF; refusing to drop it silently`);
  }

  const a = ggufArch;
  const meta: (readonly [string, GgufValue])[] = [
    ["general.architecture", gv.str(a)],
    ["general.name", gv.str(options.name ?? c.arch)],
    ["general.file_type", gv.u32(FTYPE_CODE[fileType])],
    ["general.quantization_version", gv.u32(2)],
    [`${a}.vocab_size`, gv.u32(c.vocabSize)],
    [`${a}.context_length`, gv.u32(c.contextLength)],
    [`${a}.embedding_length`, gv.u32(H)],
    [`${a}.block_count`, gv.u32(c.numLayers)],
    [`${a}.feed_forward_length`, gv.u32(c.intermediateSize)],
    [`${a}.rope.dimension_count`, gv.u32(c.headDim)],
    [`${a}.attention.head_count`, gv.u32(c.numHeads)],
    [`${a}.attention.head_count_kv`, gv.u32(c.numKvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, gv.f32(c.rmsNormEps)],
    [`${a}.rope.freq_base`, gv.f32(c.ropeTheta)],
  ];
  if (c.arch === "llama" && c.headDim !== H / c.numHeads) {
    meta.push([`${a}.attention.key_length`, gv.u32(c.headDim)], [`${a}.attention.value_length`, gv.u32(c.headDim)]);
  }
  if (options.templateId) meta.push(["pedgpt.template", gv.str(options.templateId)]);
  meta.push(...(await ggufVocabMetadata(options.vocab ?? { kind: "none" }, c.vocabSize)));
  if (options.extraMetadata) meta.push(...options.extraMetadata);
  report.bytes = await writeGguf(outFile, meta, tensors);
  report.tensors = tensors.length;
  return report;
}
