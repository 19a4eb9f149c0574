/**
 * GGUF container against llama.cpp's own Python writer (gguf-py GGUFWriter + its bit-exact Q8_0
 * quantizer; scripts/fixtures/io_gguf.py): our reader reads its file, our writer rebuilds it byte
 * for byte, our Q8_0 matches the reference bits; plus truncation and bad-argument errors.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, GgufValueType, openGguf, quantizeQ8_0, writeGguf, type GgufTensorEntry, type GgufValue } from "./gguf.js";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/io");

interface Ref {
  metadata: [string, string, unknown][];
  tensors: Record<string, { type: "F32" | "F16" | "Q8_0"; shape: number[]; source: number[]; values: number[]; hex?: string }>;
}

const SCALAR: Record<string, GgufValueType> = {
  u8: GgufValueType.UINT8, i8: GgufValueType.INT8, u16: GgufValueType.UINT16, i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32, i32: GgufValueType.INT32, f32: GgufValueType.FLOAT32, bool: GgufValueType.BOOL,
  string: GgufValueType.STRING, u64: GgufValueType.UINT64, i64: GgufValueType.INT64, f64: GgufValueType.FLOAT64,
};
const ARRAY: Record<string, GgufValueType> = { strs: GgufValueType.STRING, i32s: GgufValueType.INT32, f32s: GgufValueType.FLOAT32 };

function toValue(t: string, v: unknown): GgufValue {
  if (ARRAY[t] !== undefined) return { type: GgufValueType.ARRAY, itemType: ARRAY[t] as Exclude<GgufValueType, GgufValueType.ARRAY>, value: v as (string | number)[] };
  const type = SCALAR[t]!;
  const value = type === GgufValueType.UINT64 || type === GgufValueType.INT64 ? BigInt(v as number) : (v as string | number | boolean);
  return { type: type as Exclude<GgufValueType, GgufValueType.ARRAY>, value };
}

let ref: Ref;
let tmp: string;
beforeAll(async () => {
  ref = JSON.parse(await fs.readFile(path.join(FIXTURES, "gguf_ref.json"), "utf8"));
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "pedgpt-gguf-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("GGUF vs llama.cpp's gguf-py", () => {
  it("reads every metadata type and tensor of a gguf-py file", async () => {
    const g = await openGguf(path.join(FIXTURES, "gguf_ref.gguf"));
    try {
      expect(g.version).toBe(3);
      expect([...g.metadata.keys()]).toEqual(ref.metadata.map((m) => m[0]));
      for (const [key, t, v] of ref.metadata) {
        const got = g.metadata.get(key)!;
        const want = toValue(t, v);
        expect(got.type, key).toBe(want.type);
        if (want.type === GgufValueType.ARRAY) {
          expect(got.type === GgufValueType.ARRAY && got.itemType).toBe(want.itemType);
          const vals = want.itemType === GgufValueType.FLOAT32 ? (want.value as number[]).map(Math.fround) : want.value;
          expect(got.value, key).toEqual(vals);
        } else {
          expect(got.value, key).toEqual(want.type === GgufValueType.FLOAT32 ? Math.fround(want.value as number) : want.value);
        }
      }
      for (const [name, t] of Object.entries(ref.tensors)) {
        const info = g.tensors.get(name)!;
        expect(info.shape).toEqual(t.shape);
        expect(info.type).toBe(GgmlType[t.type]);
        expect(Array.from(await g.read(name)), name).toEqual(t.values.map(Math.fround));
      }
    } finally {
      await g.close();
    }
  });

  it("our Q8_0 quantizer is bit-identical to the reference", () => {
    const q = ref.tensors["q.weight"]!;
    expect(Buffer.from(quantizeQ8_0(Float32Array.from(q.source))).toString("hex")).toBe(q.hex);
  });

  it("our writer rebuilds the gguf-py file byte for byte", async () => {
    const meta = ref.metadata.map(([k, t, v]) => [k, toValue(t, v)] as const);
    const tensors: GgufTensorEntry[] = Object.entries(ref.tensors).map(([name, t]) => ({ name, shape: t.shape, type: t.type, data: Float32Array.from(t.source) }));
    const file = path.join(tmp, "ours.gguf");
    const size = await writeGguf(file, meta, tensors);
    const ours = await fs.readFile(file);
    const theirs = await fs.readFile(path.join(FIXTURES, "gguf_ref.gguf"));
    expect(size).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });
});

describe("GGUF integrity and validation", () => {
  it("truncation and a wrong magic are detected at open, naming the file", async () => {
    const src = await fs.readFile(path.join(FIXTURES, "gguf_ref.gguf"));
    const cut = path.join(tmp, "cut.gguf");
    await fs.writeFile(cut, src.subarray(0, src.length - 30));
    await expect(openGguf(cut)).rejects.toThrow(/cut\.gguf: truncated: tensor "q\.weight" needs bytes \d+\.\.\d+, file size is \d+/);
    await fs.writeFile(cut, src.subarray(0, 100));
    await expect(openGguf(cut)).rejects.toThrow(/cut\.gguf: truncated GGUF header/);
    const bad = Buffer.from(src);
    bad.write("GGML", 0, "latin1");
    await fs.writeFile(cut, bad);
    await expect(openGguf(cut)).rejects.toThrow(/not a GGUF file: magic 0x4c4d4747/);
  });

  it("refuses tensors it cannot write", async () => {
    const file = path.join(tmp, "bad.gguf");
    await expect(writeGguf(file, [], [{ name: "x", shape: [2, 48], type: "Q8_0", data: new Float32Array(96) }])).rejects.toThrow(/multiple of 32/);
    await expect(writeGguf(file, [["a", { type: GgufValueType.UINT8, value: 300 }]], [])).rejects.toThrow(/"a": value "300" does not fit type UINT8/);
    await expect(writeGguf(file, [], [{ name: "x", shape: [4], type: "F32", data: new Float32Array(3) }])).rejects.toThrow(/needs 4 values/);
    await expect(fs.stat(file)).rejects.toThrow();
  });
});
