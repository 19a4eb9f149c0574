/**
 * One entry point for reading model weights in Hugging Face layout, whatever the format: a
 * directory with `model.safetensors(.index.json)` or `pytorch_model.bin(.index.json)`, or a single
 * `.safetensors` / `.bin` file. safetensors is preferred when a directory holds both.
 */
import path from "node:path";
import { promises as fs } from "node:fs";
import { CheckpointFormatError } from "./errors.js";
import { isFile } from "./fsutil.js";
import { openSafetensors } from "./safetensors.js";
import { openShardedIndex, SAFETENSORS_INDEX, SAFETENSORS_SINGLE } from "./sharded.js";
import { openTorchBin } from "./torchbin.js";
import type { TensorReader } from "./types.js";

export const TORCH_SINGLE = "pytorch_model.bin";
export const TORCH_INDEX = "pytorch_model.bin.index.json";

export type CheckpointFormat = "safetensors" | "safetensors-sharded" | "torch" | "torch-sharded";

/** Which weight files a directory holds, in order of preference; null when none. */
export async function detectCheckpoint(dir: string): Promise<{ format: CheckpointFormat; file: string } | null> {
  const candidates: [CheckpointFormat, string][] = [
    ["safetensors-sharded", SAFETENSORS_INDEX],
    ["safetensors", SAFETENSORS_SINGLE],
    ["torch-sharded", TORCH_INDEX],
    ["torch", TORCH_SINGLE],
  ];
  for (const [format, name] of candidates) {
    const file = path.join(dir, name);
    if (await isFile(file)) return { format, file };
  }
  return null;
}

/** Opens a checkpoint file or directory; all headers/indices are validated before it resolves. */
export async function openCheckpoint(p: string): Promise<TensorReader> {
  const st = await fs.stat(p).catch((err: unknown) => {
    throw new CheckpointFormatError(p, `cannot open: ${(err as Error).message}`, { cause: err });
  });
  if (st.isFile()) {
    if (p.endsWith(".safetensors")) return openSafetensors(p);
    if (p.endsWith(".bin") || p.endsWith(".pt") || p.endsWith(".pth")) return openTorchBin(p);
    if (p.endsWith(SAFETENSORS_INDEX)) return openShardedIndex(p, openSafetensors);
    if (p.endsWith(TORCH_INDEX)) return openShardedIndex(p, openTorchBin);
    throw new CheckpointFormatError(p, "unknown checkpoint file type; expected .safetensors, .bin or an index .json");
  }
  const found = await detectCheckpoint(p);
  if (!found) {
    throw new CheckpointFormatError(p, `no weights found; expected one of ${SAFETENSORS_INDEX}, ${SAFETENSORS_SINGLE}, ${TORCH_INDEX}, ${TORCH_SINGLE}`);
  }
  switch (found.format) {
    case "safetensors-sharded":
      return openShardedIndex(found.file, openSafetensors);
    case "safetensors":
      return openSafetensors(found.file);
    case "torch-sharded":
      return openShardedIndex(found.file, openTorchBin);
    case "torch":
      return openTorchBin(found.file);
  }
}
