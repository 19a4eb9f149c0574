/**
 * Typed errors of checkpoint I/O. Every message names the file and, where it applies, the field,
 * what was expected and what was found, so a user can tell a truncated download from a wrong format.
 * This module only defines errors; readers and writers throw them.
 */

/** A checkpoint file is malformed, truncated, corrupted or uses a feature we do not read. */
export class CheckpointFormatError extends Error {
  override readonly name = "CheckpointFormatError";
  constructor(
    /** The file (or directory) the problem is in. */
    readonly file: string,
    /** What is wrong, including expected vs found where known. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** A tensor was asked for that the checkpoint does not hold, or with the wrong shape/dtype. */
export class TensorNotFoundError extends Error {
  override readonly name = "TensorNotFoundError";
  constructor(
    readonly file: string,
    readonly tensor: string,
  ) {
    super(`${file}: no tensor named "${tensor}"`);
  }
}

/** Bad arguments given to a writer (shape/data mismatch, duplicate names, unsupported dtype). */
export class CheckpointWriteError extends Error {
  override readonly name = "CheckpointWriteError";
  constructor(
    readonly file: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}
