/**
 * Typed errors of the adapter module. Each names the file or module and field, what was expected and
 * what was found. Loading validates everything before any tensor reaches a model, so an error means
 * nothing was attached or changed.
 */

/** Base class: catch this to handle any adapter problem. */
export class AdapterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AdapterError";
  }
}

/** adapter_config.json (or adapter options) is malformed, or asks for a PEFT feature we do not implement. */
export class AdapterConfigError extends AdapterError {
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${source}: field "${field}": ${detail}`);
    this.name = "AdapterConfigError";
  }
}

/** A target module the base model does not have (or cannot be adapted, like a tied lm_head). */
export class AdapterTargetError extends AdapterError {
  constructor(message: string) {
    super(message);
    this.name = "AdapterTargetError";
  }
}

/** Adapter tensors missing, unknown, or with shapes that do not fit the base model's layers. */
export class AdapterShapeError extends AdapterError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "AdapterShapeError";
  }
}

/** NaN or ±Inf in adapter weights. */
export class AdapterValueError extends AdapterError {
  constructor(
    readonly file: string,
    readonly tensor: string,
    detail: string,
  ) {
    super(`${file}: tensor "${tensor}": ${detail}`);
    this.name = "AdapterValueError";
  }
}

/** The adapter was trained on another base model (fingerprint mismatch); pass `force` to load anyway. */
export class AdapterBaseMismatchError extends AdapterError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}: the adapter was trained on a base model with fingerprint ${expected}, this base has ${found} (another model, or the same weights stored in another dtype); pass force to load it anyway`);
    this.name = "AdapterBaseMismatchError";
  }
}

/** Merge/unmerge/export asked for something that is not a fixed weight change (token-routed experts). */
export class AdapterMergeError extends AdapterError {
  constructor(message: string) {
    super(message);
    this.name = "AdapterMergeError";
  }
}

/** A seed adapter without router weights, and no policy chosen for them. */
export class MissingRouterError extends AdapterError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "MissingRouterError";
  }
}
