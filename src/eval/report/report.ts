/**
 * Reports: one self-contained HTML file per evaluation or pipeline run (inline CSS, SVG charts drawn
 * when the report is built, no script, nothing fetched), plus the same data as JSON beside it.
 *
 * What a report shows, from whatever the run has: training loss curves per stage (the trainer's
 * metrics files), the stages' effect table (the pipeline's held-out measures), the paper's metrics per
 * model and test set and per CMD department, exam accuracy per category, safety findings, and the
 * judge's win / tie / loss per dimension with intervals and position bias. Anything expected but
 * missing (a stage without a metrics file, a model without scores) is listed as a gap in the report,
 * never silently left out.
 *
 * Not here: computing any score (eval/run, eval/judge, train/pipeline), the chart drawing (svg.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readMetrics } from "../../train/trainer/metrics.js";
import { writeFileAtomic } from "../../util/atomic.js";
import { evalResultsSchema, judgeResultsSchema, type EvalResults, type JudgeResults } from "../run/results.js";
import { renderReportHtml } from "./html.js";

export const REPORT_HTML = "report.html";
export const REPORT_JSON = "report-data.json";

export class ReportError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "ReportError";
  }
}

/** One training stage's curve: train loss per step and held-out loss where it was measured. */
export interface TrainingCurve {
  stage: string;
  file: string;
  run: string | null;
  loss: [number, number][];
  valLoss: [number, number][];
  /** Other numbers the objective logged per step (e.g. rewards/margins, router entropy), by name. */
  scalars: Record<string, [number, number][]>;
}

/** A table of numbers with a row per model (the pipeline's effect table). Null = not measured. */
export interface NumberTable {
  columns: string[];
  rows: { model: string; values: (number | null)[] }[];
}

export interface ReportInput {
  title: string;
  /** What the report was built from (a pipeline folder, a results file). */
  source: string;
  createdAt: string;
  training: TrainingCurve[];
  effects: NumberTable | null;
  /** One sentence per stage: does it show its expected effect (from the pipeline). */
  verdicts: string[];
  evaluation: EvalResults | null;
  /** Judge results given on their own (those inside `evaluation` are shown too). */
  judge: JudgeResults[];
  /** Expected data that is missing, in words: shown at the top of the report. */
  gaps: string[];
}

/** Fields every trainer line has; anything else numeric is an objective's own scalar. */
const TRAINER_FIELDS = new Set(["run", "step", "loss", "lr", "gradNorm", "tokens", "tokensPerSecond", "epoch", "skipped", "valLoss"]);

/** The curves of one metrics file (train `loss` and held-out `val_loss`/`valLoss` by step). */
export function readTrainingCurve(stage: string, file: string): TrainingCurve {
  const { lines, runs } = readMetrics(file);
  if (runs.length > 1) throw new ReportError(file, `holds ${runs.length} runs (${runs.join(", ")}); a metrics file must belong to one run`);
  const curve: TrainingCurve = { stage, file, run: runs[0] ?? null, loss: [], valLoss: [], scalars: {} };
  for (const l of lines) {
    const loss = l.loss;
    const val = l.valLoss;
    if (typeof loss === "number" && Number.isFinite(loss) && l.skipped !== true) curve.loss.push([l.step, loss]);
    if (typeof val === "number" && Number.isFinite(val)) curve.valLoss.push([l.step, val]);
    for (const [k, v] of Object.entries(l)) {
      if (TRAINER_FIELDS.has(k) || typeof v !== "number" || !Number.isFinite(v)) continue;
      (curve.scalars[k] ??= []).push([l.step, v]);
    }
  }
  return curve;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ReportError(file, `cannot read it as JSON (${(e as Error).message})`);
  }
}

