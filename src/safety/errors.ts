/**
 * Typed errors of the safety layer. Library code throws these; only the CLI turns them into exit codes.
 */

/** A knowledge-base file is missing, unreadable, not JSON, or fails schema/consistency checks. */
export class SafetyKnowledgeError extends Error {
  override readonly name = "SafetyKnowledgeError";
  constructor(
    message: string,
    /** The file that failed (as given to the loader). */
    readonly file: string,
  ) {
    super(message);
  }
}

/** Bad input to an API call (unparseable weight, unknown drug …). */
export class SafetyInputError extends Error {
  override readonly name = "SafetyInputError";
}
