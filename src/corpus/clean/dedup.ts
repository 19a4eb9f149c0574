/**
 * Exact and near-duplicate detection for streams of texts, within and across sources.
 *
 * - Exact: a 64-bit hash of the text with whitespace and punctuation removed, in a typed-array table.
 * - Near: MinHash (OPH, K bins over character n-grams) + LSH with `bands` × `rows` = K. A text whose
 *   band keys hit an earlier text is a candidate; with `verify` the candidate is confirmed only when
 *   the estimated Jaccard similarity of the two signatures reaches `threshold` (signatures of kept
 *   texts are stored for this), otherwise any band hit counts.
 *
 * Memory: per kept text, `bands` entries in the LSH table (12 bytes payload at 35–70% load → ~17–34
 * bytes each) + 17–34 bytes for the exact-hash entry + 2·K bytes for the stored signature (its low 16
 * bits per bin) when verifying, with up to 1.5× slack from growth. With the defaults (K = 64, 8 bands × 8 rows,
 * verify) that is ≈ 0.3–0.4 KB per kept text, independent of text length (measured: 199 MB of index
 * for 627,101 kept documents of a 1 GB input); nothing else grows with the input.
 * Default parameters: 5-character shingles; 8 × 8 bands puts the LSH S-curve midpoint at
 * (1/8)^(1/8) ≈ 0.77, so pairs at Jaccard 0.8 are caught with probability 1 − (1 − 0.8^8)^8 ≈ 0.78 and
 * at 0.9 with ≈ 0.99, while pairs at 0.5 become candidates with ≈ 0.03 (then rejected by `verify`).
 */
import { z } from "zod";
import { Hash64Map, hash64Filtered } from "./hash.js";
import { DEFAULT_MINHASH, isSkipped, minhashSignature, type MinHashParams } from "./minhash.js";

export const dedupOptionsSchema = z
  .object({
    exact: z.boolean().default(true),
    near: z.boolean().default(true),
    numPerm: z.number().int().positive().default(64),
    bands: z.number().int().positive().default(8),
    ngram: z.number().int().min(1).max(16).default(5),
    threshold: z.number().min(0).max(1).default(0.8),
    verify: z.boolean().default(true),
    seed: z.number().int().default(0x5eed),
  })
  .strict()
  .refine((o) => o.numPerm % o.bands === 0, { message: "numPerm must be a multiple of bands", path: ["bands"] })
  .refine((o) => (o.numPerm & (o.numPerm - 1)) === 0, { message: "numPerm must be a power of two", path: ["numPerm"] });

export type DedupOptions = z.infer<typeof dedupOptionsSchema>;
export const DEFAULT_DEDUP: DedupOptions = dedupOptionsSchema.parse({});

export type DupKind = "exact" | "near";

export interface DedupResult {
  kind: DupKind;
  /** Id (insertion index among kept texts) of the earlier text it duplicates. */
  of: number;
  /** Estimated Jaccard similarity (1 for exact). */
  similarity: number;
}

/** Remove whitespace and punctuation so exact comparisons ignore layout-only differences. */
export function compactForHash(text: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (isSkipped(text.charCodeAt(i))) {
      if (i > start) out += text.slice(start, i);
      start = i + 1;
    }
  }
  return start === 0 ? text : out + text.slice(start);
}

/** Band keys of a signature: for band i, a 64-bit hash of its rows and i. */
export function bandKeys(sig: Uint32Array, bands: number, out: Uint32Array = new Uint32Array(bands * 2)): Uint32Array {
  const rows = sig.length / bands;
  for (let b = 0; b < bands; b++) {
    let x = 0x9e3779b9 ^ b;
    let y = 0x7f4a7c15 + Math.imul(b, 0x85ebca6b);
    for (let r = 0; r < rows; r++) {
      const v = sig[b * rows + r]!;
      x = Math.imul(x ^ v, 0x01000193);
      x ^= x >>> 13;
      y = Math.imul(y + v, 0xc2b2ae35);
      y ^= y >>> 16;
    }
    out[2 * b] = x >>> 0;
    out[2 * b + 1] = y >>> 0;
  }
  return out;
}

