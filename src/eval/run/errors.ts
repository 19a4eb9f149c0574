/** Errors shared by `eval run` and `eval judge`. */

/** A set of answers does not cover a test set (missing items or ids the set does not have). */
export class CoverageError extends Error {
  override name = "CoverageError";
}
