/**
 * Small file helpers shared by the checkpoint readers and writers: positional reads that insist on
 * the full length (a short read means the file is truncated), and write-to-temp-then-rename so a
 * crash or a full disk never leaves a half-written checkpoint under the final name.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { CheckpointFormatError, CheckpointWriteError } from "./errors.js";

// fs.read takes at most 2 GiB − 1 per call.
const MAX_IO = 1 << 30;

/** Reads exactly `length` bytes at `position` into `target` (offset `at`), or throws naming the file. */
export async function readExactly(
  fh: FileHandle,
  file: string,
  target: Uint8Array,
  at: number,
  length: number,
  position: number,
  what: string,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const chunk = Math.min(MAX_IO, length - done);
    const { bytesRead } = await fh.read(target, at + done, chunk, position + done);
    if (bytesRead === 0) {
      throw new CheckpointFormatError(
        file,
        `truncated: expected ${length} bytes of ${what} at offset ${position}, found only ${done}`,
      );
    }
    done += bytesRead;
  }
}

export async function readBytes(
  fh: FileHandle,
  file: string,
  length: number,
  position: number,
  what: string,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  await readExactly(fh, file, buf, 0, length, position, what);
  return buf;
}

/** Writes all of `data` at the handle's current end. */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const chunk = Math.min(MAX_IO, data.byteLength - done);
    const { bytesWritten } = await fh.write(data, done, chunk);
    done += bytesWritten;
  }
}

/**
 * Runs `body` against a temp file beside `finalPath`, fsyncs it and renames it into place. On any
 * error the temp file is removed and the error rethrown (ENOSPC reworded to say the disk is full).
 */
export async function atomicWrite<T>(finalPath: string, body: (fh: FileHandle) => Promise<T>): Promise<T> {
  const dir = path.dirname(finalPath);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  let fh: FileHandle | undefined;
  try {
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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      throw new CheckpointWriteError(finalPath, "disk full while writing; nothing was replaced", { cause: err });
    }
    throw err;
  }
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
