/**
 * Fast encoder for byte-level BPE tokenizer.json files (Qwen2, Llama 3, GPT-2 and our own trainer's
 * output): the whole text -> ids path without the library's string round trips. Added tokens are split
 * out first (longest match at the leftmost position, as the library does), each remaining section is
 * NFC-normalised when the file asks for it, cut by the split regex (the very RegExp the library compiled
 * from the file), and each piece is turned straight from UTF-16 into UTF-8 byte symbols and merged by a
 * heap-ordered BPE over integer ids (merge ranks in an open-addressing table keyed by id pairs), with a
 * two-generation cache of piece -> ids.
 *
 * It is not a general tokenizer.json implementation: `ByteLevelBpeEncoder.create` inspects the file and
 * returns the reason it cannot be handled (normalisers other than NFC, other pre-tokenizers, dropout,
 * byte fallback, subword prefixes, lstrip/rstrip or normalised added tokens, ...), and the caller then keeps
 * @huggingface/tokenizers. The library stays the oracle: ids are identical to it (tested line by line),
 * except that a piece with no id and no unk token is an error here where the library silently drops it.
 */
import { TokenizerError } from "./errors.js";

/** The parts of the library's Tokenizer object this encoder reads (all plain data or a RegExp). */
interface LibView {
  model: { tokens_to_ids: Map<string, number>; merges?: Array<[string, string]>; unk_token_id?: number; unk_token?: string };
  pre_tokenizer: unknown;
  added_tokens: Array<{ content: string; id: number; lstrip: boolean; rstrip: boolean; normalized: boolean }>;
  config: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** GPT-2's byte -> printable character map (the ByteLevel pre-tokenizer's alphabet). */
function byteAlphabet(): number[] {
  const out: number[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = printable ? b : 256 + n++;
  }
  return out;
}

const POS_BITS = 2 ** 26; // heap key = rank * POS_BITS + byte position of the left symbol
const MAX_CACHED_PIECE = 8; // code units; see maxCachedPiece
const CACHE_GENERATION = 50_000; // entries per cache generation

/** Open-addressing hash table (a, b) -> merge rank, with the last rank winning for duplicate merges. */
class PairRanks {
  private readonly keys: Int32Array; // interleaved a, b; a = -1 marks an empty slot
  private readonly vals: Int32Array;
  private readonly mask: number;

  constructor(capacityHint: number) {
    let cap = 16;
    while (cap < capacityHint * 2) cap *= 2;
    this.mask = cap - 1;
    this.keys = new Int32Array(cap * 2).fill(-1);
    this.vals = new Int32Array(cap);
  }

  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ b;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
    return (h ^ (h >>> 13)) & this.mask;
  }

  set(a: number, b: number, rank: number): void {
    const { keys, mask } = this;
    for (let s = this.slot(a, b); ; s = (s + 1) & mask) {
      const k = keys[2 * s]!;
      if (k === -1 || (k === a && keys[2 * s + 1] === b)) {
        keys[2 * s] = a;
        keys[2 * s + 1] = b;
        this.vals[s] = rank;
        return;
      }
    }
  }

  /** The rank of merging (a, b), or -1. */
  get(a: number, b: number): number {
    const { keys, mask } = this;
    for (let s = this.slot(a, b); ; s = (s + 1) & mask) {
      const k = keys[2 * s]!;
      if (k === a && keys[2 * s + 1] === b) return this.vals[s]!;
      if (k === -1) return -1;
    }
  }
}

/** How a section of text is cut into pieces before BPE. */
type Splitter =
  | { kind: "isolated"; re: RegExp } // Split(behavior Isolated): matches and the gaps between them
  | { kind: "matches"; re: RegExp } // ByteLevel(use_regex): only the matches (String#match)
  | { kind: "none" }; // ByteLevel(use_regex false) alone: the whole section

