/**
 * `corpus validate DIR`: a folder is validated through its dataset_info.json (a built corpus) or file
 * by file with each file's own format; broken files are reported (exit 1), never counted as zero
 * passages, and build reports (stats.txt) are not read as passages.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildCorpus } from "./build.js";
import { loadBuildConfig } from "./config.js";
import { totalBad, validateFile } from "./validate.js";
import { tempDir } from "../../test/helpers/tempdir.js";
import { cli } from "../../test/helpers/cli.js";

const FX = fileURLToPath(new URL("../../test/fixtures/corpus/", import.meta.url));
const PASSAGES = fileURLToPath(new URL("../../data/sample/passages", import.meta.url));

describe("corpus validate DIR", () => {
  it("reports broken .json/.jsonl files in a folder and exits 1", async () => {
    const d = tempDir("validate-dir-");
    writeFileSync(join(d, "a.json"), '[{"instruction": "x", "output": ');
    writeFileSync(join(d, "b.jsonl"), "{not json}\n{also not}\n");
    const r = await cli("corpus", "validate", d);
    expect(r.rc).toBe(1);
    expect(r.out).toContain(`${d}: folder, 0 good record(s), 2 bad`);
    expect(r.out).toContain(`${join(d, "a.json")}:1: [detect]`);
    expect(r.out).toContain(`${join(d, "b.jsonl")}:1: [detect] no valid JSON record found to detect the format from`);
    expect(r.out).not.toMatch(/passages/);
  });

  it("validates each file with its own format", async () => {
    const d = tempDir("validate-mixed-");
    mkdirSync(join(d, "kg"));
    writeFileSync(join(d, "kg", "t.csv"), "head,relation,tail\n发热,症状,体温升高\n");
    writeFileSync(join(d, "p.jsonl"), JSON.stringify({ prompt: "孩子发烧怎么办", chosen: "先测体温，多喝水，必要时就医。", rejected: "不用管。" }) + "\n");
    const r = await validateFile(d);
    expect(r.format).toBe("folder");
    expect(r.datasets!.map((s) => [s.file.slice(d.length + 1), s.format, s.records])).toEqual([
      ["kg/t.csv", "kg", 1],
      ["p.jsonl", "preference", 1],
    ]);
    expect(totalBad(r)).toBe(0);
    await expect(validateFile(tempDir("validate-empty-"))).rejects.toThrow(/an empty folder; nothing to validate/);
  });

  it("a passages folder gives the same records file by file as read whole", async () => {
    const whole = await validateFile(PASSAGES, "passages");
    const perFile = await validateFile(PASSAGES);
    expect(perFile.records).toBe(whole.records);
    expect(perFile.datasets!.every((s) => s.format === "passages")).toBe(true);
    expect(totalBad(perFile)).toBe(totalBad(whole));
  });

  it("a built corpus is validated through its dataset_info.json; stats.txt is not a passage", async () => {
    const out = tempDir("validate-built-");
    await buildCorpus(await loadBuildConfig(join(FX, "build.json")), { outDir: out });
    const r = await validateFile(out);
    expect(r.format).toBe("registry");
    expect(r.datasets!.length).toBeGreaterThan(3);
    expect(r.datasets!.some((s) => s.file.endsWith("stats.txt"))).toBe(false);
    expect(r.notes).toContain("build reports, not datasets: bad_records.jsonl, stats.json, stats.txt");
    expect(totalBad(r)).toBe(0);
  });

  it("an undetectable encoding names the --encoding flag, which exists and works", async () => {
    const d = tempDir("validate-enc-");
    const f = join(d, "u16.json");
    const recs = [{ instruction: "孩子发热怎么办？", input: "", output: "先测体温，多喝水，精神差或持续高热要及时就医。" }];
    writeFileSync(f, Buffer.from(JSON.stringify(recs), "utf16le"));
    const r = await cli("corpus", "validate", f);
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${f}: neither valid UTF-8 nor valid GB18030/GBK in the first bytes; convert the file to UTF-8 or pass --encoding explicitly`);
    const ok = await cli("corpus", "validate", f, "--encoding", "utf-16le");
    expect(ok.rc).toBe(0);
    expect(ok.out).toContain(`${f}: alpaca, 1 good record(s), 0 bad`);
    expect((await cli("corpus", "validate", f, "--encoding", "latin1")).err).toMatch(/--encoding must be one of auto, utf-8, gb18030, gbk, utf-16le, utf-16be, got latin1/);
  });
});
