/**
 * The build configuration (`pedgpt corpus build <config.json>`): a JSON file validated with zod;
 * every error names the field path and what was expected. Relative paths in the file are resolved
 * against the config file's own directory, so a config works from any working directory.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { dedupOptionsSchema } from "./clean/dedup.js";
import { filterOptionsSchema } from "./clean/filters.js";
import { CorpusConfigError } from "./errors.js";

const encoding = z.enum(["auto", "utf-8", "gb18030", "gbk", "utf-16le", "utf-16be"]).default("auto");
const taskLabel = z.enum(["auto", "MedKQ&A", "EviDiag", "TreRecom", "general"]);
const common = {
  /** Unique name of the source, used in statistics and provenance. */
  name: z.string().min(1),
  path: z.string().min(1),
  /** Source label written into records (defaults to the name), e.g. "textbook", "guideline". */
  label: z.string().min(1).optional(),
  department: z.string().optional(),
  ageGroup: z.string().optional(),
  encoding,
};
const alpacaColumns = z.object({ prompt: z.string(), query: z.string(), response: z.string(), history: z.string(), system: z.string() }).partial().strict();
const sharegptColumns = z.object({ messages: z.string(), system: z.string() }).partial().strict();
const sharegptTags = z.object({ role_tag: z.string(), content_tag: z.string(), user_tag: z.string(), assistant_tag: z.string(), system_tag: z.string() }).partial().strict();

export const sourceSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("passages"), ...common, tasks: z.boolean().default(true), cpt: z.boolean().default(true) }).strict(),
  z.object({ kind: z.literal("kg"), ...common, format: z.enum(["csv", "tsv", "jsonl"]).optional(), tasks: z.boolean().default(true), cpt: z.boolean().default(true) }).strict(),
  z.object({ kind: z.literal("dialogues"), ...common }).strict(),
  z.object({ kind: z.literal("cmd"), ...common, format: z.enum(["csv", "tsv", "jsonl"]).optional() }).strict(),
  z.object({ kind: z.literal("alpaca"), ...common, task: taskLabel.default("auto"), columns: alpacaColumns.optional() }).strict(),
  z.object({ kind: z.literal("sharegpt"), ...common, task: taskLabel.default("auto"), columns: sharegptColumns.optional(), tags: sharegptTags.optional() }).strict(),
  z.object({ kind: z.literal("preference"), ...common, formatting: z.enum(["alpaca", "sharegpt"]).default("alpaca") }).strict(),
  z.object({ kind: z.literal("registry"), ...common, include: z.array(z.string()).optional(), task: taskLabel.default("auto") }).strict(),
]);
export type SourceConfig = z.infer<typeof sourceSchema>;

export const llmConfigSchema = z
  .object({
    baseUrl: z.string().url(),
    model: z.string().min(1),
    /** Name of the environment variable holding the API key (the key itself never goes in a config). */
    apiKeyEnv: z.string().optional(),
    timeoutMs: z.number().int().positive().default(60000),
    maxRetries: z.number().int().nonnegative().default(5),
    requestsPerMinute: z.number().nonnegative().default(0),
    concurrency: z.number().int().positive().default(4),
    /** Questions written per passage section (0 = off). */
    questionsPerSection: z.number().int().nonnegative().default(0),
    /** Cap on sections sent for question writing (0 = all). */
    maxSections: z.number().int().nonnegative().default(0),
    /** Questions written per KG head entity from its triples (0 = off). */
    questionsPerHead: z.number().int().nonnegative().default(0),
    /** Cap on KG heads sent for question writing (0 = all). */
    maxHeads: z.number().int().nonnegative().default(0),
    /** Preference pairs generated from train records by rephrasing + weaker answers (0 = off). */
    preferencePairs: z.number().int().nonnegative().default(0),
  })
  .strict();

export const buildConfigSchema = z
  .object({
    version: z.literal(1),
    name: z.string().min(1),
    outDir: z.string().min(1).default("runs/corpus"),
    seed: z.number().int().default(42),
    onError: z.enum(["fail", "skip-and-report"]).default("skip-and-report"),
    sources: z.array(sourceSchema).min(1),
    clean: z
      .object({
        normalize: z.boolean().default(true),
        pii: z.boolean().default(true),
        filters: filterOptionsSchema.default(filterOptionsSchema.parse({})),
        /** Minimum characters of a user prompt. */
        minPromptChars: z.number().int().nonnegative().default(2),
      })
      .strict()
      .default({ normalize: true, pii: true, filters: filterOptionsSchema.parse({}), minPromptChars: 2 }),
    dedup: dedupOptionsSchema.default(dedupOptionsSchema.parse({})),
    split: z
      .object({
        testFraction: z.number().min(0).max(0.9).default(0.1),
        leakThreshold: z.number().min(0.1).max(1).default(0.5),
      })
      .strict()
      .default({ testFraction: 0.1, leakThreshold: 0.5 }),
    cpt: z
      .object({
        /** Target share of CPT characters coming from flattened (train-split) instructions. */
        instructionShare: z.number().min(0).max(0.95).default(0.3),
        /** Leave out plain text whose derived record went to the test split. */
        excludeTestText: z.boolean().default(true),
      })
      .strict()
      .default({ instructionShare: 0.3, excludeTestText: true }),
    outputs: z
      .object({ alpaca: z.boolean().default(true), sharegpt: z.boolean().default(true) })
      .strict()
      .default({ alpaca: true, sharegpt: true }),
    /** Directory of a tokenizer (tokenizer.json or tokenizer.model) for token counts. */
    tokenizer: z.string().optional(),
    llm: llmConfigSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.sources.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: "custom", message: `duplicate source name "${s.name}"`, path: ["sources", i, "name"] });
      seen.add(s.name);
    });
  });

export type BuildConfig = z.infer<typeof buildConfigSchema>;

export interface LoadedConfig {
  config: BuildConfig;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  file: string;
}

export function formatZodError(where: string, err: z.ZodError): string {
  const lines = err.issues.map((i) => `  ${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  return `${where}: invalid corpus build config:\n${lines.join("\n")}`;
}

export function parseBuildConfig(json: unknown, where: string): BuildConfig {
  const r = buildConfigSchema.safeParse(json);
  if (!r.success) throw new CorpusConfigError(formatZodError(where, r.error));
  return r.data;
}

export async function loadBuildConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CorpusConfigError(`${file}: cannot read config: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CorpusConfigError(`${file}: config is not valid JSON: ${(err as Error).message}`);
  }
  return { config: parseBuildConfig(json, file), baseDir: dirname(resolve(file)), file };
}

export function resolveIn(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}
