/**
 * Train/test splitting without near-duplicate leakage, and the check that proves it.
 *
 * Grouping: records are linked when (a) their final user prompts are identical after removing
 * whitespace and punctuation, or (b) MinHash over character n-grams (K = 128, LSH 32 bands × 4 rows)
 * estimates their Jaccard similarity at ≥ `groupThreshold`. Linked records form groups (union-find);
 * a whole group goes to test when a seeded hash of its smallest record id falls under
 * `testFraction`, so the split is deterministic and independent of input order.
 *
 * Check: every (test, train) pair is compared on exact n-gram Jaccard (sorted hashed shingle
 * sets, with a size-ratio bound to skip hopeless pairs) — exhaustively up to `exhaustiveLimit`
 * pairs, otherwise through an LSH prefilter (64 bands × 2 rows, which catches pairs at Jaccard 0.4 with
 * probability > 0.9999) — and identical prompts are looked up exactly. Any violation found is
 * repaired by moving the test record's group to train, and the check is run again; the build
 * reports what it repaired and fails if the final check is not clean.
 */
import { createHash } from "node:crypto";
import { fmix32 } from "../clean/hash.js";
import { bandKeys, compactForHash } from "../clean/dedup.js";
import { estimateJaccard, minhashSignature } from "../clean/minhash.js";

export interface SplitItem {
  id: string;
  /** All text of the record (used for similarity). */
  text: string;
  /** Final user prompt (identical prompts are always kept on one side). */
  prompt: string;
}

export interface SplitOptions {
  testFraction: number;
  seed: number;
  /** Jaccard similarity at which two records are kept on the same side. Defaults to 0.5. */
  leakThreshold?: number;
  ngram?: number;
  /** Pair count up to which the check compares every pair. Defaults to 5e7. */
  exhaustiveLimit?: number;
}

export type Side = "train" | "test";

export interface LeakPair {
  test: string;
  train: string;
  similarity: number;
  kind: "same-prompt" | "near-duplicate";
}

export interface SplitReport {
  groups: number;
  largestGroup: number;
  linkedRecords: number;
  train: number;
  test: number;
  check: { method: "exhaustive" | "lsh"; pairsCompared: number; violations: number };
  repaired: number;
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n).map((_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]!]!;
      x = this.parent[x]!;
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Sorted unique 32-bit hashes of the n-grams (same skipping rule as MinHash). */
export function shingleHashes(text: string, ngram = 5): Uint32Array {
  const kept: number[] = [];
  const compact = text.replace(/[\s\p{P}\p{S}]+/gu, "");
  for (let i = 0; i < compact.length; i++) kept.push(compact.charCodeAt(i));
  const hs: number[] = [];
  if (kept.length > 0 && kept.length < ngram) {
    let h = 0x811c9dc5;
    for (const c of kept) h = Math.imul(h ^ c, 0x01000193);
    hs.push(fmix32(h));
  }
  for (let i = 0; i + ngram <= kept.length; i++) {
    let h = 0x811c9dc5;
    for (let j = 0; j < ngram; j++) h = Math.imul(h ^ kept[i + j]!, 0x01000193);
    hs.push(fmix32(h));
  }
  const arr = Uint32Array.from(hs).sort();
  let w = 0;
  for (let i = 0; i < arr.length; i++) if (i === 0 || arr[i] !== arr[i - 1]) arr[w++] = arr[i]!;
  return arr.slice(0, w);
}

export function sortedJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}

function sideOf(groupKey: string, seed: number, testFraction: number): Side {
  const h = createHash("sha256").update(`${seed}\u0001${groupKey}`).digest();
  return h.readUInt32BE(0) / 0x100000000 < testFraction ? "test" : "train";
}

