/**
 * Export of a PEFT LoRA adapter (`adapter_model.safetensors` names such as
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, A: (r, in), B: (out, r)) to a
 * llama.cpp LoRA adapter GGUF (facts from llama-adapter.cpp / convert_lora_to_gguf.py):
 * `general.type = adapter`, `general.architecture` equal to the base GGUF's, `adapter.type = lora`,
 * `adapter.lora.alpha`; tensors `<base gguf name>.lora_a` (ne [in, r]) and `.lora_b` (ne [r, out]),
 * applied as W·x + scale·(alpha/r)·B·A·x.
 *
 * The base export permutes q/k rows (llama, baichuan) and splits Baichuan's W_pack; the same has to
 * happen to B (the row side) so the adapter matches its base: rows of B are permuted, and a W_pack
 * adapter becomes three pairs sharing A. An untied plain lm_head maps to `output.weight`. Adapters
 * on the embedding, a tied head, or a NormHead lm_head (where the normalisation is not linear) are
 * refused. MoE-LoRA adapters (src/model/adapters) are refused with a named error: their token-routed
 * experts have no llama.cpp counterpart; only the universal expert can leave, merged into the base.
 */
import { checkOutputFile } from "../../util/atomic.js";
import { parseConfig } from "../architectures.js";
import type { ModelConfig } from "../config.js";
import { CheckpointFormatError, CheckpointWriteError } from "./errors.js";
import { gv, writeGguf, type GgufTensorEntry, type GgufValue } from "./gguf.js";
import { ggufArchitecture, permuteQK, type TensorSource } from "./gguf_export.js";

export interface ExportLoraOptions {
  /** PEFT `lora_alpha`. The scale applied by llama.cpp is alpha / r (times the per-context scale). */
  alpha: number;
  /** Stored as F32 (default) or F16. */
  fileType?: "f32" | "f16";
  name?: string;
  extraMetadata?: ReadonlyArray<readonly [string, GgufValue]>;
}

export interface ExportLoraReport {
  file: string;
  ggufArch: string;
  rank: number;
  /** GGUF base tensor names that received an adapter pair. */
  targets: string[];
}

const PEFT_RE = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$/;
const LINEAR_RE = /^model\.layers\.(\d+)\.(self_attn\.(?:q_proj|k_proj|v_proj|o_proj|W_pack)|mlp\.(?:gate_proj|up_proj|down_proj))$/;
const GGUF_NAME: Record<string, string> = {
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
};

