/**
 * Resumable batch runs: a JSON Lines journal of completed items (`{"key", "result"}`), appended and
 * flushed as each item finishes. A rerun loads the journal and only processes missing keys, so an
 * interrupted generation (Ctrl-C, crash, aborted signal) resumes where it stopped. A torn last line
 * (killed mid-write) is ignored and that item is redone. Results come back in input order.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export class Journal<R> {
  readonly done = new Map<string, R>();
  constructor(readonly path: string) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      // A torn last line gets its newline now, so the next record starts a line of its own.
      if (text.length > 0 && !text.endsWith("\n")) appendFileSync(path, "\n");
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        try {
          const rec = JSON.parse(line) as { key: string; result: R };
          if (typeof rec.key === "string") this.done.set(rec.key, rec.result);
        } catch {
          /* torn write at the end of an interrupted run: the item is simply redone */
        }
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
  }
  record(key: string, result: R): void {
    appendFileSync(this.path, JSON.stringify({ key, result }) + "\n");
    this.done.set(key, result);
  }
}

export class InterruptedError extends Error {
  override name = "InterruptedError";
}

export interface ResumableOptions {
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Run `worker` over items whose key is not yet journaled, `concurrency` at a time. When the signal
 * aborts, no new item starts; in-flight ones finish and are journaled, then InterruptedError is thrown.
 * A worker error is thrown after in-flight items settle (their results are journaled).
 */
export async function runResumable<T, R>(items: T[], keyOf: (t: T) => string, worker: (t: T) => Promise<R>, journal: Journal<R>, o: ResumableOptions): Promise<R[]> {
  const todo = items.filter((t) => !journal.done.has(keyOf(t)));
  let next = 0;
  let completed = items.length - todo.length;
  let failure: unknown;
  const lane = async () => {
    for (;;) {
      if (o.signal?.aborted || failure !== undefined) return;
      const i = next++;
      if (i >= todo.length) return;
      const item = todo[i]!;
      try {
        const r = await worker(item);
        journal.record(keyOf(item), r);
        completed++;
        o.onProgress?.(completed, items.length);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, lane));
  if (failure !== undefined) throw failure;
  if (o.signal?.aborted && completed < items.length) throw new InterruptedError(`interrupted after ${completed} of ${items.length} items; rerun to resume from ${journal.path}`);
  return items.map((t) => journal.done.get(keyOf(t)) as R);
}
