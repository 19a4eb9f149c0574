/**
 * Prompts for LLM-assisted corpus generation, in Chinese (the target language), each with a
 * validator for the reply so malformed answers are retried instead of entering the corpus:
 * question writing from a passage or from triples (reply: a JSON array of strings), distillation
 * (answer a question grounded in a passage), humanistic stylistic rephrasing (the preferred
 * answer for DFPO) and a weaker answer (the rejected one).
 */
import type { Message } from "../readers/types.js";

const SYSTEM = "你是一名资深儿科医生和医学编辑，熟悉中国儿科诊疗指南。只依据给定材料作答，不编造事实。";

/** Extract a JSON array of non-empty strings from a reply (tolerates a ```json fence). */
export function parseQuestionList(content: string): string[] | string {
  const m = /```(?:json)?\s*([\s\S]*?)```/.exec(content);
  const body = (m ? m[1]! : content).trim();
  const start = body.indexOf("[");
  const end = body.lastIndexOf("]");
  if (start < 0 || end < start) return "expected a JSON array of questions";
  let v: unknown;
  try {
    v = JSON.parse(body.slice(start, end + 1));
  } catch (err) {
    return `the question list is not valid JSON: ${(err as Error).message}`;
  }
  if (!Array.isArray(v) || v.length === 0) return "expected a non-empty JSON array";
  const qs = v.filter((x): x is string => typeof x === "string" && x.trim().length > 0).map((x) => x.trim());
  if (qs.length !== v.length) return "every array element must be a non-empty string";
  return qs;
}

export function questionWritingPrompt(title: string, section: string, text: string, n: number): Message[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content:
        `下面是儿科资料《${title}》中“${section || "正文"}”一节。请根据这段内容，写出 ${n} 个家长或医学生可能提出的、` +
        `能够仅凭这段内容完整回答的问题。问题要具体、互不重复，使用简体中文。\n` +
        `只输出一个 JSON 字符串数组，例如 ["问题一？", "问题二？"]，不要输出其他内容。\n\n资料：\n${text}`,
    },
  ];
}

export function tripleQuestionPrompt(head: string, facts: string, n: number): Message[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `以下是关于“${head}”的儿科知识图谱事实：\n${facts}\n请写出 ${n} 个能用这些事实回答的自然问题（简体中文）。只输出 JSON 字符串数组。`,
    },
  ];
}

export function distillationPrompt(question: string, context: string): Message[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content: `请依据下面的资料回答问题。回答要准确、条理清楚，必要时提醒何时就医；资料未涉及的内容不要编造。\n\n资料：\n${context}\n\n问题：${question}`,
    },
  ];
}

/** "Humanistic stylistic rephrasing": same medical content, warmer, more careful and complete. */
export function humanisticRephrasePrompt(question: string, reference: string): Message[] {
  return [
    { role: "system", content: SYSTEM },
    {
      role: "user",
      content:
        `请改写下面这段医生回答，使其更有人文关怀：先体谅家长的担心，再条理清楚、完整地说明要点，` +
        `给出具体可操作的护理建议，并说明需要及时就医的危险信号。不得改变或增加医学事实，不得给出具体处方剂量。` +
        `只输出改写后的回答。\n\n家长的问题：${question}\n\n原回答：${reference}`,
    },
  ];
}

/** A weaker answer for the rejected side: terse and less careful, but not absurd or dangerous. */
export function weakerAnswerPrompt(question: string): Message[] {
  return [
    { role: "system", content: "你是一个普通的医疗问答助手。" },
    { role: "user", content: `请用一两句话简短回答下面的问题，不需要解释原因，也不需要提醒注意事项。\n\n问题：${question}` },
  ];
}

/** Validator for free-text answers: non-trivial Chinese text, no refusal boilerplate. */
export function validateAnswer(content: string): string | undefined {
  const t = content.trim();
  if (t.length < 4) return "answer is too short";
  if (!/[\u4e00-\u9fff]/.test(t)) return "answer contains no Chinese text";
  if (/^(抱歉|对不起|I'm sorry|As an AI)/i.test(t) && t.length < 40) return "answer is a refusal";
  return undefined;
}
