/**
 * Small file helpers shared by the checkpoint readers and writers: positional reads that insist on
 * the full length (a short read means the file is truncated). Writes go through the project's atomic
 * writer (temp file + fsync + rename), so a crash or a full disk never leaves a half-written
 * checkpoint under the final name.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { CheckpointFormatError } from "./errors.js";

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

// Atomic writes are the project's one writer (src/util/atomic.ts); re-exported for the format modules.
export { atomicWrite, writeAll } from "../../util/atomic.js";

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}
