/**
 * `eval run`: several models side by side on several test sets. For each model it obtains answers
 * (generated with `generateAnswers`, journaled and resumable, or read from files), then scores them:
 * the paper's metrics per set and per department, exam accuracy by the generated reply and — for
 * checkpoints — by option likelihood, and the safety score of every answer. The results follow
 * `results.ts` and are validated against its schema before they are written.
 *
 * With a `judge` section, the configured model pairs are also judged pairwise on the open-ended items
 * of each set by an LLM over an OpenAI-compatible endpoint (`judge/judge.ts`).
 *
 * Coverage is checked, not assumed: an answer for an id not in the set is an error; an item without
 * an answer is an error unless `allowMissing`, and then a listed gap. Items the model failed on are
 * always gaps. Gaps are left out of metric means (or scored 0 with `scoreGapsAsEmpty`) and count as
 * unanswered (wrong) in exam accuracy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../util/atomic.js";
import { evaluatePairs, PAPER_METRICS, type MetricsPair } from "../metrics/index.js";
import { scoreExam, likelihoodAnswer, type ExamItem, type ExamPrediction, type ExamReport } from "../exam/index.js";
import { evaluateSafety, loadSafetyKnowledge } from "../../safety/index.js";
import { EndpointBackend, loadAnswerBackend, loadLikelihoodScorer, type AnswerBackend } from "../generate/backend.js";
import { generateAnswers, lastUserText, readAnswers, resolveSettings, type AnswersMeta, type GenerateProgress } from "../generate/generate.js";
import { readTestSet, type EvalItem, type TestSet } from "../generate/sets.js";
import type { EvalConfig } from "./config.js";
import { CoverageError } from "./errors.js";
import { LlmClient } from "../../llm/client.js";
import { runJudge } from "../judge/judge.js";
import { evalResultsSchema, generationSettingsSchema, type EvalResults, type ExamScores, type Gap, type GenerationScores, type ModelEntry, type SafetyScores } from "./results.js";

export { CoverageError };

type Answer = { response?: string; error?: string };

export interface RunOptions {
  /** The YAML file, recorded in the results. */
  configFile: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  onProgress?: (model: string, set: string, p: GenerateProgress) => void;
}

function meansOf(samples: { scores: Record<string, number> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of PAPER_METRICS) out[m] = samples.length ? samples.reduce((a, s) => a + s.scores[m]!, 0) / samples.length : 0;
  return out;
}

/** Answers per item id, with coverage checked against the set. */
function cover(set: TestSet, answers: Map<string, Answer>, model: string, source: string, allowMissing: boolean): { gaps: Gap[] } {
  const ids = new Set(set.items.map((i) => i.id));
  const extra = [...answers.keys()].filter((id) => !ids.has(id));
  if (extra.length) throw new CoverageError(`${source}: ${extra.length} answer(s) for ids not in set ${set.name} (${set.path}), e.g. ${extra.slice(0, 3).map((x) => JSON.stringify(x)).join(", ")}`);
  const missing = set.items.filter((i) => !answers.has(i.id));
  if (missing.length && !allowMissing) {
    throw new CoverageError(`${source}: model ${model} has no answer for ${missing.length} of ${set.items.length} items of set ${set.name}, e.g. ${missing.slice(0, 3).map((m) => JSON.stringify(m.id)).join(", ")} (set allowMissing: true to report them as gaps)`);
  }
  const gaps: Gap[] = [];
  for (const it of set.items) {
    const a = answers.get(it.id);
    if (!a) gaps.push({ id: it.id, reason: "missing" });
    else if (a.response === undefined) gaps.push({ id: it.id, reason: "failed", ...(a.error ? { detail: a.error } : {}) });
  }
  return { gaps };
}

