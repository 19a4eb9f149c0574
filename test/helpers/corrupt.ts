/**
 * Writes a raw value into one element of a tensor of a safetensors model folder, bypassing the
 * project's writers (which refuse non-finite values), to make the corrupted or diverged checkpoints
 * that load-time checks must catch.
 */
import { readFileSync, openSync, writeSync, closeSync, existsSync } from "node:fs";
import { join } from "node:path";

export function corruptTensor(dir: string, tensor: string, flatIndex: number, value: number): void {
  const indexFile = join(dir, "model.safetensors.index.json");
  const file = existsSync(indexFile)
    ? join(dir, (JSON.parse(readFileSync(indexFile, "utf8")) as { weight_map: Record<string, string> }).weight_map[tensor]!)
    : join(dir, "model.safetensors");
  const bytes = readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString("utf8")) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const info = header[tensor];
  if (!info) throw new Error(`${file}: no tensor ${tensor}`);
  const size = info.dtype === "F32" ? 4 : 2;
  const raw = Buffer.alloc(4);
  raw.writeFloatLE(value, 0);
  let out: Buffer;
  if (size === 4) out = raw;
  else if (info.dtype === "BF16") out = raw.subarray(2, 4);
  else {
    // Only the values the tests need: NaN and ±Inf in f16.
    const h = Number.isNaN(value) ? 0x7e00 : value === Infinity ? 0x7c00 : value === -Infinity ? 0xfc00 : NaN;
    if (Number.isNaN(h)) throw new Error(`corruptTensor: f16 supports only NaN/±Inf here, got ${value}`);
    out = Buffer.from([h & 0xff, h >> 8]);
  }
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, out, 0, size, 8 + headerLen + info.data_offsets[0] + flatIndex * size);
  } finally {
    closeSync(fd);
  }
}