/** Share of bins where a full signature agrees with a stored 16-bit one. */
function estimateJaccard16(sig: Uint32Array, stored: Uint16Array, offset: number): number {
  let eq = 0;
  for (let i = 0; i < sig.length; i++) if ((sig[i]! & 0xffff) === stored[offset + i]) eq++;
  return eq / sig.length;
}

/** Streaming deduplicator. `check` both tests and (when unique) records the text. */
export class Deduper {
  readonly opts: DedupOptions;
  private readonly mh: MinHashParams;
  private readonly exactTable = new Hash64Map(1 << 12);
  private readonly lsh = new Hash64Map(1 << 14);
  /** Low 16 bits of each kept text's signature (a false bin match costs 1/65536: negligible). */
  private sigs = new Uint16Array(0);
  private kept = 0;
  private readonly sig: Uint32Array;
  private readonly keys: Uint32Array;
  private readonly h = new Uint32Array(2);
  seen = 0;
  exactDups = 0;
  nearDups = 0;

  constructor(opts: Partial<DedupOptions> = {}) {
    this.opts = dedupOptionsSchema.parse(opts);
    this.mh = { ...DEFAULT_MINHASH, numPerm: this.opts.numPerm, ngram: this.opts.ngram, seed: this.opts.seed };
    this.sig = new Uint32Array(this.opts.numPerm);
    this.keys = new Uint32Array(this.opts.bands * 2);
  }

  /** Undefined when the text is new (and is now remembered); otherwise what it duplicates. */
  check(text: string): DedupResult | undefined {
    this.seen++;
    const id = this.kept;
    if (this.opts.exact) {
      hash64Filtered(text, isSkipped, this.h);
      const prev = this.exactTable.get(this.h[0]!, this.h[1]!);
      if (prev >= 0) {
        this.exactDups++;
        return { kind: "exact", of: prev, similarity: 1 };
      }
    }
    if (this.opts.near) {
      minhashSignature(text, this.mh, this.sig);
      bandKeys(this.sig, this.opts.bands, this.keys);
      const K = this.opts.numPerm;
      let best: DedupResult | undefined;
      for (let b = 0; b < this.opts.bands; b++) {
        const other = this.lsh.get(this.keys[2 * b]!, this.keys[2 * b + 1]!);
        if (other < 0) continue;
        if (!this.opts.verify) {
          best = { kind: "near", of: other, similarity: NaN };
          break;
        }
        const s = estimateJaccard16(this.sig, this.sigs, other * K);
        if (s >= this.opts.threshold && (!best || s > best.similarity)) best = { kind: "near", of: other, similarity: s };
      }
      if (best) {
        this.nearDups++;
        return best;
      }
      for (let b = 0; b < this.opts.bands; b++) this.lsh.putIfAbsent(this.keys[2 * b]!, this.keys[2 * b + 1]!, id);
      if (this.opts.verify) {
        if ((id + 1) * K > this.sigs.length) {
          const grown = new Uint16Array(Math.max(K * 1024, Math.ceil((this.sigs.length * 1.5) / K) * K));
          grown.set(this.sigs);
          this.sigs = grown;
        }
        for (let i = 0; i < K; i++) this.sigs[id * K + i] = this.sig[i]! & 0xffff;
      }
    }
    if (this.opts.exact) this.exactTable.putIfAbsent(this.h[0]!, this.h[1]!, id);
    this.kept++;
    return undefined;
  }

  get keptCount(): number {
    return this.kept;
  }

  /** Bytes held by the dedup index (tables + stored signatures). */
  get indexBytes(): number {
    return this.exactTable.bytes + this.lsh.bytes + this.sigs.byteLength;
  }

  stats(): { seen: number; kept: number; exactDups: number; nearDups: number; dedupRate: number } {
    const removed = this.exactDups + this.nearDups;
    return { seen: this.seen, kept: this.kept, exactDups: this.exactDups, nearDups: this.nearDups, dedupRate: this.seen === 0 ? 0 : removed / this.seen };
  }
}
