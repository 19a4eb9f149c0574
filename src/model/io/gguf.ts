/**
 * GGUF v3 container: writer and reader (the file format only; which keys and tensor names a model
 * needs is in `gguf_export.ts`).
 *
 * Layout (all little-endian): magic "GGUF", u32 version 3, u64 tensor count, u64 KV count; KV pairs
 * (string key, u32 value type, value; arrays are u32 item type + u64 count + items; strings are u64
 * length + UTF-8 bytes); tensor infos (name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64
 * offset into the data section); padding to `general.alignment` (default 32); tensor data, each
 * tensor starting aligned. Tensor types written: F32, F16, Q8_0 (blocks of 32: f16 scale + 32 int8,
 * the llama.cpp reference quantizer's rounding). The writer streams tensors to a temp file and
 * renames; the reader validates every offset against the file size before returning.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { f16BitsToF32, f32ToF16Bits, numel } from "./dtype.js";
import { CheckpointFormatError, CheckpointWriteError, TensorNotFoundError } from "./errors.js";
import { atomicWrite, readBytes, writeAll } from "./fsutil.js";
import { assertFinite, assertFitsDType, NARROW_RANGE, NonFiniteError } from "../../util/finite.js";
import { kernels } from "../../engine/index.js";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as u32 LE
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf.h). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The ggml tensor types we write or read (ggml.h numbering). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  BF16 = 30,
}

export type GgufTensorType = "F32" | "F16" | "Q8_0";

export type GgufScalar = number | bigint | boolean | string;
/** A typed metadata value. Arrays carry their item type; nested arrays are not needed by llama.cpp models. */
export type GgufValue =
  | { type: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar }
  | { type: GgufValueType.ARRAY; itemType: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar[] };

/** Helpers to build typed values. */
export const gv = {
  u32: (v: number): GgufValue => ({ type: GgufValueType.UINT32, value: v }),
  i32: (v: number): GgufValue => ({ type: GgufValueType.INT32, value: v }),
  u64: (v: number | bigint): GgufValue => ({ type: GgufValueType.UINT64, value: BigInt(v) }),
  f32: (v: number): GgufValue => ({ type: GgufValueType.FLOAT32, value: v }),
  bool: (v: boolean): GgufValue => ({ type: GgufValueType.BOOL, value: v }),
  str: (v: string): GgufValue => ({ type: GgufValueType.STRING, value: v }),
  strs: (v: string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: v }),
  f32s: (v: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: v }),
  i32s: (v: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: v }),
};

export interface GgufTensorEntry {
  name: string;
  /** Shape in PyTorch order (outermost first); written reversed, as ggml's ne[0] is innermost. */
  shape: readonly number[];
  type: GgufTensorType;
  data: Float32Array | (() => Promise<Float32Array>);
}

const Q8_0_BLOCK = 32;
const Q8_0_BYTES = 34;

export function ggufTensorBytes(type: GgufTensorType | GgmlType, shape: readonly number[]): number {
  const n = numel(shape);
  switch (type) {
    case "F32":
    case GgmlType.F32:
      return 4 * n;
    case "F16":
    case GgmlType.F16:
    case GgmlType.BF16:
      return 2 * n;
    case "Q8_0":
    case GgmlType.Q8_0:
      return (n / Q8_0_BLOCK) * Q8_0_BYTES;
  }
}

