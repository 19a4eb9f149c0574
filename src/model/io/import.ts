/**
 * `importHfModel`: turns a Hugging Face model directory (config.json; safetensors or PyTorch .bin
 * weights, single or sharded; tokenizer files) into this project's model directory layout
 * (config.json, model.safetensors or shards + index, the tokenizer files, and the chat template id
 * in the safetensors metadata).
 *
 * Everything is validated before anything is written: the config is parsed by the model code, every
 * tensor the architecture needs must be present with its exact shape, nothing unknown may be left
 * over (known recomputed buffers such as rotary `inv_freq` are reported as skipped), and the
 * tokenizer must load and fit the vocabulary. Tensors are then streamed one at a time (a multi-GB
 * checkpoint is never held whole), checked for NaN/Inf, into a temporary directory that is renamed
 * into place at the end, so a failed import leaves no half-written model behind.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { readModelConfig } from "../checkpoint.js";
import type { ModelConfig } from "../config.js";
import { decoderParamSpecs } from "../layers.js";
import { loadTokenizer } from "../../tokenizer/load.js";
import { jinjaTemplateId } from "../../tokenizer/templates.js";
import { openCheckpoint, detectCheckpoint, type CheckpointFormat } from "./checkpoint.js";
import { DTYPE_BYTES, numel, type FloatDType } from "./dtype.js";
import { CheckpointFormatError } from "./errors.js";
import { isFile } from "./fsutil.js";
import { assertFinite } from "../../util/finite.js";
import { checkOutputDir, writeJsonAtomic, writeOutputDir, type OutputDirOptions } from "../../util/atomic.js";
import { writeCheckpoint } from "./sharded.js";
import type { TensorEntry } from "./types.js";

/** Files copied next to the weights when present (tokenizer and generation settings). */
export const COPIED_FILES = [
  "tokenizer.json",
  "tokenizer.model",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "generation_config.json",
  "vocab.json",
  "merges.txt",
] as const;

export interface ImportOptions {
  /** Storage type of the written weights; "keep" keeps F16/BF16/F32 as found (F64 becomes F32). Defaults to "keep". */
  dtype?: "keep" | FloatDType;
  /** Shard size limit in bytes. Defaults to 5 GB. */
  maxShardBytes?: number;
  /**
   * Chat template id to record (e.g. "default", "baichuan2", "qwen"). Defaults to the tokenizer's
   * `chat_template_id`, else the id of its Jinja chat template. Given explicitly, it is also written
   * into the copied tokenizer_config.json as `chat_template_id`.
   */
  template?: string;
  /** Replace an existing output directory (only after the import succeeded). Defaults to false. */
  overwrite?: boolean;
  /** Allow a model directory without tokenizer files (weights only). Defaults to false. */
  allowMissingTokenizer?: boolean;
  /** Called after each tensor is written (for progress output). */
  onTensor?: (name: string, index: number, total: number) => void;
}

export interface ImportReport {
  outDir: string;
  architecture: ModelConfig["architecture"];
  sourceFormat: CheckpointFormat;
  parameters: number;
  tensors: number;
  bytes: number;
  /** Count of written tensors per storage type. */
  dtypes: Record<string, number>;
  /** Source tensors not imported, each with the reason. */
  skipped: { tensor: string; reason: string }[];
  tokenizer: { kind: string; vocabSize: number } | null;
  template: string | null;
  files: string[];
}

function skipReason(name: string, cfg: ModelConfig): string | null {
  if (/(^|\.)rotary_emb\.inv_freq$/.test(name)) return "RoPE frequencies are recomputed from the config";
  if (cfg.tieWordEmbeddings && name === "lm_head.weight") return "tie_word_embeddings: the head is the embedding";
  return null;
}

/** Whether `dir` is a model folder (holds config.json), i.e. one `--overwrite` may replace. */
export async function isModelDir(dir: string): Promise<boolean> {
  return isFile(path.join(dir, "config.json"));
}

/** How every command that writes a whole model folder treats its target (see util/atomic.ts). */
export function outputDirOptions(overwrite: boolean, inputs: readonly string[] = []): OutputDirOptions {
  return { kind: "model folder", overwrite, overwriteHint: "--overwrite", isKind: isModelDir, inputs };
}

