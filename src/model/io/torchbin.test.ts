/**
 * PyTorch .bin reader against checkpoints written by Debian python3-torch 1.13
 * (scripts/fixtures/io_torch.py): dtypes, non-contiguous views, shared storages, the legacy format,
 * sharding, and corruption/truncation.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTorchBin } from "./torchbin.js";
import { openCheckpoint } from "./checkpoint.js";
import { CheckpointFormatError } from "./errors.js";
import { unpickle } from "./pickle.js";
import { crc32 } from "./zip.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/io");
type Expected = Record<string, { dtype: string; shape: number[]; values: number[] }>;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-tb-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function checkAll(reader: Awaited<ReturnType<typeof openTorchBin>>, exp: Expected): Promise<void> {
  expect(reader.names()).toEqual(Object.keys(exp));
  for (const [name, e] of Object.entries(exp)) {
    const info = reader.info(name);
    expect(info.dtype, name).toBe(e.dtype);
    expect(info.shape, name).toEqual(e.shape);
    if (e.dtype === "I64") {
      const raw = await reader.readRaw(name);
      const got = Array.from(new BigInt64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8), Number);
      expect(got, name).toEqual(e.values);
    } else {
      expect(Array.from(await reader.read(name)), name).toEqual(e.values.map((v) => Math.fround(v)));
    }
  }
}

describe("torch .bin reader vs torch.save", () => {
  it("reads f32/f16/bf16, transposed views, shared storages, strided slices, scalars and int buffers", async () => {
    const exp: Expected = JSON.parse(await fs.readFile(path.join(FIXTURES, "torch_mixed.json"), "utf8"));
    const r = await openTorchBin(path.join(FIXTURES, "torch_mixed.bin"));
    try {
      await checkAll(r, exp);
      await expect(r.read("position_ids")).rejects.toThrow(/I64.*readRaw/);
    } finally {
      await r.close();
    }
  });

  it("reads a sharded checkpoint through pytorch_model.bin.index.json", async () => {
    const dir = path.join(FIXTURES, "torch_sharded");
    const exp: Expected = JSON.parse(await fs.readFile(path.join(dir, "expected.json"), "utf8"));
    const r = await openCheckpoint(dir);
    try {
      await checkAll(r as Awaited<ReturnType<typeof openTorchBin>>, exp);
      expect(r.info("lm_head.weight").file).toMatch(/pytorch_model-00002-of-00002\.bin$/);
    } finally {
      await r.close();
    }
  });

  it("refuses the legacy format with a re-save hint", async () => {
    const file = path.join(FIXTURES, "torch_legacy.bin");
    await expect(openTorchBin(file)).rejects.toThrow(/torch_legacy\.bin: legacy \(pre-1\.6, non-ZIP\) PyTorch format is not supported; re-save it with torch>=1\.6/);
  });
});

/**
 * Rewrites a ZIP's central directory in ZIP64 form (sizes and offsets moved into 0x0001 extra
 * fields, a ZIP64 end record and locator, saturated classic end record), as torch writes for
 * archives over 4 GiB.
 */
