/**
 * Error type for the tokenizer module: every failure to read, train or apply a tokenizer or chat template
 * is a TokenizerError whose message names the file (and field or line) and what was expected.
 */
export class TokenizerError extends Error {
  override name: string = "TokenizerError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by checkTemplate when a checkpoint's chat template differs from the requested one. */
export class TemplateMismatchError extends TokenizerError {
  override name = "TemplateMismatchError";
  constructor(
    readonly expected: string,
    readonly requested: string,
  ) {
    super(
      `chat template mismatch: the checkpoint was trained with template "${expected}" but "${requested}" was requested; ` +
        `use --template ${expected}, or pass force to override (answers will likely degrade)`,
    );
  }
}