/** Parses with a zod schema, naming the file and the first offending field. */
function parseWith<T>(schema: z.ZodType<T>, value: unknown, file: string, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ReportError(file, `not ${what}: field ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

export function readEvalResults(file: string): EvalResults {
  return parseWith(evalResultsSchema, readJson(file), file, "an `eval run` results file");
}

export function readJudgeResults(file: string): JudgeResults {
  return parseWith(judgeResultsSchema, readJson(file), file, "an `eval judge` results file");
}

const manifestSchema = z.object({
  format: z.literal("pedgpt-pipeline-manifest"),
  pipeline: z.string(),
  steps: z.array(z.object({ name: z.string(), kind: z.string(), status: z.string(), outputDir: z.string() }).passthrough()),
}).passthrough();

const pipelineReportSchema = z.object({
  effects: z.array(z.record(z.string(), z.unknown())).nullable().optional(),
  verdicts: z.array(z.string()).optional(),
}).passthrough();

/** The effect rows as a number table: every numeric field becomes a column, nested per-task maps are flattened. */
export function effectsTable(rows: readonly Record<string, unknown>[]): NumberTable {
  const columns: string[] = [];
  const flat = rows.map((r) => {
    const out = new Map<string, number | null>();
    for (const [k, v] of Object.entries(r)) {
      if (k === "model") continue;
      if (typeof v === "number" || v === null) out.set(k, v);
      else if (v && typeof v === "object" && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) if (typeof v2 === "number") out.set(`${k}.${k2}`, v2);
      } else if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
        v.forEach((x, i) => out.set(`${k}[${i + 1}]`, x as number));
      }
    }
    for (const k of out.keys()) if (!columns.includes(k)) columns.push(k);
    return { model: String(r.model ?? "?"), out };
  });
  return { columns, rows: flat.map((f) => ({ model: f.model, values: columns.map((c) => (f.out.has(c) ? f.out.get(c)! : null)) })) };
}

/**
 * Everything a pipeline run folder holds for a report: its manifest, each stage's metrics file, the
 * effect table and verdicts of its report.json, and `eval run` results under `<run>/eval/` if any.
 */
export function pipelineReportInput(runDir: string, title?: string): ReportInput {
  const manifestFile = join(runDir, "manifest.json");
  if (!existsSync(manifestFile)) throw new ReportError(runDir, "no manifest.json: not a pipeline run folder (run `pedgpt pipeline run` first)");
  const manifest = parseWith(manifestSchema, readJson(manifestFile), manifestFile, "a pipeline manifest");
  const gaps: string[] = [];
  const training: TrainingCurve[] = [];
  for (const s of manifest.steps.filter((s) => s.kind === "stage")) {
    const f = join(s.outputDir, "metrics.jsonl");
    if (!existsSync(f)) {
      gaps.push(`stage ${s.name} (${s.status}): no metrics file at ${f}`);
      continue;
    }
    try {
      training.push(readTrainingCurve(s.name, f));
    } catch (e) {
      gaps.push(`stage ${s.name}: metrics unreadable (${(e as Error).message})`);
    }
  }
  let effects: NumberTable | null = null;
  let verdicts: string[] = [];
  const reportFile = join(runDir, "report.json");
  if (existsSync(reportFile)) {
    const rep = parseWith(pipelineReportSchema, readJson(reportFile), reportFile, "a pipeline report");
    if (rep.effects && rep.effects.length) effects = effectsTable(rep.effects);
    else gaps.push("the pipeline's evaluation step has not measured the stages' effects yet");
    verdicts = rep.verdicts ?? [];
  } else {
    gaps.push(`no report.json in ${runDir}: the pipeline has not finished`);
  }
  const unfinished = manifest.steps.filter((s) => s.status !== "done" && s.status !== "skipped");
  for (const s of unfinished) gaps.push(`step ${s.name} is ${s.status}`);
  return {
    title: title ?? `Pipeline report: ${manifest.pipeline}`,
    source: runDir,
    createdAt: new Date().toISOString(),
    training,
    effects,
    verdicts,
    evaluation: null,
    judge: [],
    gaps,
  };
}

/** A report over `eval run` results (and judge files given on their own). */
export function evaluationReportInput(results: EvalResults | null, judge: JudgeResults[], source: string, title?: string): ReportInput {
  const gaps: string[] = [];
  if (results) {
    for (const m of results.models) {
      for (const s of results.sets) {
        const has = results.generation.some((g) => g.model === m.name && g.set === s.name) || results.exam.some((e) => e.model === m.name && e.set === s.name);
        if (!has) gaps.push(`model ${m.name} has no scores on set ${s.name}`);
      }
    }
  }
  return {
    title: title ?? (results ? `Evaluation report: ${results.name}` : "Judge report"),
    source,
    createdAt: new Date().toISOString(),
    training: [],
    effects: null,
    verdicts: [],
    evaluation: results,
    judge,
    gaps,
  };
}

/** Puts two inputs into one report (a pipeline run and its evaluation, say). */
export function mergeReportInputs(a: ReportInput, b: ReportInput): ReportInput {
  return {
    ...a,
    source: `${a.source}; ${b.source}`,
    training: [...a.training, ...b.training],
    effects: a.effects ?? b.effects,
    verdicts: [...a.verdicts, ...b.verdicts],
    evaluation: a.evaluation ?? b.evaluation,
    judge: [...a.judge, ...b.judge],
    gaps: [...a.gaps, ...b.gaps],
  };
}

/** Writes `report.html` and `report-data.json` into `outDir` (atomically, each). Returns their paths. */
export async function writeReport(input: ReportInput, outDir: string): Promise<{ html: string; json: string }> {
  const html = join(outDir, REPORT_HTML);
  const json = join(outDir, REPORT_JSON);
  await writeFileAtomic(json, JSON.stringify({ format: "pedgpt-report-data", version: 1, ...input }, null, 2) + "\n");
  await writeFileAtomic(html, renderReportHtml(input));
  return { html, json };
}