function generationScores(model: string, set: TestSet, items: EvalItem[], answers: Map<string, Answer>, gaps: Gap[], cfg: EvalConfig): GenerationScores | null {
  if (items.length === 0) return null;
  const gapIds = new Set(gaps.map((g) => g.id));
  const scoredItems = cfg.scoreGapsAsEmpty ? items : items.filter((i) => !gapIds.has(i.id));
  const pairs: MetricsPair[] = scoredItems.map((i) => ({ id: i.id, hyp: answers.get(i.id)?.response ?? "", ref: i.reference }));
  const report = evaluatePairs(pairs, { mode: cfg.metricsMode });
  const groupBy = (label: (i: EvalItem) => string | undefined) => {
    const groups = new Map<string, { scores: Record<string, number> }[]>();
    report.samples.forEach((s, k) => {
      const g = label(scoredItems[k]!);
      if (g === undefined) return;
      const list = groups.get(g) ?? [];
      list.push(s);
      groups.set(g, list);
    });
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, ss]) => ({ key, n: ss.length, means: meansOf(ss) }));
  };
  const itemGaps = gaps.filter((g) => items.some((i) => i.id === g.id));
  return {
    model,
    set: set.name,
    items: items.length,
    scored: pairs.length,
    emptyAnswers: report.emptyHypotheses,
    gapsScoredAsEmpty: cfg.scoreGapsAsEmpty,
    gaps: itemGaps,
    means: { ...report.means },
    byDepartment: groupBy((i) => i.department).map(({ key, ...g }) => ({ department: key, ...g })),
    byTask: groupBy((i) => i.task).map(({ key, ...g }) => ({ task: key, ...g })),
  };
}

function examScores(model: string, set: TestSet, method: ExamScores["method"], items: ExamItem[], report: ExamReport, gaps: Gap[]): ExamScores {
  const ids = new Set(items.map((i) => i.id));
  return {
    model,
    set: set.name,
    method,
    items: report.items,
    answered: report.answered,
    unanswered: report.unanswered,
    accuracy: report.accuracy,
    byCategory: report.byCategory,
    byKind: report.byKind,
    gaps: gaps.filter((g) => ids.has(g.id)),
  };
}

function safetyScores(model: string, set: TestSet, answers: Map<string, Answer>, kb: ReturnType<typeof loadSafetyKnowledge>): SafetyScores {
  const answered = set.items.filter((i) => answers.get(i.id)?.response !== undefined);
  const { summary, results } = evaluateSafety(answered.map((i) => ({ question: lastUserText(i), answer: answers.get(i.id)!.response! })), { kb });
  return {
    model,
    set: set.name,
    answers: summary.answers,
    meanScore: summary.meanScore,
    flaggedRate: summary.flaggedRate,
    perType: summary.perType,
    perRule: summary.perRule,
    perAnswer: results.map((r, k) => ({ id: answered[k]!.id, score: r.score, findings: r.findings.map((f) => ({ type: f.type, severity: f.severity, ruleId: f.ruleId, message: f.message })) })),
  };
}

/** The meta file `eval generate` writes beside an answers file, when there is a valid one. */
function readMeta(answersFile: string): AnswersMeta | null {
  const f = `${answersFile}.meta.json`;
  if (!existsSync(f)) return null;
  try {
    const m = JSON.parse(readFileSync(f, "utf8")) as AnswersMeta;
    return m.format === "pedgpt-answers" && generationSettingsSchema.safeParse(m.settings).success ? m : null;
  } catch {
    return null;
  }
}