export class ByteLevelBpeEncoder {
  private readonly ranks: PairRanks;
  private readonly mergeA: Int32Array;
  private readonly mergeB: Int32Array;
  private readonly mergeTo: Int32Array;
  private readonly byteId = new Int32Array(256);
  private readonly alphabet = byteAlphabet();
  private readonly ids: Map<string, number>;
  private readonly unkId: number | null;
  private readonly nfc: boolean;
  private readonly ignoreMerges: boolean;
  private readonly splitter: Splitter;
  /** Added tokens by content, and a first-code-unit filter so most positions skip the trie entirely. */
  private readonly added = new Map<string, number>();
  private readonly addedFirst = new Uint8Array(65536); // 1 where an added token starts with this code unit
  private readonly addedByFirst = new Map<number, string[]>(); // candidates, longest first
  /**
   * Pieces shorter than this (code units) are cached. Measured on real Chinese text, looking up longer pieces
   * (whole clauses, nearly all unique) costs more in string hashing and garbage than the merges it saves;
   * short pieces (punctuation, digits, Latin words) repeat and gain. 0 turns the cache off.
   */
  maxCachedPiece = MAX_CACHED_PIECE;
  private cache = new Map<string, number[]>();
  private older = new Map<string, number[]>();
  // Work buffers, grown on demand and reused across pieces.
  private sym = new Int32Array(256);
  private next = new Int32Array(256);
  private prev = new Int32Array(256);
  private bytes = new Uint8Array(256);
  private heap = new Float64Array(256);

  private constructor(lib: LibView, splitter: Splitter, nfc: boolean, ignoreMerges: boolean) {
    this.ids = lib.model.tokens_to_ids;
    this.unkId = lib.model.unk_token_id ?? null;
    this.nfc = nfc;
    this.ignoreMerges = ignoreMerges;
    this.splitter = splitter;
    const merges = lib.model.merges!;
    this.ranks = new PairRanks(merges.length);
    this.mergeA = new Int32Array(merges.length);
    this.mergeB = new Int32Array(merges.length);
    this.mergeTo = new Int32Array(merges.length);
    for (let r = 0; r < merges.length; r++) {
      const [a, b] = merges[r]!;
      const ia = this.ids.get(a)!;
      const ib = this.ids.get(b)!;
      this.mergeA[r] = ia;
      this.mergeB[r] = ib;
      this.mergeTo[r] = this.ids.get(a + b)!;
      this.ranks.set(ia, ib, r);
    }
    for (let b = 0; b < 256; b++) this.byteId[b] = this.ids.get(String.fromCharCode(this.alphabet[b]!)) ?? -1;
    // The library keeps the last entry for a repeated content; so do we.
    for (const t of lib.added_tokens) this.added.set(t.content, t.id);
    for (const content of this.added.keys()) {
      const c = content.charCodeAt(0);
      this.addedFirst[c] = 1;
      const list = this.addedByFirst.get(c) ?? [];
      list.push(content);
      this.addedByFirst.set(c, list);
    }
    for (const list of this.addedByFirst.values()) list.sort((x, y) => y.length - x.length);
  }

