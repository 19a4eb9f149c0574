/**
 * The tokenized dataset format: round trip (rows, labels, segments, index), the byte layout other
 * readers rely on (int32 / int64 little-endian), atomic writes, and clear errors on damaged files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { DatasetFormatError, DatasetWriter, TokenDataset } from "./format.js";

const tmp = tempDir("pedgpt-dataset-");

async function write(dir: string, segments = false) {
  const w = await DatasetWriter.open(dir, "sft", { segments });
  w.add({ ids: [1, 5, 6], labels: [-100, 5, 6], ...(segments ? { segments: [1, 1, 2] } : {}) });
  w.add({ ids: [1, 7, 8, 9, 2], labels: [-100, -100, 8, 9, 2], ...(segments ? { segments: [1, 1, 1, 1, 1] } : {}) });
  return w.finish({ template: "default" });
}

describe("tokenized dataset", () => {
  it("round-trips rows and records counts and a content hash", async () => {
    const dir = join(tmp, "a");
    const meta = await write(dir);
    expect(meta).toMatchObject({ format: "pedgpt-tokens", version: 1, kind: "sft", rows: 2, tokens: 8, targets: 5, maxRowLength: 5, hasSegments: false });
    expect(meta.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const ds = new TokenDataset(dir);
    expect(Array.from(ds.row(1).ids)).toEqual([1, 7, 8, 9, 2]);
    expect(Array.from(ds.row(1).labels)).toEqual([-100, -100, 8, 9, 2]);
    expect(ds.row(0).segments).toBeUndefined();
    expect(ds.rowLength(0)).toBe(3);
    expect(() => ds.row(2)).toThrow(RangeError);
    ds.close();
    // Same content → same hash.
    expect((await write(join(tmp, "a2"))).contentHash).toBe(meta.contentHash);
  });

  it("has the documented byte layout (int32 LE tokens/labels, int64 LE index)", async () => {
    const dir = join(tmp, "b");
    await write(dir, true);
    const tokens = readFileSync(join(dir, "tokens.bin"));
    expect(tokens.length).toBe(8 * 4);
    expect(tokens.readInt32LE(4 * 4)).toBe(7);
    expect(readFileSync(join(dir, "labels.bin")).readInt32LE(0)).toBe(-100);
    const index = readFileSync(join(dir, "index.bin"));
    expect([0, 1, 2].map((i) => Number(index.readBigInt64LE(i * 8)))).toEqual([0, 3, 8]);
    expect(readFileSync(join(dir, "segments.bin")).readInt32LE(2 * 4)).toBe(2);
    expect(Array.from(new TokenDataset(dir).row(0).segments!)).toEqual([1, 1, 2]);
  });

  it("refuses to overwrite or to replace a folder that is not a dataset, and leaves nothing behind on abort", async () => {
    const dir = join(tmp, "c");
    await write(dir);
    await expect(DatasetWriter.open(dir, "sft")).rejects.toThrow(/already holds a tokenized dataset/);
    const notDataset = join(tmp, "notes");
    mkdirSync(notDataset);
    writeFileSync(join(notDataset, "keep.txt"), "mine");
    await expect(DatasetWriter.open(notDataset, "sft", { overwrite: true })).rejects.toThrow(/is not empty and is not a tokenized dataset/);
    expect(readFileSync(join(notDataset, "keep.txt"), "utf8")).toBe("mine");
    const w = await DatasetWriter.open(join(tmp, "d"), "pt");
    w.add({ ids: [1, 2], labels: [1, 2] });
    w.abort();
    expect(existsSync(join(tmp, "d"))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith(".d."))).toEqual([]);
  });

  it("with overwrite, the old dataset stays readable until the new one replaces it, and nothing is left beside it", async () => {
    const dir = join(tmp, "replace");
    await write(dir);
    const w = await DatasetWriter.open(dir, "pt", { overwrite: true });
    w.add({ ids: [3, 4, 5], labels: [3, 4, 5] });
    // Still the old dataset while the new one is being written.
    expect(new TokenDataset(dir).meta.kind).toBe("sft");
    expect(w.finish().kind).toBe("pt");
    expect(Array.from(new TokenDataset(dir).row(0).ids)).toEqual([3, 4, 5]);
    expect(readdirSync(tmp).filter((n) => n.startsWith(".replace."))).toEqual([]);
  });

  it("rejects bad rows at write time", async () => {
    const w = await DatasetWriter.open(join(tmp, "e"), "sft");
    expect(() => w.add({ ids: [], labels: [] })).toThrow(/empty/);
    expect(() => w.add({ ids: [1, 2], labels: [1] })).toThrow(/2 ids but 1 labels/);
    expect(() => w.add({ ids: [1, 2], labels: [1, -5] })).toThrow(/label -5/);
    expect(() => w.add({ ids: [1], labels: [1], segments: [1] })).toThrow(/without segments/);
    w.abort();
  });

  it("names the file and what is wrong when reading a damaged dataset", async () => {
    const dir = join(tmp, "f");
    await write(dir);
    truncateSync(join(dir, "labels.bin"), 12);
    expect(() => new TokenDataset(dir)).toThrow(/labels\.bin: 12 bytes, expected 32/);
    const dir2 = join(tmp, "g");
    await write(dir2);
    const meta = JSON.parse(readFileSync(join(dir2, "meta.json"), "utf8"));
    writeFileSync(join(dir2, "meta.json"), JSON.stringify({ ...meta, version: 9 }));
    expect(() => new TokenDataset(dir2)).toThrow(/version 9 is not supported/);
    expect(() => new TokenDataset(join(tmp, "nope"))).toThrow(DatasetFormatError);
  });
});
