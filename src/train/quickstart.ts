/**
 * The quick start, end to end on one CPU and fully offline: the pipeline in
 * configs/pipeline/quickstart.yaml —
 *   1. build the bundled sample corpus (task sets, hybrid CPT corpus, DFPO pairs, test split),
 *   2. train a byte-level BPE tokenizer on the CPT text and make a tiny Llama from scratch,
 *   3. the four stages on the one trainer: CPT → full SFT → DFPO → MoE-LoRA SFT,
 *   4. each stage's effect on the held-out split (report.md / report.json), samples from the result and
 *      the command to chat with it.
 * A killed quick start continues where it stopped; a finished one is skipped step by step.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAdapter } from "../model/adapters/index.js";
import { generate, loadModel, parseConfig, presetConfig, presetNames } from "../model/index.js";
import { loadTokenizer, renderChat, stopTokenIds } from "../tokenizer/index.js";
import { loadPipeline } from "./pipeline/config.js";
import { runPipeline, type PipelineResult } from "./pipeline/run.js";
import type { EffectRow } from "./pipeline/effects.js";
import { TrainingOptionsError } from "./trainer/errors.js";

export interface QuickstartOptions {
  /** Where everything is written. Defaults to runs/quickstart. */
  outDir?: string;
  /** The pipeline file. Defaults to configs/pipeline/quickstart.yaml of this package. */
  pipeline?: string;
  /** Corpus build config. Defaults to the pipeline's (configs/corpus/sample.json). */
  corpusConfig?: string;
  /** CPT steps. Defaults to DEFAULT_STEPS. */
  steps?: number;
  /** CPT blocks per step. Defaults to DEFAULT_BATCH. */
  batchSize?: number;
  /** CPT tokens per block. Defaults to 128. */
  blockSize?: number;
  /** Tokenizer vocabulary. Defaults to 3000. */
  vocabSize?: number;
  /** Model preset. Defaults to tiny-llama. */
  preset?: string;
  /** CPT peak learning rate. Defaults to the recipe's 3e-3. */
  lr?: number;
  seed?: number;
  /** Steps of the later stages by stage name (sft, dfpo, moe_lora), e.g. for a short schedule. */
  stageSteps?: Partial<Record<string, number>>;
  /** Held-out evaluation size (rows per set, prompts generated, new tokens per answer). */
  evaluation?: Partial<{ maxRows: number; generate: number; maxNewTokens: number }>;
  /** Questions answered by the final model. */
  prompts?: string[];
  /** Progress lines on stderr. Defaults to true. */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface QuickstartReport extends PipelineResult {
  outDir: string;
  effects: EffectRow[] | null;
  samples: { prompt: string; answer: string }[];
  chatCommand: string;
}

export const DEFAULT_STEPS = 400;
export const DEFAULT_BATCH = 16;
const DEFAULT_PROMPTS = ["小儿发热时，家长应该怎么办？", "手足口病的主要症状有哪些？", "婴儿腹泻时怎样预防脱水？"];
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Checks every quick-start option that does not depend on the data; throws TrainingOptionsError
 * naming it. Runs before any work (the CLI calls it before anything is built); whatever job replaces
 * the quick start must keep calling it first.
 */
export function checkQuickstartOptions(o: QuickstartOptions): { preset: string; maxPositions: number } {
  const posInt = (name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): void => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0 && (v as number) <= max)) {
      throw new TrainingOptionsError(name, `must be an integer in [1, ${max}], got ${String(v)}`);
    }
  };
  posInt("steps", o.steps);
  posInt("batchSize", o.batchSize);
  posInt("vocabSize", o.vocabSize, 1 << 20);
  if (o.vocabSize !== undefined && o.vocabSize < 300) throw new TrainingOptionsError("vocabSize", `must be at least 300 (256 bytes plus special tokens and merges), got ${o.vocabSize}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff)) {
    throw new TrainingOptionsError("seed", `must be an integer in [0, 2^32), got ${String(o.seed)}`);
  }
  if (o.lr !== undefined && !(Number.isFinite(o.lr) && o.lr > 0)) throw new TrainingOptionsError("lr", `must be a number > 0, got ${String(o.lr)}`);
  const preset = o.preset ?? "tiny-llama";
  if (!presetNames().includes(preset)) throw new TrainingOptionsError("preset", `unknown preset "${preset}"; available: ${presetNames().join(", ")}`);
  const maxPositions = parseConfig(presetConfig(preset), `preset ${preset}`).maxPositions;
  if (o.blockSize !== undefined && !(Number.isInteger(o.blockSize) && o.blockSize >= 2)) {
    throw new TrainingOptionsError("blockSize", `must be an integer >= 2, got ${String(o.blockSize)}`);
  }
  if ((o.blockSize ?? 128) > maxPositions) {
    throw new TrainingOptionsError("blockSize", `${o.blockSize} tokens is longer than preset ${preset}'s max_position_embeddings (${maxPositions})`);
  }
  return { preset, maxPositions };
}

