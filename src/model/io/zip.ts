/**
 * Read-only ZIP archive access for PyTorch checkpoints: the central directory (with ZIP64), local
 * headers, and stored (uncompressed) entries read by positional reads, with CRC-32 checks. PyTorch
 * writes its archives uncompressed; a compressed entry is reported, not inflated. Not a general
 * ZIP library: no encryption, no multi-disk archives, no writing.
 */
import type { FileHandle } from "node:fs/promises";
import { CheckpointFormatError } from "./errors.js";
import { readBytes } from "./fsutil.js";

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header. */
  localOffset: number;
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOC_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

let crcTables: Int32Array[] | undefined;
/** Eight 256-entry tables for slicing-by-8 (8 bytes per step; ~4× the byte-wise loop). */
function tables(): Int32Array[] {
  if (!crcTables) {
    const t0 = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t0[n] = c;
    }
    crcTables = [t0];
    for (let k = 1; k < 8; k++) {
      const prev = crcTables[k - 1]!;
      const t = new Int32Array(256);
      for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
      crcTables.push(t);
    }
  }
  return crcTables;
}

/** CRC-32 (IEEE, as in ZIP) of `data`, continuing from `crc`. */
export function crc32(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables() as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  let c = ~crc;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c =
      t7[c & 0xff]! ^ t6[(c >>> 8) & 0xff]! ^ t5[(c >>> 16) & 0xff]! ^ t4[c >>> 24]! ^
      t3[data[i + 4]!]! ^ t2[data[i + 5]!]! ^ t1[data[i + 6]!]! ^ t0[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export class ZipReader {
  private dataStarts = new Map<string, number>();
  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    readonly size: number,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Reads and validates the central directory; every entry must lie within the file. */
  static async open(file: string, fh: FileHandle, size: number): Promise<ZipReader> {
    const tailLen = Math.min(size, 22 + 65535);
    const tail = await readBytes(fh, file, tailLen, size - tailLen, "end of archive");
    const dv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (dv.getUint32(i, true) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      throw new CheckpointFormatError(file, "no ZIP end-of-central-directory record found: the file is truncated or not a ZIP archive");
    }
    let count = dv.getUint16(eocd + 10, true);
    let cdSize = dv.getUint32(eocd + 12, true);
    let cdOffset = dv.getUint32(eocd + 16, true);
    const eocdAbs = size - tailLen + eocd;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (eocdAbs < 20) throw new CheckpointFormatError(file, "ZIP64 locator missing before the end-of-central-directory record");
      const loc = await readBytes(fh, file, 20, eocdAbs - 20, "ZIP64 locator");
      const ldv = new DataView(loc.buffer);
      if (ldv.getUint32(0, true) !== EOCD64_LOC_SIG) throw new CheckpointFormatError(file, "ZIP64 fields set but no ZIP64 locator found (corrupted)");
      const e64Off = Number(ldv.getBigUint64(8, true));
      if (e64Off + 56 > size) throw new CheckpointFormatError(file, `ZIP64 record offset ${e64Off} lies beyond the file size ${size} (truncated)`);
      const e64 = await readBytes(fh, file, 56, e64Off, "ZIP64 end record");
      const edv = new DataView(e64.buffer);
      if (edv.getUint32(0, true) !== EOCD64_SIG) throw new CheckpointFormatError(file, `no ZIP64 end record at offset ${e64Off} (corrupted)`);
      count = Number(edv.getBigUint64(32, true));
      cdSize = Number(edv.getBigUint64(40, true));
      cdOffset = Number(edv.getBigUint64(48, true));
    }
    if (cdOffset + cdSize > size) {
      throw new CheckpointFormatError(file, `central directory at ${cdOffset}+${cdSize} lies beyond the file size ${size} (truncated)`);
    }
    const cd = await readBytes(fh, file, cdSize, cdOffset, "central directory");
    const cdv = new DataView(cd.buffer);
    const entries = new Map<string, ZipEntry>();
    const dec = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || cdv.getUint32(p, true) !== CEN_SIG) {
        throw new CheckpointFormatError(file, `central directory entry #${i} at ${cdOffset + p} is malformed (corrupted)`);
      }
      const method = cdv.getUint16(p + 10, true);
      const crc = cdv.getUint32(p + 16, true);
      let comp = cdv.getUint32(p + 20, true);
      let uncomp = cdv.getUint32(p + 24, true);
      const nameLen = cdv.getUint16(p + 28, true);
      const extraLen = cdv.getUint16(p + 30, true);
      const commentLen = cdv.getUint16(p + 32, true);
      let local = cdv.getUint32(p + 42, true);
      const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields saturated in the fixed header, in this order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = cdv.getUint16(e, true);
        const len = cdv.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncomp === 0xffffffff) { uncomp = Number(cdv.getBigUint64(q, true)); q += 8; }
          if (comp === 0xffffffff) { comp = Number(cdv.getBigUint64(q, true)); q += 8; }
          if (local === 0xffffffff) { local = Number(cdv.getBigUint64(q, true)); q += 8; }
        }
        e += 4 + len;
      }
      if (local + 30 + comp > size) {
        throw new CheckpointFormatError(file, `entry "${name}" (${comp} bytes at ${local}) extends beyond the file size ${size} (truncated)`);
      }
      entries.set(name, { name, method, crc32: crc, compressedSize: comp, size: uncomp, localOffset: local });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return new ZipReader(file, fh, size, entries);
  }

  /** Absolute offset of an entry's data (after its local header), checked against the file size. */
  async dataStart(entry: ZipEntry): Promise<number> {
    const known = this.dataStarts.get(entry.name);
    if (known !== undefined) return known;
    const h = await readBytes(this.fh, this.file, 30, entry.localOffset, `local header of "${entry.name}"`);
    const dv = new DataView(h.buffer);
    if (dv.getUint32(0, true) !== LOC_SIG) {
      throw new CheckpointFormatError(this.file, `entry "${entry.name}": no local header at offset ${entry.localOffset} (corrupted)`);
    }
    const start = entry.localOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    if (start + entry.compressedSize > this.size) {
      throw new CheckpointFormatError(this.file, `truncated: entry "${entry.name}" needs bytes ${start}..${start + entry.compressedSize}, file size is ${this.size}`);
    }
    this.dataStarts.set(entry.name, start);
    return start;
  }

  private stored(entry: ZipEntry): void {
    if (entry.method !== 0 || entry.compressedSize !== entry.size) {
      throw new CheckpointFormatError(
        this.file,
        `entry "${entry.name}" is compressed (method ${entry.method}); PyTorch checkpoints store entries uncompressed — re-save it with torch.save`,
      );
    }
  }

  /** Reads a whole stored entry and checks its CRC-32. */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    this.stored(entry);
    const start = await this.dataStart(entry);
    const data = await readBytes(this.fh, this.file, entry.size, start, `entry "${entry.name}"`);
    const got = crc32(data);
    if (got !== entry.crc32) {
      throw new CheckpointFormatError(
        this.file,
        `entry "${entry.name}" is corrupted: CRC-32 0x${got.toString(16).padStart(8, "0")}, expected 0x${entry.crc32.toString(16).padStart(8, "0")}`,
      );
    }
    return data;
  }
}
