/**
 * Length and quality filters. Each check returns the reason a text is rejected (a short stable
 * key, counted in the statistics) or undefined. Thresholds are options so a config can tune them;
 * the defaults suit Chinese medical prose and Q&A.
 */
import { z } from "zod";

export const filterOptionsSchema = z
  .object({
    /** Minimum characters of a response / document after cleaning. */
    minChars: z.number().int().nonnegative().default(8),
    /** Maximum characters of a response / document after cleaning (longer ones are rejected, not cut). */
    maxChars: z.number().int().positive().default(20000),
    /** Minimum share of CJK ideographs among non-space characters (0 disables). */
    minCjkRatio: z.number().min(0).max(1).default(0.3),
    /** Longest allowed run of one repeated character (e.g. "啊啊啊…" or "!!!!"). */
    maxCharRun: z.number().int().positive().default(20),
    /** Maximum share of characters in sentences that repeat an earlier sentence of the same text. */
    maxDuplicateSentenceShare: z.number().min(0).max(1).default(0.3),
  })
  .strict();

export type FilterOptions = z.infer<typeof filterOptionsSchema>;
export const DEFAULT_FILTERS: FilterOptions = filterOptionsSchema.parse({});

export type FilterReason = "too-short" | "too-long" | "low-cjk-ratio" | "char-repetition" | "sentence-repetition";

/** Share of characters in sentences (split on 。！？；\n) that repeat an earlier sentence (Gopher-style). */
function duplicateSentenceShare(s: string): number {
  if (s.length < 40) return 0;
  const seen = new Set<string>();
  let dup = 0;
  for (const sentence of s.split(/[。！？；!?;\n]+/)) {
    const t = sentence.trim();
    if (t.length < 4) continue;
    if (seen.has(t)) dup += t.length;
    else seen.add(t);
  }
  return dup / s.length;
}

/** The first reason `text` fails the filters, or undefined when it passes. */
export function qualityCheck(text: string, o: FilterOptions = DEFAULT_FILTERS): FilterReason | undefined {
  const n = text.length;
  if (n < o.minChars) return "too-short";
  if (n > o.maxChars) return "too-long";
  // One pass for the CJK ratio and the longest run of one character.
  let cjk = 0;
  let counted = 0;
  let run = 0;
  let best = 0;
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === prev) run++;
    else {
      run = 1;
      prev = c;
    }
    if (run > best) best = run;
    if (c === 32 || c === 10 || c === 9) continue;
    counted++;
    if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) cjk++;
  }
  if (o.minCjkRatio > 0 && (counted === 0 ? 0 : cjk / counted) < o.minCjkRatio) return "low-cjk-ratio";
  if (best > o.maxCharRun) return "char-repetition";
  if (duplicateSentenceShare(text) > o.maxDuplicateSentenceShare) return "sentence-repetition";
  return undefined;
}

/** Counts of rejections by reason (and by where they happened). */
export class FilterCounter {
  readonly counts = new Map<string, number>();
  add(where: string, reason: string): void {
    const k = `${where}:${reason}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}
