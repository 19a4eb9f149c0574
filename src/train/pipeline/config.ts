/**
 * PIPELINE.yaml: corpus build → tokenizer → starting model → stages → evaluation, in one file.
 *
 *   out_dir: runs/quickstart
 *   corpus: configs/corpus/sample.json       # a corpus build config (relative to this file)
 *   tokenizer: { vocab_size: 3000 }          # train a byte-level BPE on the CPT text …
 *   # tokenizer: { from_model: true }        # … or use the base model's
 *   model: { preset: tiny-llama, seed: 0 }   # from scratch, or { path: models/Qwen2-0.5B }
 *   template: default
 *   stages:
 *     - { name: cpt, recipe: { stage: pt, dataset: pedcorpus_cpt, … } }   # LLaMA-Factory keys
 *     - { name: sft, recipe: ../recipes/x/sft.yaml }                       # or a recipe file
 *   evaluation: { max_rows: 200 }
 *
 * Each stage's recipe gets `model_name_or_path` (the previous stage's output, or the starting model),
 * `output_dir` (<out_dir>/stages/<name>) and `dataset_dir` (the built corpus) from the pipeline; a
 * recipe that sets them is refused, so nothing is silently overridden.
 *
 * Not here: running it (run.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { parseRecipe, RecipeError, type Recipe } from "../recipe.js";

export class PipelineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PipelineConfigError";
  }
}

export interface PipelineStage {
  name: string;
  recipe: Recipe;
  /** the recipe as written (file path or "inline"), for the manifest */
  source: string;
}

export interface PipelineConfig {
  file: string;
  text: string;
  outDir: string;
  corpus: string;
  tokenizer: { vocabSize: number } | { fromModel: true };
  model: { preset: string; seed: number } | { path: string };
  template: string;
  stages: PipelineStage[];
  evaluation: { maxRows: number; generate: number; maxNewTokens: number };
}

const TOP = ["out_dir", "corpus", "tokenizer", "model", "template", "stages", "evaluation"];
const FILLED = ["model_name_or_path", "output_dir", "dataset_dir"] as const;

function obj(v: unknown, where: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new PipelineConfigError(`${where}: expected a mapping`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], where: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new PipelineConfigError(`${where}: unknown key "${k}"; expected one of ${keys.join(", ")}`);
}