/** Imports `hfDir` into `outDir` (see the module comment). */
export async function importHfModel(hfDir: string, outDir: string, options: ImportOptions = {}): Promise<ImportReport> {
  const cfg = await readModelConfig(hfDir);
  const found = await detectCheckpoint(hfDir);
  if (!found) throw new CheckpointFormatError(hfDir, "no weights found (model.safetensors[.index.json] or pytorch_model.bin[.index.json])");
  // Refused before any work: an existing model without overwrite, a folder that is not a model, the source itself.
  await checkOutputDir(outDir, outputDirOptions(options.overwrite ?? false, [hfDir]));

  // Tokenizer: must load, and every id must have an embedding row.
  let tokenizer: ReturnType<typeof loadTokenizer> | null = null;
  const hasTokenizer = (await isFile(path.join(hfDir, "tokenizer.json"))) || (await isFile(path.join(hfDir, "tokenizer.model")));
  if (hasTokenizer) {
    tokenizer = loadTokenizer(hfDir);
    if (tokenizer.vocabSize > cfg.vocabSize) {
      throw new CheckpointFormatError(hfDir, `tokenizer has ${tokenizer.vocabSize} ids but config vocab_size is ${cfg.vocabSize}; ids beyond it would have no embedding`);
    }
  } else if (!options.allowMissingTokenizer) {
    throw new CheckpointFormatError(hfDir, "no tokenizer.json or tokenizer.model; a model is not usable without its tokenizer (pass allowMissingTokenizer to import weights only)");
  }
  const template =
    options.template ?? tokenizer?.chatTemplateId ?? (tokenizer?.chatTemplate ? jinjaTemplateId(tokenizer.chatTemplate) : null);

  const reader = await openCheckpoint(hfDir);
  try {
    const specs = decoderParamSpecs(cfg);
    const wanted = new Set(specs.map((s) => s.name));
    const missing = specs.filter((s) => !reader.has(s.name));
    if (missing.length > 0) {
      throw new CheckpointFormatError(
        reader.path,
        `missing ${missing.length} tensor(s) the ${cfg.architecture} config needs: ${missing.slice(0, 8).map((s) => `${s.name} [${s.shape.join(", ")}]`).join(", ")}${missing.length > 8 ? ", …" : ""}`,
      );
    }
    const skipped: ImportReport["skipped"] = [];
    const unknown: string[] = [];
    for (const n of reader.names()) {
      if (wanted.has(n)) continue;
      const why = skipReason(n, cfg);
      if (why) skipped.push({ tensor: n, reason: why });
      else unknown.push(n);
    }
    if (unknown.length > 0) {
      throw new CheckpointFormatError(
        reader.path,
        `${unknown.length} tensor(s) the ${cfg.architecture} config does not use (wrong config.json?): ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", …" : ""}`,
      );
    }
    const dtypes: Record<string, number> = {};
    const entries: TensorEntry[] = [];
    let parameters = 0;
    let bytes = 0;
    specs.forEach((spec, i) => {
      const info = reader.info(spec.name);
      if (info.shape.length !== spec.shape.length || info.shape.some((d, k) => d !== spec.shape[k])) {
        throw new CheckpointFormatError(info.file, `tensor "${spec.name}": shape [${info.shape.join(", ")}], the config needs [${spec.shape.join(", ")}]`);
      }
      if (info.dtype !== "F32" && info.dtype !== "F16" && info.dtype !== "BF16" && info.dtype !== "F64") {
        throw new CheckpointFormatError(info.file, `tensor "${spec.name}" has dtype ${info.dtype}; model weights must be floating point`);
      }
      const dtype: FloatDType = !options.dtype || options.dtype === "keep" ? (info.dtype === "F64" ? "F32" : info.dtype) : options.dtype;
      dtypes[dtype] = (dtypes[dtype] ?? 0) + 1;
      parameters += numel(spec.shape);
      bytes += numel(spec.shape) * DTYPE_BYTES[dtype];
      entries.push({
        name: spec.name,
        shape: spec.shape,
        dtype,
        data: async () => {
          const x = await reader.read(spec.name);
          assertFinite(info.file, spec.name, x, "load");
          options.onTensor?.(spec.name, i, specs.length);
          return x;
        },
      });
    });

    // Staged in a sibling folder and swapped in only when everything is written.
    return await writeOutputDir(outDir, outputDirOptions(options.overwrite ?? false, [hfDir]), async (tmp) => {
      const metadata: Record<string, string> = { format: "pt" };
      if (template) metadata.template = template;
      const written = await writeCheckpoint(tmp, entries, { maxShardBytes: options.maxShardBytes, metadata });
      await fs.copyFile(path.join(hfDir, "config.json"), path.join(tmp, "config.json"));
      const files = [...written.files, "config.json"];
      for (const f of COPIED_FILES) {
        const src = path.join(hfDir, f);
        if (!(await isFile(src))) continue;
        if (f === "tokenizer_config.json" && options.template) {
          const json = JSON.parse(await fs.readFile(src, "utf8")) as Record<string, unknown>;
          json.chat_template_id = options.template;
          await writeJsonAtomic(path.join(tmp, f), json);
        } else {
          await fs.copyFile(src, path.join(tmp, f));
        }
        files.push(f);
      }
      return {
        outDir,
        architecture: cfg.architecture,
        sourceFormat: found.format,
        parameters,
        tensors: entries.length,
        bytes,
        dtypes,
        skipped,
        tokenizer: tokenizer ? { kind: tokenizer.kind, vocabSize: tokenizer.vocabSize } : null,
        template,
        files,
      };
    });
  } finally {
    await reader.close();
  }
}
