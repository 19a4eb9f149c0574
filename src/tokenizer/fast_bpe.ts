/**
 * A faster merge loop for the BPE model of @huggingface/tokenizers. The library looks up every candidate
 * pair by JSON-stringifying it and allocates a node per symbol, which makes long pre-tokenised words (a
 * whole Chinese clause is one word under the Qwen2 regex) slow. This replaces only the model's
 * `encode(words)` step with integer-keyed ranks and a typed-array heap, with the same semantics: lowest
 * merge rank first, leftmost on ties, `ignore_merges`, byte fallback and unk as the library does them.
 * One deliberate difference: a piece with no id and no unk token is an error here, not silently dropped.
 * Normalisation, pre-tokenisation, added tokens and post-processing stay the library's. Models with
 * dropout or subword prefixes/suffixes are left untouched. Parity with the library is tested.
 * Byte-level BPE files that bytelevel_bpe.ts can encode end to end do not use this; it serves the rest
 * (e.g. NFKC normalisers, byte fallback, lstrip/rstrip added tokens).
 */

import { TokenizerError } from "./errors.js";

interface LibBpeModel {
  config: {
    type?: string;
    dropout?: number | null;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    byte_fallback?: boolean;
    ignore_merges?: boolean;
  };
  tokens_to_ids: Map<string, number>;
  vocab: string[];
  merges?: Array<[string, string]>;
  unk_token?: string;
  end_of_word_suffix?: string;
  continuing_subword_suffix?: string | null;
  encode(tokens: string[]): string[];
}

const KEY = 2 ** 21;

/** Returns true when the fast path was installed. */
export function accelerateBpe(model: unknown): boolean {
  const m = model as LibBpeModel;
  const c = m.config;
  if (!c || c.type !== "BPE" || !Array.isArray(m.merges) || !(m.tokens_to_ids instanceof Map)) return false;
  if (c.dropout || c.continuing_subword_prefix || c.end_of_word_suffix || m.end_of_word_suffix || m.continuing_subword_suffix) return false;
  const ids = m.tokens_to_ids;
  if (ids.size >= KEY) return false;
  const rank = new Map<number, number>();
  const mergedId: number[] = [];
  for (let r = 0; r < m.merges.length; r++) {
    const [a, b] = m.merges[r]!;
    const ia = ids.get(a);
    const ib = ids.get(b);
    const iz = ids.get(a + b);
    // A merge whose parts or result are not in the vocabulary would behave differently here; keep the library.
    if (ia === undefined || ib === undefined || iz === undefined) return false;
    const k = ia * KEY + ib;
    rank.set(k, r); // on a duplicate merge the library keeps the last rank too
    mergedId[r] = iz;
  }
  const byteFallback = c.byte_fallback ?? false;
  const ignoreMerges = c.ignore_merges ?? false;
  const encoder = new TextEncoder();
  const cache = new Map<string, string[]>();
  const merger = new Merger(rank, mergedId);
  const bpe = (word: string): string[] => {
    const cached = cache.get(word);
    if (cached) return cached;
    const out = merger.run(word, ids);
    if (word.length < 256) {
      if (cache.size >= 100_000) cache.clear();
      cache.set(word, out);
    }
    return out;
  };
  // The library silently drops a piece it cannot map when the model has no unk token; we refuse instead.
  const unk = (t: string): string => {
    if (m.unk_token != null) return m.unk_token;
    throw new TokenizerError(`tokenizer.json: text piece ${JSON.stringify(t)} is not in the vocabulary and the model has no unk_token`);
  };
  m.encode = (tokens: string[]): string[] => {
    const output: string[] = [];
    for (const token of tokens) {
      if (ignoreMerges && ids.has(token)) {
        output.push(token);
        continue;
      }
      if (token.length === 0) continue;
      for (const t of bpe(token)) {
        if (ids.has(t)) output.push(t);
        else if (byteFallback) {
          const bytes = Array.from(encoder.encode(t), (x) => `<0x${x.toString(16).toUpperCase().padStart(2, "0")}>`);
          if (bytes.every((x) => ids.has(x))) output.push(...bytes);
          else output.push(unk(t));
        } else output.push(unk(t));
      }
    }
    return output;
  };
  return true;
}

/**
 * The merge loop for one word, with buffers reused across words (no per-word closures or allocations
 * beyond the output). Heap entries: (rank, left position, left symbol id, right symbol id) at push time;
 * an entry is stale when either symbol changed since.
 */
class Merger {
  private sym = new Int32Array(64);
  private next = new Int32Array(64);
  private prev = new Int32Array(64);
  private hr = new Int32Array(64);
  private hl = new Int32Array(64);
  private ha = new Int32Array(64);
  private hb = new Int32Array(64);
  private size = 0;

  constructor(
    private readonly rank: Map<number, number>,
    private readonly mergedId: number[],
  ) {}

  run(word: string, ids: Map<string, number>): string[] {
    const chars = Array.from(word);
    const n = chars.length;
    if (n < 2) return chars;
    if (this.sym.length < n) {
      this.sym = new Int32Array(2 * n);
      this.next = new Int32Array(2 * n);
      this.prev = new Int32Array(2 * n);
    }
    const { sym, next, prev } = this;
    for (let i = 0; i < n; i++) {
      sym[i] = ids.get(chars[i]!) ?? -1;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    this.size = 0;
    for (let i = 0; i + 1 < n; i++) this.push(i);
    while (this.size > 0) {
      const r = this.hr[0]!;
      const left = this.hl[0]!;
      const a = this.ha[0]!;
      const b = this.hb[0]!;
      this.popTop();
      const right = next[left]!;
      // Stale: the left symbol was merged into its neighbour (sym -1) or changed, or its right neighbour changed.
      if (right < 0 || sym[left] !== a || sym[right] !== b) continue;
      sym[left] = this.mergedId[r]!;
      sym[right] = -2;
      chars[left] = chars[left]! + chars[right]!;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      if (prev[left]! >= 0) this.push(prev[left]!);
      this.push(left);
    }
    const out: string[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(chars[i]!);
    return out;
  }

  private less(i: number, j: number): boolean {
    const hr = this.hr;
    return hr[i]! < hr[j]! || (hr[i] === hr[j] && this.hl[i]! < this.hl[j]!);
  }

  private swap(i: number, j: number): void {
    const { hr, hl, ha, hb } = this;
    let t = hr[i]!;
    hr[i] = hr[j]!;
    hr[j] = t;
    t = hl[i]!;
    hl[i] = hl[j]!;
    hl[j] = t;
    t = ha[i]!;
    ha[i] = ha[j]!;
    ha[j] = t;
    t = hb[i]!;
    hb[i] = hb[j]!;
    hb[j] = t;
  }

  private push(left: number): void {
    const right = this.next[left]!;
    if (right < 0) return;
    const a = this.sym[left]!;
    const b = this.sym[right]!;
    if (a < 0 || b < 0) return;
    const r = this.rank.get(a * KEY + b);
    if (r === undefined) return;
    if (this.size === this.hr.length) {
      const grow = (x: Int32Array) => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      this.hr = grow(this.hr);
      this.hl = grow(this.hl);
      this.ha = grow(this.ha);
      this.hb = grow(this.hb);
    }
    let i = this.size++;
    this.hr[i] = r;
    this.hl[i] = left;
    this.ha[i] = a;
    this.hb[i] = b;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private popTop(): void {
    this.size--;
    if (this.size === 0) return;
    this.swap(0, this.size);
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let m = i;
      if (l < this.size && this.less(l, m)) m = l;
      if (l + 1 < this.size && this.less(l + 1, m)) m = l + 1;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
