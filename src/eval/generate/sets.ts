/**
 * Test sets for answer generation, read from their published formats into one shape: a conversation
 * ending with the user's turn, the reference answer, and the labels the tables group by (task,
 * department, exam category). Formats:
 *
 * - `pedcorpus`: the task sets `corpus build` writes (`sft/<task>_test.alpaca.jsonl` or
 *   `.sharegpt.jsonl`); EviDiag's earlier turns become the conversation history.
 * - `qa-jsonl`: Huatuo-style single-turn JSONL, `{id?, question, answer}` (also `query`/`prompt`,
 *   `response`/`output`/`reference`).
 * - `cmd`: CMD-style CSV `department,title,ask,answer` (UTF-8 or GB18030), through the corpus reader.
 * - `webmedqa`: webMedQA's tab-separated text (`medQA_test.txt`: ID, label, department, question,
 *   answer per line; each question repeated with one positive (label 1) and negative answers (0)).
 *   The positive answer is the reference; negative rows are counted as skipped.
 * - `pediabench`: PediaBench JSONL: multiple choice and true/false become exam items (prompted as
 *   `eval exam-prompts` does); essay/short-answer and case analysis are generation items; pairing
 *   items are counted as skipped.
 *
 * Reading only: bad records fail with file:line and the field; nothing here generates or scores.
 */
import { readFile } from "node:fs/promises";
import { IssueSink } from "../../corpus/errors.js";
import { readCmd } from "../../corpus/readers/cmd.js";
import { readAlpaca, readSharegpt } from "../../corpus/readers/instructions.js";
import { readJsonRecords } from "../../corpus/io/json.js";
import type { InstructionExample } from "../../corpus/readers/types.js";
import { parseExamRecord, type ExamItem } from "../exam/schema.js";
import { buildPrompt } from "../exam/prompt.js";
import type { ChatMessage } from "../../tokenizer/templates.js";

export const SET_FORMATS = ["pedcorpus", "qa-jsonl", "cmd", "webmedqa", "pediabench"] as const;
export type SetFormat = (typeof SET_FORMATS)[number];

export interface EvalItem {
  id: string;
  /** The conversation to answer: optional system message, alternating turns, ending with the user. */
  messages: ChatMessage[];
  /** The reference answer (exam items: the gold option letters or 对/错). */
  reference: string;
  task?: string;
  department?: string;
  category?: string;
  /** Set for multiple-choice and true/false items, which are scored by accuracy. */
  exam?: ExamItem;
  /** file:line of the record. */
  where: string;
}

export interface TestSet {
  name: string;
  format: SetFormat;
  path: string;
  items: EvalItem[];
  /** Records not turned into items, by reason. */
  skipped: Record<string, number>;
}

export class TestSetError extends Error {
  override name = "TestSetError";
}

function skip(skipped: Record<string, number>, reason: string): void {
  skipped[reason] = (skipped[reason] ?? 0) + 1;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v : undefined;
}

function uniqueIds(items: EvalItem[], file: string): void {
  const seen = new Map<string, string>();
  for (const it of items) {
    const prev = seen.get(it.id);
    if (prev !== undefined) throw new TestSetError(`${it.where}: duplicate id ${JSON.stringify(it.id)} (first at ${prev}); ids must be unique in ${file}`);
    seen.set(it.id, it.where);
  }
}

/** Guesses a format from the file name and, for JSONL, the first record's fields. */
export async function detectSetFormat(file: string): Promise<SetFormat> {
  const lower = file.toLowerCase();
  if (lower.endsWith(".csv")) return "cmd";
  if (lower.endsWith(".txt") || lower.endsWith(".tsv")) return "webmedqa";
  const text = await readFile(file, "utf8").catch((e: Error) => {
    throw new TestSetError(`cannot read test set ${file}: ${e.message}`);
  });
  const first = text.split("\n").find((l) => l.trim() !== "");
  if (first === undefined) throw new TestSetError(`${file}: empty test set`);
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(first) as Record<string, unknown>;
  } catch {
    throw new TestSetError(`${file}: cannot tell the format (first line is not JSON and the name does not end in .csv/.txt/.tsv); pass the format`);
  }
  if ("qtype" in rec) return "pediabench";
  if ("instruction" in rec || "conversations" in rec) return "pedcorpus";
  if ("question" in rec || "query" in rec || "prompt" in rec) return "qa-jsonl";
  throw new TestSetError(`${file}: cannot tell the format from the first record's fields (${Object.keys(rec).join(", ")}); pass the format`);
}

