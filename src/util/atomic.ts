/**
 * The one way the project writes outputs so that nothing is lost and a failure replaces nothing:
 *
 * - `atomicWrite` / `writeFileAtomic` / `writeJsonAtomic`: a temp file in the same folder, fsync,
 *   rename over the final name; the temp file is removed on any failure.
 * - `JsonlWriter`: a streaming JSON Lines (or JSON array) writer with backpressure and an error path
 *   (a failed write rejects the next call instead of raising an unhandled 'error' event), renamed into
 *   place on close.
 * - `writeOutputDir`: a whole output folder staged in a fresh sibling and swapped in on success; the
 *   old folder stays intact until the swap, and a target that is not empty, not of the expected kind,
 *   or that holds one of the inputs is refused before any work. `openStagingDirSync` /
 *   `publishStagingDirSync` are the same staging and swap for writers with a synchronous API.
 *
 * A full disk (ENOSPC/EDQUOT) anywhere becomes a `DiskFullError` naming the output. This module does
 * not decide what a command writes or where; callers do.
 */
import type { Stats, WriteStream } from "node:fs";
import { closeSync, fsyncSync, mkdirSync, openSync, promises as fs, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";

/** The disk (or quota) filled up while writing `path`; whatever was there before is unchanged. */
export class DiskFullError extends Error {
  override readonly name = "DiskFullError";
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`disk full while writing ${path}; nothing was replaced`, options);
  }
}

/** An output folder was refused before any work (exists, wrong kind, holds an input, not a folder). */
export class OutputDirError extends Error {
  override readonly name = "OutputDirError";
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

export function isDiskFull(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Rethrow `err`, as a DiskFullError for `target` when the disk is full. An inner DiskFullError is kept
 * unless `outer` (a folder writer names the folder the user asked for, not a staged file in it).
 */
function rethrow(err: unknown, target: string, outer = false): never {
  if (err instanceof DiskFullError && !outer) throw err;
  // A temp or staging name means nothing to the user: name the output instead.
  const e = err as NodeJS.ErrnoException | null;
  if (e && typeof e.path === "string" && typeof e.code === "string") {
    const staged = path.basename(e.path.split(path.sep).find((part) => /^\..+\.(tmp|staging)-\d+-[0-9a-f]{8}$/.test(part)) ?? "");
    if (staged) {
      const real = staged.replace(/^\.(.+)\.(tmp|staging)-\d+-[0-9a-f]{8}$/, "$1");
      e.path = e.path.replace(staged, real);
    }
  }
  if (isDiskFull(err)) throw new DiskFullError(target, { cause: err });
  throw err;
}

function tempName(finalPath: string, tag: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${tag}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

// fs write takes at most 2 GiB − 1 per call.
const MAX_IO = 1 << 30;

/** Writes all of `data` at the handle's current end (short writes are continued). */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const chunk = Math.min(MAX_IO, data.byteLength - done);
    const { bytesWritten } = await fh.write(data, done, chunk);
    done += bytesWritten;
  }
}

/**
 * Checks an output file path before any work: it must not be an existing folder, and its parent must
 * be a folder (or not exist yet). Throws OutputDirError naming the path.
 */
export async function checkOutputFile(file: string): Promise<void> {
  const st = await statOrNull(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOTDIR") throw new OutputDirError(file, "a part of this path is a file, not a folder");
    throw err;
  });
  if (st?.isDirectory()) throw new OutputDirError(file, "is a folder; give the path of a file to write (e.g. a name inside this folder)");
}

/**
 * Runs `body` against a temp file beside `finalPath`, fsyncs it and renames it into place. On any
 * error the temp file is removed and the error rethrown (a full disk as DiskFullError).
 */
