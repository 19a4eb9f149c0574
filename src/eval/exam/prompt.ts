/**
 * Prompt construction for exam items, zero-shot or few-shot, in Chinese, asking for a reply in the
 * "答案：X" form that extract.ts reads first. The chat template is applied later by whoever calls the
 * model; this only builds the user text.
 */
import type { ExamItem } from "./schema.js";

export interface PromptOptions {
  /** Worked examples placed before the question (with their answers). Defaults to none (zero-shot). */
  shots?: readonly ExamItem[];
}

function instruction(item: ExamItem): string {
  if (item.kind === "true_false") return "以下是儿科学判断题，请判断题干的说法是否正确，并以“答案：对”或“答案：错”的格式给出答案。";
  if (item.multi) return "以下是儿科学多项选择题（可能有多个正确答案），请选出所有正确答案，并以“答案：ABC”的格式给出答案。";
  return "以下是儿科学单项选择题，请从选项中选出一个最佳答案，并以“答案：X”的格式给出答案。";
}

/** The question with its options, one "A. text" line each. */
export function formatItem(item: ExamItem): string {
  const lines = [item.question.trim()];
  for (const [letter, text] of Object.entries(item.options)) lines.push(`${letter}. ${text.trim()}`);
  return lines.join("\n");
}

export function buildPrompt(item: ExamItem, opts: PromptOptions = {}): string {
  const parts = [instruction(item)];
  for (const shot of opts.shots ?? []) parts.push(`${formatItem(shot)}\n答案：${shot.answer}`);
  parts.push(`${formatItem(item)}\n答案：`);
  return parts.join("\n\n");
}

/**
 * Picks k few-shot examples for an item from a pool: same kind and single/multi flag, never the item
 * itself, same category first, then pool order (deterministic).
 */
export function selectShots(pool: readonly ExamItem[], item: ExamItem, k: number): ExamItem[] {
  const ok = pool.filter((p) => p.id !== item.id && p.kind === item.kind && p.multi === item.multi);
  const same = ok.filter((p) => p.category !== null && p.category === item.category);
  const rest = ok.filter((p) => !(p.category !== null && p.category === item.category));
  return [...same, ...rest].slice(0, k);
}
