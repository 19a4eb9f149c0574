/**
 * safetensors reader/writer: against a file written by an independent Python writer
 * (scripts/fixtures/io_safetensors.py, numpy + torch rounding), round trips, sharding and
 * corruption/truncation detection.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSafetensors, writeSafetensors } from "./safetensors.js";
import { openSafetensorsDir, writeCheckpoint } from "./sharded.js";
import { CheckpointFormatError, CheckpointWriteError } from "./errors.js";
import { atomicWrite } from "./fsutil.js";
import { DiskFullError } from "../../util/atomic.js";
import { encodeFromF32, f32ToBF16Bits, f32ToF16Bits } from "./dtype.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/io");

interface Expected {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; source: number[]; values: (number | string)[] | null; hex: string }>;
}

const num = (v: number | string): number => (v === "inf" ? Infinity : v === "-inf" ? -Infinity : v === "nan" ? NaN : (v as number));

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-st-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("safetensors reader vs Python-written fixture", () => {
  it("reads every tensor, dtype, shape and metadata", async () => {
    const exp: Expected = JSON.parse(await fs.readFile(path.join(FIXTURES, "st_mixed.json"), "utf8"));
    const r = await openSafetensors(path.join(FIXTURES, "st_mixed.safetensors"));
    try {
      expect(r.metadata).toEqual(exp.metadata);
      expect(r.names().sort()).toEqual(Object.keys(exp.tensors).sort());
      for (const [name, t] of Object.entries(exp.tensors)) {
        const info = r.info(name);
        expect(info.dtype).toBe(t.dtype);
        expect(info.shape).toEqual(t.shape);
        expect(Buffer.from(await r.readRaw(name)).toString("hex")).toBe(t.hex);
        if (t.values) {
          const got = await r.read(name);
          expect(Array.from(got)).toEqual(t.values.map(num));
        } else {
          await expect(r.read(name)).rejects.toThrow(/I64.*readRaw/);
        }
      }
    } finally {
      await r.close();
    }
  });

  it("our F16/BF16 encoding is bit-identical to numpy's and torch's rounding", async () => {
    const exp: Expected = JSON.parse(await fs.readFile(path.join(FIXTURES, "st_mixed.json"), "utf8"));
    for (const name of ["half.values", "bf.values"]) {
      const t = exp.tensors[name]!;
      const src = Float32Array.from(t.source);
      const bytes = encodeFromF32(src, t.dtype as "F16" | "BF16");
      expect(Buffer.from(bytes).toString("hex")).toBe(t.hex);
    }
  });

  it("f16 rounding edge cases", () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie to even (0)
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // tie to even (2)
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToBF16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBF16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});

describe("safetensors writer", () => {
  it("round-trips F32/F16/BF16 with metadata, and its header is padded to 8 bytes", async () => {
    const a = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3);
    const file = path.join(tmp, "rt.safetensors");
    await writeSafetensors(
      file,
      [
        { name: "a", shape: [2, 3, 4], data: a },
        { name: "h", shape: [24], data: a, dtype: "F16" },
        { name: "b", shape: [4, 6], data: async () => a, dtype: "BF16" },
      ],
      { metadata: { format: "pt", template: "default" } },
    );
    const raw = await fs.readFile(file);
    expect(Number(raw.readBigUInt64LE(0)) % 8).toBe(0);
    const r = await openSafetensors(file);
    expect(r.metadata).toEqual({ format: "pt", template: "default" });
    expect(Array.from(await r.read("a"))).toEqual(Array.from(a));
    const h = await r.read("h");
    const b = await r.read("b");
    for (let i = 0; i < 24; i++) {
      expect(Math.abs(h[i]! - a[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -11 + 1e-7);
      expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -8);
    }
    expect(r.info("b")).toMatchObject({ dtype: "BF16", shape: [4, 6] });
    await r.close();
    // No temp file left beside the result.
    expect((await fs.readdir(tmp)).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("rejects bad entries before creating the file", async () => {
    const file = path.join(tmp, "bad.safetensors");
    await expect(writeSafetensors(file, [{ name: "x", shape: [2, 2], data: new Float32Array(3) }])).rejects.toThrow(/needs 4 values, data has 3/);
    await expect(
      writeSafetensors(file, [
        { name: "x", shape: [1], data: new Float32Array(1) },
        { name: "x", shape: [1], data: new Float32Array(1) },
      ]),
    ).rejects.toThrow(/duplicate/);
    await expect(fs.stat(file)).rejects.toThrow();
  });

  it("a lazy entry producing the wrong size aborts the write and leaves nothing behind", async () => {
    const file = path.join(tmp, "lazy.safetensors");
    await expect(writeSafetensors(file, [{ name: "x", shape: [4], data: async () => new Float32Array(5) }])).rejects.toThrow(/needs 4 values/);
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith(".lazy"))).toEqual([]);
    await expect(fs.stat(file)).rejects.toThrow();
  });
});

describe("atomic writes", () => {
  it("a full disk mid-write leaves the previous file untouched and no temp file", async () => {
    const file = path.join(tmp, "keep.safetensors");
    await writeSafetensors(file, [{ name: "x", shape: [2], data: Float32Array.from([1, 2]) }]);
    const before = await fs.readFile(file);
    const err = await atomicWrite(file, async (fh) => {
      await fh.write(new Uint8Array(16));
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect(String(err)).toMatch(/disk full while writing .*keep\.safetensors; nothing was replaced/);
    expect((await fs.readFile(file)).equals(before)).toBe(true);
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith(".keep.safetensors.tmp-"))).toEqual([]);
  });
});

describe("sharded checkpoints", () => {
  it("shards by size, writes the index and reads back through it", async () => {
    const dir = path.join(tmp, "sharded");
    const entries = Array.from({ length: 5 }, (_, i) => ({ name: `layers.${i}.w`, shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, j) => i * 100 + j) }));
    const out = await writeCheckpoint(dir, entries, { maxShardBytes: 130, metadata: { format: "pt" } });
    expect(out.files).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    expect(out.totalSize).toBe(5 * 64);
    const idx = JSON.parse(await fs.readFile(path.join(dir, "model.safetensors.index.json"), "utf8"));
    expect(idx.metadata.total_size).toBe(320);
    expect(idx.weight_map["layers.4.w"]).toBe("model-00003-of-00003.safetensors");
    const r = await openSafetensorsDir(dir);
    expect(r.names()).toEqual(entries.map((e) => e.name));
    expect(r.metadata).toEqual({ format: "pt" });
    expect((await r.read("layers.3.w"))[5]).toBe(305);
    await r.close();
    // Rewriting as one file removes the shards and the index.
    await writeCheckpoint(dir, entries.slice(0, 1));
    expect((await fs.readdir(dir)).sort()).toEqual(["model.safetensors"]);
  });

  it("an index that lists a tensor its shard lacks is an error naming both", async () => {
    const dir = path.join(tmp, "badindex");
    await writeCheckpoint(dir, [
      { name: "a", shape: [2], data: new Float32Array(2) },
      { name: "b", shape: [2], data: new Float32Array(2) },
      { name: "z", shape: [2], data: new Float32Array(2) },
    ], { maxShardBytes: 16 });
    const idxFile = path.join(dir, "model.safetensors.index.json");
    const idx = JSON.parse(await fs.readFile(idxFile, "utf8"));
    idx.weight_map.c = idx.weight_map.a;
    await fs.writeFile(idxFile, JSON.stringify(idx));
    await expect(openSafetensorsDir(dir)).rejects.toThrow(/model-00001-of-00002\.safetensors: index model\.safetensors\.index\.json says tensor "c" is here/);
    delete idx.weight_map.c;
    delete idx.weight_map.b;
    await fs.writeFile(idxFile, JSON.stringify(idx));
    await expect(openSafetensorsDir(dir)).rejects.toThrow(/shard holds tensor "b" that model\.safetensors\.index\.json does not list/);
  });
});

describe("corruption and truncation are detected at open", () => {
  async function variant(name: string, mutate: (b: Buffer) => Buffer): Promise<string> {
    const src = await fs.readFile(path.join(FIXTURES, "st_mixed.safetensors"));
    const file = path.join(tmp, name);
    await fs.writeFile(file, mutate(Buffer.from(src)));
    return file;
  }

  it("truncated data section", async () => {
    const file = await variant("trunc.safetensors", (b) => b.subarray(0, b.length - 5));
    const err = await openSafetensors(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(String(err)).toContain(file);
    expect(String(err)).toMatch(/truncated: header declares \d+ data bytes .* found \d+/);
  });

  it("truncated inside the header / length field", async () => {
    await expect(openSafetensors(await variant("t2.safetensors", (b) => b.subarray(0, 40)))).rejects.toThrow(/truncated: header length is \d+ bytes but only 32/);
    await expect(openSafetensors(await variant("t3.safetensors", (b) => b.subarray(0, 5)))).rejects.toThrow(/file is 5 bytes, expected at least 8/);
  });

  it("trailing garbage", async () => {
    await expect(openSafetensors(await variant("trail.safetensors", (b) => Buffer.concat([b, Buffer.alloc(3)])))).rejects.toThrow(/3 unexpected trailing bytes/);
  });

  it("corrupted header JSON, sizes and offsets", async () => {
    const edit = (from: string, to: string) => (b: Buffer) => {
      const s = b.toString("latin1");
      expect(s.includes(from)).toBe(true);
      return Buffer.from(s.replace(from, to), "latin1");
    };
    await expect(openSafetensors(await variant("j.safetensors", edit('{"__metadata__"', '["__metadata__"')))).rejects.toThrow(/not valid JSON/);
    await expect(openSafetensors(await variant("d.safetensors", edit('"dtype":"F16"', '"dtype":"F17"')))).rejects.toThrow(/tensor "half.values": dtype "F17" is not supported/);
    await expect(openSafetensors(await variant("s.safetensors", edit('"shape":[3,4]', '"shape":[3,5]')))).rejects.toThrow(
      /tensor "model.embed.weight": F32 × shape \[3, 5\] needs 60 bytes but data_offsets \[0, 48\] span 48/,
    );
    await expect(openSafetensors(await variant("len.safetensors", (b) => (b.writeBigUInt64LE(10n ** 12n, 0), b)))).rejects.toThrow(/exceeds/);
  });
});
