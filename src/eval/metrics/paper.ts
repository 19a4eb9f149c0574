/**
 * The paper's per-sample generation metrics on already segmented tokens (BRIEF §7.1), each written to
 * reproduce one Python reference exactly (per sample within 1e-9; in practice bit-identical):
 *   - BLEU-1..4: NLTK 3.8 `sentence_bleu([ref], hyp, weights, SmoothingFunction().method3)`, weights
 *     (1,0,0,0) (0.5,0.5,0,0) (0.33,0.33,0.33,0) (0.25,0.25,0.25,0.25) (the third does not sum to 1;
 *     kept as the paper used it);
 *   - GLEU: NLTK 3.8 `sentence_gleu([ref], hyp)` (n = 1..4);
 *   - ROUGE-1/2/L F: pltrdy `rouge` 1.0.1 `Rouge().get_scores(" ".join(hyp), " ".join(ref))`;
 *   - Distinct-1/2 of the hypothesis alone.
 * Scores are fractions in [0, 1]; the report multiplies by 100. Segmentation lives in jieba/, corpus
 * statistics in standard.ts; this file never reads files.
 */
import { fsum, pySplit } from "./pyfloat.js";

export interface PaperScores {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  gleu: number;
  rouge1: number;
  rouge2: number;
  rougeL: number;
  distinct1: number;
  distinct2: number;
}

export const PAPER_METRICS = ["rouge1", "rouge2", "rougeL", "bleu1", "bleu2", "bleu3", "bleu4", "gleu", "distinct1", "distinct2"] as const;
export type PaperMetric = (typeof PAPER_METRICS)[number];

export const BLEU_WEIGHTS: Readonly<Record<"bleu1" | "bleu2" | "bleu3" | "bleu4", readonly number[]>> = {
  bleu1: [1, 0, 0, 0],
  bleu2: [0.5, 0.5, 0, 0],
  bleu3: [0.33, 0.33, 0.33, 0],
  bleu4: [0.25, 0.25, 0.25, 0.25],
};

export interface PaperSample {
  scores: PaperScores;
  /** Set when pltrdy's rouge would raise for this pair (its message); ROUGE is then scored 0. */
  rougeUndefined: string | null;
}

// ---------- token interning and n-gram keys ----------

/** Maps tokens of both sides to small integers so n-grams can be numeric map keys. */
function intern(a: readonly string[], b: readonly string[]): { a: Int32Array; b: Int32Array; size: number } {
  const ids = new Map<string, number>();
  const conv = (xs: readonly string[]): Int32Array => {
    const out = new Int32Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const t = xs[i]!;
      let id = ids.get(t);
      if (id === undefined) {
        id = ids.size;
        ids.set(t, id);
      }
      out[i] = id;
    }
    return out;
  };
  const ia = conv(a);
  const ib = conv(b);
  return { a: ia, b: ib, size: ids.size };
}

const KEY_BITS = 8192; // 13 bits per id: a 4-gram fits in 52 bits, exact in a double

type Key = number | string;
function ngramKeyFn(vocab: number): (s: Int32Array, i: number, n: number) => Key {
  if (vocab < KEY_BITS) {
    return (s, i, n) => {
      let k = 0;
      for (let j = 0; j < n; j++) k = k * KEY_BITS + s[i + j]!;
      return k;
    };
  }
  return (s, i, n) => {
    let k = "";
    for (let j = 0; j < n; j++) k += s[i + j]! + ",";
    return k;
  };
}

