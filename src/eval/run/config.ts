/**
 * The EVAL.yaml of `pedgpt eval run`: test sets, models (a checkpoint to generate answers with, or
 * answer files per set), generation settings and scoring switches. Validated with zod before any
 * work; errors name the file and the field path. Relative paths resolve against the YAML file.
 *
 * ```yaml
 * name: quick
 * out: ../runs/eval/quick            # answers/<model>/<set>.jsonl and results.json go here
 * sets:
 *   - { name: evidiag, path: corpus/sft/evidiag_test.alpaca.jsonl }     # format: auto by default
 *   - { name: cmd, path: cmd_test.csv, format: cmd }
 * models:
 *   - { name: tiny, model: ../runs/quickstart/model }                  # answers generated here (engine)
 *   - { name: q8, model: ../runs/tiny-q8.gguf, backend: llama.cpp }
 *   - { name: hosted, model: some-model, backend: openai, baseUrl: "https://host/v1" }
 *   - { name: baseline, answers: { evidiag: baseline/evidiag.jsonl } } # answers given
 * generation: { maxNewTokens: 128, batchSize: 8 }                      # greedy, seed 0 by default
 * likelihood: true          # exam accuracy by option likelihood too (engine checkpoints)
 * safety: true
 * allowMissing: false       # true: items without an answer become listed gaps instead of an error
 * scoreGapsAsEmpty: false   # true: gaps score 0 in the metric means (else they are left out, and listed)
 * limit: 0                  # first N items of each set (0 = all)
 * judge:                    # optional: pairwise LLM judge over the open-ended items
 *   { baseUrl: "http://127.0.0.1:8000/v1", model: judge, pairs: [[tiny, baseline]], sets: [evidiag] }
 * ```
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { SET_FORMATS } from "../generate/sets.js";

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-' (it names files)");

const setSchema = z.strictObject({
  name,
  path: z.string().min(1),
  format: z.enum([...SET_FORMATS, "auto"]).default("auto"),
});

const modelSchema = z
  .strictObject({
    name,
    /** A checkpoint directory (engine), a GGUF file (llama.cpp), or the model name at an endpoint (openai). */
    model: z.string().min(1).optional(),
    backend: z.enum(["engine", "llama.cpp", "openai"]).default("engine"),
    /** openai: the OpenAI-compatible endpoint, and the environment variable holding its key. */
    baseUrl: z.string().url().optional(),
    apiKeyEnv: z.string().default("OPENAI_API_KEY"),
    contextSize: z.number().int().min(2).optional(),
    template: z.string().optional(),
    forceTemplate: z.boolean().default(false),
    /** Answer files per set name. */
    answers: z.record(z.string(), z.string().min(1)).optional(),
  })
  .refine((m) => (m.model === undefined) !== (m.answers === undefined), { message: "give exactly one of model (a checkpoint directory) or answers (files per set)" })
  .refine((m) => (m.backend === "openai") === (m.baseUrl !== undefined), { message: "baseUrl is required with backend openai and only used with it", path: ["baseUrl"] });

const generationSchema = z.strictObject({
  maxNewTokens: z.number().int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.number().int().min(0).optional(),
  repetitionPenalty: z.number().gt(0).optional(),
  stop: z.array(z.string().min(1)).optional(),
  seed: z.number().int().min(0).optional(),
  batchSize: z.number().int().min(1).optional(),
});

const judgeSchema = z.strictObject({
  /** Any OpenAI-compatible endpoint (pedgpt serve included). */
  baseUrl: z.string().url(),
  model: z.string().min(1),
  apiKeyEnv: z.string().default("OPENAI_API_KEY"),
  /** [A, B] model names; A's wins are counted. */
  pairs: z.array(z.tuple([name, name])).min(1),
  /** Sets to judge (default: every set with open-ended items; exam items are never judged). */
  sets: z.array(name).optional(),
  temperature: z.number().min(0).max(2).default(0),
  timeoutMs: z.number().int().min(1).default(60000),
  maxRetries: z.number().int().min(0).default(3),
  concurrency: z.number().int().min(1).default(4),
  requestsPerMinute: z.number().min(0).default(0),
});

export const evalConfigSchema = z.strictObject({
  name,
  out: z.string().min(1),
  sets: z.array(setSchema).min(1),
  models: z.array(modelSchema).min(1),
  generation: generationSchema.default({}),
  metricsMode: z.enum(["paper", "standard"]).default("paper"),
  likelihood: z.boolean().default(true),
  safety: z.boolean().default(true),
  allowMissing: z.boolean().default(false),
  scoreGapsAsEmpty: z.boolean().default(false),
  limit: z.number().int().min(0).default(0),
  judge: judgeSchema.optional(),
});
export type EvalConfig = z.infer<typeof evalConfigSchema>;

export class EvalConfigError extends Error {
  override name = "EvalConfigError";
}

/** Parses and validates; every path comes back absolute (relative to `file`'s folder). */
export function parseEvalConfig(text: string, file: string): EvalConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new EvalConfigError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  const r = evalConfigSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`);
    throw new EvalConfigError(`${file}: ${first.join("; ")}`);
  }
  const cfg = r.data;
  const dupe = (xs: string[], what: string) => {
    const seen = new Set<string>();
    for (const x of xs) {
      if (seen.has(x)) throw new EvalConfigError(`${file}: ${what} ${JSON.stringify(x)} appears twice`);
      seen.add(x);
    }
  };
  dupe(cfg.sets.map((s) => s.name), "set name");
  dupe(cfg.models.map((m) => m.name), "model name");
  const setNames = new Set(cfg.sets.map((s) => s.name));
  cfg.models.forEach((m, i) => {
    for (const k of Object.keys(m.answers ?? {})) {
      if (!setNames.has(k)) throw new EvalConfigError(`${file}: models.${i}.answers.${k}: no set named ${JSON.stringify(k)} (sets: ${[...setNames].join(", ")})`);
    }
  });
  if (cfg.judge) {
    const modelNames = new Set(cfg.models.map((m) => m.name));
    cfg.judge.pairs.forEach(([a, b], i) => {
      for (const x of [a, b]) if (!modelNames.has(x)) throw new EvalConfigError(`${file}: judge.pairs.${i}: no model named ${JSON.stringify(x)} (models: ${[...modelNames].join(", ")})`);
      if (a === b) throw new EvalConfigError(`${file}: judge.pairs.${i}: a model cannot be judged against itself (${JSON.stringify(a)})`);
    });
    (cfg.judge.sets ?? []).forEach((x, i) => {
      if (!setNames.has(x)) throw new EvalConfigError(`${file}: judge.sets.${i}: no set named ${JSON.stringify(x)} (sets: ${[...setNames].join(", ")})`);
    });
  }
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...cfg,
    out: abs(cfg.out),
    sets: cfg.sets.map((s) => ({ ...s, path: abs(s.path) })),
    models: cfg.models.map((m) => ({
      ...m,
      ...(m.model !== undefined ? { model: m.backend === "openai" ? m.model : abs(m.model) } : {}),
      ...(m.answers !== undefined ? { answers: Object.fromEntries(Object.entries(m.answers).map(([k, v]) => [k, abs(v)])) } : {}),
    })),
  };
}

export function loadEvalConfig(file: string): EvalConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new EvalConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseEvalConfig(text, file);
}
