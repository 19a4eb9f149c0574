/**
 * Answer extraction from a model's free-text reply to an exam item, in the order a grader would
 * read it: an explicit conclusion (答案是/答案为/正确答案为/故选/应选/Answer: …, the last one wins),
 * else letters at the very start ("B", "(C)", "A、C、D", "ACD."), else — for single-answer items —
 * exactly one option text quoted verbatim or exactly one standalone option letter. Full-width letters
 * and punctuation are folded first. Refusals ("无法确定", "抱歉…") give no answer rather than a
 * guess. Also true/false replies (对/错, 正确/错误, √/×) and majority voting for self-consistency.
 */
import { FALSE_LABEL, TRUE_LABEL, sortLetters, type ExamItem } from "./schema.js";

export type ExtractionMethod = "explicit" | "leading" | "option_text" | "single_letter" | "refusal" | "none";

export interface Extraction {
  /** Sorted letters ("ACD"), or 对/错 for true/false; null when no answer could be read. */
  answer: string | null;
  method: ExtractionMethod;
}

/** Full-width ASCII (U+FF01..U+FF5E) to ASCII and ideographic space to space. */
export function foldWidth(s: string): string {
  return s.replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, " ");
}

const REFUSAL = /无法(?:确定|回答|判断|选择|作答|给出)|不能(?:确定|回答|判断)|不确定|抱歉|对不起|I (?:cannot|can't|am unable)|as an AI|作为(?:一个)?(?:AI|人工智能)/i;

// A run of capital letters with optional separators between them, not running into an English word.
const LG = String.raw`([A-Z](?:\s*[、,，和及与/&+]?\s*[A-Z])*)(?![a-z])`;
const OPEN = String.raw`[(\[“"'「《]?\s*`;
const EXPLICIT: RegExp[] = [
  new RegExp(String.raw`(?:正确答案|正确选项|最佳答案|最佳选项|参考答案|答案|[Aa]nswer|答(?=\s*:))\s*[】\]]?\s*(?:应该|应当|应|就|可能|选择|选项)?\s*(?:是|为|选|:|is)?\s*:?\s*(?:选项|选)?\s*${OPEN}${LG}`, "g"),
  new RegExp(String.raw`(?:故|所以|因此|因而|综上|应当|应该|应|我|则|即)\s*(?:选择|选)\s*(?:选项)?\s*:?\s*${OPEN}${LG}`, "g"),
];
const LEADING = new RegExp(String.raw`^\s*(?:选\s*)?${OPEN}${LG}\s*[)\]”"'」》]?\s*(?:[.、:。,;!\s]|$)`);
// A lone letter that reads as an option reference ("B。", "B项", "B正确"), not a term such as
// B超, A型血 or C反应蛋白.
const STANDALONE = /(?<![A-Za-z0-9])([A-Z])(?=\s*(?:$|[.,、:;。，；)\]]|项|选项|正确|对))/g;

function lettersOf(group: string): string[] {
  return group.replace(/[^A-Z]/g, "").split("");
}

/** Extracts the chosen option letters for a multiple-choice item. */
export function extractChoice(reply: string, item: Pick<ExamItem, "options" | "multi">): Extraction {
  const text = foldWidth(reply);
  const valid = (ls: string[]): boolean => ls.length > 0 && ls.every((l) => l in item.options);
  // 1. explicit conclusion: the last valid one in the text
  let best: { at: number; letters: string[] } | null = null;
  for (const re of EXPLICIT) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const ls = lettersOf(m[1]!);
      if (valid(ls) && (!best || m.index >= best.at)) best = { at: m.index, letters: ls };
    }
  }
  if (best) return { answer: sortLetters(best.letters), method: "explicit" };
  // 2. letters at the very start
  const lead = LEADING.exec(text);
  if (lead && valid(lettersOf(lead[1]!))) return { answer: sortLetters(lettersOf(lead[1]!)), method: "leading" };
  if (REFUSAL.test(text)) return { answer: null, method: "refusal" };
  if (!item.multi) {
    // 3. exactly one option text quoted
    const quoted = Object.entries(item.options).filter(([, t]) => t.trim().length >= 2 && text.includes(foldWidth(t.trim())));
    if (quoted.length === 1) return { answer: quoted[0]![0], method: "option_text" };
    // 4. exactly one standalone option letter
    const seen = new Set<string>();
    STANDALONE.lastIndex = 0;
    for (let m = STANDALONE.exec(text); m; m = STANDALONE.exec(text)) if (m[1]! in item.options) seen.add(m[1]!);
    if (seen.size === 1) return { answer: [...seen][0]!, method: "single_letter" };
  }
  return { answer: null, method: "none" };
}

const TF_WORD = String.raw`(不正确|不对|错误|正确|对|错|√|×|true|false)`;
const TF_EXPLICIT = new RegExp(String.raw`(?:答案|判断|结论|该说法|这种说法|说法|题干)\s*(?:应该|应|是|为)?\s*(?:是|为)?\s*[:：]?\s*[“"「]?\s*${TF_WORD}`, "gi");
const TF_LEADING = new RegExp(String.raw`^\s*[“"「]?\s*${TF_WORD}`, "i");

function tfLabel(w: string): string {
  const s = w.toLowerCase();
  return s === "正确" || s === "对" || s === "√" || s === "true" ? TRUE_LABEL : FALSE_LABEL;
}

/** Extracts 对/错 from a reply to a true/false item. */
export function extractTrueFalse(reply: string): Extraction {
  const text = foldWidth(reply);
  let last: string | null = null;
  TF_EXPLICIT.lastIndex = 0;
  for (let m = TF_EXPLICIT.exec(text); m; m = TF_EXPLICIT.exec(text)) last = m[1]!;
  if (last) return { answer: tfLabel(last), method: "explicit" };
  const lead = TF_LEADING.exec(text);
  if (lead) return { answer: tfLabel(lead[1]!), method: "leading" };
  if (REFUSAL.test(text)) return { answer: null, method: "refusal" };
  // Polarity words anywhere; negated forms removed first so 不正确 does not count as 正确.
  const neg = /不正确|不对|错误|是错的|有误/.test(text);
  const pos = /正确|是对的|没错/.test(text.replace(/不正确|不对/g, ""));
  if (neg !== pos) return { answer: neg ? FALSE_LABEL : TRUE_LABEL, method: "single_letter" };
  return { answer: null, method: "none" };
}

/** Extraction for any item kind. */
export function extractAnswer(reply: string, item: ExamItem): Extraction {
  return item.kind === "true_false" ? extractTrueFalse(reply) : extractChoice(reply, item);
}

/**
 * Self-consistency: the most frequent non-null answer among several sampled replies; ties go to the
 * answer seen first. Null when no reply gave an answer.
 */
export function majorityVote(answers: readonly (string | null)[]): { answer: string | null; votes: Record<string, number> } {
  const votes: Record<string, number> = {};
  const order: string[] = [];
  for (const a of answers) {
    if (a === null) continue;
    if (!(a in votes)) {
      votes[a] = 0;
      order.push(a);
    }
    votes[a]!++;
  }
  let answer: string | null = null;
  for (const a of order) if (answer === null || votes[a]! > votes[answer]!) answer = a;
  return { answer, votes };
}
