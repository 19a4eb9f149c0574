import { afterEach, describe, expect, it, vi } from "vitest";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { register } from "../cli/commands/corpus.js";
import { tempDir } from "../../test/helpers/tempdir.js";


const fx = (name: string) => fileURLToPath(new URL(`../../test/fixtures/corpus/${name}`, import.meta.url));

async function run(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    const program = new Command("pedgpt").exitOverride();
    register(program);
    await program.parseAsync(["node", "pedgpt", ...args]);
    return { out: out.join("\n"), err: err.join("\n"), code: process.exitCode as number | undefined };
  } finally {
    process.exitCode = before;
    log.mockRestore();
    error.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("pedgpt corpus CLI", () => {
  it("validate lists every bad record and sets exit code 1", async () => {
    const r = await run(["corpus", "validate", fx("cmd_gb18030.csv")]);
    expect(r.out).toContain("cmd (gb18030), 4 good record(s), 3 bad");
    expect(r.out).toMatch(/cmd_gb18030\.csv:6: \[cmd\] empty answer/);
    expect(r.code).toBe(1);
    const ok = await run(["corpus", "validate", fx("passages"), "--json"]);
    // A folder without dataset_info.json is validated file by file (here: every file is passages).
    expect(JSON.parse(ok.out)).toMatchObject({ format: "folder", records: 6, bad: [] });
    expect(JSON.parse(ok.out).datasets.every((d: { format: string }) => d.format === "passages")).toBe(true);
    expect(ok.code).toBeUndefined();
  });

  it("build prints progress and the table; stats reads the result back", async () => {
    const out = tempDir("corpus-cli-");
    const b = await run(["corpus", "build", fx("build.json"), "--out", out]);
    expect(b.err).toMatch(/reading passages source "passages"/);
    expect(b.out).toContain("Records by task");
    const s = await run(["corpus", "stats", out]);
    expect(s.out).toContain("Datasets (from dataset_info.json)");
    expect(s.out).toContain("pedcorpus_cpt");
  });

  it("rejects unknown options with a clear message", async () => {
    await expect(run(["corpus", "validate", fx("pairs.jsonl"), "--format", "xml"])).rejects.toThrow(/--format must be one of/);
    await expect(run(["corpus", "build", fx("build.json"), "--on-error", "ignore"])).rejects.toThrow(/--on-error must be fail or skip-and-report/);
  });
});
