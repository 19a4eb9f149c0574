/**
 * Paper metrics over many pairs on several threads: each worker loads its own segmenter and scores a
 * contiguous slice, results come back in input order. Same numbers as the single-threaded path
 * (workers run the same functions); used by the benchmark and available to large evaluations.
 */
import type { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { PaperSample } from "./paper.js";
import { startWorker } from "../../util/worker.js";

export interface ScoredPair extends PaperSample {
  hypTokens: number;
  refTokens: number;
}

export interface ParallelOptions {
  /** Worker threads. Defaults to os.availableParallelism(), at most the number of pairs. */
  threads?: number;
}

/** A pool of warm workers (segmenter loaded) that scores batches of pairs. Call close() when done. */
export class MetricsPool {
  private readonly workers: Worker[];
  private readonly ready: Promise<void>;

  constructor(threads = availableParallelism()) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    this.workers = Array.from({ length: threads }, () => startWorker(import.meta.url, "./worker"));
    this.ready = Promise.all(this.workers.map((w) => this.request(w, { kind: "init" }))).then(() => undefined);
  }

  get size(): number {
    return this.workers.length;
  }

  private request(w: Worker, msg: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMsg = (m: { ok: boolean; result?: unknown; error?: string }) => {
        w.off("error", onErr);
        if (m.ok) resolve(m.result);
        else reject(new Error(`metrics worker failed: ${m.error}`));
      };
      const onErr = (e: Error) => {
        w.off("message", onMsg);
        reject(e);
      };
      w.once("message", onMsg);
      w.once("error", onErr);
      w.postMessage(msg);
    });
  }

  /** Waits until every worker has loaded its segmenter (so timing excludes start-up). */
  async warm(): Promise<void> {
    await this.ready;
  }

  /**
   * Scores pairs in chunks handed out as workers become free (long answers cluster in real data, so
   * fixed halves leave one thread idle). Results are in input order.
   */
  async score(pairs: ReadonlyArray<{ hyp: string; ref: string }>, chunkSize?: number): Promise<ScoredPair[]> {
    await this.ready;
    // About eight chunks per worker: enough to balance, few enough round trips. Defaults to that.
    const chunk = chunkSize ?? Math.max(32, Math.ceil(pairs.length / (this.workers.length * 8)));
    const out: ScoredPair[] = new Array(pairs.length);
    let next = 0;
    const drain = async (w: Worker): Promise<void> => {
      while (next < pairs.length) {
        const from = next;
        const to = Math.min(pairs.length, from + chunk);
        next = to;
        const slice = pairs.slice(from, to).map((p) => [p.hyp, p.ref]);
        const res = (await this.request(w, { kind: "score", pairs: slice })) as ScoredPair[];
        for (let i = 0; i < res.length; i++) out[from + i] = res[i]!;
      }
    };
    await Promise.all(this.workers.map(drain));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Scores pairs on a temporary pool. */
export async function scorePairsParallel(pairs: ReadonlyArray<{ hyp: string; ref: string }>, opts: ParallelOptions = {}): Promise<ScoredPair[]> {
  const pool = new MetricsPool(Math.max(1, Math.min(opts.threads ?? availableParallelism(), pairs.length)));
  try {
    return await pool.score(pairs);
  } finally {
    await pool.close();
  }
}
