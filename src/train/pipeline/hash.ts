/**
 * Content hashes of files and folders, for the pipeline manifest and for cache keys of inputs that may
 * be large (model shards): a file up to 256 MiB is hashed whole, a larger one by its size and its first
 * and last MiB, so a 7B checkpoint is fingerprinted in milliseconds.
 *
 * Not here: deciding what a step's inputs are (run.ts).
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/** SHA-256 of a file; files over 256 MiB are hashed by size, first and last MiB (model shards). */
export function fileHash(file: string): string {
  const size = statSync(file).size;
  if (size <= 256 << 20) return sha(readFileSync(file));
  const fd = openSync(file, "r");
  try {
    const a = Buffer.alloc(1 << 20);
    const b = Buffer.alloc(1 << 20);
    readSync(fd, a, 0, a.length, 0);
    readSync(fd, b, 0, b.length, size - b.length);
    return sha(Buffer.concat([Buffer.from(String(size)), a, b]));
  } finally {
    closeSync(fd);
  }
}

/** Hash of the files under `dir` accepted by `keep` (relative paths and contents). */
export function hashDir(dir: string, keep: (rel: string) => boolean = () => true): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) walk(p);
      else if (keep(rel)) h.update(rel).update(fileHash(p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return h.digest("hex");
}

/** What a model or adapter folder holds that later steps depend on (not checkpoints, caches, logs). */
export const modelFiles = (rel: string): boolean => !rel.includes("/") && /\.(safetensors|bin|model|json)$/.test(rel) && rel !== "stage_report.json" && rel !== "trainer_state.json";