/** Writes `adapter` (PEFT names) as a llama.cpp LoRA GGUF for a base model with `baseConfig`. */
export async function exportLoraGguf(
  outFile: string,
  baseConfig: Record<string, unknown> | ModelConfig,
  adapter: TensorSource,
  options: ExportLoraOptions,
): Promise<ExportLoraReport> {
  await checkOutputFile(outFile);
  const c: ModelConfig = "raw" in baseConfig && "architecture" in baseConfig ? (baseConfig as ModelConfig) : parseConfig(baseConfig, `${outFile} (base config)`);
  if (!(typeof options.alpha === "number" && Number.isFinite(options.alpha) && options.alpha > 0)) {
    throw new CheckpointWriteError(outFile, `lora alpha must be a positive number, got ${options.alpha}`);
  }
  const arch = ggufArchitecture(c);
  const pairs = new Map<string, { a?: string; b?: string }>();
  for (const n of adapter.names()) {
    const m = PEFT_RE.exec(n);
    if (!m && /\.(lora_moe_[AB]|lora_route\.weight|w_noise)$/.test(n)) {
      throw new CheckpointWriteError(outFile, `"${n}" belongs to a MoE-LoRA adapter: its token-routed experts cannot be exported to llama.cpp (they are served by this engine); export the universal expert 0 alone with \`pedgpt adapter merge --universal-only\` and \`pedgpt model export-gguf\``);
    }
    if (!m) throw new CheckpointFormatError(outFile, `adapter tensor "${n}" is not a PEFT LoRA weight (…<module>.lora_A.weight / lora_B.weight)`);
    const p = pairs.get(m[1]!) ?? {};
    if (m[2] === "A") p.a = n;
    else p.b = n;
    pairs.set(m[1]!, p);
  }
  if (pairs.size === 0) throw new CheckpointFormatError(outFile, "adapter holds no LoRA tensors");
  const type = options.fileType === "f16" ? "F16" : "F32";
  const tensors: GgufTensorEntry[] = [];
  const targets: string[] = [];
  let rank = -1;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const permute = c.architecture !== "Qwen2ForCausalLM";
  for (const [module, { a, b }] of pairs) {
    if (!a || !b) throw new CheckpointFormatError(outFile, `module "${module}" has lora_${a ? "B" : "A"} missing`);
    if (module === "lm_head" && !c.normHead && !c.tieWordEmbeddings) {
      // The output projection (V, C): llama.cpp applies adapters to output.weight as to any matmul.
      const sa = adapter.info(a).shape;
      const sb = adapter.info(b).shape;
      const r = sa[0]!;
      if (sa.length !== 2 || sb.length !== 2 || sb[1] !== r || sa[1] !== c.hiddenSize || sb[0] !== c.vocabSize) {
        throw new CheckpointFormatError(outFile, `module "lm_head": lora_A [${sa.join(", ")}] and lora_B [${sb.join(", ")}] do not fit the head (${c.vocabSize}, ${c.hiddenSize})`);
      }
      if (rank !== -1 && rank !== r) throw new CheckpointFormatError(outFile, `module "lm_head" has rank ${r}, others ${rank}; llama.cpp takes one alpha per adapter, so ranks must agree`);
      rank = r;
      targets.push("output.weight");
      tensors.push({ name: "output.weight.lora_a", shape: sa, type, data: () => adapter.read(a) });
      tensors.push({ name: "output.weight.lora_b", shape: sb, type, data: () => adapter.read(b) });
      continue;
    }
    const m = LINEAR_RE.exec(module);
    if (!m) {
      throw new CheckpointWriteError(
        outFile,
        `LoRA on "${module}" cannot be exported to llama.cpp (only attention and MLP projections of decoder layers, and an untied plain lm_head${module === "lm_head" ? (c.normHead ? "; NormHead makes the head non-linear in its weight" : "; with tied embeddings the head is the embedding") : ""})`,
      );
    }
    const layer = Number(m[1]);
    const kind = m[2]!;
    const sa = adapter.info(a).shape;
    const sb = adapter.info(b).shape;
    const r = sa[0]!;
    if (sa.length !== 2 || sb.length !== 2 || sb[1] !== r) {
      throw new CheckpointFormatError(outFile, `module "${module}": lora_A [${sa.join(", ")}] and lora_B [${sb.join(", ")}] do not form (out, r)·(r, in)`);
    }
    if (rank === -1) rank = r;
    else if (rank !== r) throw new CheckpointFormatError(outFile, `module "${module}" has rank ${r}, others ${rank}; llama.cpp takes one alpha per adapter, so ranks must agree`);
    const inDim = kind === "self_attn.o_proj" ? qDim : kind === "mlp.down_proj" ? c.intermediateSize : c.hiddenSize;
    if (sa[1] !== inDim) throw new CheckpointFormatError(outFile, `module "${module}": lora_A has ${sa[1]} inputs, the base layer ${inDim}`);
    const outDims: Record<string, number> = {
      "self_attn.q_proj": qDim, "self_attn.k_proj": kvDim, "self_attn.v_proj": kvDim, "self_attn.o_proj": c.hiddenSize,
      "self_attn.W_pack": 3 * c.hiddenSize, "mlp.gate_proj": c.intermediateSize, "mlp.up_proj": c.intermediateSize, "mlp.down_proj": c.hiddenSize,
    };
    if (sb[0] !== outDims[kind]) throw new CheckpointFormatError(outFile, `module "${module}": lora_B has ${sb[0]} outputs, the base layer ${outDims[kind]}`);
    const push = (gname: string, bRows: number, bData: () => Promise<Float32Array>) => {
      targets.push(gname);
      tensors.push({ name: `${gname}.lora_a`, shape: sa, type, data: () => adapter.read(a) });
      tensors.push({ name: `${gname}.lora_b`, shape: [bRows, r], type, data: bData });
    };
    const blk = `blk.${layer}.`;
    if (kind === "self_attn.W_pack") {
      const H = c.hiddenSize;
      const part = (k: number, heads: number | null) => async () => {
        const w = (await adapter.read(b)).slice(k * H * r, (k + 1) * H * r);
        return heads === null || !permute ? w : permuteQK(w, H, r, heads);
      };
      push(`${blk}attn_q.weight`, H, part(0, c.numHeads));
      push(`${blk}attn_k.weight`, H, part(1, c.numKvHeads));
      push(`${blk}attn_v.weight`, H, part(2, null));
    } else {
      const heads = kind === "self_attn.q_proj" ? c.numHeads : kind === "self_attn.k_proj" ? c.numKvHeads : null;
      push(`${blk}${GGUF_NAME[kind]}.weight`, sb[0]!, async () => {
        const w = await adapter.read(b);
        return heads !== null && permute ? permuteQK(w, sb[0]!, r, heads) : w;
      });
    }
  }
  const meta: (readonly [string, GgufValue])[] = [
    ["general.architecture", gv.str(arch)],
    ["general.type", gv.str("adapter")],
    ["general.name", gv.str(options.name ?? "lora")],
    ["adapter.type", gv.str("lora")],
    ["adapter.lora.alpha", gv.f32(options.alpha)],
    ...(options.extraMetadata ?? []),
  ];
  await writeGguf(outFile, meta, tensors);
  return { file: outFile, ggufArch: arch, rank, targets };
}
