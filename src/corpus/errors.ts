/**
 * Error types and the bad-record sink shared by every corpus reader and builder step.
 *
 * A reader never drops a record silently: each malformed record is handed to an `IssueSink` with
 * file, line (1-based, the line where the record starts) and a reason. The sink either throws at
 * once (`fail`) or keeps the issue so the build can write it to `bad_records.jsonl`
 * (`skip-and-report`). This module does no I/O itself.
 */

export type ErrorPolicy = "fail" | "skip-and-report";

export interface BadRecord {
  /** File the record came from, as given to the reader. */
  file: string;
  /** 1-based line where the bad record starts (for CSV: the physical line of the row's first field). */
  line: number;
  /** What was wrong and what was expected. */
  reason: string;
  /** Which reader or step saw it (e.g. "csv", "kg", "alpaca"). */
  stage: string;
  /** A short excerpt of the raw record, to find it quickly. */
  excerpt?: string;
}

/** Base class for every error this module throws on purpose. */
export class CorpusError extends Error {
  override name = "CorpusError";
}

/** Thrown under the `fail` policy on the first bad record, and for unrecoverable input problems. */
export class BadRecordError extends CorpusError {
  override name = "BadRecordError";
  constructor(readonly record: BadRecord) {
    super(`${record.file}:${record.line}: ${record.reason}${record.excerpt ? ` (near: ${JSON.stringify(record.excerpt)})` : ""}`);
  }
}

/** A configuration file or option that does not validate. */
export class CorpusConfigError extends CorpusError {
  override name = "CorpusConfigError";
}

/** Collects bad records under one policy. Counts are exact; all records are kept for the report. */
export class IssueSink {
  readonly issues: BadRecord[] = [];
  private readonly perStage = new Map<string, number>();

  constructor(readonly policy: ErrorPolicy = "fail") {}

  report(record: BadRecord): void {
    if (record.excerpt !== undefined && record.excerpt.length > 120) record.excerpt = record.excerpt.slice(0, 120) + "…";
    if (this.policy === "fail") throw new BadRecordError(record);
    this.issues.push(record);
    this.perStage.set(record.stage, (this.perStage.get(record.stage) ?? 0) + 1);
  }

  get count(): number {
    return this.issues.length;
  }

  countsByStage(): Record<string, number> {
    return Object.fromEntries([...this.perStage.entries()].sort());
  }
}

/** A value read from a file, with where it started. */
export interface Located<T> {
  value: T;
  file: string;
  line: number;
}