/** Find (test, train) pairs at or above the threshold, or with identical prompts. */
export function checkLeakage(items: SplitItem[], sides: Side[], o: { leakThreshold?: number; ngram?: number; exhaustiveLimit?: number } = {}): { method: "exhaustive" | "lsh"; pairsCompared: number; leaks: LeakPair[] } {
  const thr = o.leakThreshold ?? 0.5;
  const ngram = o.ngram ?? 5;
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  sides.forEach((s, i) => (s === "test" ? testIdx : trainIdx).push(i));
  const leaks: LeakPair[] = [];
  const promptOwner = new Map<string, number>();
  for (const i of trainIdx) promptOwner.set(compactForHash(items[i]!.prompt), i);
  const leakedTest = new Set<number>();
  for (const i of testIdx) {
    const t = promptOwner.get(compactForHash(items[i]!.prompt));
    if (t !== undefined) {
      leaks.push({ test: items[i]!.id, train: items[t]!.id, similarity: 1, kind: "same-prompt" });
      leakedTest.add(i);
    }
  }
  const sh = new Map<number, Uint32Array>();
  const shingles = (i: number) => {
    let s = sh.get(i);
    if (!s) sh.set(i, (s = shingleHashes(items[i]!.text, ngram)));
    return s;
  };
  const total = trainIdx.length * testIdx.length;
  const exhaustive = total <= (o.exhaustiveLimit ?? 5e7);
  let compared = 0;
  const compare = (ti: number, ri: number) => {
    const a = shingles(ti);
    const b = shingles(ri);
    const lo = Math.min(a.length, b.length);
    const hi = Math.max(a.length, b.length);
    if (hi > 0 && lo / hi < thr) return; // Jaccard ≤ |small| / |large|
    compared++;
    const s = sortedJaccard(a, b);
    if (s >= thr) leaks.push({ test: items[ti]!.id, train: items[ri]!.id, similarity: s, kind: "near-duplicate" });
  };
  if (exhaustive) {
    for (const ti of testIdx) {
      if (leakedTest.has(ti)) continue;
      const before = leaks.length;
      for (const ri of trainIdx) {
        compare(ti, ri);
        if (leaks.length > before) break;
      }
    }
    return { method: "exhaustive", pairsCompared: compared, leaks };
  }
  const p = { numPerm: 128, ngram, seed: 0x1eaf };
  const bands = 64;
  const buckets = new Map<string, number[]>();
  const keys = new Uint32Array(bands * 2);
  for (const ri of trainIdx) {
    bandKeys(minhashSignature(items[ri]!.text, p), bands, keys);
    for (let b = 0; b < bands; b++) {
      const k = `${keys[2 * b]}:${keys[2 * b + 1]}`;
      const arr = buckets.get(k);
      if (arr) arr.push(ri);
      else buckets.set(k, [ri]);
    }
  }
  for (const ti of testIdx) {
    if (leakedTest.has(ti)) continue;
    bandKeys(minhashSignature(items[ti]!.text, p), bands, keys);
    const cand = new Set<number>();
    for (let b = 0; b < bands; b++) for (const ri of buckets.get(`${keys[2 * b]}:${keys[2 * b + 1]}`) ?? []) cand.add(ri);
    const before = leaks.length;
    for (const ri of cand) {
      compare(ti, ri);
      if (leaks.length > before) break;
    }
  }
  return { method: "lsh", pairsCompared: compared, leaks };
}

/** Assign each item to train or test with near-duplicate groups kept together, then verify. */
export function splitWithoutLeakage(items: SplitItem[], o: SplitOptions): { sides: Side[]; report: SplitReport; leaks: LeakPair[] } {
  const thr = o.leakThreshold ?? 0.5;
  const ngram = o.ngram ?? 5;
  const n = items.length;
  const uf = new UnionFind(n);
  const byPrompt = new Map<string, number>();
  items.forEach((it, i) => {
    const k = compactForHash(it.prompt);
    const j = byPrompt.get(k);
    if (j === undefined) byPrompt.set(k, i);
    else uf.union(i, j);
  });
  // LSH grouping (32 × 4): pairs at J = 0.5 collide with probability 0.87, at 0.6 with 0.99; the
  // verification threshold sits 0.1 below the check's so estimation noise errs towards grouping.
  const p = { numPerm: 128, ngram, seed: 0x5b1d };
  const bands = 32;
  const sigs = items.map((it) => minhashSignature(it.text, p));
  const keys = new Uint32Array(bands * 2);
  const buckets = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    bandKeys(sigs[i]!, bands, keys);
    for (let b = 0; b < bands; b++) {
      const k = `${b}:${keys[2 * b]}:${keys[2 * b + 1]}`;
      const arr = buckets.get(k);
      if (!arr) {
        buckets.set(k, [i]);
        continue;
      }
      // Compare with a bounded number of bucket members (the bucket's members are already linked
      // among themselves when similar; 64 keeps pathological buckets from going quadratic).
      for (const j of arr.slice(0, 64)) if (uf.find(i) !== uf.find(j) && estimateJaccard(sigs[i]!, sigs[j]!) >= thr - 0.1) uf.union(i, j);
      arr.push(i);
    }
  }
  const groupKey = new Map<number, string>();
  const groupSize = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    const k = groupKey.get(r);
    if (k === undefined || items[i]!.id < k) groupKey.set(r, items[i]!.id);
    groupSize.set(r, (groupSize.get(r) ?? 0) + 1);
  }
  const sides: Side[] = items.map((_, i) => sideOf(groupKey.get(uf.find(i))!, o.seed, o.testFraction));
  // Verify, repair, verify again.
  let repaired = 0;
  let check = checkLeakage(items, sides, { leakThreshold: thr, ngram, ...(o.exhaustiveLimit !== undefined ? { exhaustiveLimit: o.exhaustiveLimit } : {}) });
  for (let round = 0; check.leaks.length > 0 && round < 5; round++) {
    const idIndex = new Map(items.map((it, i) => [it.id, i]));
    for (const leak of check.leaks) {
      const ti = idIndex.get(leak.test)!;
      const root = uf.find(ti);
      for (let i = 0; i < n; i++) {
        if (sides[i] === "test" && uf.find(i) === root) {
          sides[i] = "train";
          repaired++;
        }
      }
    }
    check = checkLeakage(items, sides, { leakThreshold: thr, ngram, ...(o.exhaustiveLimit !== undefined ? { exhaustiveLimit: o.exhaustiveLimit } : {}) });
  }
  let linked = 0;
  let largest = 0;
  for (const s of groupSize.values()) {
    if (s > 1) linked += s;
    if (s > largest) largest = s;
  }
  const test = sides.filter((s) => s === "test").length;
  return {
    sides,
    leaks: check.leaks,
    report: { groups: groupSize.size, largestGroup: largest, linkedRecords: linked, train: n - test, test, check: { method: check.method, pairsCompared: check.pairsCompared, violations: check.leaks.length }, repaired },
  };
}
