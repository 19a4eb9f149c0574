/**
 * SentencePiece text normalisation, byte for byte as sentencepiece 0.1.97 `normalizer.cc` does it:
 * user-defined symbols pass through untouched, then the precompiled charsmap (a Darts-clone double-array
 * trie over UTF-8 bytes plus a blob of NUL-terminated replacement strings; what `nmt_nfkc`, `nfkc`, … compile
 * to) picks the longest matching rule, otherwise one UTF-8 character is copied (malformed bytes become
 * U+FFFD). Then leading/trailing/repeated spaces are removed if asked, a dummy-prefix space is added and
 * spaces are escaped as U+2581 "▁". An empty charsmap means identity normalisation.
 * This module does not compile rule TSVs into charsmaps (training does that).
 */
import { TokenizerError } from "../errors.js";
import type { NormalizerSpec } from "./proto.js";

const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd);
const SPACE = 0x20;
// ignoreBOM: a leading U+FEFF is text, not a byte-order mark to drop.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

// Top-level helpers, not closures: validUtf8Length runs once per character.
function trail(x: number | undefined): boolean {
  return x !== undefined && (x & 0xc0) === 0x80;
}
function valid(cp: number): boolean {
  return cp < 0xd800 || (cp >= 0xe000 && cp <= 0x10ffff);
}

/**
 * Length of the valid UTF-8 character at `pos`, or 0 if malformed — the same acceptance rules as
 * sentencepiece's DecodeUTF8 (no overlongs, no surrogates, max U+10FFFF).
 */
export function validUtf8Length(b: Uint8Array, pos: number, end: number): number {
  const c = b[pos]!;
  const len = end - pos;
  if (c < 0x80) return 1;
  if (len >= 2 && (c & 0xe0) === 0xc0) {
    const cp = ((c & 0x1f) << 6) | (b[pos + 1]! & 0x3f);
    if (trail(b[pos + 1]) && cp >= 0x80 && valid(cp)) return 2;
  } else if (len >= 3 && (c & 0xf0) === 0xe0) {
    const cp = ((c & 0x0f) << 12) | ((b[pos + 1]! & 0x3f) << 6) | (b[pos + 2]! & 0x3f);
    if (trail(b[pos + 1]) && trail(b[pos + 2]) && cp >= 0x800 && valid(cp)) return 3;
  } else if (len >= 4 && (c & 0xf8) === 0xf0) {
    const cp = ((c & 0x07) << 18) | ((b[pos + 1]! & 0x3f) << 12) | ((b[pos + 2]! & 0x3f) << 6) | (b[pos + 3]! & 0x3f);
    if (trail(b[pos + 1]) && trail(b[pos + 2]) && trail(b[pos + 3]) && cp >= 0x10000 && valid(cp)) return 4;
  }
  return 0;
}

/**
 * Read-only Darts-clone double array. Each 32-bit unit packs: bit 8 has_leaf, bits 0-7 label (bit 31 set
 * on leaf units so they never match a label), offset in bits 10-31 (scaled by 2^8 when bit 9 is set).
 */
export class DoubleArray {
  constructor(private readonly units: Uint32Array) {}

  /** Value of the last (longest) key found by a common-prefix search walk. */
  value = 0;

  /**
   * Length of the longest key that is a prefix of b[pos..end) (0 if none); its value is left in `value`.
   * Walks the same path as Darts-clone's commonPrefixSearch, keeping the last hit.
   */
  longestPrefix(b: Uint8Array, pos: number, end: number): number {
    const u = this.units;
    let node = 0;
    let unit = u[node]!;
    let longest = 0;
    node ^= offsetOf(unit);
    for (let i = pos; i < end; i++) {
      const c = b[i]!;
      node ^= c;
      unit = u[node]!;
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) break;
      node ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        longest = i - pos + 1;
        this.value = u[node]! & 0x7fffffff;
      }
    }
    return longest;
  }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

/** A set of byte strings matched longest-first at a position (user-defined symbols). */
class PrefixMatcher {
  private readonly byFirst = new Map<number, Uint8Array[]>();
  constructor(symbols: Iterable<string>) {
    const enc = new TextEncoder();
    for (const s of symbols) {
      const b = enc.encode(s);
      const list = this.byFirst.get(b[0]!) ?? [];
      list.push(b);
      this.byFirst.set(b[0]!, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.length - a.length);
  }
  get empty(): boolean {
    return this.byFirst.size === 0;
  }
  /** Length in bytes of the longest symbol at b[pos..end), or 0. */
  match(b: Uint8Array, pos: number, end: number): number {
    const list = this.byFirst.get(b[pos]!);
    if (!list) return 0;
    outer: for (const s of list) {
      if (pos + s.length > end) continue;
      for (let k = 1; k < s.length; k++) if (b[pos + k] !== s[k]) continue outer;
      return s.length;
    }
    return 0;
  }
}

export class Normalizer {
  private readonly trie: DoubleArray | null = null;
  private readonly replacements: Uint8Array = new Uint8Array(0);
  private readonly replacementCache = new Map<number, Uint8Array>();
  private readonly matcher: PrefixMatcher;

