/**
 * Sharded checkpoints: an index file (`model.safetensors.index.json` or
 * `pytorch_model.bin.index.json`, `{metadata, weight_map: {tensor: shard file}}`) over several shard
 * files of one format. The reader opens and validates every shard and checks the index against the
 * shards both ways before returning. The safetensors writer (`writeCheckpoint`) splits tensors into
 * shards by a byte budget and writes the index last.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { DTYPE_BYTES, numel, type FloatDType } from "./dtype.js";
import { CheckpointFormatError, CheckpointWriteError, TensorNotFoundError } from "./errors.js";
import { atomicWrite, isFile, writeAll } from "./fsutil.js";
import { openSafetensors, writeSafetensors } from "./safetensors.js";
import type { TensorEntry, TensorInfo, TensorReader } from "./types.js";

export const SAFETENSORS_SINGLE = "model.safetensors";
export const SAFETENSORS_INDEX = "model.safetensors.index.json";

class ShardedReader implements TensorReader {
  constructor(
    readonly path: string,
    private readonly shards: Map<string, TensorReader>,
    private readonly owner: Map<string, TensorReader>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}
  names(): string[] {
    return [...this.owner.keys()];
  }
  has(name: string): boolean {
    return this.owner.has(name);
  }
  private get(name: string): TensorReader {
    const r = this.owner.get(name);
    if (!r) throw new TensorNotFoundError(this.path, name);
    return r;
  }
  info(name: string): TensorInfo {
    return this.get(name).info(name);
  }
  read(name: string): Promise<Float32Array> {
    return this.get(name).read(name);
  }
  readRaw(name: string): Promise<Uint8Array> {
    return this.get(name).readRaw(name);
  }
  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
}

/**
 * Opens a sharded checkpoint from its index file, using `openShard` for each shard file. Every
 * shard must exist and hold exactly the tensors the index assigns to it.
 */
export async function openShardedIndex(
  indexPath: string,
  openShard: (file: string) => Promise<TensorReader>,
): Promise<TensorReader> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(indexPath, "utf8"));
  } catch (err) {
    throw new CheckpointFormatError(indexPath, `cannot read index JSON: ${(err as Error).message}`, { cause: err });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new CheckpointFormatError(indexPath, `expected an object with "weight_map": {tensor name: shard file}, found ${JSON.stringify(json)?.slice(0, 200)}`);
  }
  const dir = path.dirname(indexPath);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.length === 0 || shard.includes("/") || shard.includes("\\") || shard.startsWith(".")) {
      throw new CheckpointFormatError(indexPath, `weight_map["${name}"] must be a shard file name in the same directory, found ${JSON.stringify(shard)}`);
    }
    const list = byShard.get(shard) ?? [];
    list.push(name);
    byShard.set(shard, list);
  }
  if (byShard.size === 0) throw new CheckpointFormatError(indexPath, "weight_map is empty; expected at least one tensor");
  const shards = new Map<string, TensorReader>();
  const owner = new Map<string, TensorReader>();
  try {
    for (const [shard, names] of byShard) {
      const file = path.join(dir, shard);
      if (!(await isFile(file))) throw new CheckpointFormatError(indexPath, `shard "${shard}" listed in weight_map is missing`);
      const reader = await openShard(file);
      shards.set(shard, reader);
      for (const name of names) {
        if (!reader.has(name)) throw new CheckpointFormatError(file, `index ${path.basename(indexPath)} says tensor "${name}" is here, but the shard does not hold it`);
        owner.set(name, reader);
      }
      const listed = new Set(names);
      for (const name of reader.names()) {
        if (!listed.has(name)) {
          throw new CheckpointFormatError(file, `shard holds tensor "${name}" that ${path.basename(indexPath)} does not list for it`);
        }
      }
    }
  } catch (err) {
    await Promise.all([...shards.values()].map((s) => s.close().catch(() => undefined)));
    throw err;
  }
  // Shards of one checkpoint carry the same metadata; take the first shard's.
  const first = shards.values().next().value as TensorReader;
  return new ShardedReader(indexPath, shards, owner, first.metadata);
}

export interface WriteCheckpointOptions {
  /** Largest data size of one shard in bytes; a single tensor larger than this gets its own shard. Defaults to 5 GB (like the Hugging Face default "5GB"). */
  maxShardBytes?: number;
  /** Storage type for entries without their own. Defaults to "F32". */
  dtype?: FloatDType;
  /** Stored as `__metadata__` in every shard and under `metadata` in the index. */
  metadata?: Record<string, string>;
}

export interface WrittenCheckpoint {
  /** Files written, relative to the directory. */
  files: string[];
  /** Sum of tensor data bytes. */
  totalSize: number;
}

const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/**
 * Writes tensors into `dir` in Hugging Face safetensors layout: `model.safetensors` when everything
 * fits in one shard, else `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`
 * (written last). Each file is written atomically; stale files of the other layout are removed after
 * the new ones are in place. To replace a whole checkpoint atomically, write a fresh directory and
 * rename it.
 */
export async function writeCheckpoint(dir: string, entries: readonly TensorEntry[], options: WriteCheckpointOptions = {}): Promise<WrittenCheckpoint> {
  const max = options.maxShardBytes ?? 5_000_000_000;
  if (!(max > 0)) throw new CheckpointWriteError(dir, `maxShardBytes must be positive, got ${max}`);
  const dtype = options.dtype ?? "F32";
  const groups: TensorEntry[][] = [];
  let current: TensorEntry[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const e of entries) {
    const bytes = numel(e.shape) * DTYPE_BYTES[e.dtype ?? dtype];
    if (current.length > 0 && currentBytes + bytes > max) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(e);
    currentBytes += bytes;
    totalSize += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  if (groups.length === 1) {
    await writeSafetensors(path.join(dir, SAFETENSORS_SINGLE), groups[0]!, { dtype, metadata: options.metadata });
    files.push(SAFETENSORS_SINGLE);
  } else {
    const n = groups.length;
    const weightMap: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
      await writeSafetensors(path.join(dir, name), groups[i]!, { dtype, metadata: options.metadata });
      for (const e of groups[i]!) weightMap[e.name] = name;
      files.push(name);
    }
    const index = { metadata: { total_size: totalSize, ...(options.metadata ?? {}) }, weight_map: weightMap };
    await atomicWrite(path.join(dir, SAFETENSORS_INDEX), (fh) => writeAll(fh, new TextEncoder().encode(JSON.stringify(index, null, 2) + "\n")));
    files.push(SAFETENSORS_INDEX);
  }
  // Remove what a previous write of the other layout (or another shard count) left behind, so a
  // reader never sees two competing checkpoints in one directory.
  const keep = new Set(files);
  for (const f of await fs.readdir(dir)) {
    if (keep.has(f)) continue;
    if (f === SAFETENSORS_SINGLE || f === SAFETENSORS_INDEX || SHARD_RE.test(f)) await fs.unlink(path.join(dir, f));
  }
  return { files, totalSize };
}

/** Opens `model.safetensors.index.json` or `model.safetensors` in `dir`. */
export async function openSafetensorsDir(dir: string): Promise<TensorReader> {
  const index = path.join(dir, SAFETENSORS_INDEX);
  if (await isFile(index)) return openShardedIndex(index, openSafetensors);
  const single = path.join(dir, SAFETENSORS_SINGLE);
  if (await isFile(single)) return openSafetensors(single);
  throw new CheckpointFormatError(dir, `no ${SAFETENSORS_INDEX} or ${SAFETENSORS_SINGLE} found`);
}
