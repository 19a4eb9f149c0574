/**
 * `corpus build` never loses data: outputs are staged and swapped in on success, an output folder
 * holding an input (or a folder that is not a corpus build) is refused before any work, and a full
 * disk is one clear error that leaves the previous build intact.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildCorpus } from "./build.js";
import { loadBuildConfig } from "./config.js";
import { BadRecordError } from "./errors.js";
import { DiskFullError, OutputDirError } from "../util/atomic.js";
import { tempDir } from "../../test/helpers/tempdir.js";
import { smallDisk } from "../../test/helpers/tmpfs.js";

const FX = fileURLToPath(new URL("../../test/fixtures/corpus/", import.meta.url));
const alpaca = JSON.parse(readFileSync(fileURLToPath(new URL("../../data/sample/instructions/alpaca.json", import.meta.url)), "utf8")) as unknown[];

/** A config file in `dir` with one Alpaca source at `sourceRel` (relative to `dir`). */
function alpacaConfig(dir: string, sourceRel: string, outRel: string): string {
  const src = join(dir, sourceRel);
  mkdirSync(dirname(src), { recursive: true });
  writeFileSync(src, JSON.stringify(alpaca));
  const cfg = join(dir, "build.json");
  writeFileSync(cfg, JSON.stringify({ version: 1, name: "t", outDir: outRel, seed: 1, onError: "skip-and-report", sources: [{ kind: "alpaca", name: "a", path: sourceRel, task: "auto" }] }));
  return cfg;
}

describe("corpus build output folder", () => {
  it("refuses an output folder that holds an input, and deletes nothing (mydata/sft/my.json)", async () => {
    const d = tempDir("corpus-in-out-");
    const cfg = alpacaConfig(d, "mydata/sft/my.json", "mydata");
    const err = await buildCorpus(await loadBuildConfig(cfg)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputDirError);
    expect((err as Error).message).toMatch(/mydata: the output folder holds the input .*mydata\/sft\/my\.json/);
    expect(JSON.parse(readFileSync(join(d, "mydata/sft/my.json"), "utf8"))).toEqual(alpaca);
    expect(readdirSync(d).sort()).toEqual(["build.json", "mydata"]);
  });

  it("refuses an output folder whose dataset_info.json is an input", async () => {
    const d = tempDir("corpus-reg-");
    cpSync(FX, join(d, "in"), { recursive: true });
    const cfg = join(d, "build.json");
    writeFileSync(cfg, JSON.stringify({ version: 1, name: "t", outDir: "in", sources: [{ kind: "registry", name: "r", path: "in/dataset_info.json" }] }));
    await expect(buildCorpus(await loadBuildConfig(cfg))).rejects.toThrow(/holds the input .*dataset_info\.json/);
    expect(readFileSync(join(d, "in", "dataset_info.json"), "utf8")).toBe(readFileSync(join(FX, "dataset_info.json"), "utf8"));
  });

  it("refuses a non-empty folder that is not a corpus build", async () => {
    const d = tempDir("corpus-other-");
    const cfg = alpacaConfig(d, "in/a.json", "out");
    mkdirSync(join(d, "out"));
    writeFileSync(join(d, "out", "notes.txt"), "mine");
    await expect(buildCorpus(await loadBuildConfig(cfg))).rejects.toThrow(/out: is not empty and is not a corpus build folder; refusing to replace it/);
    expect(readdirSync(join(d, "out"))).toEqual(["notes.txt"]);
  });

  it("a rebuild replaces the old build whole; a failed rebuild leaves it as it was", async () => {
    const d = tempDir("corpus-rebuild-");
    const cfg = alpacaConfig(d, "in/a.json", "out");
    await buildCorpus(await loadBuildConfig(cfg));
    const stats = readFileSync(join(d, "out", "stats.json"), "utf8");
    writeFileSync(join(d, "out", "sft", "stale.alpaca.jsonl"), "{}\n");
    await buildCorpus(await loadBuildConfig(cfg));
    expect(existsSync(join(d, "out", "sft", "stale.alpaca.jsonl"))).toBe(false);
    expect(readFileSync(join(d, "out", "stats.json"), "utf8")).toBe(stats);

    // A bad record under the fail policy: the earlier build, its stats and dataset_info.json stay.
    const before = Object.fromEntries(readdirSync(join(d, "out"), { recursive: true }).map(String).sort().map((f) => [f, existsSync(join(d, "out", f))]));
    writeFileSync(join(d, "in", "a.json"), JSON.stringify([...alpaca, { instruction: 5 }]));
    await expect(buildCorpus(await loadBuildConfig(cfg), { policy: "fail" })).rejects.toThrow(BadRecordError);
    expect(readFileSync(join(d, "out", "stats.json"), "utf8")).toBe(stats);
    expect(Object.fromEntries(readdirSync(join(d, "out"), { recursive: true }).map(String).sort().map((f) => [f, existsSync(join(d, "out", f))]))).toEqual(before);
    expect(readdirSync(d).sort()).toEqual(["build.json", "in", "out"]);
  });

  const disk = smallDisk("2m");
  it.skipIf("skip" in disk)(`a full disk is "disk full while writing <out>; nothing was replaced", the old build intact${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, async () => {
    const dir = (disk as { dir: string }).dir;
    const loaded = await loadBuildConfig(join(FX, "build.json"));
    const out = join(dir, "c");
    await buildCorpus(loaded, { outDir: out });
    const stats = readFileSync(join(out, "stats.json"), "utf8");
    const files = readdirSync(out, { recursive: true }).map(String).sort();
    // Fill the disk so that a second copy of the build no longer fits.
    writeFileSync(join(dir, "fill"), Buffer.alloc(0));
    const { execFileSync } = await import("node:child_process");
    execFileSync("sh", ["-c", `dd if=/dev/zero of='${join(dir, "fill")}' bs=4096 2>/dev/null; true`]);
    execFileSync("truncate", ["-s", "-16384", join(dir, "fill")]);
    const err = await buildCorpus(loaded, { outDir: out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toBe(`disk full while writing ${out}; nothing was replaced`);
    expect(readFileSync(join(out, "stats.json"), "utf8")).toBe(stats);
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(files);
    expect(readdirSync(dir).sort()).toEqual(["c", "fill"]);
  });

  it("an undetectable encoding names the config field to set", async () => {
    const d = tempDir("corpus-enc-");
    const cfg = alpacaConfig(d, "in/a.json", "out");
    writeFileSync(join(d, "in", "a.json"), Buffer.from(JSON.stringify(alpaca.slice(0, 5)), "utf16le"));
    const err = await buildCorpus(await loadBuildConfig(cfg)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/a\.json: neither valid UTF-8 nor valid GB18030\/GBK in the first bytes; convert the file to UTF-8 or set "encoding" of source "a" \(sources\.0\.encoding in .*build\.json\)/);
    const raw = JSON.parse(readFileSync(cfg, "utf8"));
    raw.sources[0].encoding = "utf-16le";
    writeFileSync(cfg, JSON.stringify(raw));
    const { stats } = await buildCorpus(await loadBuildConfig(cfg));
    expect(stats.records.total).toBeGreaterThan(0);
  });
});