export function loadPipeline(file: string): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PipelineConfigError(`${file}: cannot read pipeline (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) throw new PipelineConfigError(`${file}:${lc.linePos(doc.errors[0]!.pos[0]).line}: invalid YAML: ${doc.errors[0]!.message.split("\n")[0]}`);
  const lines = new Map<string, number>();
  if (isMap(doc.contents)) for (const it of doc.contents.items) if (isScalar(it.key) && it.key.range) lines.set(String(it.key.value), lc.linePos(it.key.range[0]).line);
  const at = (k: string) => (lines.has(k) ? `${file}:${lines.get(k)}` : file);
  const root = obj(doc.toJS(), file);
  for (const k of Object.keys(root)) {
    if (!TOP.includes(k)) throw new PipelineConfigError(`${at(k)}: unknown key "${k}"; expected one of ${TOP.join(", ")}`);
  }
  const base = dirname(resolve(file));
  const rel = (p: unknown, key: string): string => {
    if (typeof p !== "string" || p === "") throw new PipelineConfigError(`${at(key)}: "${key}" must be a path`);
    return isAbsolute(p) ? p : resolve(base, p);
  };
  const outDir = typeof root.out_dir === "string" && root.out_dir !== "" ? resolve(root.out_dir) : (() => { throw new PipelineConfigError(`${at("out_dir")}: "out_dir" must be a path (relative to the working directory)`); })();
  const corpus = rel(root.corpus, "corpus");
  if (!existsSync(corpus)) throw new PipelineConfigError(`${at("corpus")}: corpus build config ${corpus} not found`);

  const tokRaw = obj(root.tokenizer ?? { vocab_size: 3000 }, at("tokenizer"));
  onlyKeys(tokRaw, ["vocab_size", "from_model"], at("tokenizer"));
  let tokenizer: PipelineConfig["tokenizer"];
  if (tokRaw.from_model === true) tokenizer = { fromModel: true };
  else {
    const v = tokRaw.vocab_size ?? 3000;
    if (!Number.isInteger(v) || (v as number) < 300) throw new PipelineConfigError(`${at("tokenizer")}: tokenizer.vocab_size must be an integer >= 300, got ${JSON.stringify(v)}`);
    tokenizer = { vocabSize: v as number };
  }

  const modelRaw = obj(root.model, at("model"));
  onlyKeys(modelRaw, ["preset", "seed", "path"], at("model"));
  let model: PipelineConfig["model"];
  if (typeof modelRaw.path === "string") {
    if (!("fromModel" in tokenizer)) throw new PipelineConfigError(`${at("tokenizer")}: a base model brings its own tokenizer; set tokenizer: { from_model: true }`);
    model = { path: rel(modelRaw.path, "model") };
  } else {
    if (typeof modelRaw.preset !== "string") throw new PipelineConfigError(`${at("model")}: model needs "preset" (a tiny model from scratch) or "path" (a base model folder)`);
    if ("fromModel" in tokenizer) throw new PipelineConfigError(`${at("tokenizer")}: a model from scratch needs a trained tokenizer (tokenizer: { vocab_size: N })`);
    const seed = modelRaw.seed ?? 0;
    if (!Number.isInteger(seed) || (seed as number) < 0) throw new PipelineConfigError(`${at("model")}: model.seed must be an integer >= 0`);
    model = { preset: modelRaw.preset, seed: seed as number };
  }
  const template = typeof root.template === "string" ? root.template : "default";

  if (!Array.isArray(root.stages) || root.stages.length === 0) throw new PipelineConfigError(`${at("stages")}: "stages" must be a non-empty list`);
  const names = new Set<string>();
  const stages = (root.stages as unknown[]).map((s, i) => {
    const where = `${at("stages")}: stages[${i}]`;
    const st = obj(s, where);
    onlyKeys(st, ["name", "recipe"], where);
    if (typeof st.name !== "string" || !/^[A-Za-z0-9_-]+$/.test(st.name)) throw new PipelineConfigError(`${where}: "name" must be a word (letters, digits, _ or -)`);
    if (names.has(st.name)) throw new PipelineConfigError(`${where}: duplicate stage name "${st.name}"`);
    names.add(st.name);
    let raw: Record<string, unknown>;
    let source = "inline";
    if (typeof st.recipe === "string") {
      source = rel(st.recipe, "stages");
      let rtext: string;
      try {
        rtext = readFileSync(source, "utf8");
      } catch {
        throw new PipelineConfigError(`${where}: recipe file ${source} not found`);
      }
      raw = obj(parseDocument(rtext).toJS(), source);
    } else raw = obj(st.recipe, `${where}.recipe`);
    for (const k of FILLED) {
      if (k in raw) throw new PipelineConfigError(`${where} (${st.name}): "${k}" is set by the pipeline (the previous stage's output, ${"<out_dir>/stages/" + st.name}, the built corpus); remove it`);
    }
    try {
      const recipe = parseRecipe({ ...raw, model_name_or_path: "(pipeline)", output_dir: "(pipeline)", ...(raw.template ? {} : { template }) }, (key) => `${source === "inline" ? where : source}${key ? ` (${key})` : ""}`);
      return { name: st.name, recipe, source };
    } catch (e) {
      if (e instanceof RecipeError) throw new PipelineConfigError(e.message);
      throw e;
    }
  });

  const evRaw = obj(root.evaluation ?? {}, at("evaluation"));
  onlyKeys(evRaw, ["max_rows", "generate", "max_new_tokens"], at("evaluation"));
  const int = (v: unknown, d: number, k: string) => {
    const x = v ?? d;
    if (!Number.isInteger(x) || (x as number) < 0) throw new PipelineConfigError(`${at("evaluation")}: evaluation.${k} must be an integer >= 0`);
    return x as number;
  };
  return {
    file: resolve(file), text, outDir, corpus, tokenizer, model, template, stages,
    evaluation: { maxRows: int(evRaw.max_rows, 200, "max_rows"), generate: int(evRaw.generate, 12, "generate"), maxNewTokens: int(evRaw.max_new_tokens, 48, "max_new_tokens") },
  };
}


