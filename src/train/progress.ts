/**
 * Progress reporting for long work (training, corpus builds): a single redrawn line on a terminal,
 * periodic plain lines otherwise (CI logs, pipes), always with throughput and an ETA.
 */

export interface ProgressOptions {
  /** What is being counted, e.g. "step". */
  unit: string;
  total: number;
  /** Where to write. Defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Minimum milliseconds between plain-line reports when the stream is not a TTY. Defaults to 5000. */
  plainIntervalMs?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly started = performance.now();
  private lastPlain = 0;
  private done = 0;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Seconds since the progress started. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /**
   * Record that `done` units are complete (counted from `startedAt`, e.g. a resumed step) and redraw.
   * `fields` are shown after the bar, e.g. { loss: "2.31", "tok/s": "5120" }.
   */
  update(done: number, fields: Record<string, string> = {}, startedAt = 0): void {
    this.done = done;
    const { total, unit } = this.opts;
    const elapsed = this.elapsed();
    const rate = (done - startedAt) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(" | ");
    const head = `${unit} ${done}/${total}`;
    const tail = `${extra}${extra ? " | " : ""}elapsed ${formatDuration(elapsed)} | ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * done) / Math.max(total, 1));
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.stream.write(`\r\x1b[K${bar} ${head} | ${tail}`);
      if (done >= total) this.stream.write("\n");
      return;
    }
    const now = performance.now();
    if (done >= total || now - this.lastPlain >= (this.opts.plainIntervalMs ?? 5000)) {
      this.lastPlain = now;
      this.stream.write(`${head} | ${tail}\n`);
    }
  }

  /** End the line if the bar was left mid-way (interrupted work). */
  finish(): void {
    if (this.tty && this.done < this.opts.total) this.stream.write("\n");
  }
}
