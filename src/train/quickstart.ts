/**
 * The quick start's main job, end to end on one CPU and fully offline:
 *   1. build the bundled sample corpus (corpus/) into the hybrid CPT corpus,
 *   2. train a byte-level BPE tokenizer on it (tokenizer/),
 *   3. pack the documents with EOS into blocks and train a tiny Llama from scratch on the one trainer
 *      (metrics.jsonl and resumable checkpoints in the output folder),
 *   4. save the model (safetensors + config + tokenizer, template id recorded) and sample from it.
 * Every option is checked before the corpus build starts; those that depend on the data (batch vs
 * blocks) before training starts. The later training stages (SFT, DFPO, MoE-LoRA) extend this job.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildCorpus, loadBuildConfig } from "../corpus/index.js";
import { CausalLM, generate, parseConfig, presetConfig, presetNames, saveModel } from "../model/index.js";
import { loadTokenizer, saveTrainedBpe, trainBpeTokenizer } from "../tokenizer/index.js";
import { trainLanguageModel, type LmTrainResult } from "./lm.js";
import { packDocuments, splitBlocks } from "./packing.js";
import { TrainingOptionsError } from "./trainer/errors.js";

export interface QuickstartOptions {
  /** Where everything is written. Defaults to runs/quickstart. */
  outDir?: string;
  /** Corpus build config. Defaults to configs/corpus/sample.json. */
  corpusConfig?: string;
  /** Defaults to DEFAULT_STEPS. */
  steps?: number;
  /** Defaults to DEFAULT_BATCH. */
  batchSize?: number;
  /** Tokens per block. Defaults to 128. */
  blockSize?: number;
  /** Tokenizer vocabulary. Defaults to 3000. */
  vocabSize?: number;
  /** Model preset. Defaults to tiny-llama. */
  preset?: string;
  /** Defaults to 3e-3. */
  lr?: number;
  seed?: number;
  /** Continue the training of a killed quick start from its newest checkpoint (the corpus and tokenizer are rebuilt identically). */
  resume?: boolean;
  /** Prompts to continue after training. */
  prompts?: string[];
  log?: (line: string) => void;
}

export interface QuickstartReport {
  outDir: string;
  corpus: { documents: number; chars: number };
  tokenizer: { vocabSize: number; trainSeconds: number; charsPerSecond: number };
  data: { tokens: number; blocks: number; heldOutBlocks: number; blockSize: number; droppedTokens: number };
  model: { preset: string; parameters: number; dir: string };
  training: Omit<LmTrainResult, "steps"> & { steps: number };
  samples: { prompt: string; completion: string }[];
}

