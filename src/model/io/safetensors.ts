/**
 * safetensors reader and writer (our own; no maintained npm package exists).
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`,
 * then the tensor bytes, little-endian, with offsets relative to the first byte after the header.
 * The reader validates the whole header against the file size before returning (offsets contiguous,
 * no holes, dtype × shape = byte length) and then reads tensors lazily with positional reads, so a
 * multi-GB checkpoint is never copied whole into memory. The writer streams tensors to a temp file
 * and renames it into place. Sharded checkpoints (`model.safetensors.index.json`) are in
 * `sharded.ts`; this module handles one file.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import {
  DTYPE_BYTES,
  decodeToF32,
  encodeFromF32,
  isDType,
  isFloatDType,
  numel,
  type DType,
  type FloatDType,
} from "./dtype.js";
import { CheckpointFormatError, CheckpointWriteError, TensorNotFoundError } from "./errors.js";
import { atomicWrite, readBytes, readExactly, writeAll } from "./fsutil.js";
import { assertFinite, assertFitsDType } from "../../util/finite.js";
import type { TensorEntry, TensorInfo, TensorReader } from "./types.js";

/** Headers larger than this are refused (the reference implementation uses the same bound). */
const MAX_HEADER_BYTES = 100_000_000;

interface Slot {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, Slot>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Parses and validates a header against the file size; throws CheckpointFormatError naming the field. */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch (err) {
    throw new CheckpointFormatError(file, "header is not valid UTF-8 (not a safetensors file, or corrupted)", { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointFormatError(
      file,
      `header is not valid JSON (${(err as Error).message}); expected a JSON object after the 8-byte length`,
      { cause: err },
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointFormatError(file, `header must be a JSON object, found ${Array.isArray(json) ? "an array" : typeof json}`);
  }
  const tensors = new Map<string, Slot>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new CheckpointFormatError(file, `__metadata__ must be an object of strings, found ${JSON.stringify(raw)}`);
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") {
          throw new CheckpointFormatError(file, `__metadata__.${k} must be a string, found ${JSON.stringify(v)}`);
        }
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new CheckpointFormatError(file, `tensor "${name}": expected {dtype, shape, data_offsets}, found ${JSON.stringify(raw)}`);
    }
    const { dtype, shape, data_offsets: offsets, ...rest } = raw as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new CheckpointFormatError(file, `tensor "${name}": unexpected field(s) ${extra.join(", ")}; expected dtype, shape, data_offsets`);
    }
    if (!isDType(dtype)) {
      throw new CheckpointFormatError(
        file,
        `tensor "${name}": dtype ${JSON.stringify(dtype)} is not supported; expected one of ${Object.keys(DTYPE_BYTES).join(", ")}`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new CheckpointFormatError(file, `tensor "${name}": shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      throw new CheckpointFormatError(
        file,
        `tensor "${name}": data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const want = numel(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== want) {
      throw new CheckpointFormatError(
        file,
        `tensor "${name}": ${dtype} × shape [${shape.join(", ")}] needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }
  // The byte buffer must be covered exactly, without holes or overlaps.
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let cursor = 0;
  for (const [name, slot] of sorted) {
    if (slot.begin !== cursor) {
      throw new CheckpointFormatError(
        file,
        slot.begin > cursor
          ? `tensor "${name}" starts at data offset ${slot.begin}, expected ${cursor} (hole in the data section)`
          : `tensor "${name}" starts at data offset ${slot.begin}, overlapping the previous tensor which ends at ${cursor}`,
      );
    }
    cursor = slot.end;
  }
  const dataBytes = fileSize - dataStart;
  if (cursor > dataBytes) {
    throw new CheckpointFormatError(
      file,
      `truncated: header declares ${cursor} data bytes (file size ${dataStart + cursor}), found ${dataBytes} (file size ${fileSize})`,
    );
  }
  if (cursor < dataBytes) {
    throw new CheckpointFormatError(
      file,
      `${dataBytes - cursor} unexpected trailing bytes: header declares ${cursor} data bytes (file size ${dataStart + cursor}), file size is ${fileSize}`,
    );
  }
  return { tensors, metadata, dataStart };
}

class SafetensorsFile implements TensorReader {
  private closed = false;
  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly header: SafetensorsHeader,
  ) {}

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  private slot(name: string): Slot {
    const s = this.header.tensors.get(name);
    if (!s) throw new TensorNotFoundError(this.path, name);
    return s;
  }

  info(name: string): TensorInfo {
    const s = this.slot(name);
    return { dtype: s.dtype, shape: [...s.shape], file: this.path };
  }

  async readRaw(name: string): Promise<Uint8Array> {
    if (this.closed) throw new CheckpointFormatError(this.path, `read of "${name}" after close()`);
    const s = this.slot(name);
    return readBytes(this.fh, this.path, s.end - s.begin, this.header.dataStart + s.begin, `tensor "${name}"`);
  }

  async read(name: string): Promise<Float32Array> {
    if (this.closed) throw new CheckpointFormatError(this.path, `read of "${name}" after close()`);
    const s = this.slot(name);
    const n = numel(s.shape);
    if (s.dtype === "F32") {
      // Read straight into the result's memory: no intermediate copy.
      const out = new Float32Array(n);
      await readExactly(this.fh, this.path, new Uint8Array(out.buffer), 0, 4 * n, this.header.dataStart + s.begin, `tensor "${name}"`);
      return out;
    }
    if (!isFloatDType(s.dtype) && s.dtype !== "F64") {
      throw new CheckpointFormatError(this.path, `tensor "${name}" has dtype ${s.dtype}; read() converts only F32/F16/BF16/F64 (use readRaw)`);
    }
    return decodeToF32(await this.readRaw(name), s.dtype, n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Opens one .safetensors file; the header is fully validated before this resolves. */
export async function openSafetensors(file: string): Promise<TensorReader> {
  const fh = await fs.open(file, "r");
  try {
    const size = (await fh.stat()).size;
    if (size < 8) {
      throw new CheckpointFormatError(file, `truncated: file is ${size} bytes, expected at least 8 (the header length)`);
    }
    const lenBytes = await readBytes(fh, file, 8, 0, "header length");
    const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      throw new CheckpointFormatError(file, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupted)`);
    }
    const n = Number(headerLen);
    if (8 + n > size) {
      throw new CheckpointFormatError(file, `truncated: header length is ${n} bytes but only ${size - 8} bytes follow the length field`);
    }
    const headerBytes = await readBytes(fh, file, n, 8, "header");
    const header = parseSafetensorsHeader(file, headerBytes, size);
    return new SafetensorsFile(file, fh, header);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

export interface WriteSafetensorsOptions {
  /** Storage type for entries without their own `dtype`. Defaults to "F32". */
  dtype?: FloatDType;
  /** String metadata stored as `__metadata__` (e.g. format, template id). */
  metadata?: Record<string, string>;
}

function validateEntries(file: string, entries: readonly TensorEntry[], dtype: FloatDType): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === "__metadata__" || e.name.length === 0) throw new CheckpointWriteError(file, `invalid tensor name ${JSON.stringify(e.name)}`);
    if (seen.has(e.name)) throw new CheckpointWriteError(file, `duplicate tensor name "${e.name}"`);
    seen.add(e.name);
    if (!e.shape.every((d) => isNonNegInt(d))) throw new CheckpointWriteError(file, `tensor "${e.name}": bad shape [${e.shape.join(", ")}]`);
    const dt = e.dtype ?? dtype;
    if (!isFloatDType(dt)) throw new CheckpointWriteError(file, `tensor "${e.name}": cannot write dtype ${String(dt)}; expected F32, F16 or BF16`);
    if (e.data instanceof Float32Array && e.data.length !== numel(e.shape)) {
      throw new CheckpointWriteError(file, `tensor "${e.name}": shape [${e.shape.join(", ")}] needs ${numel(e.shape)} values, data has ${e.data.length}`);
    }
  }
}

/** Bytes the tensor data of `entries` occupies when stored (headers excluded). */
export function storedBytes(entries: readonly TensorEntry[], dtype: FloatDType = "F32"): number {
  let total = 0;
  for (const e of entries) total += numel(e.shape) * DTYPE_BYTES[e.dtype ?? dtype];
  return total;
}

/**
 * Writes a .safetensors file atomically (temp file + fsync + rename), streaming one tensor at a
 * time. Returns the file size.
 */
export async function writeSafetensors(file: string, entries: readonly TensorEntry[], options: WriteSafetensorsOptions = {}): Promise<number> {
  const dtype = options.dtype ?? "F32";
  validateEntries(file, entries, dtype);
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length > 0) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") throw new CheckpointWriteError(file, `metadata "${k}" must be a string`);
    }
    header.__metadata__ = options.metadata;
  }
  let offset = 0;
  for (const e of entries) {
    const dt = e.dtype ?? dtype;
    const len = numel(e.shape) * DTYPE_BYTES[dt];
    header[e.name] = { dtype: dt, shape: [...e.shape], data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const raw = new TextEncoder().encode(json);
  const pad = (8 - (raw.byteLength % 8)) % 8;
  json += " ".repeat(pad);
  const headerBytes = new TextEncoder().encode(json);
  const total = 8 + headerBytes.byteLength + offset;
  await atomicWrite(file, async (fh) => {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
    await writeAll(fh, len);
    await writeAll(fh, headerBytes);
    for (const e of entries) {
      const values = e.data instanceof Float32Array ? e.data : await e.data();
      if (values.length !== numel(e.shape)) {
        throw new CheckpointWriteError(file, `tensor "${e.name}": shape [${e.shape.join(", ")}] needs ${numel(e.shape)} values, data has ${values.length}`);
      }
      assertFinite(file, e.name, values, "write");
      assertFitsDType(file, e.name, values, e.dtype ?? dtype);
      await writeAll(fh, encodeFromF32(values, e.dtype ?? dtype));
    }
  });
  return total;
}