export async function atomicWrite<T>(finalPath: string, body: (fh: FileHandle) => Promise<T>): Promise<T> {
  const dir = path.dirname(finalPath);
  const tmp = tempName(finalPath, "tmp");
  let fh: FileHandle | undefined;
  // Before the body runs: a folder under the final name would only fail at the rename, after all the work.
  await checkOutputFile(finalPath);
  try {
    await fs.mkdir(dir, { recursive: true });
    fh = await fs.open(tmp, "wx");
    const result = await body(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.rename(tmp, finalPath);
    return result;
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    rethrow(err, finalPath);
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await atomicWrite(file, (fh) => writeAll(fh, bytes));
}

/**
 * The synchronous form of `writeFileAtomic`, for code that cannot await (e.g. inside a training step's
 * synchronous data path): temp file beside `file`, fsync, rename; the temp file is removed on failure.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const st = statSyncOrNull(file);
  if (st?.isDirectory()) throw new OutputDirError(file, "is a folder; give the path of a file to write (e.g. a name inside this folder)");
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file, "tmp");
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx");
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    rethrow(err, file);
  }
}

function statSyncOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Pretty-printed JSON with a final newline. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Streams JSON values to `path` (one per line, or a JSON array with `array: true`) through a temp
 * file that `close()` fsyncs and renames into place. A stream error (full disk, permission) is held
 * and thrown from the next `write`/`close`, which also remove the temp file; `abort()` discards it.
 */
export class JsonlWriter {
  count = 0;
  bytes = 0;
  private failure: unknown = null;
  private closed = false;
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly stream: WriteStream,
    private readonly array: boolean,
  ) {
    stream.on("error", (err) => {
      this.failure ??= err;
    });
    if (array) stream.write("[\n");
  }

  static async open(file: string, opts: { array?: boolean } = {}): Promise<JsonlWriter> {
    const tmp = tempName(file, "tmp");
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      // Open first so a missing or read-only folder fails here, with its real cause.
      const fh = await fs.open(tmp, "wx");
      const stream = fh.createWriteStream({ encoding: "utf8" });
      return new JsonlWriter(file, tmp, stream, opts.array ?? false);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      rethrow(err, file);
    }
  }

  private async fail(): Promise<never> {
    const err = this.failure;
    await this.abort();
    rethrow(err, this.path);
  }

  async write(value: unknown): Promise<void> {
    if (this.failure) await this.fail();
    if (this.closed) throw new Error(`${this.path}: write after close`);
    const line = (this.array ? (this.count > 0 ? ",\n  " : "  ") : "") + JSON.stringify(value) + (this.array ? "" : "\n");
    this.count++;
    this.bytes += Buffer.byteLength(line);
    if (!this.stream.write(line)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off("drain", done);
          this.stream.off("error", done);
          this.stream.off("close", done);
          resolve();
        };
        this.stream.on("drain", done);
        this.stream.on("error", done);
        this.stream.on("close", done);
      });
      if (this.failure) await this.fail();
    }
  }

  async close(): Promise<void> {
    if (this.failure) await this.fail();
    if (this.closed) return;
    this.closed = true;
    if (this.array) this.stream.write("\n]\n");
    await new Promise<void>((resolve) => {
      this.stream.end(() => resolve());
      this.stream.once("error", () => resolve());
    });
    if (this.failure) {
      this.closed = false;
      await this.fail();
    }
    try {
      const fh = await fs.open(this.tmp, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(this.tmp, this.path);
    } catch (err) {
      await fs.unlink(this.tmp).catch(() => undefined);
      rethrow(err, this.path);
    }
  }

  /** Discards the output (temp file removed; the final name is untouched). */
  async abort(): Promise<void> {
    this.closed = true;
    if (!this.stream.destroyed) {
      await new Promise<void>((resolve) => {
        this.stream.once("close", () => resolve());
        this.stream.destroy();
      });
    }
    await fs.unlink(this.tmp).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------
// Output folders

export interface OutputDirOptions {
  /** What the folder is, for messages: "model folder", "corpus build folder". */
  kind: string;
  /** Replace an existing non-empty folder (only one that `isKind` accepts). */
  overwrite?: boolean;
  /** How the user asks for `overwrite`, for the refusal message (e.g. "--overwrite"). */
  overwriteHint?: string;
  /**
   * Whether an existing non-empty folder is one this writer may replace (e.g. it holds config.json).
   * Without it, any non-empty folder is refused even with `overwrite`.
   */
  isKind?: (dir: string) => Promise<boolean>;
  /** Input files or folders of the job: a target that holds one of them is refused. */
  inputs?: readonly string[];
  /** Entries of the old folder moved into the new one at the swap (e.g. a resumable cache). */
  carry?: readonly string[];
}

async function statOrNull(p: string): Promise<import("node:fs").Stats | null> {
  try {
    return await fs.stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function realOrResolved(p: string): Promise<string> {
  const abs = path.resolve(p);
  return fs.realpath(abs).catch(() => abs);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/**
 * Checks a target output folder before any work (see OutputDirOptions); throws OutputDirError.
 * Returns whether the target exists (and so will be replaced at the swap).
 */
export async function checkOutputDir(target: string, opts: OutputDirOptions): Promise<boolean> {
  const abs = path.resolve(target);
  const st = await statOrNull(abs);
  if (st && !st.isDirectory()) throw new OutputDirError(target, `exists and is not a folder; a ${opts.kind} must be written to a folder`);
  const real = await realOrResolved(abs);
  for (const input of opts.inputs ?? []) {
    const inp = await realOrResolved(input);
    if (isInside(inp, real)) {
      throw new OutputDirError(target, `the output folder holds the input ${input}; it would be replaced by the output. Choose an output folder outside the inputs`);
    }
    if (isInside(real, inp) && (await statOrNull(inp))?.isDirectory()) {
      throw new OutputDirError(target, `the output folder is inside the input folder ${input}; its files would be read as input next time. Choose an output folder outside the inputs`);
    }
  }
  if (!st) return false;
  const entries = await fs.readdir(abs);
  if (entries.length === 0) return true;
  const ofKind = opts.isKind ? await opts.isKind(abs) : false;
  if (!ofKind) {
    throw new OutputDirError(target, `is not empty and is not a ${opts.kind}; refusing to replace it (choose another output folder)`);
  }
  if (!opts.overwrite) {
    throw new OutputDirError(target, `already holds a ${opts.kind}; choose another output folder${opts.overwriteHint ? ` or replace it with ${opts.overwriteHint}` : ""}`);
  }
  return true;
}

/** Removes staging folders left by killed runs of this writer (their process is gone). */
function removeStale(target: string): void {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(?:staging|replaced)-(\d+)-[0-9a-f]{8}$/.exec(n.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === "EPERM";
    }
    if (alive || pid === process.pid) continue;
    try {
      rmSync(path.join(dir, n), { recursive: true, force: true });
    } catch {
      // Another writer may be removing it at the same moment.
    }
  }
}

function existsOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * A fresh, empty staging folder beside `target` (its parent is created; staging folders of killed
 * runs are removed first). Fill it, then `publishStagingDirSync` it or `discardStagingDirSync` it.
 * Synchronous so that writers with a synchronous API (the tokenized dataset) share this path;
 * `writeOutputDir` wraps it for async bodies.
 */
export function openStagingDirSync(target: string): string {
  const abs = path.resolve(target);
  mkdirSync(path.dirname(abs), { recursive: true });
  removeStale(abs);
  const staging = tempName(abs, "staging");
  mkdirSync(staging);
  return staging;
}

/**
 * Swaps a filled staging folder in as `target`. An existing target is moved aside first and removed
 * only once the new folder is in place; `carry` names entries of the old folder moved into the new one
 * (e.g. a resumable cache). On failure the carried entries go back and the target is as before.
 */
export function publishStagingDirSync(staging: string, target: string, carry: readonly string[] = []): void {
  const abs = path.resolve(target);
  if (!existsOrNull(abs)) {
    renameSync(staging, abs);
    return;
  }
  const carried: string[] = [];
  try {
    for (const name of carry) {
      const from = path.join(abs, name);
      const to = path.join(staging, name);
      if (existsOrNull(from) && !existsOrNull(to)) {
        renameSync(from, to);
        carried.push(name);
      }
    }
    const old = tempName(abs, "replaced");
    renameSync(abs, old);
    renameSync(staging, abs);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    for (const name of carried) {
      try {
        renameSync(path.join(staging, name), path.join(abs, name));
      } catch {
        // Best effort: the error below is what the user needs to see.
      }
    }
    throw err;
  }
}

/** Removes a staging folder that will not be published (after an error). */
export function discardStagingDirSync(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
}

/**
 * Writes a whole output folder: `body` fills a fresh sibling staging folder, which replaces `target`
 * only when `body` succeeds. On any failure the staging folder is removed and `target` is as before.
 */
export async function writeOutputDir<T>(target: string, opts: OutputDirOptions, body: (staging: string) => Promise<T>): Promise<T> {
  await checkOutputDir(target, opts);
  let staging = "";
  try {
    staging = openStagingDirSync(target);
    const result = await body(staging);
    // The body may have created the target meanwhile (a cache kept across builds lives there):
    // publishing looks at it only now.
    publishStagingDirSync(staging, target, opts.carry);
    staging = "";
    return result;
  } catch (err) {
    if (staging) discardStagingDirSync(staging);
    rethrow(err, target, true);
  }
}
