/**
 * `pedgpt safety` input handling: a mistyped path is an error (never scored as the answer), text
 * that could be a path needs --text, ages and weights need their unit, empty inputs are refused.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/tempdir.js";
import { cli } from "../../../test/helpers/cli.js";
import { looksLikePath } from "./safety.js";

describe("safety check PATH", () => {
  it("a missing file or a folder is an error, not an answer scored 1", async () => {
    const d = tempDir("safety-cli-");
    const missing = await cli("safety", "check", join(d, "answer.txt"));
    expect(missing.rc).toBe(1);
    expect(missing.out).toBe("");
    expect(missing.err).toContain(`pedgpt: answer "${join(d, "answer.txt")}": no such file; to check this string as text, pass it with --text`);
    const folder = await cli("safety", "check", d);
    expect(folder.rc).toBe(1);
    expect(folder.err).toContain(`pedgpt: answer "${d}" is a folder; give a file, - for stdin, or the text with --text`);
    const q = await cli("safety", "check", "--text", "多喝水。", "--question", join(d, "q.txt"));
    expect(q.err).toContain("to check this string as text, pass it with --question-text");
  });

  it("reads a file, takes sentences as text, and --text for text that looks like a path", async () => {
    const d = tempDir("safety-cli-");
    const f = join(d, "a.txt");
    writeFileSync(f, "可以吃阿司匹林。");
    const r = await cli("safety", "check", f, "--age", "5y", "--json");
    expect(r.rc).toBe(0);
    expect(JSON.parse(r.out).findings[0].type).toBe("age_contraindication");
    expect((await cli("safety", "check", "孩子发热可以吃布洛芬10mg/kg，每6小时一次。")).rc).toBe(0);
    expect((await cli("safety", "check", "布洛芬10mg/kg")).err).toMatch(/no such file; to check this string as text, pass it with --text/);
    expect((await cli("safety", "check", "--text", "布洛芬10mg/kg")).rc).toBe(0);
    expect((await cli("safety", "check", "x", "--text", "y")).err).toMatch(/exactly once/);
    expect(looksLikePath("answers/a1.txt")).toBe(true);
    expect(looksLikePath("答案.md")).toBe(true);
    expect(looksLikePath("多喝水，注意休息。")).toBe(false);
  });

  it("an empty answer file is refused", async () => {
    const d = tempDir("safety-cli-");
    writeFileSync(join(d, "empty.txt"), "\n");
    const r = await cli("safety", "check", join(d, "empty.txt"));
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/is empty; nothing to check/);
    expect((await cli("safety", "triage", join(d, "empty.txt"))).err).toMatch(/the question in .*empty\.txt is empty; nothing to triage/);
  });
});

describe("ages and weights need a unit", () => {
  it("safety dose refuses a bare number and accepts 24斤", async () => {
    const bare = await cli("safety", "dose", "--drug", "布洛芬", "--weight", "24", "--age", "2y");
    expect(bare.rc).toBe(1);
    expect(bare.err).toMatch(/weight "24" has no unit; write e\.g\. 12kg, 12公斤 or 24斤/);
    expect(bare.out).toBe("");
    const age = await cli("safety", "dose", "--drug", "布洛芬", "--weight", "12kg", "--age", "24");
    expect(age.err).toMatch(/age "24" has no unit/);
    const jin = await cli("safety", "dose", "--drug", "布洛芬", "--weight", "24斤", "--age", "2y");
    expect(jin.rc).toBe(0);
    expect(jin.out).toContain("每次：60–120 mg");
    expect((await cli("safety", "check", "--text", "多喝水。", "--weight", "12")).err).toMatch(/weight "12" has no unit/);
    expect((await cli("safety", "triage", "--text", "发烧", "--age", "3")).err).toMatch(/age "3" has no unit/);
  });
});

describe("safety score", () => {
  it("refuses an empty file instead of scoring it", async () => {
    const d = tempDir("safety-cli-");
    const f = join(d, "none.jsonl");
    writeFileSync(f, "");
    const r = await cli("safety", "score", f);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${f}: no question/answer items; nothing to score`);
    expect((await cli("safety", "score", d)).err).toContain(`pedgpt: ${d}: is a folder, expected a file (while reading)`);
  });
});