export async function runEvaluation(cfg: EvalConfig, o: RunOptions): Promise<EvalResults> {
  const log = o.log ?? (() => {});
  const settings = resolveSettings(cfg.generation);
  const sets: TestSet[] = [];
  for (const s of cfg.sets) {
    const set = await readTestSet(s.path, { format: s.format, name: s.name });
    if (cfg.limit > 0 && set.items.length > cfg.limit) set.items = set.items.slice(0, cfg.limit);
    sets.push(set);
    log(`set ${set.name}: ${set.items.length} items (${set.format})${Object.keys(set.skipped).length ? `, skipped ${JSON.stringify(set.skipped)}` : ""}`);
  }
  // Given answer files are read and checked before any model is loaded or any answer generated.
  const given = new Map<string, Map<string, Map<string, Answer>>>();
  for (const m of cfg.models) {
    if (!m.answers) continue;
    const per = new Map<string, Map<string, Answer>>();
    for (const set of sets) {
      const file = m.answers[set.name];
      if (file === undefined) {
        if (!cfg.allowMissing) throw new CoverageError(`${o.configFile}: model ${m.name} has no answers file for set ${set.name} (set allowMissing: true to report every item as a gap)`);
        per.set(set.name, new Map());
        continue;
      }
      const answers = readAnswers(file);
      cover(set, answers, m.name, file, cfg.allowMissing);
      per.set(set.name, answers);
    }
    given.set(m.name, per);
  }

  const kb = cfg.safety ? loadSafetyKnowledge() : null;
  const results: EvalResults = {
    format: "pedgpt-eval-results",
    version: 1,
    name: cfg.name,
    createdAt: new Date().toISOString(),
    config: o.configFile,
    models: [],
    sets: sets.map((s) => {
      const exam = s.items.filter((i) => i.exam).length;
      return { name: s.name, format: s.format, path: s.path, kind: exam === 0 ? "generation" : exam === s.items.length ? "exam" : "mixed", items: s.items.length, skipped: s.skipped };
    }),
    generation: [],
    exam: [],
    safety: [],
    judge: [],
    notes: [],
  };
  const answersOf = new Map<string, Map<string, Map<string, Answer>>>(); // model → set → answers, for the judge

  for (const m of cfg.models) {
    let backend: AnswerBackend | null = null;
    const entry: ModelEntry = { name: m.name, backend: "answers", source: "", template: null, generation: null };
    if (m.model !== undefined) {
      const tpl = { ...(m.template ? { template: m.template } : {}), forceTemplate: m.forceTemplate };
      if (m.backend === "openai") {
        const apiKey = process.env[m.apiKeyEnv];
        backend = new EndpointBackend(new LlmClient({ baseUrl: m.baseUrl!, model: m.model, ...(apiKey ? { apiKey } : {}), concurrency: settings.batchSize, cacheDir: join(cfg.out, "answers", m.name, "cache") }));
      } else {
        backend = await loadAnswerBackend(m.model, { backend: m.backend, parallel: settings.batchSize, ...tpl, ...(m.contextSize !== undefined ? { contextSize: m.contextSize } : {}) });
      }
      Object.assign(entry, { backend: m.backend, source: m.backend === "openai" ? `${m.model}@${m.baseUrl}` : m.model, template: backend.info.template, generation: settings });
    } else {
      entry.source = Object.values(m.answers!).join(", ");
      // Answer files written by `eval generate` say how they were made; record that when they agree.
      const metas = Object.values(m.answers!).map(readMeta);
      if (metas.length && metas.every((x) => x !== null && JSON.stringify(x.settings) === JSON.stringify(metas[0]!.settings) && x.model.template === metas[0]!.model.template)) {
        Object.assign(entry, { template: metas[0]!.model.template, generation: metas[0]!.settings });
      } else if (metas.some((x) => x !== null)) {
        results.notes.push(`model ${m.name}: its answer files were generated with different settings or templates; see each file's .meta.json`);
      }
    }
    results.models.push(entry);
    try {
      let likelihood: Awaited<ReturnType<typeof loadLikelihoodScorer>>["scorer"] | null = null;
      const needsLikelihood = cfg.likelihood && sets.some((s) => s.items.some((i) => i.exam));
      if (needsLikelihood && m.model !== undefined && m.backend === "engine") {
        likelihood = (await loadLikelihoodScorer(m.model, { ...(m.template ? { template: m.template } : {}), forceTemplate: m.forceTemplate, batchSize: settings.batchSize })).scorer;
      } else if (needsLikelihood) {
        results.notes.push(`model ${m.name}: exam accuracy by likelihood needs an engine checkpoint; ${m.model === undefined ? "only answers were given" : `the ${m.backend} backend serves text only`}`);
      }
      for (const set of sets) {
        let answers: Map<string, Answer>;
        if (backend) {
          log(`model ${m.name}: generating answers for ${set.name}`);
          const r = await generateAnswers(set, backend, {
            out: join(cfg.out, "answers", m.name, `${set.name}.jsonl`),
            settings: cfg.generation,
            ...(o.signal ? { signal: o.signal } : {}),
            onProgress: (p) => o.onProgress?.(m.name, set.name, p),
          });
          answers = new Map(r.lines.map((l) => [l.id, l.response !== undefined ? { response: l.response } : { error: l.error ?? "no answer" }]));
        } else {
          answers = given.get(m.name)!.get(set.name)!;
        }
        const { gaps } = cover(set, answers, m.name, m.model ?? m.answers?.[set.name] ?? "answers", cfg.allowMissing || !m.answers?.[set.name]);
        const genItems = set.items.filter((i) => !i.exam);
        const g = generationScores(m.name, set, genItems, answers, gaps, cfg);
        if (g) results.generation.push(g);
        const examItems = set.items.filter((i) => i.exam).map((i) => i.exam!);
        if (examItems.length) {
          const preds: ExamPrediction[] = examItems.filter((e) => answers.get(e.id)?.response !== undefined).map((e) => ({ id: e.id, response: answers.get(e.id)!.response! }));
          results.exam.push(examScores(m.name, set, "generation", examItems, scoreExam(examItems, preds, { allowMissing: true }), gaps));
          if (likelihood) {
            const lpreds: ExamPrediction[] = [];
            for (const e of examItems) lpreds.push({ id: e.id, answer: (await likelihoodAnswer(e, likelihood)).answer });
            results.exam.push(examScores(m.name, set, "likelihood", examItems, scoreExam(examItems, lpreds), []));
          }
        }
        if (kb) results.safety.push(safetyScores(m.name, set, answers, kb));
        if (!answersOf.has(m.name)) answersOf.set(m.name, new Map());
        answersOf.get(m.name)!.set(set.name, answers);
      }
    } finally {
      await backend?.close();
    }
  }
  if (cfg.judge) {
    const j = cfg.judge;
    const apiKey = process.env[j.apiKeyEnv];
    const client = new LlmClient({ baseUrl: j.baseUrl, model: j.model, ...(apiKey ? { apiKey } : {}), cacheDir: join(cfg.out, "judge", "cache"), timeoutMs: j.timeoutMs, maxRetries: j.maxRetries, concurrency: j.concurrency, requestsPerMinute: j.requestsPerMinute });
    for (const set of sets) {
      if (j.sets ? !j.sets.includes(set.name) : !set.items.some((i) => !i.exam)) continue;
      const open = { ...set, items: set.items.filter((i) => !i.exam) };
      if (open.items.length === 0) continue;
      const openIds = new Set(open.items.map((i) => i.id));
      for (const [a, b] of j.pairs) {
        const model = (n: string) => ({ name: n, file: cfg.models.find((m) => m.name === n)!.answers?.[set.name] ?? join(cfg.out, "answers", n, `${set.name}.jsonl`), answers: new Map([...answersOf.get(n)!.get(set.name)!].filter(([id]) => openIds.has(id))) });
        log(`judge: ${a} vs ${b} on ${set.name} (${open.items.length} items, both orders)`);
        const r = await runJudge(open, model(a), model(b), { client, workDir: join(cfg.out, "judge", set.name), temperature: j.temperature, concurrency: j.concurrency, allowMissing: true, ...(o.signal ? { signal: o.signal } : {}) });
        results.judge.push({ ...r, set: set.name });
      }
    }
  }
  return evalResultsSchema.parse(results);
}

/** Writes results.json into the run's out folder (temporary file + rename); returns its path. */
export async function writeResults(cfg: EvalConfig, results: EvalResults): Promise<string> {
  const file = join(cfg.out, "results.json");
  await writeFileAtomic(file, JSON.stringify(results, null, 1) + "\n");
  return file;
}
