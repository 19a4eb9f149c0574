/**
 * Element types of checkpoint files and the float conversions between them.
 *
 * Our engine computes in fp32; checkpoints store F32, F16 or BF16 (and a few integer types for
 * buffers). Encoding to F16/BF16 rounds to nearest, ties to even (what numpy and torch do), so a
 * file we write holds the same bits as one written by PyTorch from the same fp32 values. This module
 * does not do I/O.
 */

/** Element types as spelled in safetensors headers. */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** The float types we can decode into Float32Array and encode from it. */
export type FloatDType = "F32" | "F16" | "BF16";

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

export function isFloatDType(s: unknown): s is FloatDType {
  return s === "F32" || s === "F16" || s === "BF16";
}

/** Number of elements of a shape; a scalar (empty shape) has one. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// One shared scratch view for bit casts (single-threaded JS, so no sharing hazard).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** IEEE binary16 bits → number. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let f16Table: Float32Array | undefined;
/** All 65536 half values, built once on first use (256 KiB) so bulk decoding is a table lookup. */
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table;
}

/** fp32 bit pattern → binary16 bits, round to nearest even; overflow → ±inf; NaN stays NaN. */
function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and may reach inf).
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return r;
}

/** fp32 value → binary16 bits, round to nearest even; overflow → ±inf; NaN stays NaN. */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]!);
}

/** fp32 value → bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export function f32ToBF16Bits(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decode little-endian raw bytes of a float dtype into a new Float32Array. */
export function decodeToF32(bytes: Uint8Array, dtype: DType, count: number): Float32Array {
  const out = new Float32Array(count);
  const need = count * DTYPE_BYTES[dtype];
  if (bytes.byteLength < need) throw new RangeError(`decodeToF32: need ${need} bytes, got ${bytes.byteLength}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32":
      new Uint8Array(out.buffer).set(bytes.subarray(0, need));
      return out;
    case "F16": {
      const t = halfTable();
      for (let i = 0; i < count; i++) out[i] = t[dv.getUint16(2 * i, true)]!;
      return out;
    }
    case "BF16": {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case "F64":
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    default:
      throw new TypeError(`decodeToF32: ${dtype} is not a float type`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a u16 array in little-endian order (a view on little-endian hosts). */
function toLittleEndianBytes(a: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1]!, bytes[i]!];
  return bytes;
}

/** Encode fp32 values as little-endian bytes of the given float dtype. */
export function encodeFromF32(values: Float32Array, dtype: FloatDType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case "F32":
      return new Uint8Array(values.buffer, values.byteOffset, n * 4);
    case "F16": {
      // Bit-level conversion over a u32 view of the input: no per-value float round trips.
      const u = new Uint32Array(values.buffer, values.byteOffset, n);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(u[i]!);
      return toLittleEndianBytes(out);
    }
    case "BF16": {
      const u = new Uint32Array(values.buffer, values.byteOffset, n);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const x = u[i]!;
        out[i] = (x & 0x7f800000) === 0x7f800000 && x & 0x7fffff ? ((x >>> 16) | 0x40) & 0xffff : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
      }
      return toLittleEndianBytes(out);
    }
  }
}
