/**
 * The tokenized dataset on disk: what the stages read (and what a PyTorch trainer reads too), written
 * once by data preparation. A dataset is a directory of flat little-endian arrays that can be
 * memory-mapped (numpy.memmap) or read row by row with positional reads, plus a JSON description:
 *
 *   meta.json     format "pedgpt-tokens", version, kind (pt | sft | pairs), counts, hashes, statistics
 *   tokens.bin    int32  token ids of every row, concatenated
 *   labels.bin    int32  targets aligned with tokens (Hugging Face convention, shifted by the model);
 *                 -100 = not learned
 *   segments.bin  int32  optional: 1-based document/example number inside the row (packed rows); a
 *                 model attends only within a segment and positions restart at each segment
 *   index.bin     int64  rows + 1 offsets into tokens.bin (in tokens); row i = [index[i], index[i+1])
 *
 * For kind "pairs", rows 2k and 2k+1 are the chosen and the rejected sequence of pair k.
 * Not here: how rows are made (stages/prepare.ts) or batched (stages/batch.ts). The layout is
 * documented for other readers in this folder's README.md.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { IGNORE_INDEX } from "../../engine/index.js";
import { checkOutputDir, discardStagingDirSync, openStagingDirSync, publishStagingDirSync } from "../../util/atomic.js";

export const DATASET_FORMAT = "pedgpt-tokens";
export const DATASET_VERSION = 1;
export type DatasetKind = "pt" | "sft" | "pairs";

export class DatasetFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetFormatError";
  }
}

/** meta.json of a tokenized dataset. */
export interface DatasetMeta {
  format: typeof DATASET_FORMAT;
  version: number;
  kind: DatasetKind;
  rows: number;
  tokens: number;
  /** tokens whose label is not -100 */
  targets: number;
  maxRowLength: number;
  hasSegments: boolean;
  /** sha256 over the four files' bytes (tokens, labels, segments when present, index) */
  contentHash: string;
  /** Free-form description from the writer: tokenizer hash, template, cutoff_len, sources, counts. */
  info: Record<string, unknown>;
}

export interface DatasetRow {
  ids: Int32Array;
  labels: Int32Array;
  /** present when the dataset has segments */
  segments?: Int32Array;
}

function checkEndianness(): void {
  // Typed arrays use the platform's byte order; the files are little-endian by definition.
  if (endianness() !== "LE") throw new DatasetFormatError("tokenized datasets are little-endian; this platform is big-endian");
}

