import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { fullDisk, smallDisk } from "../../test/helpers/tmpfs.js";
import { DiskFullError, JsonlWriter, OutputDirError, writeFileAtomic, writeFileAtomicSync, writeJsonAtomic, writeOutputDir } from "./atomic.js";

const big = "汉".repeat(200_000); // 600 kB of UTF-8

describe("writeFileAtomic", () => {
  it("replaces the file in one step and leaves no temp file", async () => {
    const d = tempDir("atomic-");
    const f = join(d, "a.json");
    await writeJsonAtomic(f, { a: 1 });
    await writeFileAtomic(f, "second\n");
    expect(readFileSync(f, "utf8")).toBe("second\n");
    expect(readdirSync(d)).toEqual(["a.json"]);
  });

  const disk = fullDisk("1m", 64 * 1024);
  it.skipIf("skip" in disk)(`a full disk throws DiskFullError, keeps the old file and removes the temp file${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, async () => {
    const dir = (disk as { dir: string }).dir;
    const f = join(dir, "keep.txt");
    writeFileSync(f, "old");
    const err = await writeFileAtomic(f, big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect(String((err as Error).message)).toBe(`disk full while writing ${f}; nothing was replaced`);
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["fill", "keep.txt"]);
  });
});

describe("writeFileAtomicSync", () => {
  it("writes bytes and text in place of the old file, creating the folder, leaving no temp file", () => {
    const d = tempDir("atomic-sync-");
    const f = join(d, "sub", "x.bin");
    writeFileAtomicSync(f, new Uint8Array(new Float64Array([1.5, -2]).buffer));
    const b = readFileSync(f);
    expect([b.readDoubleLE(0), b.readDoubleLE(8)]).toEqual([1.5, -2]);
    writeFileAtomicSync(f, "二");
    expect(readFileSync(f, "utf8")).toBe("二");
    expect(readdirSync(join(d, "sub"))).toEqual(["x.bin"]);
  });

  it("refuses a folder under the file's name", () => {
    const d = tempDir("atomic-sync-");
    mkdirSync(join(d, "x.bin"));
    expect(() => writeFileAtomicSync(join(d, "x.bin"), "a")).toThrow(OutputDirError);
  });

  const disk = fullDisk("1m", 64 * 1024);
  it.skipIf("skip" in disk)(`a full disk throws DiskFullError and keeps the old file${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, () => {
    const dir = (disk as { dir: string }).dir;
    const f = join(dir, "keep-sync.txt");
    writeFileSync(f, "old");
    expect(() => writeFileAtomicSync(f, big)).toThrow(DiskFullError);
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(readdirSync(dir).filter((n) => n.includes("keep-sync"))).toEqual(["keep-sync.txt"]);
  });
});

describe("JsonlWriter", () => {
  it("writes lines and arrays, renamed into place on close", async () => {
    const d = tempDir("jsonl-");
    const w = await JsonlWriter.open(join(d, "x.jsonl"));
    await w.write({ a: 1 });
    await w.write({ b: "二" });
    expect(existsSync(join(d, "x.jsonl"))).toBe(false);
    await w.close();
    expect(readFileSync(join(d, "x.jsonl"), "utf8")).toBe('{"a":1}\n{"b":"二"}\n');
    const a = await JsonlWriter.open(join(d, "y.json"), { array: true });
    await a.write(1);
    await a.write(2);
    await a.close();
    expect(JSON.parse(readFileSync(join(d, "y.json"), "utf8"))).toEqual([1, 2]);
    expect(readdirSync(d).sort()).toEqual(["x.jsonl", "y.json"]);
  });

  const disk = fullDisk("1m", 64 * 1024);
  it.skipIf("skip" in disk)(`a full disk is an error from write/close, not an unhandled 'error' event${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, async () => {
    const dir = (disk as { dir: string }).dir;
    const f = join(dir, "out.jsonl");
    writeFileSync(f, "old\n");
    const w = await JsonlWriter.open(f);
    const err = await (async () => {
      for (let i = 0; i < 50; i++) await w.write({ text: big.slice(0, 20_000) });
      await w.close();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toContain(f);
    expect(readFileSync(f, "utf8")).toBe("old\n");
    expect(readdirSync(dir).sort()).toEqual(["fill", "out.jsonl"]);
  });

  const ro = smallDisk("64k", { readOnly: true });
  it.skipIf("skip" in ro)(`a read-only folder fails at open with the real cause${"skip" in ro ? ` (skipped: ${ro.skip})` : ""}`, async () => {
    const dir = (ro as { dir: string }).dir;
    const err = await JsonlWriter.open(join(dir, "x.jsonl")).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe("EROFS");
  });
});

describe("writeOutputDir", () => {
  const isModel = async (d: string) => existsSync(join(d, "config.json"));

  it("stages into a sibling and swaps on success; the old folder is kept until then", async () => {
    const root = tempDir("outdir-");
    const out = join(root, "m");
    await writeOutputDir(out, { kind: "model folder" }, async (s) => writeFileSync(join(s, "config.json"), "1"));
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("1");
    await writeOutputDir(out, { kind: "model folder", overwrite: true, isKind: isModel }, async (s) => {
      expect(readFileSync(join(out, "config.json"), "utf8")).toBe("1");
      writeFileSync(join(s, "config.json"), "2");
    });
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("2");
    expect(readdirSync(root)).toEqual(["m"]);
  });

  it("a failed body leaves the old folder intact and no staging folder", async () => {
    const root = tempDir("outdir-");
    const out = join(root, "m");
    mkdirSync(out);
    writeFileSync(join(out, "config.json"), "old");
    const err = await writeOutputDir(out, { kind: "model folder", overwrite: true, isKind: isModel }, async (s) => {
      writeFileSync(join(s, "config.json"), "new");
      throw new Error("boom");
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("boom");
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("old");
    expect(readdirSync(root)).toEqual(["m"]);
  });

  it("refuses a non-empty folder without overwrite, and a folder of another kind even with it", async () => {
    const root = tempDir("outdir-");
    const model = join(root, "model");
    mkdirSync(model);
    writeFileSync(join(model, "config.json"), "{}");
    const notModel = join(root, "photos");
    mkdirSync(notModel);
    writeFileSync(join(notModel, "cat.jpg"), "x");
    let ran = false;
    const body = async () => {
      ran = true;
    };
    await expect(writeOutputDir(model, { kind: "model folder", isKind: isModel, overwriteHint: "--overwrite" }, body)).rejects.toThrow(
      /already holds a model folder; choose another output folder or replace it with --overwrite/,
    );
    await expect(writeOutputDir(notModel, { kind: "model folder", isKind: isModel, overwrite: true }, body)).rejects.toThrow(
      /is not empty and is not a model folder; refusing to replace it/,
    );
    const file = join(root, "file");
    writeFileSync(file, "x");
    await expect(writeOutputDir(file, { kind: "model folder" }, body)).rejects.toThrow(OutputDirError);
    expect(ran).toBe(false);
    expect(readFileSync(join(notModel, "cat.jpg"), "utf8")).toBe("x");
  });

  it("refuses an output folder that holds an input", async () => {
    const root = tempDir("outdir-");
    const out = join(root, "data");
    mkdirSync(join(out, "sft"), { recursive: true });
    writeFileSync(join(out, "sft", "my.json"), "[]");
    await expect(
      writeOutputDir(out, { kind: "corpus build folder", overwrite: true, isKind: async () => true, inputs: [join(out, "sft", "my.json")] }, async () => undefined),
    ).rejects.toThrow(/holds the input .*my\.json/);
    expect(readFileSync(join(out, "sft", "my.json"), "utf8")).toBe("[]");
    // Nor inside an input folder, whose reader would take the outputs (stats.txt as a passage) next time.
    await expect(writeOutputDir(join(root, "data", "out"), { kind: "corpus build folder", inputs: [join(root, "data")] }, async () => undefined)).rejects.toThrow(
      /the output folder is inside the input folder .*data; its files would be read as input next time/,
    );
  });

  it("removes the staging folder a killed run left behind (its process is gone), not a live one's", async () => {
    const root = tempDir("outdir-");
    const dead = join(root, ".m.staging-999999999-0123abcd");
    const live = join(root, `.m.staging-${process.ppid}-89abcdef`);
    mkdirSync(dead);
    mkdirSync(live);
    await writeOutputDir(join(root, "m"), { kind: "model folder" }, async (s) => writeFileSync(join(s, "config.json"), "{}"));
    expect(readdirSync(root).sort()).toEqual([".m.staging-" + process.ppid + "-89abcdef", "m"]);
  });

  it("a run killed mid-write leaves the old folder intact; the next run clears its staging folder", async () => {
    const root = tempDir("outdir-kill-");
    const out = join(root, "m");
    mkdirSync(out);
    writeFileSync(join(out, "config.json"), "old");
    const script = join(root, "child.mts");
    const atomic = fileURLToPath(new URL("./atomic.ts", import.meta.url));
    writeFileSync(
      script,
      `import { writeFileSync } from "node:fs";
import { writeOutputDir } from ${JSON.stringify(atomic)};
await writeOutputDir(${JSON.stringify(out)}, { kind: "model folder", overwrite: true, isKind: async () => true }, async (s) => {
  writeFileSync(s + "/config.json", "half");
  console.log("staged");
  await new Promise(() => setInterval(() => undefined, 1000));
});
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("staged") && resolve());
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("old");
    expect(readdirSync(root).filter((n) => n.startsWith(".m.staging-")).length).toBe(1);
    await writeOutputDir(out, { kind: "model folder", overwrite: true, isKind: isModel }, async (s) => writeFileSync(join(s, "config.json"), "new"));
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("new");
    expect(readdirSync(root).sort()).toEqual(["child.mts", "m"]);
  }, 30_000);

  it("carries named entries of the old folder into the new one", async () => {
    const root = tempDir("outdir-");
    const out = join(root, "c");
    mkdirSync(join(out, "llm"), { recursive: true });
    writeFileSync(join(out, "llm", "cache"), "kept");
    writeFileSync(join(out, "stale.jsonl"), "old");
    await writeOutputDir(out, { kind: "corpus", overwrite: true, isKind: async () => true, carry: ["llm"] }, async (s) => writeFileSync(join(s, "new.jsonl"), "n"));
    expect(readdirSync(out).sort()).toEqual(["llm", "new.jsonl"]);
    expect(readFileSync(join(out, "llm", "cache"), "utf8")).toBe("kept");
  });

  const disk = fullDisk("1m", 64 * 1024);
  it.skipIf("skip" in disk)(`a full disk while staging is a DiskFullError naming the folder; the old one is intact${"skip" in disk ? ` (skipped: ${disk.skip})` : ""}`, async () => {
    const dir = (disk as { dir: string }).dir;
    const out = join(dir, "c");
    mkdirSync(out);
    writeFileSync(join(out, "config.json"), "old");
    const err = await writeOutputDir(out, { kind: "model folder", overwrite: true, isKind: isModel }, async (s) => {
      await writeFileAtomic(join(s, "config.json"), big);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toBe(`disk full while writing ${out}; nothing was replaced`);
    expect(readFileSync(join(out, "config.json"), "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["c", "fill"]);
  });
});
