/**
 * The judge prompt and the parser of its reply. The judge sees a pediatric question and two answers
 * labelled 回答1 and 回答2 and must reply with one JSON object giving, for each of the paper's four
 * dimensions (usefulness, correctness, consistency, smoothness), 1, 2 or 0 (tie). Which model's
 * answer is 回答1 is decided by the caller (both orders are asked). A reply that does not carry all
 * four verdicts is unparseable; the parser says why, so the client can retry it.
 */
import { JUDGE_DIMENSIONS, type JudgeDimension } from "../run/results.js";
import type { Message } from "../../llm/client.js";

/** Bumped whenever the prompt text changes (it is part of every cache key through the messages). */
export const JUDGE_PROMPT_VERSION = "pairwise-zh-1";

const DIMENSION_ZH: Record<JudgeDimension, string> = {
  usefulness: "有用性（是否切实帮助提问者解决问题，给出可操作的建议）",
  correctness: "正确性（医学内容是否准确，有无错误或不安全的建议）",
  consistency: "一致性（是否紧扣问题，前后内容是否一致、不自相矛盾）",
  smoothness: "流畅性（语言是否通顺自然，表达是否清楚）",
};

const SYSTEM = "你是一名严谨的儿科医学专家评审。你只根据回答的内容评判，不受回答的先后顺序和长短影响。";

/** The conversation so far, as the judge reads it. */
export function renderQuestion(messages: readonly Message[]): string {
  const turns = messages.filter((m) => m.role !== "system");
  if (turns.length === 1) return turns[0]!.content;
  return turns.map((m) => `${m.role === "user" ? "患者" : "医生"}：${m.content}`).join("\n");
}

export function judgeMessages(question: string, first: string, second: string): Message[] {
  const dims = JUDGE_DIMENSIONS.map((d, i) => `${i + 1}. ${d}：${DIMENSION_ZH[d]}`).join("\n");
  const user = [
    "请比较下面两个针对同一儿科问题的回答，并分别在四个维度上判断哪个更好。",
    `【问题】\n${question}`,
    `【回答1】\n${first}`,
    `【回答2】\n${second}`,
    `【评判维度】\n${dims}`,
    '只输出一个 JSON 对象，不要输出其他内容。每个维度的值为 1（回答1更好）、2（回答2更好）或 0（不相上下），例如：\n{"usefulness": 1, "correctness": 0, "consistency": 2, "smoothness": 1}',
  ].join("\n\n");
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: user },
  ];
}

export type PositionVerdict = 1 | 2 | 0;

function verdictOf(v: unknown): PositionVerdict | null {
  if (v === 1 || v === "1" || v === "回答1") return 1;
  if (v === 2 || v === "2" || v === "回答2") return 2;
  if (v === 0 || v === "0" || v === "tie" || v === "平" || v === "相当") return 0;
  return null;
}

/** The verdict per dimension, or a string saying why the reply cannot be used. */
export function parseJudgeReply(content: string): Record<JudgeDimension, PositionVerdict> | string {
  const start = content.indexOf("{");
  const end = content.lastIndexOf("}");
  if (start < 0 || end <= start) return "no JSON object in the reply";
  let obj: unknown;
  try {
    obj = JSON.parse(content.slice(start, end + 1));
  } catch (e) {
    return `the JSON object does not parse (${(e as Error).message})`;
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return "the reply's JSON is not an object";
  const o = obj as Record<string, unknown>;
  const out = {} as Record<JudgeDimension, PositionVerdict>;
  for (const d of JUDGE_DIMENSIONS) {
    const v = verdictOf(o[d]);
    if (v === null) return `dimension "${d}": expected 1, 2 or 0, got ${JSON.stringify(o[d])}`;
    out[d] = v;
  }
  return out;
}
