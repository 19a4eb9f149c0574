/**
 * Typed errors of training. Every message says what was expected and what was found (with the
 * numbers), and for files the path, so a user can fix the option or the folder without reading code.
 * Only errors live here; the trainer, the checkpoint reader and the objectives throw them.
 */

/** Base class: anything that stops a training run (also: too many non-finite steps in a row). */
export class TrainingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrainingError";
  }
}

/** An option or a combination of options that cannot work, found before any expensive step. */
export class TrainingOptionsError extends TrainingError {
  constructor(
    /** The option, e.g. "batchSize". */
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = "TrainingOptionsError";
  }
}

/** The memory estimate is above what the machine has free. */
export class InsufficientMemoryError extends TrainingError {
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
    detail: string,
  ) {
    super(detail);
    this.name = "InsufficientMemoryError";
  }
}

/** A training checkpoint is truncated, corrupted, of an unknown version, or incomplete. */
export class CheckpointCorruptError extends TrainingError {
  constructor(
    /** The checkpoint folder or file. */
    readonly path: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${detail}`, options);
    this.name = "CheckpointCorruptError";
  }
}

/** A resume whose recipe (options, objective, data) differs from the checkpoint's. */
export class RecipeMismatchError extends TrainingError {
  constructor(
    readonly checkpoint: string,
    /** Field paths that differ, each "field: checkpoint X, now Y". */
    readonly differences: string[],
  ) {
    super(`${checkpoint}: cannot resume, the recipe differs from the checkpoint's: ${differences.join("; ")}`);
    this.name = "RecipeMismatchError";
  }
}

/** The run folder holds another run's checkpoints or metrics (never mixed, never silently replaced). */
export class RunConflictError extends TrainingError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = "RunConflictError";
  }
}

/** The run was asked to stop (TrainOptions.signal); `checkpoint` holds its last step when it had a runDir. */
export class TrainingStoppedError extends TrainingError {
  constructor(
    readonly step: number,
    readonly checkpoint: string | null,
    message: string,
  ) {
    super(message);
    this.name = "TrainingStoppedError";
  }
}
