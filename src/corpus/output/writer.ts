/**
 * Streaming JSON Lines / JSON array writers that respect stream backpressure, and an atomic
 * whole-file write (temp + rename) for small outputs. Outputs are written to `<name>.tmp` and renamed
 * on close, so an interrupted build never leaves a truncated file under the final name.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export class JsonlWriter {
  private readonly stream: WriteStream;
  private readonly tmp: string;
  count = 0;
  bytes = 0;
  private constructor(
    readonly path: string,
    private readonly array: boolean,
  ) {
    this.tmp = `${path}.tmp`;
    this.stream = createWriteStream(this.tmp, { encoding: "utf8" });
    if (array) this.stream.write("[\n");
  }
  static async open(path: string, opts: { array?: boolean } = {}): Promise<JsonlWriter> {
    await mkdir(dirname(path), { recursive: true });
    return new JsonlWriter(path, opts.array ?? false);
  }
  async write(value: unknown): Promise<void> {
    const line = (this.array ? (this.count > 0 ? ",\n  " : "  ") : "") + JSON.stringify(value) + (this.array ? "" : "\n");
    this.count++;
    this.bytes += Buffer.byteLength(line);
    if (!this.stream.write(line)) await new Promise<void>((r) => this.stream.once("drain", () => r()));
  }
  async close(): Promise<void> {
    if (this.array) this.stream.write("\n]\n");
    await new Promise<void>((resolve, reject) => {
      this.stream.once("error", reject);
      this.stream.end(() => resolve());
    });
    await rename(this.tmp, this.path);
  }
}

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, "utf8");
  await rename(tmp, path);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
