/**
 * An Aho–Corasick dictionary matcher with leftmost-longest, non-overlapping selection: every dictionary
 * term found in one pass over the text, then the longest match wins where matches overlap (so
 * 阿莫西林克拉维酸钾 is one drug, not 阿莫西林 plus a remainder). Latin terms must not touch other
 * latin letters (NAC does not fire inside "snack"). Terms are matched on normalised text (text.ts).
 */
import { normalize } from "./text.js";

export interface Match<T> {
  start: number;
  end: number;
  term: string;
  payload: T;
}

interface Node {
  next: Map<string, number>;
  fail: number;
  /** Indexes into `terms` ending at this node (own and via failure links). */
  out: number[];
}

export class DictionaryMatcher<T> {
  private readonly nodes: Node[] = [{ next: new Map(), fail: 0, out: [] }];
  private readonly terms: { term: string; payloads: T[] }[] = [];
  private readonly index = new Map<string, number>();
  private built = false;

  /** Add a term; the same term may carry several payloads (a class term shared by two classes). */
  add(term: string, payload: T): this {
    const key = normalize(term);
    if (!key) return this;
    const existing = this.index.get(key);
    if (existing !== undefined) {
      this.terms[existing]!.payloads.push(payload);
      return this;
    }
    this.built = false;
    const id = this.terms.length;
    this.terms.push({ term: key, payloads: [payload] });
    this.index.set(key, id);
    let n = 0;
    for (const ch of key) {
      let child = this.nodes[n]!.next.get(ch);
      if (child === undefined) {
        child = this.nodes.length;
        this.nodes.push({ next: new Map(), fail: 0, out: [] });
        this.nodes[n]!.next.set(ch, child);
      }
      n = child;
    }
    this.nodes[n]!.out.push(id);
    return this;
  }

  private build(): void {
    const queue: number[] = [];
    for (const child of this.nodes[0]!.next.values()) {
      this.nodes[child]!.fail = 0;
      queue.push(child);
    }
    while (queue.length) {
      const r = queue.shift()!;
      for (const [ch, s] of this.nodes[r]!.next) {
        queue.push(s);
        let f = this.nodes[r]!.fail;
        while (f !== 0 && !this.nodes[f]!.next.has(ch)) f = this.nodes[f]!.fail;
        const target = this.nodes[f]!.next.get(ch);
        this.nodes[s]!.fail = target !== undefined && target !== s ? target : 0;
        this.nodes[s]!.out.push(...this.nodes[this.nodes[s]!.fail]!.out);
      }
    }
    this.built = true;
  }

  /** All matches, overlapping, in order of end position. */
  findAll(text: string): Match<T>[] {
    if (!this.built) this.build();
    const norm = normalize(text);
    const found: Match<T>[] = [];
    let n = 0;
    // Iterate by UTF-16 code unit: terms were inserted per code point, but all our terms are BMP.
    for (let i = 0; i < norm.length; i++) {
      const ch = norm[i]!;
      while (n !== 0 && !this.nodes[n]!.next.has(ch)) n = this.nodes[n]!.fail;
      n = this.nodes[n]!.next.get(ch) ?? 0;
      for (const id of this.nodes[n]!.out) {
        const t = this.terms[id]!;
        const start = i + 1 - t.term.length;
        if (!latinBoundaryOk(norm, start, i + 1, t.term)) continue;
        for (const payload of t.payloads) found.push({ start, end: i + 1, term: text.slice(start, i + 1), payload });
      }
    }
    return found;
  }

  /** Leftmost-longest non-overlapping matches. Matches of the same span with several payloads are all kept. */
  scan(text: string): Match<T>[] {
    const all = this.findAll(text).sort((a, b) => a.start - b.start || b.end - a.end);
    const out: Match<T>[] = [];
    let last: Match<T> | undefined;
    for (const m of all) {
      if (last && m.start === last.start && m.end === last.end) {
        out.push(m);
        continue;
      }
      if (last && m.start < last.end) continue;
      out.push(m);
      last = m;
    }
    return out;
  }
}

const isLatin = (c: string | undefined): boolean => c !== undefined && /[a-z]/.test(c);

function latinBoundaryOk(text: string, start: number, end: number, term: string): boolean {
  if (isLatin(term[0]) && isLatin(text[start - 1])) return false;
  if (isLatin(term[term.length - 1]) && isLatin(text[end])) return false;
  return true;
}