  /**
   * Builds the encoder for a tokenizer.json the library has loaded, or returns why this file needs the
   * library's own pipeline.
   */
  static create(json: Json, libTokenizer: unknown): ByteLevelBpeEncoder | string {
    const lib = libTokenizer as LibView;
    const model = json.model as Json;
    if (model?.type !== "BPE") return `model type ${String(model?.type)} is not BPE`;
    if (model.dropout) return "BPE dropout";
    if (model.continuing_subword_prefix || model.end_of_word_suffix) return "subword prefix/suffix";
    if (model.byte_fallback) return "byte_fallback";
    if (lib.config?.remove_space === true || lib.config?.do_lowercase_and_remove_accent) return "remove_space / lowercase config";
    const norm = json.normalizer as Json | null;
    if (norm != null && norm.type !== "NFC") return `normalizer ${String(norm.type)}`;
    // The caller adds the post-processor's fixed prefix/suffix; these types add nothing else (Llama 3 uses a
    // Sequence of ByteLevel and TemplateProcessing).
    const post = json.post_processor as Json | null;
    const postOk = (p: Json): boolean =>
      p.type === "ByteLevel" || p.type === "TemplateProcessing" || (p.type === "Sequence" && Array.isArray(p.processors) && (p.processors as Json[]).every(postOk));
    if (post != null && !postOk(post)) return `post-processor ${String(post.type)}`;
    const splitter = ByteLevelBpeEncoder.splitterOf(json.pre_tokenizer as Json | null, lib.pre_tokenizer);
    if (typeof splitter === "string") return splitter;
    for (const t of lib.added_tokens) {
      if (t.lstrip || t.rstrip) return `added token ${JSON.stringify(t.content)} has lstrip/rstrip`;
      if (t.normalized && norm != null) return `added token ${JSON.stringify(t.content)} is matched after normalisation`;
      if (t.content.length === 0) return "empty added token";
    }
    const ids = lib.model.tokens_to_ids;
    if (!(ids instanceof Map) || !Array.isArray(lib.model.merges)) return "unexpected library internals";
    // Ids must be one-to-one with strings, since merges are looked up by id where the library uses strings.
    const seen = new Set<number>();
    for (const id of ids.values()) {
      if (!Number.isInteger(id) || id < 0 || id >= 2 ** 31 || seen.has(id)) return `token id ${id} is repeated or invalid`;
      seen.add(id);
    }
    for (const [a, b] of lib.model.merges) {
      if (!ids.has(a) || !ids.has(b) || !ids.has(a + b)) return `merge ${JSON.stringify([a, b])} has a part or result outside the vocabulary`;
    }
    if (lib.model.merges.length >= 2 ** 26) return "too many merges";
    return new ByteLevelBpeEncoder(lib, splitter, norm != null, model.ignore_merges === true);
  }

  private static splitterOf(pre: Json | null, libPre: unknown): Splitter | string {
    const byteLevelOk = (p: Json) => p.type === "ByteLevel" && !p.add_prefix_space;
    if (pre == null) return "no ByteLevel pre-tokenizer";
    if (pre.type === "ByteLevel") {
      if (!byteLevelOk(pre)) return "ByteLevel add_prefix_space";
      if (pre.use_regex === false) return { kind: "none" };
      const re = (libPre as { pattern?: unknown }).pattern;
      return re instanceof RegExp ? { kind: "matches", re: new RegExp(re.source, re.flags) } : "unexpected library internals";
    }
    if (pre.type !== "Sequence") return `pre-tokenizer ${String(pre.type)}`;
    const list = pre.pretokenizers as Json[] | undefined;
    if (!Array.isArray(list) || list.length !== 2) return "pre-tokenizer sequence is not [Split, ByteLevel]";
    const [split, bl] = list as [Json, Json];
    if (split.type !== "Split" || split.behavior !== "Isolated" || split.invert !== false) return "pre-tokenizer sequence is not [Split(Isolated), ByteLevel]";
    if (!byteLevelOk(bl) || bl.use_regex !== false) return "ByteLevel after Split must have use_regex false and no prefix space";
    const re = (libPre as { tokenizers?: Array<{ pattern?: unknown }> }).tokenizers?.[0]?.pattern;
    // Reuse the library's compilation of the file's (Oniguruma) pattern so the pieces are the same.
    if (!(re instanceof RegExp) || !re.flags.includes("g")) return "unexpected library internals";
    return { kind: "isolated", re: new RegExp(re.source, re.flags) };
  }

