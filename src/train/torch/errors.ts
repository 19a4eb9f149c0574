/**
 * Errors of the torch backend: options refused before any work, a Python without PyTorch (or without
 * CUDA when it was asked for), and a failed run, which carries the rank and the Python side's own
 * error type and message.
 *
 * Not here: the Python side's error files (read in launch.ts).
 */

/** A launch option (or the recipe key it overrides) is invalid; nothing was started. */
export class TorchOptionsError extends Error {
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`${option}: ${detail}`);
    this.name = "TorchOptionsError";
  }
}

/** No usable Python with PyTorch, or the device asked for is not there. */
export class TorchEnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TorchEnvironmentError";
  }
}

/** The torch run failed: the first failing rank, the Python error type (when it wrote one) and message. */
export class TorchBackendError extends Error {
  constructor(
    message: string,
    readonly rank: number | null,
    readonly type: string | null,
    readonly traceback: string | null = null,
  ) {
    super(message);
    this.name = "TorchBackendError";
  }
}
