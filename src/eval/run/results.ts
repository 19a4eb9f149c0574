/**
 * The data contracts of evaluation output: the results JSON of `pedgpt eval run` (the paper's metric
 * table per model and test set and per CMD department, exam accuracy by generation and by likelihood,
 * the safety score of every answer) and of `pedgpt eval judge` (pairwise win/tie/loss per dimension
 * with intervals, position bias, every raw judgement). Each is a TypeScript type inferred from a zod
 * schema, so writers and readers (the report renderer) validate the same shape. Nothing here
 * computes anything.
 */
import { z } from "zod";

/** The paper's metrics, ×100, keyed rouge1, rouge2, rougeL, bleu1..bleu4, gleu, distinct1, distinct2. */
export const metricMeansSchema = z.record(z.string(), z.number());

/** The generation settings answers were produced with (recorded with every answer file). */
export const generationSettingsSchema = z.object({
  maxNewTokens: z.number().int().min(1),
  temperature: z.number().min(0),
  topP: z.number(),
  topK: z.number().int().min(0),
  repetitionPenalty: z.number(),
  stop: z.array(z.string()),
  seed: z.number().int().min(0),
  /** Conversations generated together. */
  batchSize: z.number().int().min(1),
});
export type GenerationSettings = z.infer<typeof generationSettingsSchema>;

/** An item of a test set that has no usable answer: never dropped, always listed. */
export const gapSchema = z.object({
  id: z.string(),
  /** "missing": no answer in the prediction set; "failed": generation failed for this item. */
  reason: z.enum(["missing", "failed"]),
  detail: z.string().optional(),
});
export type Gap = z.infer<typeof gapSchema>;

export const modelEntrySchema = z.object({
  name: z.string(),
  /** Where the answers came from: generated here on a backend, or read from an answers file. */
  backend: z.enum(["engine", "llama.cpp", "openai", "answers"]),
  /** Model directory, GGUF file, endpoint model (name@url), or answers file(s). */
  source: z.string(),
  template: z.string().nullable(),
  generation: generationSettingsSchema.nullable(),
});
export type ModelEntry = z.infer<typeof modelEntrySchema>;

export const testSetEntrySchema = z.object({
  name: z.string(),
  /** Reader used: pedcorpus, qa-jsonl, cmd, webmedqa, pediabench. */
  format: z.string(),
  path: z.string(),
  /** "generation": scored by the paper's metrics; "exam": scored by accuracy; "mixed": both (PediaBench). */
  kind: z.enum(["generation", "exam", "mixed"]),
  items: z.number().int().min(0),
  /** Records not evaluated, by reason (e.g. PediaBench pairing items, webMedQA negative answers). */
  skipped: z.record(z.string(), z.number().int()),
});
export type TestSetEntry = z.infer<typeof testSetEntrySchema>;

export const departmentScoresSchema = z.object({ department: z.string(), n: z.number().int(), means: metricMeansSchema });

export const generationScoresSchema = z.object({
  model: z.string(),
  set: z.string(),
  /** Items in the test set. */
  items: z.number().int(),
  /** Items scored (items minus gaps, unless gaps are scored as empty answers). */
  scored: z.number().int(),
  emptyAnswers: z.number().int(),
  /** Gaps scored as empty answers (0 on every metric) when the config allows missing answers. */
  gapsScoredAsEmpty: z.boolean(),
  gaps: z.array(gapSchema),
  means: metricMeansSchema,
  /** Per department (CMD-style sets; empty when the set has no departments). */
  byDepartment: z.array(departmentScoresSchema),
  /** Per task label when the set's items carry one (MedKQ&A / EviDiag / TreRecom, PediaBench question types). */
  byTask: z.array(z.object({ task: z.string(), n: z.number().int(), means: metricMeansSchema })).default([]),
});
export type GenerationScores = z.infer<typeof generationScoresSchema>;

export const accuracySchema = z.object({ n: z.number().int(), correct: z.number().int(), accuracy: z.number() });

export const examScoresSchema = z.object({
  model: z.string(),
  set: z.string(),
  /** "generation": the answer read from the generated reply; "likelihood": the most likely option. */
  method: z.enum(["generation", "likelihood"]),
  items: z.number().int(),
  answered: z.number().int(),
  unanswered: z.number().int(),
  accuracy: z.number(),
  byCategory: z.record(z.string(), accuracySchema),
  byKind: z.record(z.string(), accuracySchema),
  gaps: z.array(gapSchema),
});
export type ExamScores = z.infer<typeof examScoresSchema>;

export const safetyFindingSchema = z.object({ type: z.string(), severity: z.enum(["high", "medium", "low"]), ruleId: z.string(), message: z.string() });