/**
 * Quantizes to Q8_0 exactly as ggml's reference `quantize_row_q8_0_ref`: per block of 32,
 * d = max|x| / 127 (fp32), stored as f16; q = roundf(x / d) (half away from zero). The integers and
 * the f32 scales come from the engine's q8_0 kernel (the one quantiser; quantised inference uses it
 * too); this function only lays them out as ggml blocks.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % Q8_0_BLOCK !== 0) throw new RangeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values, got ${x.length}`);
  const nb = x.length / Q8_0_BLOCK;
  const qs = new Int8Array(x.length);
  const scales = new Float32Array(nb);
  if (nb > 0) kernels().quantizeQ8(qs, scales, x, 1, x.length);
  const out = new Uint8Array(nb * Q8_0_BYTES);
  const q = new Int8Array(out.buffer);
  for (let b = 0; b < nb; b++) {
    const h = f32ToF16Bits(scales[b]!);
    const o = b * Q8_0_BYTES;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    q.set(qs.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK), o + 2);
  }
  return out;
}

export function dequantizeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q8_0_BLOCK; b++) {
    const d = f16BitsToF32(dv.getUint16(b * Q8_0_BYTES, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = d * dv.getInt8(b * Q8_0_BYTES + 2 + j);
  }
  return out;
}

function encodeTensor(e: GgufTensorEntry, values: Float32Array): Uint8Array {
  switch (e.type) {
    case "F32":
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case "F16": {
      const out = new Uint8Array(values.length * 2);
      const dv = new DataView(out.buffer);
      for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, f32ToF16Bits(values[i]!), true);
      return out;
    }
    case "Q8_0":
      return quantizeQ8_0(values);
  }
}

/** Growable little-endian byte builder for the header. */
class ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.byteLength;
  }
  private fixed(n: number, fill: (dv: DataView) => void): void {
    const b = new Uint8Array(n);
    fill(new DataView(b.buffer));
    this.push(b);
  }
  u8(v: number): void { this.fixed(1, (d) => d.setUint8(0, v)); }
  i8(v: number): void { this.fixed(1, (d) => d.setInt8(0, v)); }
  u16(v: number): void { this.fixed(2, (d) => d.setUint16(0, v, true)); }
  i16(v: number): void { this.fixed(2, (d) => d.setInt16(0, v, true)); }
  u32(v: number): void { this.fixed(4, (d) => d.setUint32(0, v, true)); }
  i32(v: number): void { this.fixed(4, (d) => d.setInt32(0, v, true)); }
  f32(v: number): void { this.fixed(4, (d) => d.setFloat32(0, v, true)); }
  f64(v: number): void { this.fixed(8, (d) => d.setFloat64(0, v, true)); }
  u64(v: number | bigint): void { this.fixed(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  i64(v: number | bigint): void { this.fixed(8, (d) => d.setBigInt64(0, BigInt(v), true)); }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.byteLength);
    this.push(b);
  }
  zeros(n: number): void { if (n > 0) this.push(new Uint8Array(n)); }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out;
  }
}

function writeScalar(sink: ByteSink, type: GgufValueType, v: GgufScalar, key: string, file: string): void {
  const bad = (): never => {
    throw new CheckpointWriteError(file, `metadata "${key}": value ${JSON.stringify(String(v))} does not fit type ${GgufValueType[type]}`);
  };
  switch (type) {
    case GgufValueType.STRING:
      if (typeof v !== "string") bad();
      sink.str(v as string);
      return;
    case GgufValueType.BOOL:
      if (typeof v !== "boolean") bad();
      sink.u8(v ? 1 : 0);
      return;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
      if (typeof v !== "bigint" && !(typeof v === "number" && Number.isSafeInteger(v))) bad();
      if (type === GgufValueType.UINT64) sink.u64(v as bigint); else sink.i64(v as bigint);
      return;
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof v !== "number") bad();
      if (type === GgufValueType.FLOAT32) sink.f32(v as number); else sink.f64(v as number);
      return;
    default: {
      if (typeof v !== "number" || !Number.isInteger(v)) bad();
      const n = v as number;
      const ranges: Partial<Record<GgufValueType, [number, number, (x: number) => void]>> = {
        [GgufValueType.UINT8]: [0, 255, (x) => sink.u8(x)],
        [GgufValueType.INT8]: [-128, 127, (x) => sink.i8(x)],
        [GgufValueType.UINT16]: [0, 65535, (x) => sink.u16(x)],
        [GgufValueType.INT16]: [-32768, 32767, (x) => sink.i16(x)],
        [GgufValueType.UINT32]: [0, 2 ** 32 - 1, (x) => sink.u32(x)],
        [GgufValueType.INT32]: [-(2 ** 31), 2 ** 31 - 1, (x) => sink.i32(x)],
      };
      const r = ranges[type];
      if (!r) throw new CheckpointWriteError(file, `metadata "${key}": unknown value type ${type}`);
      if (n < r[0] || n > r[1]) bad();
      r[2](n);
    }
  }
}

