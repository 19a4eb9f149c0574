/**
 * Fast non-cryptographic hashing for dedup: 32-bit finaliser (MurmurHash3 fmix32), a 64-bit string
 * hash as two independent 32-bit lanes, and an open-addressing 64-bit key table (typed arrays, so
 * millions of keys cost 12 bytes of payload each rather than a JS object per key). Not for security.
 */

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** 64-bit hash of a string's UTF-16 code units as [hi, lo]. */
export function hash64(s: string, out: Uint32Array = new Uint32Array(2)): Uint32Array {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  out[0] = fmix32(a ^ Math.imul(b, 0x27d4eb2d));
  out[1] = fmix32(b + 0x165667b1);
  return out;
}

/**
 * 64-bit hash of a string's code units with whitespace and punctuation skipped (`skip`), computed in
 * one pass without building the compacted string.
 */
export function hash64Filtered(s: string, skip: (c: number) => boolean, out: Uint32Array = new Uint32Array(2)): Uint32Array {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (skip(c)) continue;
    n++;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  out[0] = fmix32(a ^ Math.imul(b, 0x27d4eb2d));
  out[1] = fmix32(b + 0x165667b1 + Math.imul(n, 0x9e3779b1));
  return out;
}

/**
 * A map from 64-bit keys to int32 values with linear probing. Key (0,0) is reserved as "empty", so
 * callers never insert it (it is remapped to (0,1)). Grows by doubling at 70% load (linear probing
 * stays short there: ~2 probes per hit, ~6 per miss).
 */
export class Hash64Map {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private val: Int32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap * 7 < initialCapacity * 10) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength + this.val.byteLength;
  }

  /** Value for the key, or -1 when absent. */
  get(hi: number, lo: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i]!;
      const l = this.lo[i]!;
      if (h === 0 && l === 0) return -1;
      if (h === hi >>> 0 && l === lo >>> 0) return this.val[i]!;
      i = (i + 1) & this.mask;
    }
  }

  /** Insert if absent. Returns the existing value, or -1 when the key was new (and now maps to `value`). */
  putIfAbsent(hi: number, lo: number, value: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 10 > this.hi.length * 7) this.grow();
    let i = (hi ^ Math.imul(lo, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = this.hi[i]!;
      const l = this.lo[i]!;
      if (h === 0 && l === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.val[i] = value;
        this.size++;
        return -1;
      }
      if (h === hi >>> 0 && l === lo >>> 0) return this.val[i]!;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const { hi, lo, val } = this;
    const cap = hi.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < hi.length; i++) {
      if (hi[i] !== 0 || lo[i] !== 0) this.putIfAbsent(hi[i]!, lo[i]!, val[i]!);
    }
  }
}