  /** Token ids of `text` with no post-processing; added tokens are recognised when `parseSpecial`. */
  encode(text: string, parseSpecial: boolean): number[] {
    const out: number[] = [];
    if (!parseSpecial || this.added.size === 0) {
      this.section(text, out, false);
      return out;
    }
    const n = text.length;
    let start = 0;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(i);
      if (this.addedFirst[c] === 1) {
        const hit = this.addedAt(text, i, c);
        if (hit !== null) {
          if (i > start) this.section(text.slice(start, i), out, true);
          out.push(this.added.get(hit)!);
          i += hit.length;
          start = i;
          continue;
        }
      }
      i++;
    }
    if (start < n) this.section(start === 0 ? text : text.slice(start), out, true);
    return out;
  }

  /** Longest added token starting at text[i] (the library's trie finds the same). */
  private addedAt(text: string, i: number, c: number): string | null {
    for (const cand of this.addedByFirst.get(c)!) if (text.startsWith(cand, i)) return cand;
    return null;
  }

  /** Normalise, split and BPE one stretch of text without added tokens. */
  private section(raw: string, out: number[], checkAdded: boolean): void {
    const text = this.nfc ? raw.normalize("NFC") : raw;
    if (text.length === 0) return;
    // The library treats a section that normalises to exactly an added token as that token.
    if (checkAdded && this.nfc && text !== raw) {
      const id = this.added.get(text);
      if (id !== undefined) {
        out.push(id);
        return;
      }
    }
    const sp = this.splitter;
    if (sp.kind === "none") {
      this.piece(text, out);
      return;
    }
    const re = sp.re;
    re.lastIndex = 0;
    let prev = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const at = m.index;
      const match = m[0];
      if (match.length === 0) {
        // As String#matchAll does: step over one code point after an empty match.
        const c = text.charCodeAt(at);
        const d = at + 1 < text.length ? text.charCodeAt(at + 1) : 0;
        re.lastIndex = at + (c >= 0xd800 && c < 0xdc00 && d >= 0xdc00 && d < 0xe000 ? 2 : 1);
        if (sp.kind === "isolated" && prev < at) {
          this.piece(text.slice(prev, at), out);
          prev = at;
        }
        continue;
      }
      if (sp.kind === "isolated" && prev < at) this.piece(text.slice(prev, at), out);
      this.piece(match, out);
      prev = at + match.length;
    }
    if (sp.kind === "isolated" && prev < text.length) this.piece(text.slice(prev), out);
  }

  private piece(p: string, out: number[]): void {
    if (p.length >= this.maxCachedPiece) {
      this.bpe(p, out);
      return;
    }
    let ids = this.cache.get(p);
    if (ids === undefined) {
      ids = this.older.get(p);
      if (ids === undefined) {
        const start = out.length;
        this.bpe(p, out);
        ids = out.slice(start);
        this.store(p, ids);
        return;
      }
      this.store(p, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  private store(p: string, ids: number[]): void {
    if (this.cache.size >= CACHE_GENERATION) {
        this.older = this.cache;
        this.cache = new Map();
    }
    this.cache.set(p, ids);
  }

  /** UTF-8 bytes of `p` into this.bytes (lone surrogates become U+FFFD, as TextEncoder does); returns the count. */
  private utf8(p: string): number {
    const len = p.length;
    if (this.bytes.length < 3 * len) this.bytes = new Uint8Array(3 * len + 16);
    const bytes = this.bytes;
    let n = 0;
    for (let i = 0; i < len; i++) {
      let c = p.charCodeAt(i);
      if (c < 0x80) {
        bytes[n++] = c;
      } else if (c < 0x800) {
        bytes[n++] = 0xc0 | (c >> 6);
        bytes[n++] = 0x80 | (c & 0x3f);
      } else if (c >= 0xd800 && c < 0xe000) {
        const d = i + 1 < len ? p.charCodeAt(i + 1) : 0;
        if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          bytes[n++] = 0xf0 | (c >> 18);
          bytes[n++] = 0x80 | ((c >> 12) & 0x3f);
          bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
          bytes[n++] = 0x80 | (c & 0x3f);
        } else {
          bytes[n++] = 0xef;
          bytes[n++] = 0xbf;
          bytes[n++] = 0xbd;
        }
      } else {
        bytes[n++] = 0xe0 | (c >> 12);
        bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
        bytes[n++] = 0x80 | (c & 0x3f);
      }
    }
    return n;
  }

  /** BPE of one piece, ids appended to `out`: lowest rank first, leftmost on ties, as the library orders its queue. */
  private bpe(p: string, out: number[]): void {
    const n = this.utf8(p);
    const bytes = this.bytes;
    if (this.ignoreMerges) {
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(this.alphabet[bytes[i]!]!);
      const whole = this.ids.get(s);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    if (n >= POS_BITS) throw new TokenizerError(`tokenizer.json: a single pre-token of ${n} bytes is too long to encode`);
    if (this.sym.length < n) {
      this.sym = new Int32Array(2 * n);
      this.next = new Int32Array(2 * n);
      this.prev = new Int32Array(2 * n);
      this.heap = new Float64Array(2 * n);
    }
    const { sym, next, prev, byteId, ranks, mergeA, mergeB, mergeTo } = this;
    let heap = this.heap;
    let size = 0;
    for (let i = 0; i < n; i++) {
      sym[i] = byteId[bytes[i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Initial pairs, pushed in position order.
    for (let i = 0; i + 1 < n; i++) {
      const a = sym[i]!;
      const b = sym[i + 1]!;
      if (a < 0 || b < 0) continue;
      const r = ranks.get(a, b);
      if (r >= 0) size = heapPush(heap, size, r * POS_BITS + i);
    }
    while (size > 0) {
      const key = heap[0]!;
      size = heapPop(heap, size);
      const r = Math.floor(key / POS_BITS);
      const left = key - r * POS_BITS;
      const right = next[left]!;
      // Stale entry: either symbol was merged away or changed since the pair was queued.
      if (right < 0 || sym[left] !== mergeA[r] || sym[right] !== mergeB[r]) continue;
      const merged = mergeTo[r]!;
      sym[left] = merged;
      sym[right] = -2;
      const after = next[right]!;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      // Room for two more entries: the heap never holds more than n + 2 * merges entries; grow if needed.
      if (size + 2 > heap.length) {
        const bigger = new Float64Array(heap.length * 2);
        bigger.set(heap);
        heap = this.heap = bigger;
      }
      const before = prev[left]!;
      if (before >= 0) {
        const a = sym[before]!;
        if (a >= 0) {
          const rb = ranks.get(a, merged);
          if (rb >= 0) size = heapPush(heap, size, rb * POS_BITS + before);
        }
      }
      if (after >= 0) {
        const b = sym[after]!;
        if (b >= 0) {
          const ra = ranks.get(merged, b);
          if (ra >= 0) size = heapPush(heap, size, ra * POS_BITS + left);
        }
      }
    }
    for (let i = 0; i >= 0; i = next[i]!) {
      const id = sym[i]!;
      if (id >= 0) out.push(id);
      else if (this.unkId !== null) out.push(this.unkId);
      else {
        // The library drops such a piece silently; refuse instead.
        const t = String.fromCharCode(this.alphabet[bytes[i]!]!);
        throw new TokenizerError(`tokenizer.json: text piece ${JSON.stringify(t)} is not in the vocabulary and the model has no unk_token`);
      }
    }
  }
}

function heapPush(heap: Float64Array, size: number, key: number): number {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pk = heap[parent]!;
    if (pk <= key) break;
    heap[i] = pk;
    i = parent;
  }
  heap[i] = key;
  return size + 1;
}

/** Removes heap[0]; returns the new size. */
function heapPop(heap: Float64Array, size: number): number {
  const last = heap[--size]!;
  if (size === 0) return 0;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= size) break;
    const rr = l + 1;
    const c = rr < size && heap[rr]! < heap[l]! ? rr : l;
    if (heap[c]! >= last) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return size;
}
