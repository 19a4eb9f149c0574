/**
 * The registry of supported architectures: `architectures[0]` of a config.json → the function that
 * maps it onto the engine's ModelConfig. Adding a family is one entry here plus its mapping file.
 */
import { parseBaichuanConfig } from "./baichuan.js";
import { ModelConfigError, type ArchitectureName, type ModelConfig } from "./config.js";
import { parseLlamaConfig } from "./llama.js";
import { parseQwen2Config } from "./qwen2.js";

const PARSERS: Record<ArchitectureName, (raw: Record<string, unknown>, source: string) => ModelConfig> = {
  LlamaForCausalLM: parseLlamaConfig,
  Qwen2ForCausalLM: parseQwen2Config,
  BaichuanForCausalLM: parseBaichuanConfig,
};

/** model_type values that imply an architecture when `architectures` is missing. */
const BY_MODEL_TYPE: Record<string, ArchitectureName> = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", baichuan: "BaichuanForCausalLM" };

export const SUPPORTED_ARCHITECTURES = Object.keys(PARSERS) as ArchitectureName[];

/** Parse a config.json object. `source` (a path) is named in every error. */
export function parseConfig(raw: unknown, source = "config.json"): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ModelConfigError(source, "(root)", `expected a JSON object, got ${Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  const obj = raw as Record<string, unknown>;
  let arch: string | undefined;
  const archs = obj["architectures"];
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== "string") {
      throw new ModelConfigError(source, "architectures", `expected a non-empty list of names, got ${JSON.stringify(archs)}`);
    }
    arch = archs[0];
  } else if (typeof obj["model_type"] === "string") {
    arch = BY_MODEL_TYPE[obj["model_type"]];
    if (arch === undefined) {
      throw new ModelConfigError(source, "model_type", `unsupported model_type "${obj["model_type"]}"; supported: ${Object.keys(BY_MODEL_TYPE).join(", ")}`);
    }
  } else {
    throw new ModelConfigError(source, "architectures", `missing (and no model_type); expected one of ${SUPPORTED_ARCHITECTURES.join(", ")}`);
  }
  const parse = PARSERS[arch as ArchitectureName];
  if (parse === undefined) {
    throw new ModelConfigError(source, "architectures", `unsupported architecture "${arch}"; supported: ${SUPPORTED_ARCHITECTURES.join(", ")}`);
  }
  return parse(obj, source);
}
