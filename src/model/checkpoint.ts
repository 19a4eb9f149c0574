/**
 * Model directories in Hugging Face layout: `config.json` plus weights (safetensors or PyTorch .bin,
 * single file or sharded with an index; saving always writes safetensors). `loadModel` checks every
 * parameter is present with the right shape and that nothing unknown is left over; `saveModel` writes
 * config.json and the weights atomically, file by file.
 *
 * The file formats themselves are model/io's; this module maps them onto a CausalLM.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { FloatDType } from "./io/dtype.js";
import { CheckpointFormatError } from "./io/errors.js";
import { atomicWrite, writeAll } from "./io/fsutil.js";
import { assertFinite } from "../util/finite.js";
import { openCheckpoint } from "./io/checkpoint.js";
import { writeCheckpoint, type WrittenCheckpoint } from "./io/sharded.js";
import type { TensorReader } from "./io/types.js";
import { parseConfig } from "./architectures.js";
import type { ModelConfig } from "./config.js";
import { CausalLM } from "./model.js";

export const CONFIG_FILE = "config.json";

/** Read and parse `<dir>/config.json` (errors name the file and the field). */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new CheckpointFormatError(file, `cannot read the model config (${(err as Error).message}); a model directory needs config.json`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointFormatError(file, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(raw, file);
}

/** Checkpoint tensors we know to be redundant and skip on load (all others must be used). */
function ignorable(name: string, cfg: ModelConfig): boolean {
  // Older transformers saved RoPE frequencies as buffers; tied models may still carry a copy of the head.
  return name.endsWith(".rotary_emb.inv_freq") || (cfg.tieWordEmbeddings && name === "lm_head.weight");
}

/** Copy every parameter of `model` from an open reader; throws naming missing, misshapen or unknown tensors. */
export async function loadWeights(model: CausalLM, reader: TensorReader): Promise<{ skipped: string[] }> {
  const cfg = model.config;
  const missing = model.params.names().filter((n) => !reader.has(n));
  if (missing.length > 0) {
    throw new CheckpointFormatError(reader.path, `missing ${missing.length} tensor(s) the ${cfg.architecture} config requires: ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}`);
  }
  const unknown = reader.names().filter((n) => !model.params.has(n) && !ignorable(n, cfg));
  if (unknown.length > 0) {
    throw new CheckpointFormatError(reader.path, `${unknown.length} tensor(s) not used by the ${cfg.architecture} config (wrong config.json?): ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", …" : ""}`);
  }
  for (const p of model.params.list) {
    const info = reader.info(p.name);
    if (info.shape.length !== p.shape.length || info.shape.some((d, i) => d !== p.shape[i])) {
      throw new CheckpointFormatError(info.file, `tensor "${p.name}": shape [${info.shape.join(", ")}] but the config needs [${p.shape.join(", ")}]`);
    }
    const values = await reader.read(p.name);
    assertFinite(info.file, p.name, values, "load");
    p.data.set(values);
    p.version++;
  }
  return { skipped: reader.names().filter((n) => !model.params.has(n)) };
}

/** Load `<dir>/config.json` and its weights (safetensors or PyTorch .bin, single or sharded) into a new model. */
export async function loadModel(dir: string): Promise<CausalLM> {
  const cfg = await readModelConfig(dir);
  const model = new CausalLM(cfg);
  const reader = await openCheckpoint(dir);
  try {
    await loadWeights(model, reader);
  } finally {
    await reader.close();
  }
  return model;
}

export interface SaveModelOptions {
  /** Storage type of the weights. Defaults to "F32". */
  dtype?: FloatDType;
  /** Extra string metadata in the safetensors header (e.g. the chat template id). */
  metadata?: Record<string, string>;
  /** Shard size limit in bytes. Defaults to 5 GB. */
  maxShardBytes?: number;
}

/** Write `<dir>/config.json` and the weights (model.safetensors, or shards + index). */
export async function saveModel(model: CausalLM, dir: string, opts: SaveModelOptions = {}): Promise<WrittenCheckpoint> {
  await fs.mkdir(dir, { recursive: true });
  const entries = model.params.list.map((p) => ({ name: p.name, shape: p.shape, data: p.data }));
  const written = await writeCheckpoint(dir, entries, {
    dtype: opts.dtype ?? "F32",
    metadata: { format: "pt", ...(opts.metadata ?? {}) },
    maxShardBytes: opts.maxShardBytes,
  });
  // torch_dtype tells Hugging Face loaders the stored precision; everything else is written back as read.
  const torchDtype = { F32: "float32", F16: "float16", BF16: "bfloat16" }[opts.dtype ?? "F32"];
  const json = JSON.stringify({ ...model.config.raw, torch_dtype: torchDtype }, null, 2) + "\n";
  await atomicWrite(path.join(dir, CONFIG_FILE), (fh) => writeAll(fh, new TextEncoder().encode(json)));
  return { files: [...written.files, CONFIG_FILE], totalSize: written.totalSize };
}