function toZip64(src: Buffer): Buffer {
  const eocd = src.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = src.readUInt16LE(eocd + 10);
  const cdOffset = src.readUInt32LE(eocd + 16);
  const parts: Buffer[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    const nameLen = src.readUInt16LE(p + 28);
    const extraLen = src.readUInt16LE(p + 30);
    const commentLen = src.readUInt16LE(p + 32);
    const fixed = Buffer.from(src.subarray(p, p + 46));
    const name = src.subarray(p + 46, p + 46 + nameLen);
    const extra = Buffer.alloc(4 + 24);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(fixed.readUInt32LE(24)), 4);
    extra.writeBigUInt64LE(BigInt(fixed.readUInt32LE(20)), 12);
    extra.writeBigUInt64LE(BigInt(fixed.readUInt32LE(42)), 20);
    fixed.writeUInt32LE(0xffffffff, 20);
    fixed.writeUInt32LE(0xffffffff, 24);
    fixed.writeUInt32LE(0xffffffff, 42);
    fixed.writeUInt16LE(extra.length, 30);
    fixed.writeUInt16LE(0, 32);
    parts.push(fixed, name, extra);
    p += 46 + nameLen + extraLen + commentLen;
  }
  const cd = Buffer.concat(parts);
  const e64 = Buffer.alloc(56);
  e64.writeUInt32LE(0x06064b50, 0);
  e64.writeBigUInt64LE(44n, 4);
  e64.writeUInt16LE(45, 12);
  e64.writeUInt16LE(45, 14);
  e64.writeBigUInt64LE(BigInt(count), 24);
  e64.writeBigUInt64LE(BigInt(count), 32);
  e64.writeBigUInt64LE(BigInt(cd.length), 40);
  e64.writeBigUInt64LE(BigInt(cdOffset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
  loc.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([src.subarray(0, cdOffset), cd, e64, loc, end]);
}

describe("ZIP64", () => {
  it("reads the same tensors from a ZIP64 central directory", async () => {
    const exp: Expected = JSON.parse(await fs.readFile(path.join(FIXTURES, "torch_mixed.json"), "utf8"));
    const file = path.join(tmp, "zip64.bin");
    await fs.writeFile(file, toZip64(await fs.readFile(path.join(FIXTURES, "torch_mixed.bin"))));
    const r = await openTorchBin(file);
    try {
      await checkAll(r, exp);
    } finally {
      await r.close();
    }
  });
});

describe("integrity", () => {
  it("CRC-32 matches the standard check values", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const big = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    expect(crc32(big.subarray(300), crc32(big.subarray(0, 300)))).toBe(crc32(big));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  async function variant(name: string, mutate: (b: Buffer) => Buffer): Promise<string> {
    const src = await fs.readFile(path.join(FIXTURES, "torch_mixed.bin"));
    const file = path.join(tmp, name);
    await fs.writeFile(file, mutate(Buffer.from(src)));
    return file;
  }

  it("a truncated archive is detected at open, naming the file", async () => {
    for (const keep of [3000, 1500, 200]) {
      const file = await variant(`trunc${keep}.bin`, (b) => b.subarray(0, keep));
      const err = await openTorchBin(file).catch((e: unknown) => e);
      expect(err, String(keep)).toBeInstanceOf(CheckpointFormatError);
      expect(String(err)).toContain(file);
      expect(String(err)).toMatch(/truncated|end-of-central-directory/);
    }
  });

  it("a flipped byte in tensor data fails the CRC check on read; in the pickle, at open", async () => {
    const src = await fs.readFile(path.join(FIXTURES, "torch_mixed.bin"));
    // Locate storage "0" (net.0.weight) by its local header name.
    const nameAt = src.indexOf(Buffer.from("torch_mixed/data/0"));
    const dataAt = nameAt + "torch_mixed/data/0".length + src.readUInt16LE(nameAt - 2);
    const file = await variant("crc.bin", (b) => ((b[dataAt + 3] ^= 0x40), b));
    const r = await openTorchBin(file);
    await expect(r.read("net.0.weight")).rejects.toThrow(/entry "torch_mixed\/data\/0" is corrupted: CRC-32 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}/);
    expect((await r.read("plain")).length).toBe(6);
    await r.close();
    const pklAt = src.indexOf(Buffer.from("net.0.bias"));
    const file2 = await variant("crcpkl.bin", (b) => ((b[pklAt] ^= 0x01), b));
    await expect(openTorchBin(file2)).rejects.toThrow(/data\.pkl" is corrupted: CRC-32/);
  });

  it("unknown pickle classes and opcodes are named", () => {
    const hooks = {
      resolveGlobal: (m: string, n: string) => {
        throw new CheckpointFormatError("x.bin", `pickle references ${m}.${n}`);
      },
      persistentLoad: () => null,
    };
    const glob = new Uint8Array([0x80, 0x02, ...Buffer.from("cos\nsystem\n"), 0x2e]);
    expect(() => unpickle(glob, "x.bin", hooks)).toThrow(/x\.bin: pickle references os\.system/);
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0x69]), "x.bin", hooks)).toThrow(/x\.bin: pickle byte 2: unsupported pickle opcode 0x69/);
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0x58, 0x10, 0, 0, 0, 0x41]), "x.bin", hooks)).toThrow(/truncated pickle/);
  });

  it("a directory without weights names what it looked for", async () => {
    await expect(openCheckpoint(tmp)).rejects.toThrow(/no weights found; expected one of model\.safetensors\.index\.json/);
  });
});