export const DEFAULT_STEPS = 400;
export const DEFAULT_BATCH = 16;
const DEFAULT_PROMPTS = ["小儿发热时，家长应该", "手足口病的主要症状包括", "婴儿腹泻时，预防脱水"];

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
  const outDir = resolve(o.outDir ?? "runs/quickstart");
  mkdirSync(outDir, { recursive: true });

  log(`[1/4] building the sample corpus → ${join(outDir, "corpus")}`);
  const loaded = await loadBuildConfig(o.corpusConfig ?? "configs/corpus/sample.json");
  const built = await buildCorpus(loaded, { outDir: join(outDir, "corpus") });
  const cptFile = join(built.outDir, "cpt", "pedcorpus_cpt.jsonl");
  const docs = readFileSync(cptFile, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const text = (JSON.parse(line) as { text?: unknown }).text;
      if (typeof text !== "string") throw new Error(`${cptFile}:${i + 1}: expected {"text": string}`);
      return text;
    });
  const chars = docs.reduce((n, d) => n + d.length, 0);
  log(`      ${docs.length} CPT documents, ${chars} characters`);

  log(`[2/4] training a byte-level BPE tokenizer (vocab ${o.vocabSize ?? 3000})`);
  const trained = trainBpeTokenizer(docs, { vocabSize: o.vocabSize ?? 3000, chatTemplateId: "default" });
  const tokDir = join(outDir, "tokenizer");
  saveTrainedBpe(trained, tokDir);
  const tokenizer = loadTokenizer(tokDir);
  log(`      ${tokenizer.vocabSize} tokens in ${trained.stats.seconds.toFixed(1)} s (${Math.round(trained.stats.charsPerSecond)} chars/s)`);
  if (tokenizer.eosId === null || tokenizer.bosId === null || tokenizer.padId === null) {
    throw new Error(`${tokDir}: the trained tokenizer lacks bos/eos/pad tokens`);
  }

  const blockSize = o.blockSize ?? 128;
  const packed = packDocuments(
    docs.map((d) => tokenizer.encode(d, { addSpecialTokens: false })),
    blockSize,
    tokenizer.eosId,
  );
  // Every 20th block is held out, so the log shows whether the model generalises or only memorises.
  const { train, validation } = splitBlocks(packed, 20);
  log(`      ${packed.totalTokens} tokens → ${packed.numBlocks} blocks of ${blockSize} (${train.numBlocks} train, ${validation.numBlocks} held out; ${packed.droppedTokens} tail tokens unused)`);

  const config = parseConfig(
    presetConfig(preset, {
      vocab_size: tokenizer.vocabSize,
      bos_token_id: tokenizer.bosId,
      eos_token_id: tokenizer.eosId,
      pad_token_id: tokenizer.padId,
    }),
    `preset ${preset}`,
  );
  const seed = o.seed ?? 0;
  const model = new CausalLM(config, { seed });
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  const steps = o.steps ?? DEFAULT_STEPS;
  const batchSize = o.batchSize ?? DEFAULT_BATCH;
  log(`[3/4] training ${preset} (${(parameters / 1e6).toFixed(2)} M parameters) for ${steps} steps of ${batchSize}×${blockSize} tokens`);
  const result = await trainLanguageModel(model, train, {
    validation,
    steps,
    batchSize,
    lr: o.lr ?? 3e-3,
    seed,
    // The folder is the quick start's own scratch space (the corpus and tokenizer are rebuilt in it
    // too): a new run replaces the previous run's checkpoints and metrics, a resume continues them.
    runDir: outDir,
    ...(o.resume ? { resume: true } : { overwrite: true }),
    recipe: { job: "quickstart", preset },
    log: (l) => log(`      ${l}`),
  });
  log(`      train loss ${result.firstLoss.toFixed(3)} → ${result.finalLoss.toFixed(3)}, held-out loss ${result.valLossBefore?.toFixed(3)} → ${result.valLossAfter?.toFixed(3)}, in ${result.seconds.toFixed(0)} s (${Math.round(result.tokensPerSecond)} tokens/s)`);

  const modelDir = join(outDir, "model");
  await saveModel(model, modelDir, { metadata: { template: "default" } });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tokDir, f), join(modelDir, f));

  log(`[4/4] sampling from ${modelDir}`);
  const samples = (o.prompts ?? DEFAULT_PROMPTS).map((prompt) => {
    const ids = [tokenizer.bosId!, ...tokenizer.encode(prompt, { addSpecialTokens: false })];
    const out = generate(model, ids, { maxNewTokens: 48, temperature: 0.7, topK: 20, seed });
    const completion = tokenizer.decode(out.tokens, { skipSpecialTokens: true });
    log(`      「${prompt}」→ ${completion}`);
    return { prompt, completion };
  });

  const { steps: history, ...summary } = result;
  const report: QuickstartReport = {
    outDir,
    corpus: { documents: docs.length, chars },
    tokenizer: { vocabSize: tokenizer.vocabSize, trainSeconds: trained.stats.seconds, charsPerSecond: trained.stats.charsPerSecond },
    data: { tokens: packed.totalTokens, blocks: train.numBlocks, heldOutBlocks: validation.numBlocks, blockSize, droppedTokens: packed.droppedTokens },
    model: { preset, parameters, dir: modelDir },
    training: { ...summary, steps: history.length },
    samples,
  };
  writeFileSync(join(outDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  log(`report: ${join(outDir, "report.json")}`);
  return report;
}