export interface WriteGgufOptions {
  /** Data alignment; also written as `general.alignment` when not the default. Defaults to 32. */
  alignment?: number;
}

/**
 * Writes a GGUF v3 file atomically. `metadata` keys are written in the given order. Returns the
 * file size.
 */
export async function writeGguf(
  file: string,
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorEntry[],
  options: WriteGgufOptions = {},
): Promise<number> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new CheckpointWriteError(file, `alignment must be a power of two, got ${alignment}`);
  }
  const kvs = [...metadata];
  const keys = new Set<string>();
  for (const [k] of kvs) {
    if (keys.has(k)) throw new CheckpointWriteError(file, `duplicate metadata key "${k}"`);
    keys.add(k);
  }
  if (alignment !== GGUF_DEFAULT_ALIGNMENT && !keys.has("general.alignment")) kvs.push(["general.alignment", gv.u32(alignment)]);
  const names = new Set<string>();
  const sizes: number[] = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new CheckpointWriteError(file, `duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.name.length >= 64) throw new CheckpointWriteError(file, `tensor name "${t.name}" is ${t.name.length} bytes; ggml allows at most 63`);
    if (t.shape.length === 0 || t.shape.length > 4) throw new CheckpointWriteError(file, `tensor "${t.name}": ggml tensors have 1 to 4 dims, got [${t.shape.join(", ")}]`);
    if (t.type === "Q8_0" && t.shape[t.shape.length - 1]! % Q8_0_BLOCK !== 0) {
      throw new CheckpointWriteError(file, `tensor "${t.name}": Q8_0 needs the innermost dim to be a multiple of 32, got [${t.shape.join(", ")}]`);
    }
    if (t.data instanceof Float32Array && t.data.length !== numel(t.shape)) {
      throw new CheckpointWriteError(file, `tensor "${t.name}": shape [${t.shape.join(", ")}] needs ${numel(t.shape)} values, data has ${t.data.length}`);
    }
    sizes.push(ggufTensorBytes(t.type, t.shape));
  }
  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(kvs.length);
  for (const [key, val] of kvs) {
    head.str(key);
    head.u32(val.type);
    if (val.type === GgufValueType.ARRAY) {
      head.u32(val.itemType);
      head.u64(val.value.length);
      for (const item of val.value) writeScalar(head, val.itemType, item, key, file);
    } else {
      writeScalar(head, val.type, val.value, key, file);
    }
  }
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  let offset = 0;
  const offsets: number[] = [];
  tensors.forEach((t, i) => {
    head.str(t.name);
    head.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) head.u64(t.shape[d]!);
    head.u32(GgmlType[t.type]);
    head.u64(offset);
    offsets.push(offset);
    offset += sizes[i]! + pad(sizes[i]!);
  });
  head.zeros(pad(head.length));
  const headBytes = head.bytes();
  await atomicWrite(file, async (fh) => {
    await writeAll(fh, headBytes);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const values = t.data instanceof Float32Array ? t.data : await t.data();
      if (values.length !== numel(t.shape)) {
        throw new CheckpointWriteError(file, `tensor "${t.name}": shape [${t.shape.join(", ")}] needs ${numel(t.shape)} values, data has ${values.length}`);
      }
      assertFinite(file, t.name, values, "write");
      // Q8_0 stores one f16 scale per block of 32: max|x|/127 must fit f16 too.
      if (t.type === "F16") assertFitsDType(file, t.name, values, "F16");
      else if (t.type === "Q8_0") assertQ8ScaleFits(file, t.name, values);
      await writeAll(fh, encodeTensor(t, values));
      const p = pad(sizes[i]!);
      if (p) await writeAll(fh, new Uint8Array(p));
    }
  });
  return headBytes.byteLength + offset;
}

/** Q8_0 keeps one f16 scale max|x|/127 per block of 32; a larger block max would store an Inf scale. */
function assertQ8ScaleFits(file: string, name: string, values: Float32Array): void {
  const limit = NARROW_RANGE.F16.overflow * 127;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x >= limit || x <= -limit) {
      throw new NonFiniteError(file, name, i, x, `holds ${x} at flat index ${i}: too large for Q8_0 (its f16 block scale max|x|/127 would become Inf); export as f32`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

export interface GgufTensorInfo {
  name: string;
  /** PyTorch order (outermost first). */
  shape: number[];
  type: GgmlType;
  /** Absolute byte offset in the file. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  /** Reads a tensor and dequantizes it to fp32 (F32, F16, BF16, Q8_0). */
  read(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

class Cursor {
  pos = 0;
  private dv: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.byteLength) throw new CheckpointFormatError(this.file, `truncated GGUF header while reading ${what} at byte ${this.pos}`);
  }
  u8(w: string): number { this.need(1, w); return this.dv.getUint8(this.pos++); }
  i8(w: string): number { this.need(1, w); return this.dv.getInt8(this.pos++); }
  u16(w: string): number { this.need(2, w); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(w: string): number { this.need(2, w); const v = this.dv.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(w: string): number { this.need(4, w); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(w: string): number { this.need(4, w); const v = this.dv.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(w: string): number { this.need(4, w); const v = this.dv.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(w: string): number { this.need(8, w); const v = this.dv.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(w: string): bigint { this.need(8, w); const v = this.dv.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64(w: string): bigint { this.need(8, w); const v = this.dv.getBigInt64(this.pos, true); this.pos += 8; return v; }
  size(w: string): number {
    const v = this.u64(w);
    if (v > BigInt(this.buf.byteLength)) throw new CheckpointFormatError(this.file, `${w}: length ${v} exceeds the header size (corrupted)`);
    return Number(v);
  }
  str(w: string): string {
    const n = this.size(w);
    this.need(n, w);
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function readScalar(c: Cursor, type: number, what: string, file: string): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(what);
    case GgufValueType.INT8: return c.i8(what);
    case GgufValueType.UINT16: return c.u16(what);
    case GgufValueType.INT16: return c.i16(what);
    case GgufValueType.UINT32: return c.u32(what);
    case GgufValueType.INT32: return c.i32(what);
    case GgufValueType.FLOAT32: return c.f32(what);
    case GgufValueType.BOOL: return c.u8(what) !== 0;
    case GgufValueType.STRING: return c.str(what);
    case GgufValueType.UINT64: return c.u64(what);
    case GgufValueType.INT64: return c.i64(what);
    case GgufValueType.FLOAT64: return c.f64(what);
    default:
      throw new CheckpointFormatError(file, `${what}: unknown GGUF value type ${type}`);
  }
}

/**
 * Opens a GGUF file: parses header, metadata and tensor infos and checks every tensor lies within
 * the file before returning. The header is read in growing chunks (vocabularies make it MBs).
 */
export async function openGguf(file: string): Promise<GgufFile> {
  const fh: FileHandle = await fs.open(file, "r");
  try {
    const size = (await fh.stat()).size;
    let headLen = Math.min(size, 1 << 20);
    for (;;) {
      const buf = await readBytes(fh, file, headLen, 0, "GGUF header");
      try {
        return parseGguf(file, fh, buf, size);
      } catch (err) {
        // A "truncated header" inside a partial read just means: read more.
        if (err instanceof CheckpointFormatError && err.detail.startsWith("truncated GGUF header") && headLen < size) {
          headLen = Math.min(size, headLen * 4);
          continue;
        }
        throw err;
      }
    }
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function parseGguf(file: string, fh: FileHandle, buf: Uint8Array, size: number): GgufFile {
  const c = new Cursor(buf, file);
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) throw new CheckpointFormatError(file, `not a GGUF file: magic 0x${magic.toString(16)}, expected 0x${GGUF_MAGIC.toString(16)} ("GGUF")`);
  const version = c.u32("version");
  if (version !== 2 && version !== 3) throw new CheckpointFormatError(file, `GGUF version ${version} is not supported; expected 3 (or 2)`);
  const nTensors = Number(c.u64("tensor count"));
  const nKv = Number(c.u64("metadata count"));
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`metadata key #${i}`);
    const type = c.u32(`type of "${key}"`);
    if (type === GgufValueType.ARRAY) {
      const itemType = c.u32(`item type of "${key}"`);
      if (itemType === GgufValueType.ARRAY) throw new CheckpointFormatError(file, `"${key}": nested arrays are not supported`);
      const n = c.size(`length of "${key}"`);
      const values: GgufScalar[] = new Array(n);
      for (let j = 0; j < n; j++) values[j] = readScalar(c, itemType, `"${key}"[${j}]`, file);
      metadata.set(key, { type: GgufValueType.ARRAY, itemType, value: values });
    } else {
      metadata.set(key, { type, value: readScalar(c, type, `"${key}"`, file) } as GgufValue);
    }
  }
  const alignVal = metadata.get("general.alignment");
  const alignment = alignVal ? Number(alignVal.value) : GGUF_DEFAULT_ALIGNMENT;
  const infos: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.str(`tensor name #${i}`);
    const nd = c.u32(`dims of "${name}"`);
    if (nd < 1 || nd > 4) throw new CheckpointFormatError(file, `tensor "${name}": ${nd} dims, expected 1..4`);
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(Number(c.u64(`dim ${d} of "${name}"`)));
    const type = c.u32(`type of "${name}"`);
    if (!(type in GgmlType)) throw new CheckpointFormatError(file, `tensor "${name}": ggml type ${type} is not one we read (F32, F16, BF16, Q8_0)`);
    const off = Number(c.u64(`offset of "${name}"`));
    const shape = ne.reverse();
    infos.push({ name, shape, type, offset: off, bytes: ggufTensorBytes(type as GgmlType, shape) });
  }
  const dataStart = c.pos + ((alignment - (c.pos % alignment)) % alignment);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of infos) {
    if (t.offset % alignment !== 0) throw new CheckpointFormatError(file, `tensor "${t.name}": offset ${t.offset} is not aligned to ${alignment}`);
    t.offset += dataStart;
    if (t.offset + t.bytes > size) {
      throw new CheckpointFormatError(file, `truncated: tensor "${t.name}" needs bytes ${t.offset}..${t.offset + t.bytes}, file size is ${size}`);
    }
    tensors.set(t.name, t);
  }
  return {
    path: file,
    version,
    alignment,
    metadata,
    tensors,
    async read(name: string): Promise<Float32Array> {
      const t = tensors.get(name);
      if (!t) throw new TensorNotFoundError(file, name);
      const raw = await readBytes(fh, file, t.bytes, t.offset, `tensor "${name}"`);
      const n = numel(t.shape);
      const dv = new DataView(raw.buffer);
      const out = new Float32Array(n);
      switch (t.type) {
        case GgmlType.F32:
          new Uint8Array(out.buffer).set(raw);
          return out;
        case GgmlType.F16:
          for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(2 * i, true));
          return out;
        case GgmlType.BF16: {
          const u = new Uint32Array(out.buffer);
          for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
          return out;
        }
        case GgmlType.Q8_0:
          return dequantizeQ8_0(raw, n);
      }
    },
    close: () => fh.close(),
  };
}
