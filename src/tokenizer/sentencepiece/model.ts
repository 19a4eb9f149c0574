/**
 * SentencePiece encoder/decoder over a parsed ModelProto, reproducing sentencepiece 0.1.97
 * (`SentencePieceProcessor::Encode`/`Decode` with the BPE model and the optimised unigram Viterbi):
 * normalisation, BPE merges by score (ties to the leftmost pair), unigram best path in float32 with the
 * unknown penalty and the user-defined-symbol bonus, byte fallback to <0xNN> pieces, merging of runs of
 * unknown pieces, and decoding with the dummy-prefix space removed. This is the plain `sp.encode(text)`;
 * BOS/EOS and special-token handling belong to SentencePieceTokenizer. WORD and CHAR models are refused.
 * Sampling (BPE-dropout, n-best) is not implemented.
 */
import { TokenizerError } from "../errors.js";
import { Normalizer, validUtf8Length } from "./normalizer.js";
import { ModelType, PieceType, parseModelProto, type ModelProto } from "./proto.js";

const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
const UNK_PENALTY = 10;
const SPACE_SYMBOL = "\u2581";
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

interface TrieNode {
  next: Map<number, TrieNode>;
  /** piece id ending here, or -1 */
  id: number;
}

interface Pair {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** Binary max-heap of BPE candidate pairs ordered by (score desc, left asc), as SymbolPairComparator. */
class PairHeap {
  private readonly a: Pair[] = [];
  get length(): number {
    return this.a.length;
  }
  private static better(x: Pair, y: Pair): boolean {
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
  push(p: Pair): void {
    const a = this.a;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!PairHeap.better(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): Pair {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && PairHeap.better(a[l]!, a[m]!)) m = l;
        if (r < n && PairHeap.better(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * An encode result before byte fallback: (piece text, id) pairs over the normalised string. The text is
 * only needed for unknown pieces (the unigram encoder leaves it empty for the others).
 */
type Pieces = Array<[string, number]>;

export class SentencePieceModel {
  readonly proto: ModelProto;
  readonly unkId: number;
  /** NORMAL, USER_DEFINED and UNUSED pieces (what the C++ calls pieces_). */
  private readonly pieces = new Map<string, number>();
  /** UNKNOWN, CONTROL and BYTE pieces. */
  private readonly reserved = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly byteOf: Int16Array;
  private readonly normalizer: Normalizer;
  private readonly denormalizer: Normalizer | null;
  private readonly userDefined: string[] = [];
  /** User-defined symbols by first UTF-16 unit, longest first. */
  private readonly userByFirst = new Map<number, string[]>();
  private readonly trie: TrieNode = { next: new Map(), id: -1 };
  private readonly minScore: number;
  private readonly maxScore: number;
  /** Piece scores and types by id, for the hot loops. */
  private readonly scores: Float64Array;
  private readonly types: Uint8Array;

  constructor(
    proto: ModelProto,
    readonly file = "tokenizer.model",
  ) {
    this.proto = proto;
    const t = proto.trainerSpec;
    if (t.modelType !== ModelType.BPE && t.modelType !== ModelType.UNIGRAM) {
      const name = t.modelType === ModelType.WORD ? "WORD" : t.modelType === ModelType.CHAR ? "CHAR" : String(t.modelType);
      throw new TokenizerError(`${file}: SentencePiece model type ${name} is not supported (expected UNIGRAM or BPE)`);
    }
    let unk = -1;
    this.scores = Float64Array.from(proto.pieces, (p) => p.score);
    this.types = Uint8Array.from(proto.pieces, (p) => p.type);
    this.byteOf = new Int16Array(proto.pieces.length).fill(-1);
    proto.pieces.forEach((p, i) => {
      const normal = p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = normal ? this.pieces : this.reserved;
      if (map.has(p.piece)) throw new TokenizerError(`${file}: piece ${i} "${p.piece}" is already defined`);
      map.set(p.piece, i);
      if (p.type === PieceType.USER_DEFINED) this.userDefined.push(p.piece);
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new TokenizerError(`${file}: unknown piece defined twice (ids ${unk} and ${i})`);
        unk = i;
      }
      if (p.type === PieceType.BYTE) {
        if (!t.byteFallback) {
          throw new TokenizerError(`${file}: byte piece ${p.piece} (id ${i}) found although trainer_spec.byte_fallback is false`);
        }
        const m = /^<0x([0-9A-F]{2})>$/.exec(p.piece);
        if (!m) throw new TokenizerError(`${file}: byte piece ${i} "${p.piece}" is not of the form <0xNN>`);
        const byte = parseInt(m[1]!, 16);
        this.byteIds[byte] = i;
        this.byteOf[i] = byte;
      }
    });
    if (unk < 0) throw new TokenizerError(`${file}: no UNKNOWN piece (<unk>) is defined`);
    this.unkId = unk;
    if (t.byteFallback) {
      const missing = [...this.byteIds].findIndex((v) => v < 0);
      if (missing >= 0) {
        throw new TokenizerError(
          `${file}: byte_fallback is true but byte piece <0x${missing.toString(16).toUpperCase().padStart(2, "0")}> is missing (need all 256)`,
        );
      }
    }
    // min/max over NORMAL pieces, starting from FLT_MAX / FLT_MIN exactly as the C++ does.
    let minScore = FLT_MAX;
    let maxScore = FLT_MIN;
    for (const p of proto.pieces) {
      if (p.type === PieceType.NORMAL) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
    }
    this.minScore = minScore;
    this.maxScore = maxScore;
    if (t.modelType === ModelType.UNIGRAM) {
      for (const [piece, id] of this.pieces) {
        let node = this.trie;
        for (const ch of piece) {
          const cp = ch.codePointAt(0)!;
          let nx = node.next.get(cp);
          if (!nx) {
            nx = { next: new Map(), id: -1 };
            node.next.set(cp, nx);
          }
          node = nx;
        }
        node.id = id;
      }
    }
    for (const u of this.userDefined) {
      const list = this.userByFirst.get(u.charCodeAt(0)) ?? [];
      list.push(u);
      this.userByFirst.set(u.charCodeAt(0), list);
    }
    for (const list of this.userByFirst.values()) list.sort((a, b) => b.length - a.length);
    this.normalizer = new Normalizer(proto.normalizerSpec, this.userDefined, t.treatWhitespaceAsSuffix, file);
    this.denormalizer = proto.denormalizerSpec ? new Normalizer(proto.denormalizerSpec, [], false, file) : null;
  }

  static fromBytes(buf: Uint8Array, file = "tokenizer.model"): SentencePieceModel {
    return new SentencePieceModel(parseModelProto(buf, file), file);
  }

  get vocabSize(): number {
    return this.proto.pieces.length;
  }
  get type(): "bpe" | "unigram" {
    return this.proto.trainerSpec.modelType === ModelType.BPE ? "bpe" : "unigram";
  }
  get byteFallback(): boolean {
    return this.proto.trainerSpec.byteFallback;
  }

  /** Id of a piece, or unkId when it is not in the vocabulary (as SentencePiece's PieceToId). */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.pieces.get(piece) ?? this.unkId;
  }
  /** Id of a piece, or null when absent. */
  lookup(piece: string): number | null {
    return this.reserved.get(piece) ?? this.pieces.get(piece) ?? null;
  }
  idToPiece(id: number): string {
    const p = this.proto.pieces[id];
    if (!p) throw new TokenizerError(`${this.file}: token id ${id} is out of range [0, ${this.vocabSize})`);
    return p.piece;
  }
  isControl(id: number): boolean {
    return this.types[id] === PieceType.CONTROL;
  }
  isByte(id: number): boolean {
    return this.types[id] === PieceType.BYTE;
  }
  isUnknown(id: number): boolean {
    return this.types[id] === PieceType.UNKNOWN;
  }
  private isUnused(id: number): boolean {
    return this.types[id] === PieceType.UNUSED;
  }
  private isUserDefined(id: number): boolean {
    return this.types[id] === PieceType.USER_DEFINED;
  }

  /** UTF-16 length of the longest user-defined symbol starting at `pos`, or 0. */
  private matchUserDefined(s: string, pos: number): number {
    const list = this.userByFirst.get(s.charCodeAt(pos));
    if (!list) return 0;
    for (const u of list) if (s.startsWith(u, pos)) return u.length;
    return 0;
  }

  /** The normalised text, with "▁" for spaces (as the model sees it). */
  normalize(text: string): string {
    return this.normalizer.normalize(text);
  }

  /** Ids of `text` exactly as Python `SentencePieceProcessor.encode(text)` (no BOS/EOS). */
  encode(text: string): number[] {
    const normalized = this.normalizer.normalize(text);
    if (normalized.length === 0) return [];
    const pieces = this.type === "bpe" ? this.encodeBpe(normalized) : this.encodeUnigram(normalized);
    return this.toIds(pieces);
  }

  /** Byte fallback for unknown pieces and merging of consecutive unknowns (PopulateSentencePieceText). */
  private toIds(pieces: Pieces): number[] {
    const ids: number[] = [];
    let prevUnk = false;
    for (const [w, id] of pieces) {
      const unk = this.isUnknown(id);
      if (this.isControl(id)) ids.push(id);
      else if (unk && this.byteFallback) {
        for (const b of utf8Encoder.encode(w)) ids.push(this.byteIds[b]!);
      } else if (!(unk && prevUnk)) ids.push(id);
      prevUnk = unk;
    }
    return ids;
  }

  private encodeBpe(normalized: string): Pieces {
    // Initial symbols: user-defined symbols (frozen, never merged) or single characters.
    const sym: string[] = [];
    const frozen: boolean[] = [];
    for (let pos = 0; pos < normalized.length; ) {
      const u = this.matchUserDefined(normalized, pos);
      if (u > 0) {
        sym.push(normalized.slice(pos, pos + u));
        frozen.push(true);
        pos += u;
      } else {
        const w = normalized.codePointAt(pos)! >= 0x10000 ? 2 : 1;
        sym.push(normalized.slice(pos, pos + w));
        frozen.push(false);
        pos += w;
      }
    }
    const n = sym.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const heap = new PairHeap();
    const revMerge = new Map<string, [string, string]>();
    // (Methods rather than closures in this hot path: closures are recreated on every call.)
    for (let i = 1; i < n; i++) this.maybeAddPair(i - 1, i, sym, frozen, heap, revMerge);
    while (heap.length > 0) {
      const { left, right, size } = heap.pop();
      const l = sym[left]!;
      const r = sym[right]!;
      // Stale entry: one side was merged away or changed since this pair was queued.
      if (l === "" || r === "" || l.length + r.length !== size) continue;
      sym[left] = l + r;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      sym[right] = "";
      this.maybeAddPair(prev[left]!, left, sym, frozen, heap, revMerge);
      this.maybeAddPair(left, next[left]!, sym, frozen, heap, revMerge);
    }
    const out: Pieces = [];
    for (let i = 0; i !== -1; i = next[i]!) this.resegment(sym[i]!, revMerge, out);
    return out;
  }

  /** Queues the pair (left, right) if their concatenation is a piece (MaybeAddNewSymbolPair). */
  private maybeAddPair(
    left: number,
    right: number,
    sym: string[],
    frozen: boolean[],
    heap: PairHeap,
    revMerge: Map<string, [string, string]>,
  ): void {
    if (left === -1 || right === -1 || frozen[left] || frozen[right]) return;
    const piece = sym[left]! + sym[right]!;
    const id = this.pieces.get(piece);
    if (id === undefined) return;
    heap.push({ left, right, score: this.scores[id]!, size: piece.length });
    if (this.isUnused(id)) revMerge.set(piece, [sym[left]!, sym[right]!]);
  }

  /** Splits UNUSED pieces back into the symbols they were merged from. */
  private resegment(w: string, revMerge: Map<string, [string, string]>, out: Pieces): void {
    const id = this.pieceToId(w);
    const p = this.isUnused(id) ? revMerge.get(w) : undefined;
    if (!p) {
      out.push([w, id]);
      return;
    }
    this.resegment(p[0], revMerge, out);
    this.resegment(p[1], revMerge, out);
  }

  private encodeUnigram(normalized: string): Pieces {
    const cps: number[] = [];
    for (let i = 0; i < normalized.length; i++) {
      const c = normalized.codePointAt(i)!;
      cps.push(c);
      if (c >= 0x10000) i++;
    }
    const n = cps.length;
    // Byte length of each code point: the C++ works in UTF-8 byte positions and uses byte lengths for the
    // user-defined bonus.
    const blen = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = cps[i]!;
      blen[i] = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    const bestScore = new Float32Array(n + 1);
    const startsAt = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1).fill(-1);
    const unkScore = Math.fround(this.minScore - UNK_PENALTY);
    const maxScore = this.maxScore;
    for (let start = 0; start < n; start++) {
      const till = bestScore[start]!;
      let hasSingle = false;
      let node: TrieNode | undefined = this.trie;
      let bytes = 0;
      for (let k = start; k < n; k++) {
        node = node.next.get(cps[k]!);
        if (!node) break;
        bytes += blen[k]!;
        const id = node.id;
        if (id < 0 || this.isUnused(id)) continue;
        const end = k + 1;
        // In the C++ the piece score is `cond ? (length * max_score_ - 0.1) : float_score`, whose type is
        // double, so the candidate is summed and compared in double and only rounded to float when stored.
        const score = this.isUserDefined(id) ? Math.fround(bytes * maxScore) - 0.1 : this.scores[id]!;
        const candidate = score + till;
        if (startsAt[end] === -1 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          bestId[end] = id;
        }
        if (end === start + 1) hasSingle = true;
      }
      if (!hasSingle) {
        const end = start + 1;
        const candidate = Math.fround(unkScore + till);
        if (startsAt[end] === -1 || candidate > bestScore[end]!) {
          bestScore[end] = candidate;
          startsAt[end] = start;
          bestId[end] = this.unkId;
        }
      }
    }
    const out: Pieces = [];
    for (let end = n; end > 0; ) {
      const s = startsAt[end]!;
      const id = bestId[end]!;
      // Only unknown pieces need their text (for byte fallback); see toIds.
      out.push([id === this.unkId ? String.fromCodePoint(...cps.slice(s, end)) : "", id]);
      end = s;
    }
    return out.reverse();
  }

  /** Text of `ids` exactly as Python `SentencePieceProcessor.decode(ids)`. */
  decode(ids: readonly number[]): string {
    const pieces = this.proto.pieces;
    const spec = this.proto.normalizerSpec;
    const stripBosWs = spec.addDummyPrefix || spec.removeExtraWhitespaces;
    let text = "";
    let isBosWs = true;
    let bosWsSeen = false;
    let bytes: number[] = [];
    const flushBytes = () => {
      let off = 0;
      const b = Uint8Array.from(bytes);
      while (off < b.length) {
        const n = validUtf8Length(b, off, b.length);
        if (n === 0) {
          text += "\ufffd";
          off += 1;
        } else {
          text += utf8Decoder.decode(b.subarray(off, off + n));
          off += n;
        }
      }
      bytes = [];
    };
    for (const raw of ids) {
      if (!Number.isInteger(raw) || raw < 0 || raw >= pieces.length) {
        throw new TokenizerError(`${this.file}: cannot decode token id ${raw}: out of range [0, ${pieces.length})`);
      }
      // The C++ maps ids to pieces and back, so duplicate ids resolve to the first definition.
      const piece = pieces[raw]!.piece;
      const id = this.pieceToId(piece);
      if (this.isByte(id)) {
        bytes.push(this.byteOf[id]!);
        continue;
      }
      flushBytes();
      if (bosWsSeen || text.length > 0) isBosWs = false;
      let surface: string;
      bosWsSeen = false;
      if (this.isControl(id)) surface = "";
      else if (this.isUnknown(id)) surface = this.proto.trainerSpec.unkSurface;
      else {
        let p = piece;
        if (isBosWs && stripBosWs && p.startsWith(SPACE_SYMBOL)) {
          p = p.slice(1);
          bosWsSeen = !spec.removeExtraWhitespaces;
        }
        surface = p.replaceAll(SPACE_SYMBOL, " ");
      }
      text += surface;
    }
    flushBytes();
    return this.denormalizer ? this.denormalizer.normalize(text) : text;
  }
}

