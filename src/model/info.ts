/**
 * What `pedgpt model info` reports about a model directory: architecture and geometry from
 * config.json, parameter count, stored dtypes and file sizes from the checkpoint headers (weights are
 * not read), the tokenizer found beside the weights and the chat template id recorded with them.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { openCheckpoint } from "./io/checkpoint.js";
import { baichuanPositionRule } from "./baichuan.js";
import { readModelConfig } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import { decoderParamSpecs } from "./layers.js";
import { loadTokenizer } from "../tokenizer/index.js";

export interface ModelInfo {
  dir: string;
  config: ModelConfig;
  /** parameters the config defines */
  parameterCount: number;
  /** tensors per stored dtype */
  dtypes: Record<string, number>;
  files: { name: string; bytes: number }[];
  /** how the position scheme was chosen (Baichuan) */
  positionRule: string;
  /** the tokenizer beside the weights, or why there is none / it does not load */
  tokenizer: string;
  /** the chat template id recorded in the checkpoint metadata (or tokenizer_config.json), or null */
  template: string | null;
}

function describeTokenizer(dir: string, config: ModelConfig): { text: string; templateId: string | null } {
  try {
    const tok = loadTokenizer(dir);
    const specials = [["bos", tok.bosId], ["eos", tok.eosId], ["pad", tok.padId]].filter(([, id]) => id !== null).map(([k, id]) => `${k} ${id}`);
    const fit = tok.vocabSize > config.vocabSize ? ` — larger than the model's vocabulary (${config.vocabSize})!` : "";
    return { text: `${tok.kind}, ${tok.vocabSize} tokens${specials.length ? ` (${specials.join(", ")})` : ""}${fit}`, templateId: tok.chatTemplateId };
  } catch (e) {
    return { text: `none usable: ${(e as Error).message}`, templateId: null };
  }
}

export async function modelInfo(dir: string): Promise<ModelInfo> {
  const config = await readModelConfig(dir);
  const parameterCount = decoderParamSpecs(config).reduce((n, s) => n + s.shape.reduce((a, d) => a * d, 1), 0);
  const dtypes: Record<string, number> = {};
  const reader = await openCheckpoint(dir);
  let recordedTemplate: string | null = null;
  try {
    recordedTemplate = reader.metadata.template ?? null;
    for (const n of reader.names()) {
      const dt = reader.info(n).dtype;
      dtypes[dt] = (dtypes[dt] ?? 0) + 1;
    }
  } finally {
    await reader.close();
  }
  const files: { name: string; bytes: number }[] = [];
  for (const name of (await fs.readdir(dir)).sort()) {
    const st = await fs.stat(path.join(dir, name));
    if (st.isFile()) files.push({ name, bytes: st.size });
  }
  const positionRule = config.architecture === "BaichuanForCausalLM" ? baichuanPositionRule(config.raw).rule : "RoPE (Llama family)";
  const tok = describeTokenizer(dir, config);
  return { dir, config, parameterCount, dtypes, files, positionRule, tokenizer: tok.text, template: recordedTemplate ?? tok.templateId };
}

function human(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function formatModelInfo(info: ModelInfo): string {
  const c = info.config;
  const lines: [string, string][] = [
    ["directory", info.dir],
    ["architecture", c.architecture],
    ["layers", String(c.numLayers)],
    ["width (hidden_size)", String(c.hiddenSize)],
    ["MLP width", String(c.intermediateSize)],
    ["heads", `${c.numHeads} query / ${c.numKvHeads} key-value, head dim ${c.headDim}`],
    ["vocabulary", String(c.vocabSize)],
    ["positions", `${c.position === "rope" ? `RoPE θ=${c.ropeTheta}${c.ropeScaling ? `, ${c.ropeScaling.type} scaling ×${c.ropeScaling.factor}` : ""}` : "ALiBi"}, max ${c.maxPositions} (${info.positionRule})`],
    ["q/k/v", `${c.qkv === "packed" ? "fused W_pack" : "separate"}${c.qkvBias ? ", with biases" : ""}`],
    ["lm_head", `${c.tieWordEmbeddings ? "tied to embeddings" : "separate"}${c.normHead ? ", NormHead (rows L2-normalised)" : ""}`],
    ["parameters", `${info.parameterCount.toLocaleString("en-US")} (${(info.parameterCount / 1e6).toFixed(2)} M)`],
    ["stored dtype", Object.entries(info.dtypes).map(([d, n]) => `${d} × ${n} tensors`).join(", ")],
  ];
  lines.push(["tokenizer", info.tokenizer], ["chat template", info.template ?? "not recorded"]);
  const w = Math.max(...lines.map(([k]) => k.length));
  const out = lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  out.push("files:");
  for (const f of info.files) out.push(`  ${f.name.padEnd(36)} ${human(f.bytes).padStart(10)}`);
  return out.join("\n");
}