function fromInstruction(ex: InstructionExample, where: string, index: number): EvalItem {
  const msgs = ex.messages;
  const last = msgs[msgs.length - 1]!;
  const messages: ChatMessage[] = [...(ex.system ? [{ role: "system" as const, content: ex.system }] : []), ...msgs.slice(0, -1).map((m) => ({ role: m.role, content: m.content }))];
  const id = typeof ex.extra.id === "string" || typeof ex.extra.id === "number" ? String(ex.extra.id) : `item-${index + 1}`;
  const it: EvalItem = { id, messages, reference: last.content, where };
  if (typeof ex.extra.task === "string") it.task = ex.extra.task;
  if (typeof ex.extra.department === "string" && ex.extra.department !== "") it.department = ex.extra.department;
  return it;
}

async function readPedcorpus(file: string): Promise<EvalItem[]> {
  const sink = new IssueSink("fail");
  const items: EvalItem[] = [];
  const sharegpt = /sharegpt/i.test(file) || (await firstRecordHas(file, "conversations"));
  const gen = sharegpt ? readSharegpt(file, sink) : readAlpaca(file, sink);
  for await (const r of gen) items.push(fromInstruction(r.value, `${file}:${r.line}`, items.length));
  return items;
}

async function firstRecordHas(file: string, field: string): Promise<boolean> {
  const text = await readFile(file, "utf8");
  const first = text.split("\n").find((l) => l.trim() !== "");
  try {
    return first !== undefined && field in (JSON.parse(first) as object);
  } catch {
    return false;
  }
}

async function readQaJsonl(file: string): Promise<EvalItem[]> {
  const { items: records } = await readJsonRecords(file);
  const items: EvalItem[] = [];
  for await (const r of records) {
    const where = `${file}:${r.line}`;
    if (!r.ok) throw new TestSetError(`${where}: ${r.reason}`);
    const o = r.value as Record<string, unknown>;
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw new TestSetError(`${where}: expected a JSON object {question, answer}`);
    const q = str(o.question) ?? str(o.query) ?? str(o.prompt);
    if (q === undefined) throw new TestSetError(`${where}: field "question" (or "query"/"prompt"): expected a non-empty string`);
    const a = str(o.answer) ?? str(o.response) ?? str(o.output) ?? str(o.reference);
    if (a === undefined) throw new TestSetError(`${where}: field "answer" (or "response"/"output"/"reference"): expected a non-empty string`);
    const id = typeof o.id === "string" || typeof o.id === "number" ? String(o.id) : `line-${r.line}`;
    const it: EvalItem = { id, messages: [{ role: "user", content: q }], reference: a, where };
    if (typeof o.department === "string") it.department = o.department;
    items.push(it);
  }
  return items;
}

async function readCmdSet(file: string): Promise<EvalItem[]> {
  const sink = new IssueSink("fail");
  const items: EvalItem[] = [];
  for await (const r of readCmd(file, sink)) {
    const { department, ask, answer } = r.value;
    const it: EvalItem = { id: `line-${r.line}`, messages: [{ role: "user", content: ask }], reference: answer, where: `${file}:${r.line}` };
    if (department.trim() !== "") it.department = department.trim();
    items.push(it);
  }
  return items;
}

/**
 * webMedQA rows: five tab-separated fields in the order of the published sample (ID, label, category,
 * question, answer). The label column is recognised by its value (0/1) so that a file with the
 * label and ID swapped reads the same.
 */
