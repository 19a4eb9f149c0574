/**
 * Exam scoring: joins predictions to gold items by id, reads each reply (or several sampled replies,
 * majority-voted for self-consistency, or an already extracted answer), and reports exact-match
 * accuracy overall, per category and per item kind (single choice, multi-answer, true/false), with the
 * extraction method of every sample. Unanswered items count as wrong and are reported.
 */
import { ExamFormatError, normalizeTrueFalse, sortLetters, type ExamItem } from "./schema.js";
import { extractAnswer, majorityVote, type ExtractionMethod } from "./extract.js";

export interface ExamPrediction {
  id: string;
  /** One free-text reply. */
  response?: string;
  /** Several sampled replies (self-consistency voting). */
  responses?: string[];
  /** An answer already extracted (letters, or 对/错). */
  answer?: string;
}

export interface ExamSampleResult {
  id: string;
  kind: "single" | "multi" | "true_false";
  category: string | null;
  gold: string;
  predicted: string | null;
  correct: boolean;
  method: ExtractionMethod | "given" | "vote";
  votes?: Record<string, number>;
}

export interface Accuracy {
  n: number;
  correct: number;
  accuracy: number;
}

export interface ExamReport {
  format: "pedgpt-exam-report";
  version: 1;
  items: number;
  answered: number;
  unanswered: number;
  accuracy: number;
  byCategory: Record<string, Accuracy>;
  byKind: Record<string, Accuracy>;
  methods: Record<string, number>;
  samples: ExamSampleResult[];
}

/** Parses prediction JSONL ({"id", "response" | "responses" | "answer"}) with file:line errors. */
export function parsePredictionsJsonl(text: string, file: string): ExamPrediction[] {
  const out: ExamPrediction[] = [];
  const seen = new Map<string, number>();
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new ExamFormatError(where, `not valid JSON (${(e as Error).message})`);
    }
    if (r === null || typeof r !== "object") throw new ExamFormatError(where, "expected a JSON object");
    if (typeof r.id !== "string" && typeof r.id !== "number") throw new ExamFormatError(where, 'field "id": expected a string or number');
    const id = String(r.id);
    const p: ExamPrediction = { id };
    if (typeof r.response === "string") p.response = r.response;
    else if (Array.isArray(r.responses) && r.responses.length > 0 && r.responses.every((x) => typeof x === "string")) p.responses = r.responses as string[];
    else if (typeof r.answer === "string") p.answer = r.answer;
    else throw new ExamFormatError(where, 'expected one of "response" (string), "responses" (non-empty array of strings) or "answer" (string)');
    const prev = seen.get(id);
    if (prev !== undefined) throw new ExamFormatError(where, `field "id": duplicate id ${JSON.stringify(id)} (first at line ${prev})`);
    seen.set(id, i + 1);
    out.push(p);
  });
  return out;
}

function kindOf(item: ExamItem): ExamSampleResult["kind"] {
  return item.kind === "true_false" ? "true_false" : item.multi ? "multi" : "single";
}

function normalizeGiven(answer: string, item: ExamItem): string | null {
  if (item.kind === "true_false") return normalizeTrueFalse(answer);
  const letters = answer.toUpperCase().replace(/[^A-Z]/g, "");
  return letters ? sortLetters(letters) : null;
}

export interface ScoreExamOptions {
  /** Name of the predictions file, for error messages. Defaults to "predictions". */
  predFile?: string;
  /** Score gold items without a prediction as unanswered instead of failing. Defaults to false. */
  allowMissing?: boolean;
}

export function scoreExam(items: readonly ExamItem[], preds: readonly ExamPrediction[], opts: ScoreExamOptions = {}): ExamReport {
  const file = opts.predFile ?? "predictions";
  const byId = new Map(items.map((it) => [it.id, it]));
  const predById = new Map<string, ExamPrediction>();
  preds.forEach((p, i) => {
    if (!byId.has(p.id)) throw new ExamFormatError(`${file}: prediction #${i + 1}`, `id ${JSON.stringify(p.id)} is not in the gold set`);
    predById.set(p.id, p);
  });
  const missing = items.filter((it) => !predById.has(it.id));
  if (missing.length > 0 && !opts.allowMissing) {
    throw new ExamFormatError(file, `${missing.length} gold item(s) have no prediction, e.g. ${missing.slice(0, 3).map((m) => JSON.stringify(m.id)).join(", ")} (pass allowMissing to score them as unanswered)`);
  }
  const samples: ExamSampleResult[] = [];
  for (const item of items) {
    const p = predById.get(item.id);
    let predicted: string | null = null;
    let method: ExamSampleResult["method"] = "none";
    let votes: Record<string, number> | undefined;
    if (p?.answer !== undefined) {
      predicted = normalizeGiven(p.answer, item);
      method = "given";
    } else if (p?.responses) {
      const v = majorityVote(p.responses.map((r) => extractAnswer(r, item).answer));
      predicted = v.answer;
      votes = v.votes;
      method = "vote";
    } else if (p?.response !== undefined) {
      const e = extractAnswer(p.response, item);
      predicted = e.answer;
      method = e.method;
    }
    const s: ExamSampleResult = { id: item.id, kind: kindOf(item), category: item.category, gold: item.answer, predicted, correct: predicted === item.answer, method };
    if (votes) s.votes = votes;
    samples.push(s);
  }
  const acc = (xs: ExamSampleResult[]): Accuracy => {
    const c = xs.filter((x) => x.correct).length;
    return { n: xs.length, correct: c, accuracy: xs.length ? c / xs.length : 0 };
  };
  const group = (key: (s: ExamSampleResult) => string): Record<string, Accuracy> => {
    const m = new Map<string, ExamSampleResult[]>();
    for (const s of samples) {
      const k = key(s);
      if (!m.has(k)) m.set(k, []);
      m.get(k)!.push(s);
    }
    return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, acc(v)]));
  };
  const methods: Record<string, number> = {};
  for (const s of samples) methods[s.method] = (methods[s.method] ?? 0) + 1;
  const answered = samples.filter((s) => s.predicted !== null).length;
  return {
    format: "pedgpt-exam-report",
    version: 1,
    items: samples.length,
    answered,
    unanswered: samples.length - answered,
    accuracy: acc(samples).accuracy,
    byCategory: group((s) => s.category ?? "(none)"),
    byKind: group((s) => s.kind),
    methods,
    samples,
  };
}
