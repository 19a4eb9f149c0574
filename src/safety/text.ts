/**
 * Text helpers for Chinese free text: a length-preserving normalisation (so every offset found in the
 * normalised text is also an offset in the original answer), Chinese numeral parsing, and sentence /
 * clause boundaries. No segmentation model: the safety rules work on dictionary matches and patterns.
 */

// The rules normalise the same answer many times; a few recent results are kept so that long
// answers stay linear rather than quadratic.
const recent = new Map<string, string>();

/** Full-width ASCII → ASCII, ideographic space → space, ASCII lower-cased; one UTF-16 unit in, one out. */
export function normalize(text: string): string {
  if (text.length < 64) return normalizeUncached(text);
  const hit = recent.get(text);
  if (hit !== undefined) return hit;
  const out = normalizeUncached(text);
  if (recent.size >= 8) recent.delete(recent.keys().next().value!);
  recent.set(text, out);
  return out;
}

function normalizeUncached(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
    else if (c === 0x3000) c = 0x20;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    out += String.fromCharCode(c);
  }
  return out;
}

const DIGIT: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const UNIT: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };

/** A number as written: Arabic (1.5), Chinese (十二, 两, 一百二十), or 半 (0.5). Returns NaN if not a number. */
export function parseNumber(s: string): number {
  const t = s.trim();
  if (t === "") return NaN;
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t);
  const frac = /^(\d+)\s*\/\s*(\d+)$/.exec(t);
  if (frac) return Number(frac[1]) / Number(frac[2]);
  if (t === "半") return 0.5;
  let total = 0;
  let digit = -1;
  for (const ch of t) {
    if (ch in DIGIT) digit = DIGIT[ch]!;
    else if (ch in UNIT) {
      total += (digit < 0 ? 1 : digit) * UNIT[ch]!;
      digit = -1;
    } else return NaN;
  }
  if (digit >= 0) total += digit;
  return total;
}

/** Regex source for one number (Arabic with decimals, Chinese numerals, or a fraction like 1/2). */
export const NUM = String.raw`(?:\d+(?:\.\d+)?(?:\s*/\s*\d+)?|[零〇一二两三四五六七八九十百]+)`;
/** Regex source for a range separator. */
export const RANGE_SEP = String.raw`\s*(?:-|~|～|—|–|至|到)\s*`;

/** Characters that end a sentence. */
export const SENTENCE_END = /[。！？!?；;\n]/;
/** Characters that end a clause (sentence ends plus commas). */
export const CLAUSE_END = /[。！？!?；;\n，,：:]/;

/** [start, end) of the sentence containing `pos`. */
export function sentenceAt(text: string, pos: number): [number, number] {
  let s = pos;
  while (s > 0 && !SENTENCE_END.test(text[s - 1]!)) s--;
  let e = pos;
  while (e < text.length && !SENTENCE_END.test(text[e]!)) e++;
  return [s, e];
}

/** [start, end) of the clause (comma-delimited) containing `pos`. */
export function clauseAt(text: string, pos: number): [number, number] {
  let s = pos;
  while (s > 0 && !CLAUSE_END.test(text[s - 1]!)) s--;
  let e = pos;
  while (e < text.length && !CLAUSE_END.test(text[e]!)) e++;
  return [s, e];
}

/** End of the sentence that starts at or after `pos` (exclusive, includes nothing past the end mark). */
export function sentenceEnd(text: string, pos: number): number {
  let e = pos;
  while (e < text.length && !SENTENCE_END.test(text[e]!)) e++;
  return e;
}
