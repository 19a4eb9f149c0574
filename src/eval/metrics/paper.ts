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
import { fsum, pySplit, PY_WHITESPACE_CLASS } from "./pyfloat.js";

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
function intern(a: readonly string[], b: readonly string[]): { a: Ids; b: Ids; size: number } {
  const ids = new Map<string, number>();
  const conv = (xs: readonly string[]): Ids => {
    const out: Ids = [];
    for (let i = 0; i < xs.length; i++) {
      const t = xs[i]!;
      let id = ids.get(t);
      if (id === undefined) {
        id = ids.size;
        ids.set(t, id);
      }
      out.push(id);
    }
    return out;
  };
  const ia = conv(a);
  const ib = conv(b);
  return { a: ia, b: ib, size: ids.size };
}

const KEY_BITS = 8192; // 13 bits per id: a 4-gram fits in 52 bits, exact in a double

type Key = number | string;
/** Token or n-gram ids (plain arrays: V8 allocates these far faster than small typed arrays). */
type Ids = number[];
const EMPTY: Ids = [];
function ngramKeyFn(vocab: number): (s: Ids, i: number, n: number) => Key {
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

function countNgrams(s: Ids, n: number, key: (s: Ids, i: number, n: number) => Key): Map<Key, number> {
  const m = new Map<Key, number>();
  for (let i = 0; i + n <= s.length; i++) {
    const k = key(s, i, n);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Clipped matches of hypothesis n-grams against one reference, n = 1..4 (NLTK's numerators). */
function clippedMatches(h: Ids, r: Ids, vocab: number): number[] {
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

/**
 * The words of each pltrdy sentence: sentence.split(" ") where sentence = " ".join(piece.split()),
 * i.e. the whitespace-split piece, or [""] for a whitespace-only piece.
 */
function rougeWords(text: string): string[][] {
  const out: string[][] = [];
  for (const piece of text.split(".")) {
    if (piece.length === 0) continue;
    const w = pySplit(piece);
    out.push(w.length > 0 ? w : [""]);
  }
  return out;
}

function concat(xs: string[][]): string[] {
  const out: string[] = [];
  for (const x of xs) for (const w of x) out.push(w);
  return out;
}

function f1(p: number, r: number): number {
  return 2.0 * ((p * r) / (p + r + 1e-8));
}

function distinctCount(s: Ids, n: number, key: (s: Ids, i: number, n: number) => Key): number {
  const set = new Set<Key>();
  for (let i = 0; i + n <= s.length; i++) set.add(key(s, i, n));
  return set.size;
}

/**
 * pltrdy `Rouge().get_scores(hyp, ref)[0]` F-scores (rouge-1, rouge-2, rouge-l) with its defaults
 * (exclusive=True: n-grams and LCS words are counted as sets). Returns {error} with the package's
 * error message when it would raise (no sentence on one side).
 */
export function pltrdyRouge(hypText: string, refText: string): { rouge1: number; rouge2: number; rougeL: number } | { error: string } {
  const hSent = rougeWords(hypText);
  const rSent = rougeWords(refText);
  if (hSent.length === 0) return { error: "Hypothesis is empty." };
  if (rSent.length === 0) return { error: "Reference is empty." };
  const { a: h, b: r, size } = intern(concat(hSent), concat(rSent));
  const g = ngramIds(h, r, size, 2);
  const s1 = setStats(g.h[0]!, g.r[0]!, g.size[0]!);
  const s2 = setStats(g.h[1]!, g.r[1]!, g.size[1]!);
  const sentIds = (sents: string[][], ids: Ids): Ids[] => {
    const out: Ids[] = [];
    let off = 0;
    for (const s of sents) {
      out.push(ids.slice(off, off + s.length));
      off += s.length;
    }
    return out;
  };
  // ROUGE-L summary level: union of the words of one reconstructed LCS per (ref sentence, hyp sentence).
  const hIds = sentIds(hSent, h);
  const rIds = sentIds(rSent, r);
  const union = new Set<number>();
  for (const x of rIds) for (const y of hIds) lcsWords(x, y, union, size);
  return rougeFromStats(s1, s2, union.size);
}

type SetStats = { h: number; r: number; both: number };

/** pltrdy's F formulas from set sizes: ROUGE-N from n-gram sets, ROUGE-L from the LCS union size. */
function rougeFromStats(s1: SetStats, s2: SetStats, llcs: number): { rouge1: number; rouge2: number; rougeL: number } {
  const fr = (s: SetStats): number => f1(s.h === 0 ? 0.0 : s.both / s.h, s.r === 0 ? 0.0 : s.both / s.r);
  const rl = llcs / s1.r; // m = distinct reference words
  const pl = llcs / s1.h; // n = distinct hypothesis words
  return { rouge1: fr(s1), rouge2: fr(s2), rougeL: f1(pl, rl) };
}

// Bit-parallel LCS (Allison-Dix / Hyyro): row i of the DP table is kept as a bit vector over the
// columns whose bit j is 0 where T(i, j+1) - T(i, j) = 1, so a row costs ceil(m/32) word operations
// instead of m cells. All rows are kept so the LCS can be walked back exactly like pltrdy's
// _recon_lcs (match: diagonal; else up when T(i-1,j) > T(i,j-1); else left).
let bpRows = new Int32Array(0);
let bpMask = new Int32Array(0);
let bpStamp = new Int32Array(0);
let bpCall = 0;

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** T(r, j) from the stored bit rows: zero bits among the first j columns of row r. */
function lcsPrefix(r: number, j: number, W: number): number {
  const rows = bpRows;
  const base = r * W;
  let ones = 0;
  const full = j >>> 5;
  for (let k = 0; k < full; k++) ones += popcount32(rows[base + k]!);
  const rest = j & 31;
  if (rest) ones += popcount32(rows[base + full]! & ((1 << rest) - 1));
  return j - ones;
}

/**
 * Adds to `into` the words of the LCS of x (rows, the reference sentence) and y (the hypothesis
 * sentence), reconstructed the way pltrdy's _recon_lcs does. Ids must be < vocab.
 */
function lcsWords(x: Ids, y: Ids, into: Set<number>, vocab: number): void {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return;
  const W = (m + 31) >>> 5;
  if (bpStamp.length < vocab) {
    bpStamp = new Int32Array(Math.max(vocab, bpStamp.length * 2));
    bpCall = 0;
  }
  if (bpMask.length < vocab * W) bpMask = new Int32Array(Math.max(vocab * W, bpMask.length * 2));
  if (bpRows.length < (n + 1) * W) bpRows = new Int32Array(Math.max((n + 1) * W, bpRows.length * 2));
  const call = ++bpCall;
  const stamp = bpStamp;
  const mask = bpMask;
  const rows = bpRows;
  // match masks of the symbols of y
  for (let j = 0; j < m; j++) {
    const c = y[j]!;
    if (stamp[c] !== call) {
      stamp[c] = call;
      mask.fill(0, c * W, c * W + W);
    }
    mask[c * W + (j >>> 5)] |= 1 << (j & 31);
  }
  rows.fill(-1, 0, W);
  for (let i = 1; i <= n; i++) {
    const prev = (i - 1) * W;
    const row = i * W;
    const c = x[i - 1]!;
    if (stamp[c] !== call) {
      rows.copyWithin(row, prev, prev + W);
      continue;
    }
    const mb = c * W;
    let carry = 0;
    for (let k = 0; k < W; k++) {
      const v = rows[prev + k]! >>> 0;
      const u = (v & mask[mb + k]!) >>> 0;
      const sum = v + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      rows[row + k] = sum | (v & ~u);
    }
  }
  // walk back; t = T(i, j), tu = T(i-1, j)
  let i = n;
  let j = m;
  let t = lcsPrefix(i, j, W);
  let tu = lcsPrefix(i - 1, j, W);
  while (i > 0 && j > 0) {
    if (x[i - 1] === y[j - 1]) {
      into.add(x[i - 1]!);
      i--;
      j--;
      t -= 1;
      if (i > 0) tu = lcsPrefix(i - 1, j, W);
    } else {
      const p = j - 1;
      const dCur = (rows[i * W + (p >>> 5)]! >>> (p & 31)) & 1 ? 0 : 1; // T(i,j) - T(i,j-1)
      const left = t - dCur;
      if (tu > left) {
        i--;
        t = tu;
        if (i > 0) tu = lcsPrefix(i - 1, j, W);
      } else {
        const dUp = (rows[(i - 1) * W + (p >>> 5)]! >>> (p & 31)) & 1 ? 0 : 1;
        j--;
        t = left;
        tu -= dUp;
      }
    }
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

// ---------- all paper metrics for one pair (fast path) ----------

/**
 * Dense ids for the n-grams (n = 1..4) of hyp and ref: order n+1 ids come from (order-n id, next
 * token) pairs, so every count below is an array lookup instead of a map of tuples.
 */
interface NgramIds {
  h: Ids[]; // [n-1] -> ids of hyp n-grams
  r: Ids[];
  size: number[]; // number of distinct ids per order
}

/** Open-addressing map (a, b) -> dense id, cleared in O(1) by bumping a stamp; reused across calls. */
class PairIdTable {
  private keyA = new Int32Array(0);
  private keyB = new Int32Array(0);
  private val = new Int32Array(0);
  private stamp = new Int32Array(0);
  private cur = 0;
  private mask = 0;
  count = 0;

  reset(expected: number): void {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    if (cap > this.stamp.length) {
      this.keyA = new Int32Array(cap);
      this.keyB = new Int32Array(cap);
      this.val = new Int32Array(cap);
      this.stamp = new Int32Array(cap);
      this.cur = 0;
    } else cap = this.stamp.length;
    this.mask = cap - 1;
    this.cur++;
    this.count = 0;
  }

  id(a: number, b: number): number {
    const mask = this.mask;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
    h = (h ^ (h >>> 15)) & mask;
    const stamp = this.stamp;
    const cur = this.cur;
    while (stamp[h] === cur) {
      if (this.keyA[h] === a && this.keyB[h] === b) return this.val[h]!;
      h = (h + 1) & mask;
    }
    stamp[h] = cur;
    this.keyA[h] = a;
    this.keyB[h] = b;
    this.val[h] = this.count;
    return this.count++;
  }
}

const pairIds = new PairIdTable();

function ngramIds(h1: Ids, r1: Ids, vocab: number, maxN = 4): NgramIds {
  const h: Ids[] = [h1];
  const r: Ids[] = [r1];
  const size = [vocab];
  for (let n = 2; n <= maxN; n++) {
    const ph = h[n - 2]!;
    const pr = r[n - 2]!;
    const table = pairIds;
    table.reset(h1.length + r1.length);
    const conv = (prev: Ids, base: Ids): Ids => {
      const len = Math.max(0, base.length - n + 1);
      const out: number[] = [];
      for (let i = 0; i < len; i++) out.push(table.id(prev[i]!, base[i + n - 1]!));
      return out;
    };
    h.push(conv(ph, h1));
    r.push(conv(pr, r1));
    size.push(table.count);
  }
  return { h, r, size };
}

let scratchA = new Int32Array(1024);
let scratchB = new Int32Array(1024);
function scratch(n: number): [Int32Array, Int32Array] {
  if (scratchA.length < n) {
    scratchA = new Int32Array(n * 2);
    scratchB = new Int32Array(n * 2);
  }
  scratchA.fill(0, 0, n);
  scratchB.fill(0, 0, n);
  return [scratchA, scratchB];
}

/** Clipped matches sum(min(hyp count, ref count)) of one order. */
function clipped(h: Ids, r: Ids, size: number): number {
  const [cnt] = scratch(size);
  for (let i = 0; i < r.length; i++) cnt[r[i]!]!++;
  let m = 0;
  for (let i = 0; i < h.length; i++) {
    const id = h[i]!;
    if (cnt[id]! > 0) {
      cnt[id]!--;
      m++;
    }
  }
  return m;
}

/** Distinct counts of hyp and ref and the size of their overlap, as sets (pltrdy exclusive=True). */
function setStats(h: Ids, r: Ids, size: number): { h: number; r: number; both: number } {
  const [inH, inR] = scratch(size);
  let dh = 0;
  let dr = 0;
  let both = 0;
  for (let i = 0; i < h.length; i++) if (inH[h[i]!] === 0) (inH[h[i]!] = 1), dh++;
  for (let i = 0; i < r.length; i++) {
    const id = r[i]!;
    if (inR[id] === 0) {
      inR[id] = 1;
      dr++;
      if (inH[id] === 1) both++;
    }
  }
  return { h: dh, r: dr, both };
}

const SPLITS_ROUGE = new RegExp(`^$|[.${PY_WHITESPACE_CLASS}]`);

/** Every paper metric for one (hypothesis, reference) pair of token lists. */
export function scorePaperTokens(hyp: readonly string[], ref: readonly string[]): PaperSample {
  const { a: h1, b: r1, size } = intern(hyp, ref);
  const g = ngramIds(h1, r1, size);
  const matches = [1, 2, 3, 4].map((n) => clipped(g.h[n - 1]!, g.r[n - 1]!, g.size[n - 1]!));
  let rouge: { rouge1: number; rouge2: number; rougeL: number } | { error: string };
  // pltrdy works on " ".join(tokens) re-split on "." and whitespace. When no token holds "." or
  // whitespace (the usual case), its words are exactly the tokens in one sentence: reuse the ids.
  if (hyp.length > 0 && ref.length > 0 && !hyp.some((t) => SPLITS_ROUGE.test(t)) && !ref.some((t) => SPLITS_ROUGE.test(t))) {
    const union = new Set<number>();
    lcsWords(r1, h1, union, size);
    rouge = rougeFromStats(setStats(g.h[0]!, g.r[0]!, g.size[0]!), setStats(g.h[1]!, g.r[1]!, g.size[1]!), union.size);
  } else {
    rouge = pltrdyRouge(hyp.join(" "), ref.join(" "));
  }
  const rougeUndefined = "error" in rouge ? rouge.error : null;
  const d1 = h1.length >= 1 ? setStats(g.h[0]!, EMPTY, g.size[0]!).h / h1.length : 0;
  const d2 = h1.length >= 2 ? setStats(g.h[1]!, EMPTY, g.size[1]!).h / (h1.length - 1) : 0;
  const scores: PaperScores = {
    bleu1: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu1),
    bleu2: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu2),
    bleu3: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu3),
    bleu4: nltkBleu(matches, hyp.length, ref.length, BLEU_WEIGHTS.bleu4),
    gleu: nltkGleu(matches, hyp.length, ref.length),
    rouge1: "error" in rouge ? 0 : rouge.rouge1,
    rouge2: "error" in rouge ? 0 : rouge.rouge2,
    rougeL: "error" in rouge ? 0 : rouge.rougeL,
    distinct1: d1,
    distinct2: d2,
  };
  return { scores, rougeUndefined };
}

/** The straightforward version of scorePaperTokens (maps of n-gram keys, always the generic ROUGE path), kept as the reference the fast path is tested against. */
export function scorePaperTokensReference(hyp: readonly string[], ref: readonly string[]): PaperSample {
  const { a: h, b: r, size } = intern(hyp, ref);
  const matches = clippedMatches(h, r, size);
  const rouge = pltrdyRougeReference(hyp.join(" "), ref.join(" "));
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

/** pltrdy rouge written the obvious way (string n-gram sets, string LCS), as the fast path's reference. */
export function pltrdyRougeReference(hypText: string, refText: string): { rouge1: number; rouge2: number; rougeL: number } | { error: string } {
  const hs = rougeSentences(hypText);
  const rs = rougeSentences(refText);
  if (hs.length === 0) return { error: "Hypothesis is empty." };
  if (rs.length === 0) return { error: "Reference is empty." };
  const hw = hs.flatMap((x) => x.split(" "));
  const rw = rs.flatMap((x) => x.split(" "));
  const grams = (w: string[], n: number): Set<string> => {
    const out = new Set<string>();
    for (let i = 0; i + n <= w.length; i++) out.add(JSON.stringify(w.slice(i, i + n)));
    return out;
  };
  const rn = (n: number): number => {
    const a = grams(hw, n);
    const b = grams(rw, n);
    const o = [...a].filter((x) => b.has(x)).length;
    return f1(a.size === 0 ? 0.0 : o / a.size, b.size === 0 ? 0.0 : o / b.size);
  };
  const union = new Set<string>();
  for (const r of rs) {
    const x = r.split(" ");
    for (const h of hs) {
      const y = h.split(" ");
      const t: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
      for (let i = 1; i <= x.length; i++) for (let j = 1; j <= y.length; j++) t[i]![j] = x[i - 1] === y[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
      let i = x.length;
      let j = y.length;
      while (i > 0 && j > 0) {
        if (x[i - 1] === y[j - 1]) {
          union.add(x[i - 1]!);
          i--;
          j--;
        } else if (t[i - 1]![j]! > t[i]![j - 1]!) i--;
        else j--;
      }
    }
  }
  const m = new Set(rw).size;
  const nn = new Set(hw).size;
  return { rouge1: rn(1), rouge2: rn(2), rougeL: f1(union.size / nn, union.size / m) };
}