async function readWebMedQa(file: string, skipped: Record<string, number>): Promise<EvalItem[]> {
  const text = await readFile(file, "utf8").catch((e: Error) => {
    throw new TestSetError(`cannot read test set ${file}: ${e.message}`);
  });
  const byId = new Map<string, EvalItem>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${file}:${i + 1}`;
    const f = line.split("\t");
    if (f.length !== 5) throw new TestSetError(`${where}: expected 5 tab-separated fields (ID, label, department, question, answer), found ${f.length}`);
    let [id, label] = [f[0]!.trim(), f[1]!.trim()];
    if (/^[01]$/.test(id) && !/^[01]$/.test(label)) [id, label] = [label, id];
    if (label !== "0" && label !== "1") throw new TestSetError(`${where}: field "label": expected 0 or 1, found ${JSON.stringify(f[1])}`);
    if (id === "") throw new TestSetError(`${where}: field "ID" is empty`);
    const [department, question, answer] = [f[2]!.trim(), f[3]!.trim(), f[4]!.trim()];
    if (question === "") throw new TestSetError(`${where}: field "question" is empty`);
    if (label === "0") return skip(skipped, "negative answer (label 0)");
    if (answer === "") throw new TestSetError(`${where}: field "answer" is empty on a positive (label 1) row`);
    const prev = byId.get(id);
    if (prev) throw new TestSetError(`${where}: question ${id} has a second positive answer (first at ${prev.where})`);
    const it: EvalItem = { id, messages: [{ role: "user", content: question }], reference: answer, where };
    if (department !== "") it.department = department;
    byId.set(id, it);
  });
  return [...byId.values()];
}

async function readPediaBench(file: string, skipped: Record<string, number>): Promise<EvalItem[]> {
  const { items: records } = await readJsonRecords(file);
  const items: EvalItem[] = [];
  for await (const r of records) {
    const where = `${file}:${r.line}`;
    if (!r.ok) throw new TestSetError(`${where}: ${r.reason}`);
    const o = r.value as Record<string, unknown>;
    const qtype = o && typeof o === "object" ? o.qtype : undefined;
    if (qtype === "pairing") {
      skip(skipped, "pairing item (not a single answer)");
      continue;
    }
    if (qtype === "essay_short_answer" || qtype === "case_analysis") {
      const id = typeof o.id === "string" || typeof o.id === "number" ? String(o.id) : undefined;
      if (id === undefined) throw new TestSetError(`${where}: field "id": expected a string or number`);
      const q = str(o.question);
      if (q === undefined) throw new TestSetError(`${where}: field "question": expected a non-empty string`);
      const a = str(o.answer);
      if (a === undefined) throw new TestSetError(`${where}: field "answer": expected a non-empty string (the reference answer)`);
      const it: EvalItem = { id, messages: [{ role: "user", content: q }], reference: a, task: qtype, where };
      if (typeof o.disease_group === "string") it.category = o.disease_group;
      items.push(it);
      continue;
    }
    const exam = parseExamRecord(o, where);
    if (exam === null) {
      skip(skipped, `qtype ${String(qtype)}`);
      continue;
    }
    const it: EvalItem = { id: exam.id, messages: [{ role: "user", content: buildPrompt(exam) }], reference: exam.answer, exam, task: typeof qtype === "string" ? qtype : exam.kind, where };
    if (exam.category !== null) it.category = exam.category;
    items.push(it);
  }
  return items;
}

/** Reads a test set. `format` "auto" (the default) guesses from the file name and first record. */
export async function readTestSet(file: string, opts: { format?: SetFormat | "auto"; name?: string } = {}): Promise<TestSet> {
  const format = !opts.format || opts.format === "auto" ? await detectSetFormat(file) : opts.format;
  if (!(SET_FORMATS as readonly string[]).includes(format)) throw new TestSetError(`unknown test set format ${JSON.stringify(format)}; expected one of ${SET_FORMATS.join(", ")}`);
  const skipped: Record<string, number> = {};
  let items: EvalItem[];
  switch (format) {
    case "pedcorpus":
      items = await readPedcorpus(file);
      break;
    case "qa-jsonl":
      items = await readQaJsonl(file);
      break;
    case "cmd":
      items = await readCmdSet(file);
      break;
    case "webmedqa":
      items = await readWebMedQa(file, skipped);
      break;
    case "pediabench":
      items = await readPediaBench(file, skipped);
      break;
  }
  if (items.length === 0) throw new TestSetError(`${file}: no test items (format ${format}${Object.keys(skipped).length ? `; skipped: ${JSON.stringify(skipped)}` : ""})`);
  uniqueIds(items, file);
  const name = opts.name ?? file.replace(/^.*[\\/]/, "").replace(/\.[^.]+$/, "");
  return { name, format, path: file, items, skipped };
}