function countNgrams(s: Int32Array, n: number, key: (s: Int32Array, i: number, n: number) => Key): Map<Key, number> {
  const m = new Map<Key, number>();
  for (let i = 0; i + n <= s.length; i++) {
    const k = key(s, i, n);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Clipped matches of hypothesis n-grams against one reference, n = 1..4 (NLTK's numerators). */
function clippedMatches(h: Int32Array, r: Int32Array, vocab: number): number[] {
  const key = ngramKeyFn(vocab);
  const out: number[] = [];
  for (let n = 1; n <= 4; n++) {
    if (h.length < n || r.length < n) {
      out.push(0);
      continue;
    }
    const hc = countNgrams(h, n, key);
    const rc = countNgrams(r, n, key);
    let m = 0;
    for (const [k, c] of hc) {
      const rr = rc.get(k);
      if (rr !== undefined) m += c < rr ? c : rr;
    }
    out.push(m);
  }
  return out;
}

// ---------- NLTK 3.8 BLEU with method3, and GLEU ----------

/**
 * nltk.translate.bleu_score.sentence_bleu for one reference and smoothing method3, from the clipped
 * matches. Precisions stay unnormalised fractions num/den as in NLTK (method3 uses den);
 * log(Fraction) in Python is log(num/den) with a correctly rounded division, as here.
 */
export function nltkBleu(matches: readonly number[], hypLen: number, refLen: number, weights: readonly number[]): number {
  if (matches[0] === 0) return 0;
  // brevity_penalty(closest_ref_len, hyp_len)
  let bp: number;
  if (hypLen > refLen) bp = 1;
  else if (hypLen === 0) bp = 0;
  else bp = Math.exp(1 - refLen / hypLen);
  const p: number[] = [];
  let incvnt = 1;
  for (let i = 0; i < 4; i++) {
    const den = Math.max(1, hypLen - i);
    const num = matches[i]!;
    if (num === 0) {
      p.push(1 / (2 ** incvnt * den));
      incvnt += 1;
    } else {
      p.push(num / den);
    }
  }
  const terms: number[] = [];
  for (let i = 0; i < weights.length && i < p.length; i++) {
    if (p[i]! > 0) terms.push(weights[i]! * Math.log(p[i]!));
  }
  return bp * Math.exp(fsum(terms));
}

/** nltk.translate.gleu_score.sentence_gleu([ref], hyp) with n = 1..4. */
export function nltkGleu(matches: readonly number[], hypLen: number, refLen: number): number {
  let tpfp = 0;
  let tpfn = 0;
  let tp = 0;
  for (let n = 1; n <= 4; n++) {
    tpfp += Math.max(0, hypLen - n + 1);
    tpfn += Math.max(0, refLen - n + 1);
    tp += matches[n - 1]!;
  }
  const all = Math.max(tpfp, tpfn);
  return all > 0 ? tp / all : 0;
}

// ---------- pltrdy rouge 1.0.1 ----------

/** pltrdy's sentence split: pieces of text.split(".") that are non-empty, whitespace-normalised. */
export function rougeSentences(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(".")) {
    if (piece.length > 0) out.push(pySplit(piece).join(" "));
  }
  return out;
}

function f1(p: number, r: number): number {
  return 2.0 * ((p * r) / (p + r + 1e-8));
}

function distinctCount(s: Int32Array, n: number, key: (s: Int32Array, i: number, n: number) => Key): number {
  const set = new Set<Key>();
  for (let i = 0; i + n <= s.length; i++) set.add(key(s, i, n));
  return set.size;
}

/**
 * pltrdy `Rouge().get_scores(hyp, ref)[0]` F-scores (rouge-1, rouge-2, rouge-l) with its defaults
 * (exclusive=True: n-grams and LCS words are counted as sets). Returns null with the package's
 * error message when it would raise (no sentence on one side).
 */
export function pltrdyRouge(hypText: string, refText: string): { rouge1: number; rouge2: number; rougeL: number } | { error: string } {
  const hs = rougeSentences(hypText);
  const rs = rougeSentences(refText);
  if (hs.length === 0) return { error: "Hypothesis is empty." };
  if (rs.length === 0) return { error: "Reference is empty." };
  const hSent = hs.map((s) => s.split(" "));
  const rSent = rs.map((s) => s.split(" "));
  const hw = hSent.flat();
  const rw = rSent.flat();
  const { a: h, b: r, size } = intern(hw, rw);
  const key = ngramKeyFn(size);
  const res = { rouge1: 0, rouge2: 0, rougeL: 0 };
  for (const n of [1, 2] as const) {
    const hSet = new Set<Key>();
    for (let i = 0; i + n <= h.length; i++) hSet.add(key(h, i, n));
    const rSet = new Set<Key>();
    for (let i = 0; i + n <= r.length; i++) rSet.add(key(r, i, n));
    let overlap = 0;
    for (const k of hSet) if (rSet.has(k)) overlap++;
    const p = hSet.size === 0 ? 0.0 : overlap / hSet.size;
    const rc = rSet.size === 0 ? 0.0 : overlap / rSet.size;
    res[n === 1 ? "rouge1" : "rouge2"] = f1(p, rc);
  }
  // ROUGE-L summary level: union of the words of one reconstructed LCS per (ref sentence, hyp sentence).
  const m = distinctCount(r, 1, key);
  const nn = distinctCount(h, 1, key);
  const sentIds = (sents: string[][], ids: Int32Array): Int32Array[] => {
    const out: Int32Array[] = [];
    let off = 0;
    for (const s of sents) {
      out.push(ids.subarray(off, off + s.length));
      off += s.length;
    }
    return out;
  };
  const hIds = sentIds(hSent, h);
  const rIds = sentIds(rSent, r);
  const union = new Set<number>();
  for (const x of rIds) for (const y of hIds) lcsWords(x, y, union);
  const llcs = union.size;
  const rl = llcs / m;
  const pl = llcs / nn;
  res.rougeL = f1(pl, rl);
  return res;
}

let lcsTable = new Int32Array(0);

/** Adds to `into` the words of the LCS of x (rows) and y reconstructed the way pltrdy's _recon_lcs does. */
function lcsWords(x: Int32Array, y: Int32Array, into: Set<number>): void {
  const n = x.length;
  const m = y.length;
  const w = m + 1;
  const size = (n + 1) * w;
  if (lcsTable.length < size) lcsTable = new Int32Array(Math.max(size, lcsTable.length * 2));
  const t = lcsTable;
  for (let j = 0; j <= m; j++) t[j] = 0;
  for (let i = 1; i <= n; i++) {
    const row = i * w;
    const prev = row - w;
    t[row] = 0;
    const xi = x[i - 1];
    for (let j = 1; j <= m; j++) {
      if (xi === y[j - 1]) t[row + j] = t[prev + j - 1]! + 1;
      else {
        const up = t[prev + j]!;
        const left = t[row + j - 1]!;
        t[row + j] = up > left ? up : left;
      }
    }
  }
  let i = n;
  let j = m;
  while (i > 0 && j > 0) {
    if (x[i - 1] === y[j - 1]) {
      into.add(x[i - 1]!);
      i--;
      j--;
    } else if (t[(i - 1) * w + j]! > t[i * w + j - 1]!) i--;
    else j--;
  }
}

// ---------- Distinct ----------

/** Distinct-n of one response: distinct n-grams / total n-grams; 0 when it has no n-gram. */
export function distinctN(tokens: readonly string[], n: number): number {
  const total = tokens.length - n + 1;
  if (total <= 0) return 0;
  const { a, size } = intern(tokens, []);
  return distinctCount(a, n, ngramKeyFn(size)) / total;
}

// ---------- all paper metrics for one pair ----------

/** Every paper metric for one (hypothesis, reference) pair of token lists. */
export function scorePaperTokens(hyp: readonly string[], ref: readonly string[]): PaperSample {
  const { a: h, b: r, size } = intern(hyp, ref);
  const matches = clippedMatches(h, r, size);
  const rouge = pltrdyRouge(hyp.join(" "), ref.join(" "));
  const rougeUndefined = "error" in rouge ? rouge.error : null;
  const key = ngramKeyFn(size);
  const scores: PaperScores = {
    bleu1: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu1),
    bleu2: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu2),
    bleu3: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu3),
    bleu4: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu4),
    gleu: nltkGleu(matches, hyp.length, ref.length),
    rouge1: "error" in rouge ? 0 : rouge.rouge1,
    rouge2: "error" in rouge ? 0 : rouge.rouge2,
    rougeL: "error" in rouge ? 0 : rouge.rougeL,
    distinct1: h.length >= 1 ? distinctCount(h, 1, key) / h.length : 0,
    distinct2: h.length >= 2 ? distinctCount(h, 2, key) / (h.length - 1) : 0,
  };
  return { scores, rougeUndefined };
}
