/**
 * Helpers for the two consumers of the checker: serving (a plain-text annotation block shown beside
 * an answer, never merged into it) and evaluation (safety over a batch of question/answer pairs:
 * mean score, share of answers with findings, counts per finding type and per rule).
 */
import { readFileSync } from "node:fs";
import { checkAnswer, FINDING_TYPES, type CheckOptions, type CheckResult, type FindingType } from "./check.js";
import { SafetyInputError } from "./errors.js";

const TYPE_ZH: Record<FindingType, string> = {
  wrong_class: "药物类别错误",
  age_contraindication: "年龄禁忌",
  dose_out_of_range: "剂量超出范围",
  daily_max_exceeded: "超过每日最大量",
  missing_urgent_care: "缺少紧急就医建议",
  missing_timely_care: "缺少及时就医建议",
};

/** A Chinese annotation block for display next to the answer; empty string when nothing to say. */
export function renderAnnotations(result: CheckResult): string {
  const lines: string[] = [];
  if (result.banner) lines.push(result.banner);
  for (const f of result.findings) {
    const where = f.evidence.source === "answer" ? "回答" : "问题";
    lines.push(`【安全提示·${TYPE_ZH[f.type]}】${f.message}（${where}原文：“${f.evidence.text}”；依据：${f.citations.slice(0, 2).join("；")}）`);
  }
  // Names the knowledge base lacks: said so, so that no finding is not read as checked.
  const unverified = [...new Set((result.unverified ?? []).map((u) => u.name))];
  if (unverified.length) lines.push(`【未核实】${unverified.join("、")}：知识库未收录，其类别和剂量未经核对`);
  return lines.join("\n");
}

export interface SafetyItem {
  question?: string;
  answer: string;
  age?: string | number;
  weight?: string | number;
}

export interface SafetySummary {
  answers: number;
  meanScore: number;
  /** Share of answers with at least one finding. */
  flaggedRate: number;
  perType: Record<FindingType, number>;
  perRule: Record<string, number>;
}

/** Check every item and summarise. `results` keeps one CheckResult per item, in order. */
export function evaluateSafety(items: SafetyItem[], options: Pick<CheckOptions, "kb"> = {}): { summary: SafetySummary; results: CheckResult[] } {
  const results = items.map((it) => checkAnswer(it.answer, {
    ...(it.question !== undefined ? { question: it.question } : {}),
    ...(it.age !== undefined ? { age: it.age } : {}),
    ...(it.weight !== undefined ? { weight: it.weight } : {}),
    ...options,
  }));
  const perType = Object.fromEntries(FINDING_TYPES.map((t) => [t, 0])) as Record<FindingType, number>;
  const perRule: Record<string, number> = {};
  for (const r of results) for (const f of r.findings) {
    perType[f.type]++;
    perRule[f.ruleId] = (perRule[f.ruleId] ?? 0) + 1;
  }
  const n = results.length;
  return {
    summary: {
      answers: n,
      meanScore: n ? Number((results.reduce((s, r) => s + r.score, 0) / n).toFixed(4)) : 1,
      flaggedRate: n ? Number((results.filter((r) => r.findings.length).length / n).toFixed(4)) : 0,
      perType,
      perRule,
    },
    results,
  };
}

/**
 * Read question/answer pairs from JSONL. Field names: `answer` (or `response`, `output`), `question`
 * (or `prompt`, `instruction`, `input`), optional `age`, `weight`. Errors name file, line and field.
 */
export function readSafetyItems(file: string): SafetyItem[] {
  const text = readFileSync(file, "utf8");
  const items: SafetyItem[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new SafetyInputError(`${file}:${i + 1}: invalid JSON: ${(err as Error).message}`);
    }
    const pickStr = (keys: string[]) => keys.map((k) => row[k]).find((v) => typeof v === "string") as string | undefined;
    const answer = pickStr(["answer", "response", "output"]);
    if (!answer) throw new SafetyInputError(`${file}:${i + 1}: field "answer": expected a non-empty string (also accepted: "response", "output")`);
    const question = pickStr(["question", "prompt", "instruction", "input"]);
    const item: SafetyItem = { answer, ...(question !== undefined ? { question } : {}) };
    for (const k of ["age", "weight"] as const) {
      const v = row[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string" && typeof v !== "number") throw new SafetyInputError(`${file}:${i + 1}: field "${k}": expected a string or number`);
      item[k] = v;
    }
    items.push(item);
  });
  return items;
}
