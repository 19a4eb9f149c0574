/**
 * Constant tables the attention path needs: RoPE cos/sin tables and ALiBi slopes.
 *
 * Pure functions of the model config, computed once per model; they are inputs to the kernels, not
 * kernels themselves.
 */

export interface RopeTables {
  /** (maxPos, D/2) */
  cos: Float32Array;
  /** (maxPos, D/2) */
  sin: Float32Array;
  D: number;
  maxPos: number;
}

/**
 * RoPE tables in the Hugging Face convention: inv_freq[i] = 1 / theta^(2i/D), angle = pos * inv_freq[i],
 * for i < D/2. inv_freq and the angle are rounded to f32 as torch computes them in f32, so the tables
 * match transformers' rotary embedding to the last bit in almost every entry.
 */
export function ropeTables(theta: number, D: number, maxPos: number): RopeTables {
  if (!(theta > 0) || !Number.isFinite(theta)) throw new RangeError(`ropeTables: theta must be a positive number, got ${theta}`);
  if (!Number.isInteger(D) || D < 2 || D % 2 !== 0) throw new RangeError(`ropeTables: head dim D must be an even integer >= 2, got ${D}`);
  if (!Number.isInteger(maxPos) || maxPos < 1) throw new RangeError(`ropeTables: maxPos must be an integer >= 1, got ${maxPos}`);
  const half = D / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, Math.fround((2 * i) / D));
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, D, maxPos };
}

/**
 * ALiBi slopes for H heads, as BLOOM and Baichuan2-13B compute them: for a power of two n,
 * slope_h = start^(h+1) with start = 2^(-8/n); otherwise the n' = largest power of two below H
 * slopes, followed by the odd-indexed (1st, 3rd, …) slopes of the 2n' series, H - n' of them.
 */
export function alibiSlopes(H: number): Float32Array {
  if (!Number.isInteger(H) || H < 1) throw new RangeError(`alibiSlopes: H must be an integer >= 1, got ${H}`);
  const powerOfTwo = (n: number): number[] => {
    const start = Math.pow(2, -8 / n);
    return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1));
  };
  const closest = Math.pow(2, Math.floor(Math.log2(H)));
  const slopes = powerOfTwo(closest);
  if (closest !== H) {
    const extra = powerOfTwo(2 * closest).filter((_, i) => i % 2 === 0);
    slopes.push(...extra.slice(0, H - closest));
  }
  return Float32Array.from(slopes);
}