export const safetyScoresSchema = z.object({
  model: z.string(),
  set: z.string(),
  answers: z.number().int(),
  meanScore: z.number(),
  flaggedRate: z.number(),
  perType: z.record(z.string(), z.number().int()),
  perRule: z.record(z.string(), z.number().int()),
  /** Every answer's score in [0, 1] (1 = no findings) with its findings. */
  perAnswer: z.array(z.object({ id: z.string(), score: z.number(), findings: z.array(safetyFindingSchema) })),
});
export type SafetyScores = z.infer<typeof safetyScoresSchema>;


/** The paper's four judge dimensions. */
export const JUDGE_DIMENSIONS = ["usefulness", "correctness", "consistency", "smoothness"] as const;
export type JudgeDimension = (typeof JUDGE_DIMENSIONS)[number];

export const intervalSchema = z.object({ low: z.number(), high: z.number() });

/** One judge call: one item, one order of the two answers. */
export const judgementSchema = z.object({
  id: z.string(),
  /** "AB": model A's answer shown first; "BA": model B's answer shown first. */
  order: z.enum(["AB", "BA"]),
  /** Verdict per dimension in terms of the models (already mapped back from positions). */
  verdicts: z.record(z.string(), z.enum(["A", "B", "tie"])).nullable(),
  /** The judge's reply as received (null when no reply came). */
  raw: z.string().nullable(),
  /** Set when the call failed after retries (timeouts, unparseable replies): never counted as a verdict. */
  error: z.string().nullable(),
  cached: z.boolean(),
});
export type Judgement = z.infer<typeof judgementSchema>;

export const dimensionOutcomeSchema = z.object({
  dimension: z.string(),
  /** Items with both orders judged. */
  n: z.number().int(),
  win: z.number().int(),
  tie: z.number().int(),
  loss: z.number().int(),
  winRate: z.number(),
  tieRate: z.number(),
  lossRate: z.number(),
  /** 95% Wilson score intervals of the three rates. */
  ci: z.object({ win: intervalSchema, tie: intervalSchema, loss: intervalSchema }),
});
export type DimensionOutcome = z.infer<typeof dimensionOutcomeSchema>;

export const judgeResultsSchema = z.object({
  format: z.literal("pedgpt-judge-results"),
  version: z.literal(1),
  createdAt: z.string(),
  judge: z.object({ baseUrl: z.string(), model: z.string(), temperature: z.number(), promptVersion: z.string() }),
  /** Model A is the one whose wins are counted. */
  modelA: z.object({ name: z.string(), answers: z.string() }),
  modelB: z.object({ name: z.string(), answers: z.string() }),
  questions: z.string(),
  /** The test set's name when the judge ran inside `eval run`. */
  set: z.string().optional(),
  items: z.number().int(),
  dimensions: z.array(z.string()),
  perDimension: z.array(dimensionOutcomeSchema),
  positionBias: z.object({
    /** Single-order verdicts that preferred one answer (not a tie). */
    decided: z.number().int(),
    /** Of those, how many preferred the answer shown first. 0.5 of decided = no position bias. */
    preferredFirst: z.number().int(),
    firstRate: z.number(),
    ci: intervalSchema,
    /** (item, dimension) pairs judged in both orders, and how many gave the same model-level verdict. */
    pairs: z.number().int(),
    consistent: z.number().int(),
    consistencyRate: z.number(),
  }),
  /** Items not judged because a model has no answer for them (missing, or its generation failed). */
  gaps: z.array(z.object({ id: z.string(), model: z.enum(["A", "B"]), reason: z.enum(["missing", "failed"]), detail: z.string().optional() })),
  /** Items with a failed order: listed, not counted. */
  failures: z.array(z.object({ id: z.string(), order: z.enum(["AB", "BA"]), error: z.string() })),
  judgements: z.array(judgementSchema),
});
export type JudgeResults = z.infer<typeof judgeResultsSchema>;

export const evalResultsSchema = z.object({
  format: z.literal("pedgpt-eval-results"),
  version: z.literal(1),
  name: z.string(),
  createdAt: z.string(),
  /** The EVAL.yaml this run came from. */
  config: z.string(),
  models: z.array(modelEntrySchema),
  sets: z.array(testSetEntrySchema),
  generation: z.array(generationScoresSchema),
  exam: z.array(examScoresSchema),
  safety: z.array(safetyScoresSchema),
  /** Pairwise judge results, one per (pair of models, set) configured in EVAL.yaml; absent = none. */
  judge: z.array(judgeResultsSchema).default([]),
  /** Anything the reader should know (e.g. a model without a likelihood scorer). */
  notes: z.array(z.string()),
});
export type EvalResults = z.infer<typeof evalResultsSchema>;
