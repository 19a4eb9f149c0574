/**
 * "Standard" mode additions beyond the paper (BRIEF §7.1): character-level tokens, corpus-level BLEU
 * with sacreBLEU's `zh` tokenisation and defaults (exp smoothing, 4-grams, brevity penalty), corpus
 * Distinct-n in the sense of Li et al. (2016), and seeded percentile-bootstrap 95% intervals.
 * The paper's per-sample metrics are in paper.ts; this file only adds corpus statistics.
 */
import { pySplit, pyStrip, isPyWhitespace } from "./pyfloat.js";
import { mulberry32 } from "../../util/random.js";


/** Character tokens: every code point except whitespace. */
export function charTokens(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) if (!isPyWhitespace(ch)) out.push(ch);
  return out;
}

// sacreBLEU tokenizer_zh._UCODE_RANGES. Two of its entries are written '\u20000'..'\u2a6d6' and
// '\u2f800'..'\u2fa1d' in Python, which are two-character strings ('\u2000' + '0' ...); compared with
// one character they select U+2001..U+2A6D and U+2F81..U+2FA1. We reproduce what sacreBLEU does, not
// what the comments say, so corpus BLEU matches it.
const ZH_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x3400, 0x4db5], [0x4e00, 0x9fa5], [0x9fa6, 0x9fbb], [0xf900, 0xfa2d], [0xfa30, 0xfa6a], [0xfa70, 0xfad9],
  [0x2001, 0x2a6d], [0x2f81, 0x2fa1], [0xff00, 0xffef], [0x2e80, 0x2eff], [0x3000, 0x303f], [0x31c0, 0x31ef],
  [0x2f00, 0x2fdf], [0x2ff0, 0x2fff], [0x3100, 0x312f], [0x31a0, 0x31bf], [0xfe10, 0xfe1f], [0xfe30, 0xfe4f],
  [0x2600, 0x26ff], [0x2700, 0x27bf], [0x3200, 0x32ff], [0x3300, 0x33ff],
];

function isZhChar(cp: number): boolean {
  for (const [a, b] of ZH_RANGES) if (cp >= a && cp <= b) return true;
  return false;
}

// tokenizer_re.TokenizerRegexp (the 13a post-tokenizer)
const RE_13A: ReadonlyArray<readonly [RegExp, string]> = [
  [/([{-~\[-` -&(-+:-@\/])/g, " $1 "],
  [/([^0-9])([.,])/g, "$1 $2 "],
  [/([.,])([^0-9])/g, " $1 $2"],
  [/([0-9])(-)/g, "$1 $2 "],
];

/** sacreBLEU `zh` tokenizer applied to one segment (after BLEU's own rstrip), as a token list. */
export function sacrebleuZhTokens(line: string): string[] {
  let s = pyStrip(line);
  let spaced = "";
  for (const ch of s) {
    spaced += isZhChar(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  }
  s = spaced;
  for (const [re, rep] of RE_13A) s = s.replace(re, rep);
  return pySplit(s);
}

/** Sufficient statistics of one segment for corpus BLEU. */
export interface BleuStats {
  sysLen: number;
  refLen: number;
  correct: number[]; // [4]
  total: number[]; // [4]
}

export function bleuStats(hyp: readonly string[], ref: readonly string[]): BleuStats {
  const correct = [0, 0, 0, 0];
  const total = [0, 0, 0, 0];
  for (let n = 1; n <= 4; n++) {
    const rc = new Map<string, number>();
    for (let i = 0; i + n <= ref.length; i++) {
      const k = ref.slice(i, i + n).join("\u0000");
      rc.set(k, (rc.get(k) ?? 0) + 1);
    }
    const hc = new Map<string, number>();
    for (let i = 0; i + n <= hyp.length; i++) {
      const k = hyp.slice(i, i + n).join("\u0000");
      hc.set(k, (hc.get(k) ?? 0) + 1);
    }
    for (const [k, c] of hc) {
      total[n - 1]! += c;
      const r = rc.get(k);
      if (r !== undefined) correct[n - 1]! += Math.min(c, r);
    }
  }
  return { sysLen: hyp.length, refLen: ref.length, correct, total };
}

export interface CorpusBleu {
  score: number; // 0..100
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
}

/** sacreBLEU BLEU.compute_bleu with smooth_method='exp', max order 4, effective_order=False. */
export function corpusBleuFromStats(stats: readonly BleuStats[]): CorpusBleu {
  let sysLen = 0;
  let refLen = 0;
  const correct = [0, 0, 0, 0];
  const total = [0, 0, 0, 0];
  for (const s of stats) {
    sysLen += s.sysLen;
    refLen += s.refLen;
    for (let i = 0; i < 4; i++) {
      correct[i]! += s.correct[i]!;
      total[i]! += s.total[i]!;
    }
  }
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0) : 1.0;
  const precisions = [0, 0, 0, 0];
  if (!correct.some((c) => c !== 0)) return { score: 0, precisions, bp, sysLen, refLen };
  let smooth = 1;
  for (let n = 1; n <= 4; n++) {
    if (total[n - 1] === 0) break;
    if (correct[n - 1] === 0) {
      smooth *= 2;
      precisions[n - 1] = 100 / (smooth * total[n - 1]!);
    } else {
      precisions[n - 1] = (100 * correct[n - 1]!) / total[n - 1]!;
    }
  }
  const myLog = (x: number): number => (x === 0 ? -9999999999 : Math.log(x));
  const score = bp * Math.exp(precisions.reduce((a, p) => a + myLog(p), 0) / 4);
  return { score, precisions, bp, sysLen, refLen };
}

/** Li et al. (2016) corpus Distinct-n: distinct n-grams over all responses / all n-grams. */
export function corpusDistinct(responses: ReadonlyArray<readonly string[]>, n: number): number {
  const set = new Set<string>();
  let total = 0;
  for (const r of responses) {
    for (let i = 0; i + n <= r.length; i++) {
      set.add(r.slice(i, i + n).join("\u0000"));
      total++;
    }
  }
  return total === 0 ? 0 : set.size / total;
}


export interface Interval {
  low: number;
  high: number;
}

/**
 * Percentile bootstrap 95% interval of a statistic over samples: `resamples` draws of n indices with
 * replacement from a seeded generator; the statistic gets the drawn indices.
 */
export function bootstrapInterval(n: number, statistic: (idx: Int32Array) => number, resamples = 1000, seed = 12345): Interval {
  return bootstrapIntervals(n, (idx) => [statistic(idx)], resamples, seed)[0]!;
}

/**
 * Several statistics on the same resamples (one pass per resample): `statistics` returns one value
 * per statistic for the drawn indices; one interval per statistic comes back, in that order.
 */
export function bootstrapIntervals(n: number, statistics: (idx: Int32Array) => number[], resamples = 1000, seed = 12345): Interval[] {
  if (n === 0) return statistics(new Int32Array(0)).map(() => ({ low: 0, high: 0 }));
  const rand = mulberry32(seed);
  const idx = new Int32Array(n);
  let values: Float64Array[] = [];
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    const v = statistics(idx);
    if (b === 0) values = v.map(() => new Float64Array(resamples));
    v.forEach((x, k) => (values[k]![b] = x));
  }
  return values.map((vs) => {
    vs.sort();
    const at = (q: number): number => vs[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
    return { low: at(0.025), high: at(0.975) };
  });
}
