/**
 * Exam items for accuracy evaluation: multiple choice (single or multiple answers) and true/false.
 * Reads PediaBench records as they are (qtype, disease_group, question, options{A..}, answer "ACD",
 * multi_answer) and a documented generic schema:
 *
 *   {"id": "q1", "type": "choice", "question": "...", "options": {"A": "...", "B": "..."} | ["...", "..."],
 *    "answer": "AC" | ["A", "C"], "multi": true, "category": "呼吸"}
 *   {"id": "q2", "type": "true_false", "question": "...", "answer": "对" | "错" | true | false}
 *
 * Every rejected record names its file, line and field. Pairing, essay and case-analysis PediaBench
 * rows are not exam items here (they are scored as generation); they are reported as skipped.
 */

export type ExamKind = "choice" | "true_false";

export interface ExamItem {
  id: string;
  kind: ExamKind;
  question: string;
  /** Option letter -> text, in letter order; for true/false: {"对": ..., "错": ...} is not used. */
  options: Record<string, string>;
  /** Choice: sorted unique letters, e.g. "ACD". True/false: "对" or "错". */
  answer: string;
  multi: boolean;
  category: string | null;
}

export class ExamFormatError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = "ExamFormatError";
  }
}

export const TRUE_LABEL = "对";
export const FALSE_LABEL = "错";

const TF_TRUE = new Set(["对", "正确", "是", "√", "✓", "T", "TRUE", "YES", "Y"]);
const TF_FALSE = new Set(["错", "错误", "否", "×", "✗", "F", "FALSE", "NO", "N"]);

/** Normalises a true/false gold label; null when it is not one. */
export function normalizeTrueFalse(v: unknown): string | null {
  if (v === true) return TRUE_LABEL;
  if (v === false) return FALSE_LABEL;
  if (typeof v !== "string") return null;
  const s = v.trim().toUpperCase();
  if (TF_TRUE.has(s)) return TRUE_LABEL;
  if (TF_FALSE.has(s)) return FALSE_LABEL;
  return null;
}

export function sortLetters(letters: Iterable<string>): string {
  return [...new Set(letters)].sort().join("");
}

const SKIPPED_QTYPES = new Set(["pairing", "essay_short_answer", "case_analysis"]);

/**
 * Parses one record into an ExamItem, or returns null for record types that are not exam items
 * (PediaBench pairing/essay/case analysis). `where` is "file:line" for error messages.
 */
export function parseExamRecord(rec: unknown, where: string): ExamItem | null {
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) throw new ExamFormatError(where, "expected a JSON object");
  const r = rec as Record<string, unknown>;
  const qtype = typeof r.qtype === "string" ? r.qtype : typeof r.type === "string" ? r.type : undefined;
  if (qtype && SKIPPED_QTYPES.has(qtype)) return null;
  const id = r.id;
  if (typeof id !== "string" && typeof id !== "number") throw new ExamFormatError(where, 'field "id": expected a string or number');
  if (typeof r.question !== "string" || r.question.trim() === "") throw new ExamFormatError(where, 'field "question": expected a non-empty string');
  const category = typeof r.disease_group === "string" ? r.disease_group : typeof r.category === "string" ? r.category : null;
  const isTf = qtype === "true_or_false" || qtype === "true_false" || qtype === "tf";
  if (isTf) {
    const a = normalizeTrueFalse(r.answer);
    if (!a) throw new ExamFormatError(where, `field "answer": expected 对/错 (or true/false) for a true/false item, found ${JSON.stringify(r.answer)}`);
    return { id: String(id), kind: "true_false", question: r.question, options: {}, answer: a, multi: false, category };
  }
  if (qtype && qtype !== "multiple_choice" && qtype !== "choice") {
    throw new ExamFormatError(where, `field "qtype"/"type": unknown item type ${JSON.stringify(qtype)} (expected multiple_choice, choice, true_or_false, true_false)`);
  }
  const options: Record<string, string> = {};
  if (Array.isArray(r.options)) {
    r.options.forEach((t, i) => {
      if (typeof t !== "string") throw new ExamFormatError(where, `field "options[${i}]": expected a string`);
      options[String.fromCharCode(65 + i)] = t;
    });
  } else if (r.options && typeof r.options === "object") {
    for (const [k, v] of Object.entries(r.options as Record<string, unknown>)) {
      if (!/^[A-Z]$/.test(k)) throw new ExamFormatError(where, `field "options": key ${JSON.stringify(k)} is not a capital letter A-Z`);
      if (typeof v !== "string") throw new ExamFormatError(where, `field "options.${k}": expected a string`);
      options[k] = v;
    }
  } else {
    throw new ExamFormatError(where, 'field "options": expected an object {"A": text, ...} or an array of option texts');
  }
  if (Object.keys(options).length < 2) throw new ExamFormatError(where, 'field "options": expected at least two options');
  let letters: string[];
  if (typeof r.answer === "string") letters = r.answer.toUpperCase().replace(/[^A-Z]/g, "").split("");
  else if (Array.isArray(r.answer) && r.answer.every((x) => typeof x === "string")) letters = (r.answer as string[]).map((x) => x.trim().toUpperCase());
  else throw new ExamFormatError(where, `field "answer": expected letters like "C" or "ACD" (or an array of letters), found ${JSON.stringify(r.answer)}`);
  if (letters.length === 0) throw new ExamFormatError(where, 'field "answer": no answer letter');
  for (const l of letters) if (!(l in options)) throw new ExamFormatError(where, `field "answer": letter ${l} is not among the options ${Object.keys(options).join("")}`);
  const answer = sortLetters(letters);
  const multiFlag = typeof r.multi_answer === "boolean" ? r.multi_answer : typeof r.multi === "boolean" ? r.multi : answer.length > 1;
  return { id: String(id), kind: "choice", question: r.question, options, answer, multi: multiFlag || answer.length > 1, category };
}

/** Parses JSONL text of exam records; returns items and how many non-exam records were skipped. */
export function parseExamJsonl(text: string, file: string): { items: ExamItem[]; skipped: number } {
  const items: ExamItem[] = [];
  const seen = new Map<string, number>();
  let skipped = 0;
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${file}:${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new ExamFormatError(where, `not valid JSON (${(e as Error).message})`);
    }
    const item = parseExamRecord(rec, where);
    if (!item) {
      skipped++;
      return;
    }
    const prev = seen.get(item.id);
    if (prev !== undefined) throw new ExamFormatError(where, `field "id": duplicate id ${JSON.stringify(item.id)} (first at line ${prev})`);
    seen.set(item.id, i + 1);
    items.push(item);
  });
  return { items, skipped };
}