  /**
   * @param spec the model's NormalizerSpec (or denormalizer spec)
   * @param userDefined user-defined symbols, copied through without normalisation
   * @param treatWhitespaceAsSuffix TrainerSpec.treat_whitespace_as_suffix (dummy space goes at the end)
   */
  constructor(
    private readonly spec: NormalizerSpec,
    userDefined: Iterable<string> = [],
    private readonly treatWhitespaceAsSuffix = false,
    file = "tokenizer.model",
  ) {
    this.matcher = new PrefixMatcher(userDefined);
    const blob = spec.precompiledCharsmap;
    if (blob.length > 0) {
      // <uint32 LE trie size in bytes><double array units><NUL-terminated replacement strings>
      if (blob.length <= 4) throw new TokenizerError(`${file}: precompiled_charsmap is broken (${blob.length} bytes)`);
      const dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
      const trieSize = dv.getUint32(0, true);
      if (trieSize >= blob.length || trieSize % 4 !== 0) {
        throw new TokenizerError(
          `${file}: precompiled_charsmap is broken: trie size ${trieSize} does not fit the ${blob.length}-byte blob`,
        );
      }
      const units = new Uint32Array(trieSize / 4);
      for (let i = 0; i < units.length; i++) units[i] = dv.getUint32(4 + 4 * i, true);
      this.trie = new DoubleArray(units);
      this.replacements = blob.subarray(4 + trieSize);
    }
  }

  /** The replacement string starting at `offset` in the blob (up to its NUL). */
  private replacement(offset: number): Uint8Array {
    let r = this.replacementCache.get(offset);
    if (!r) {
      let end = offset;
      while (end < this.replacements.length && this.replacements[end] !== 0) end++;
      r = this.replacements.subarray(offset, end);
      this.replacementCache.set(offset, r);
    }
    return r;
  }

  // Result of prefix(): output bytes are src[outStart..outEnd); `consumed` input bytes were used.
  private src: Uint8Array = REPLACEMENT;
  private outStart = 0;
  private outEnd = 0;
  private consumed = 0;
  /** Output buffer reused across calls. */
  private buf = new Uint8Array(1024);

  /** Normalises one prefix of b[pos..end) into the fields above; mirrors Normalizer::NormalizePrefix. */
  private prefix(b: Uint8Array, pos: number, end: number): void {
    if (!this.matcher.empty) {
      const m = this.matcher.match(b, pos, end);
      if (m > 0) {
        this.src = b;
        this.outStart = pos;
        this.outEnd = pos + m;
        this.consumed = m;
        return;
      }
    }
    const longest = this.trie ? this.trie.longestPrefix(b, pos, end) : 0;
    if (longest === 0) {
      const n = validUtf8Length(b, pos, end);
      if (n === 0) {
        this.src = REPLACEMENT;
        this.outStart = 0;
        this.outEnd = 3;
        this.consumed = 1;
      } else {
        this.src = b;
        this.outStart = pos;
        this.outEnd = pos + n;
        this.consumed = n;
      }
      return;
    }
    const r = this.replacement(this.trie!.value);
    this.src = r;
    this.outStart = 0;
    this.outEnd = r.length;
    this.consumed = longest;
  }

  /** Normalises UTF-8 bytes; the result is UTF-8 bytes with spaces escaped as "▁" when the spec says so. */
  normalizeBytes(input: Uint8Array): Uint8Array {
    const spec = this.spec;
    const end = input.length;
    let pos = 0;
    if (end === 0) return new Uint8Array(0);
    if (spec.removeExtraWhitespaces) {
      while (pos < end) {
        this.prefix(input, pos, end);
        if (!(this.outEnd - this.outStart === 1 && this.src[this.outStart] === SPACE)) break;
        pos += this.consumed;
      }
    }
    if (pos === end) return new Uint8Array(0);
    // Worst case: every input byte becomes "▁" (3 bytes); charsmap replacements may be longer, so check.
    // (No closures here: this runs once per character and closures cost a lot under some loaders.)
    let out = this.buf.length >= end * 3 + 8 ? this.buf : (this.buf = new Uint8Array(end * 3 + 8));
    let len = 0;
    const escape = spec.escapeWhitespaces;
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) {
      if (escape) {
        out[len++] = 0xe2;
        out[len++] = 0x96;
        out[len++] = 0x81;
      } else out[len++] = SPACE;
    }
    let isPrevSpace = spec.removeExtraWhitespaces;
    while (pos < end) {
      this.prefix(input, pos, end);
      const o = this.src;
      let s = this.outStart;
      const e = this.outEnd;
      // Drop leading spaces of this piece if the previous output ended with a space.
      while (isPrevSpace && s < e && o[s] === SPACE) s++;
      if (s < e) {
        if (len + (e - s) * 3 + 3 > out.length) {
          const bigger = new Uint8Array(Math.max(out.length * 2, len + (e - s) * 3 + 3));
          bigger.set(out.subarray(0, len));
          out = this.buf = bigger;
        }
        for (let k = s; k < e; k++) {
          const c = o[k]!;
          if (escape && c === SPACE) {
            out[len++] = 0xe2;
            out[len++] = 0x96;
            out[len++] = 0x81;
          } else out[len++] = c;
        }
        isPrevSpace = o[e - 1] === SPACE;
      }
      pos += this.consumed;
      if (!spec.removeExtraWhitespaces) isPrevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      if (escape) while (len >= 3 && out[len - 3] === 0xe2 && out[len - 2] === 0x96 && out[len - 1] === 0x81) len -= 3;
      else while (len >= 1 && out[len - 1] === SPACE) len--;
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) {
      if (escape) {
        out[len++] = 0xe2;
        out[len++] = 0x96;
        out[len++] = 0x81;
      } else out[len++] = SPACE;
    }
    // A copy: the working buffer is reused by the next call.
    return out.slice(0, len);
  }

  /** Normalises a JS string (lone surrogates become U+FFFD, as UTF-8 encoding does). */
  normalize(text: string): string {
    return utf8Decoder.decode(this.normalizeBytes(utf8Encoder.encode(text)));
  }
}