export async function runQuickstart(o: QuickstartOptions = {}): Promise<QuickstartReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const { preset } = checkQuickstartOptions(o);
  const cfg = loadPipeline(o.pipeline ?? join(PACKAGE_ROOT, "configs", "pipeline", "quickstart.yaml"));
  const outDir = resolve(o.outDir ?? "runs/quickstart");
  cfg.outDir = outDir;
  if (o.corpusConfig) cfg.corpus = resolve(o.corpusConfig);
  if (o.vocabSize !== undefined) cfg.tokenizer = { vocabSize: o.vocabSize };
  cfg.model = { preset, seed: o.seed ?? ("seed" in cfg.model ? cfg.model.seed : 0) };
  for (const s of cfg.stages) {
    if (s.recipe.stage === "pt") {
      if (o.steps !== undefined) s.recipe.max_steps = o.steps;
      if (o.batchSize !== undefined) s.recipe.per_device_train_batch_size = o.batchSize;
      if (o.blockSize !== undefined) s.recipe.cutoff_len = o.blockSize;
      if (o.lr !== undefined) s.recipe.learning_rate = o.lr;
    }
    const n = o.stageSteps?.[s.name];
    if (n !== undefined) {
      if (!(Number.isInteger(n) && n > 0)) throw new TrainingOptionsError(`stageSteps.${s.name}`, `must be a positive integer, got ${String(n)}`);
      s.recipe.max_steps = n;
    }
    if (o.seed !== undefined) s.recipe.seed = o.seed;
  }
  for (const k of Object.keys(o.stageSteps ?? {})) {
    if (!cfg.stages.some((s) => s.name === k)) throw new TrainingOptionsError("stageSteps", `no stage "${k}"; the stages are ${cfg.stages.map((s) => s.name).join(", ")}`);
  }
  cfg.evaluation = { ...cfg.evaluation, ...(o.evaluation ?? {}) };

  const result = await runPipeline(cfg, { log, progress: o.progress });

  // The last full model is also at <out>/model, where `pedgpt eval run configs/eval/quickstart.yaml` and
  // earlier versions of the quick start put it (the MoE-LoRA adapter stays beside it in stages/).
  const modelDir = join(outDir, "model");
  mkdirSync(modelDir, { recursive: true });
  for (const f of readdirSync(result.final.model)) {
    if (/\.(safetensors|json|model)$/.test(f) && f !== "stage_report.json") copyFileSync(join(result.final.model, f), join(modelDir, f));
  }

  // Answers from the result, as a chat would give them (template, greedy, stop tokens).
  const model = await loadModel(result.final.model);
  if (result.final.adapter) {
    const a = await loadAdapter(result.final.adapter, model);
    a.attach(model);
    a.eval();
  }
  const tokenizer = loadTokenizer(result.final.model);
  const stops = stopTokenIds(tokenizer, cfg.template);
  const samples = (o.prompts ?? DEFAULT_PROMPTS).map((prompt) => {
    const ids = renderChat(tokenizer, cfg.template, [{ role: "user", content: prompt }], "prompt").ids;
    const g = generate(model, ids, { maxNewTokens: 48, temperature: 0, eosTokenIds: stops });
    const answer = tokenizer.decode(g.tokens, { skipSpecialTokens: true });
    log(`      「${prompt}」→ ${answer}`);
    return { prompt, answer };
  });
  const chatCommand = `pedgpt chat --model ${result.final.model}${result.final.adapter ? ` --adapter ${result.final.adapter}` : ""}`;
  if (result.table) log(`\nEach stage's effect on held-out data (${join(outDir, "report.md")}):\n${result.table}\n${result.verdicts.map((v) => `- ${v}`).join("\n")}\n`);
  log(`Report with loss curves and the effect table: ${result.html}`);
  log(`done in ${result.seconds.toFixed(0)} s. Chat with the result (a tiny model: it shows the machinery, not medical knowledge):\n  ${chatCommand}`);
  if (!existsSync(join(outDir, "report.json"))) throw new Error(`${outDir}: the pipeline wrote no report.json`);
  return { ...result, outDir, samples, chatCommand };
}