function writeSyncedFile(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, "w");
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams rows into a new dataset directory. Files go to a staging sibling that finish() swaps into
 * place (the project's one output-folder mechanism, util/atomic), so a reader never sees a half-written
 * dataset. The target is checked before any row is written: an existing dataset is replaced only with
 * `overwrite`, and a non-empty folder that is not a dataset never is.
 */
export class DatasetWriter {
  private readonly fds: { tokens: number; labels: number; segments: number | null };
  private readonly offsets: number[] = [0];
  private readonly hashes = { tokens: createHash("sha256"), labels: createHash("sha256"), segments: createHash("sha256") };
  private targets = 0;
  private maxRow = 0;
  private done = false;

  /** Checks `dir` as an output folder, then opens a writer staged beside it. */
  static async open(dir: string, kind: DatasetKind, opts: { segments?: boolean; overwrite?: boolean } = {}): Promise<DatasetWriter> {
    checkEndianness();
    await checkOutputDir(dir, { kind: "tokenized dataset", overwrite: opts.overwrite, isKind: async (d) => existsSync(join(d, "meta.json")) });
    return new DatasetWriter(dir, kind, opts, openStagingDirSync(dir));
  }

  private constructor(
    readonly dir: string,
    readonly kind: DatasetKind,
    readonly opts: { segments?: boolean; overwrite?: boolean },
    private readonly tmp: string,
  ) {
    this.fds = {
      tokens: openSync(join(this.tmp, "tokens.bin"), "w"),
      labels: openSync(join(this.tmp, "labels.bin"), "w"),
      segments: opts.segments ? openSync(join(this.tmp, "segments.bin"), "w") : null,
    };
  }

  get rows(): number {
    return this.offsets.length - 1;
  }

  add(row: { ids: ArrayLike<number>; labels: ArrayLike<number>; segments?: ArrayLike<number> }): void {
    if (this.done) throw new DatasetFormatError(`${this.dir}: add() after finish()`);
    const n = row.ids.length;
    if (n === 0) throw new DatasetFormatError(`${this.dir}: row ${this.rows} is empty`);
    if (row.labels.length !== n) throw new DatasetFormatError(`${this.dir}: row ${this.rows} has ${n} ids but ${row.labels.length} labels`);
    const ids = Int32Array.from(row.ids);
    const labels = Int32Array.from(row.labels);
    for (let i = 0; i < n; i++) {
      if (ids[i]! < 0) throw new DatasetFormatError(`${this.dir}: row ${this.rows} position ${i}: negative token id ${ids[i]}`);
      if (labels[i] !== IGNORE_INDEX) {
        if (labels[i]! < 0) throw new DatasetFormatError(`${this.dir}: row ${this.rows} position ${i}: label ${labels[i]} is neither -100 nor a token id`);
        this.targets++;
      }
    }
    this.write("tokens", ids);
    this.write("labels", labels);
    if (this.fds.segments !== null) {
      if (!row.segments || row.segments.length !== n) throw new DatasetFormatError(`${this.dir}: row ${this.rows} needs ${n} segment ids`);
      this.write("segments", Int32Array.from(row.segments));
    } else if (row.segments) {
      throw new DatasetFormatError(`${this.dir}: row ${this.rows} has segment ids but the dataset was opened without segments`);
    }
    this.offsets.push(this.offsets[this.offsets.length - 1]! + n);
    this.maxRow = Math.max(this.maxRow, n);
  }

  private write(which: "tokens" | "labels" | "segments", a: Int32Array): void {
    const buf = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    writeSync(this.fds[which]!, buf);
    this.hashes[which].update(buf);
  }

  /** Writes index.bin and meta.json and moves the directory into place. */
  finish(info: Record<string, unknown> = {}): DatasetMeta {
    if (this.done) throw new DatasetFormatError(`${this.dir}: finish() called twice`);
    this.done = true;
    // On disk before the rename publishes them: a crash right after finish() must not leave a dataset
    // whose meta.json promises bytes that never reached the disk.
    for (const fd of [this.fds.tokens, this.fds.labels, this.fds.segments]) {
      if (fd === null) continue;
      fsyncSync(fd);
      closeSync(fd);
    }
    const index = BigInt64Array.from(this.offsets, (o) => BigInt(o));
    const indexBuf = Buffer.from(index.buffer);
    writeSyncedFile(join(this.tmp, "index.bin"), indexBuf);
    const total = createHash("sha256");
    total.update(this.hashes.tokens.digest("hex"));
    total.update(this.hashes.labels.digest("hex"));
    if (this.fds.segments !== null) total.update(this.hashes.segments.digest("hex"));
    total.update(createHash("sha256").update(indexBuf).digest("hex"));
    const meta: DatasetMeta = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      kind: this.kind,
      rows: this.rows,
      tokens: this.offsets[this.offsets.length - 1]!,
      targets: this.targets,
      maxRowLength: this.maxRow,
      hasSegments: this.fds.segments !== null,
      contentHash: total.digest("hex"),
      info,
    };
    writeSyncedFile(join(this.tmp, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
    // The old dataset (with overwrite) stays readable until the new one is in place.
    publishStagingDirSync(this.tmp, this.dir);
    return meta;
  }

  /** Removes the staging directory (after an error). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    for (const fd of [this.fds.tokens, this.fds.labels, this.fds.segments]) if (fd !== null) closeSync(fd);
    discardStagingDirSync(this.tmp);
  }
}

/** Reads meta.json and checks it describes a dataset this code can read. */
export function readDatasetMeta(dir: string): DatasetMeta {
  const file = join(dir, "meta.json");
  if (!existsSync(file)) throw new DatasetFormatError(`${dir}: not a tokenized dataset (no meta.json)`);
  let meta: DatasetMeta;
  try {
    meta = JSON.parse(readFileSync(file, "utf8")) as DatasetMeta;
  } catch (e) {
    throw new DatasetFormatError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (meta.format !== DATASET_FORMAT) throw new DatasetFormatError(`${file}: format is ${JSON.stringify(meta.format)}, expected "${DATASET_FORMAT}"`);
  if (meta.version !== DATASET_VERSION) throw new DatasetFormatError(`${file}: version ${meta.version} is not supported (this code reads version ${DATASET_VERSION})`);
  if (!["pt", "sft", "pairs"].includes(meta.kind)) throw new DatasetFormatError(`${file}: kind ${JSON.stringify(meta.kind)}; expected pt, sft or pairs`);
  for (const k of ["rows", "tokens", "targets", "maxRowLength"] as const) {
    if (!Number.isInteger(meta[k]) || meta[k] < 0) throw new DatasetFormatError(`${file}: field "${k}" must be a non-negative integer`);
  }
  if (meta.kind === "pairs" && meta.rows % 2 !== 0) throw new DatasetFormatError(`${file}: a pairs dataset needs an even number of rows, has ${meta.rows}`);
  return meta;
}

/** A tokenized dataset opened for reading; rows are read with positional reads (nothing loaded whole). */
export class TokenDataset {
  readonly meta: DatasetMeta;
  /** rows + 1 offsets, in tokens */
  readonly offsets: Float64Array;
  private readonly fds: { tokens: number; labels: number; segments: number | null };

  constructor(readonly dir: string) {
    checkEndianness();
    this.meta = readDatasetMeta(dir);
    const need = (name: string): string => {
      const f = join(dir, name);
      if (!existsSync(f)) throw new DatasetFormatError(`${dir}: ${name} is missing`);
      return f;
    };
    const indexBuf = readFileSync(need("index.bin"));
    if (indexBuf.length !== (this.meta.rows + 1) * 8) {
      throw new DatasetFormatError(`${dir}/index.bin: ${indexBuf.length} bytes, expected ${(this.meta.rows + 1) * 8} for ${this.meta.rows} rows`);
    }
    const index = new BigInt64Array(indexBuf.buffer.slice(indexBuf.byteOffset, indexBuf.byteOffset + indexBuf.length));
    this.offsets = Float64Array.from(index, (v) => Number(v));
    for (let i = 0; i < this.meta.rows; i++) {
      if (!(this.offsets[i + 1]! > this.offsets[i]!)) throw new DatasetFormatError(`${dir}/index.bin: row ${i} has offsets ${this.offsets[i]}..${this.offsets[i + 1]} (rows must be non-empty and in order)`);
    }
    if (this.offsets[0] !== 0 || this.offsets[this.meta.rows] !== this.meta.tokens) {
      throw new DatasetFormatError(`${dir}/index.bin: offsets must run from 0 to ${this.meta.tokens} tokens (meta.json)`);
    }
    const open = (name: string): number => {
      const fd = openSync(need(name), "r");
      const size = fstatSync(fd).size;
      if (size !== this.meta.tokens * 4) {
        closeSync(fd);
        throw new DatasetFormatError(`${dir}/${name}: ${size} bytes, expected ${this.meta.tokens * 4} (${this.meta.tokens} int32 values)`);
      }
      return fd;
    };
    this.fds = { tokens: open("tokens.bin"), labels: open("labels.bin"), segments: null };
    try {
      if (this.meta.hasSegments) this.fds.segments = open("segments.bin");
    } catch (e) {
      this.close();
      throw e;
    }
  }

  get rows(): number {
    return this.meta.rows;
  }

  rowLength(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }

  row(i: number): DatasetRow {
    if (!Number.isInteger(i) || i < 0 || i >= this.meta.rows) throw new RangeError(`${this.dir}: row ${i} out of range [0, ${this.meta.rows})`);
    const start = this.offsets[i]!;
    const n = this.offsets[i + 1]! - start;
    const read = (fd: number): Int32Array => {
      const out = new Int32Array(n);
      const buf = Buffer.from(out.buffer);
      let got = 0;
      while (got < buf.length) {
        const r = readSync(fd, buf, got, buf.length - got, start * 4 + got);
        if (r === 0) throw new DatasetFormatError(`${this.dir}: unexpected end of file reading row ${i}`);
        got += r;
      }
      return out;
    };
    const row: DatasetRow = { ids: read(this.fds.tokens), labels: read(this.fds.labels) };
    if (this.fds.segments !== null) row.segments = read(this.fds.segments);
    return row;
  }

  close(): void {
    for (const fd of [this.fds.tokens, this.fds.labels, this.fds.segments]) {
      if (fd !== null) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    }
  }
}
