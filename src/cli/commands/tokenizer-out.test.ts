/** `tokenizer train --out` never silently replaces a folder: a tokenizer only with --overwrite, anything else never. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { cli } from "../../../test/helpers/cli.js";

const lines = Array.from({ length: 200 }, (_, i) => `孩子发热第${i % 7}天，体温${38 + (i % 3)}度，精神尚可，多喝水。`);

describe("tokenizer train --out", () => {
  it("refuses an existing tokenizer without --overwrite and any other non-empty folder", async () => {
    const d = tempDir("tok-out-");
    const corpus = join(d, "c.txt");
    writeFileSync(corpus, lines.join("\n"));
    const out = join(d, "tok");
    expect((await cli("tokenizer", "train", "--corpus", corpus, "--vocab-size", "300", "--out", out)).rc).toBe(0);
    const before = readFileSync(join(out, "tokenizer.json"), "utf8");
    const again = await cli("tokenizer", "train", "--corpus", corpus, "--vocab-size", "320", "--out", out);
    expect(again.rc).toBe(1);
    expect(again.err).toContain(`pedgpt: ${out}: already holds a tokenizer folder; choose another output folder or replace it with --overwrite`);
    expect(readFileSync(join(out, "tokenizer.json"), "utf8")).toBe(before);
    expect((await cli("tokenizer", "train", "--corpus", corpus, "--vocab-size", "320", "--out", out, "--overwrite")).rc).toBe(0);
    expect(readFileSync(join(out, "tokenizer.json"), "utf8")).not.toBe(before);

    const notes = join(d, "notes");
    mkdirSync(notes);
    writeFileSync(join(notes, "a.txt"), "mine");
    const r = await cli("tokenizer", "train", "--corpus", corpus, "--out", notes, "--overwrite");
    expect(r.err).toContain("is not empty and is not a tokenizer folder; refusing to replace it");
    const inside = await cli("tokenizer", "train", "--corpus", corpus, "--out", d, "--overwrite");
    expect(inside.err).toMatch(/holds the input .*c\.txt/);
  });
});
