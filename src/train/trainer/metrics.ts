/**
 * The metrics file of one training run: JSON Lines, one object per optimizer step (and one for the
 * evaluation before the first step, `step: 0`), each carrying the run id. A file belongs to exactly one
 * run: a new run never appends to it, and a resumed run first cuts it back to the checkpoint's step
 * (dropping what the killed process wrote after its last checkpoint, and a half-written last line),
 * so the file ends up equal to an uninterrupted run's. Lines are appended synchronously, one write
 * each, so a killed process loses at most the line being written.
 *
 * Not here: deciding whether a folder may be reused (trainer.ts).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../../util/atomic.js";
import { RunConflictError } from "./errors.js";

export interface MetricsLine {
  run: string;
  step: number;
  [key: string]: unknown;
}

/** The lines of a metrics file, and the run they belong to (throws if runs are mixed). */
export function readMetrics(file: string): { lines: MetricsLine[]; runs: string[] } {
  const raw = readFileSync(file, "utf8").split("\n");
  const lines: MetricsLine[] = [];
  const runs: string[] = [];
  raw.forEach((l, i) => {
    if (l === "") return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      // Only the last line may be cut short (a process killed mid-write); anything else is damage.
      if (i === raw.length - 1) return;
      throw new RunConflictError(file, `line ${i + 1} is not JSON; not a metrics file of this trainer`);
    }
    const o = v as Partial<MetricsLine>;
    if (typeof o?.run !== "string" || !Number.isInteger(o.step)) throw new RunConflictError(file, `line ${i + 1} has no run id and step; not a metrics file of this trainer (written before run ids?)`);
    if (!runs.includes(o.run)) runs.push(o.run);
    lines.push(o as MetricsLine);
  });
  return { lines, runs };
}

export class MetricsLog {
  private constructor(
    readonly file: string,
    readonly runId: string,
  ) {}

  /** Start the file of a new run; an existing file must have been dealt with by the caller. */
  static create(file: string, runId: string): MetricsLog {
    if (existsSync(file)) throw new RunConflictError(file, "exists; a new run never appends to another run's metrics");
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, "");
    return new MetricsLog(file, runId);
  }

  /**
   * Continue run `runId`'s file from `step`: lines after it are dropped. Returns the kept lines. A file
   * of another run is refused; a missing file is started anew (its earlier lines are gone).
   */
  static async resume(file: string, runId: string, step: number): Promise<{ log: MetricsLog; kept: MetricsLine[]; dropped: number; missing: boolean }> {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, "");
      return { log: new MetricsLog(file, runId), kept: [], dropped: 0, missing: true };
    }
    const { lines, runs } = readMetrics(file);
    const other = runs.filter((r) => r !== runId);
    if (other.length > 0) throw new RunConflictError(file, `holds lines of run ${other.join(", ")}, but the checkpoint is of run ${runId}; refusing to mix runs`);
    const kept = lines.filter((l) => l.step <= step);
    await writeFileAtomic(file, kept.map((l) => JSON.stringify(l) + "\n").join(""));
    return { log: new MetricsLog(file, runId), kept, dropped: lines.length - kept.length, missing: false };
  }

  append(fields: Omit<MetricsLine, "run">): MetricsLine {
    const line = { run: this.runId, ...fields } as MetricsLine;
    appendFileSync(this.file, JSON.stringify(line) + "\n");
    return line;
  }
}
