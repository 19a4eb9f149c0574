/**
 * The CLI's one error handler: every error leaves with its message, file-system errors in words
 * naming the path, hints naming real flags; and `model init` / `model sample` cases from the
 * hostile-user report.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { smallDisk } from "../../test/helpers/tmpfs.js";
import { corruptTensor } from "../../test/helpers/corrupt.js";
import { describeError, readUserFile } from "../util/errors.js";
import { cli } from "../../test/helpers/cli.js";
import { cliMessage } from "./main.js";

afterEach(() => vi.restoreAllMocks());

describe("file-system errors in words", () => {
  it("names the path and the real cause", async () => {
    const d = tempDir("errs-");
    const missing = join(d, "nope.json");
    expect(describeError(await readFile(missing).catch((e: unknown) => e))).toBe(`${missing}: no such file or folder (while opening)`);
    expect(describeError(await readFile(d).catch((e: unknown) => e))).toBe("is a folder, expected a file (while reading)");
    expect(describeError(await readUserFile(d).catch((e: unknown) => e))).toBe(`${d}: is a folder, expected a file (while reading)`);
    writeFileSync(join(d, "f"), "x");
    expect(describeError(await mkdir(join(d, "f", "sub")).catch((e: unknown) => e))).toBe(`${join(d, "f", "sub")}: a part of this path is a file, not a folder (while creating the folder)`);
    expect(describeError(await mkdir(join(d, "f")).catch((e: unknown) => e))).toBe(`${join(d, "f")}: already exists (while creating the folder)`);
    // Raw Node text inside a wrapper's message is put in words too, with the path only where it is new.
    const raw = (await readFile(missing).catch((e: unknown) => e)) as Error;
    expect(describeError(new Error(`${missing}: cannot read the config (${raw.message})`))).toBe(`${missing}: cannot read the config (no such file or folder)`);
    expect(describeError(new Error(`cannot read the config: ${raw.message}`))).toBe(`cannot read the config: ${missing}: no such file or folder`);
  });

  const ro = smallDisk("64k", { readOnly: true });
  it.skipIf("skip" in ro)(`a read-only folder is "read-only", not ENOENT${"skip" in ro ? ` (skipped: ${ro.skip})` : ""}`, async () => {
    const dir = (ro as { dir: string }).dir;
    const r = await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", join(dir, "m"));
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${join(dir, "m")}: read-only file system (while creating the folder)`);
  });

  it.skipIf(process.getuid?.() === 0)("a folder without write permission is \"permission denied\" (skipped as root: root ignores permissions)", async () => {
    const d = tempDir("errs-");
    chmodSync(d, 0o555);
    const r = await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", join(d, "m"));
    chmodSync(d, 0o755);
    expect(r.err).toMatch(/permission denied/);
  });
});

describe("every error leaves with its message", () => {
  it("a bug is reported as an internal error without a stack trace; expected errors as their message", () => {
    expect(cliMessage(new TypeError("x.y is not a function"), null)).toBe("internal error: x.y is not a function (rerun with PEDGPT_DEBUG=1 for the stack trace)");
    expect(cliMessage(new Error("bad.json:3: field \"id\": expected a string"), null)).toBe('bad.json:3: field "id": expected a string');
    expect(cliMessage("thrown string", null)).toBe("thrown string");
    expect(cliMessage(new Error(""), null)).toBe("Error");
  });

  it("model sample --ids 1,-5,abc says which entry is wrong", async () => {
    const d = tempDir("cli-");
    const m = join(d, "m");
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m)).rc).toBe(0);
    const r = await cli("model", "sample", m, "--ids", "1,-5,abc");
    expect(r.rc).toBe(1);
    expect(r.err).toContain('pedgpt: --ids: entry 2 ("-5") is not a token id');
  });

  it("commander's own parse errors are printed once", async () => {
    const r = await cli("model", "init", "--config", "tiny-llama", "--out", "x", "--seed", "abc");
    expect(r.rc).toBe(1);
    expect(r.err.match(/--seed must be an integer/g)?.length).toBe(1);
  });

  it("a library hint is rewritten to the flag of the running command", async () => {
    const d = tempDir("cli-");
    const gold = join(d, "gold.jsonl");
    const item = (id: string, answer: string) => JSON.stringify({ id, qtype: "multiple_choice", disease_group: "新生儿疾病", question: `q${id}`, options: { A: "x", B: "y" }, answer, multi_answer: false });
    writeFileSync(gold, item("a", "B") + "\n" + item("b", "A") + "\n");
    const pred = join(d, "pred.jsonl");
    writeFileSync(pred, JSON.stringify({ id: "a", answer: "B" }) + "\n");
    const r = await cli("eval", "exam", "--gold", gold, "--pred", pred);
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/pass --allow-missing to score them as unanswered/);
    expect(r.err).not.toMatch(/allowMissing/);
  });
});

describe("library hints name the command's flags", () => {
  it("model import without a tokenizer says --allow-missing-tokenizer, not the option field", async () => {
    const d = tempDir("hint-");
    const src = join(d, "hf");
    mkdirSync(src);
    const fx = fileURLToPath(new URL("../../test/fixtures/io/hf_llama_bin/", import.meta.url));
    for (const f of readdirSync(fx)) if (!f.startsWith("tokenizer")) writeFileSync(join(src, f), readFileSync(join(fx, f)));
    const r = await cli("model", "import", src, "--out", join(d, "m"));
    expect(r.rc).toBe(1);
    expect(r.err).toMatch(/pass --allow-missing-tokenizer to import weights only/);
    expect(r.err).not.toMatch(/allowMissingTokenizer/);
  });
});

describe("model init", () => {
  it("refuses to overwrite a model without --overwrite, and a non-model folder even with it", async () => {
    const d = tempDir("init-");
    const m = join(d, "m");
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m, "--seed", "1")).rc).toBe(0);
    const before = readFileSync(join(m, "model.safetensors"));
    const again = await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m, "--seed", "2");
    expect(again.rc).toBe(1);
    expect(again.err).toContain(`pedgpt: ${m}: already holds a model folder; choose another output folder or replace it with --overwrite`);
    expect(readFileSync(join(m, "model.safetensors")).equals(before)).toBe(true);
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m, "--seed", "2", "--overwrite")).rc).toBe(0);
    expect(readFileSync(join(m, "model.safetensors")).equals(before)).toBe(false);

    const photos = join(d, "photos");
    mkdirSync(photos);
    writeFileSync(join(photos, "cat.jpg"), "x");
    const r = await cli("model", "init", "--config", "tiny-llama", "--out", photos, "--overwrite");
    expect(r.rc).toBe(1);
    expect(r.err).toContain("is not empty and is not a model folder; refusing to replace it");
    expect(existsSync(join(photos, "cat.jpg"))).toBe(true);
  });
});

describe("non-finite checkpoints", () => {
  it("model sample refuses a NaN checkpoint, naming the tensor and index", async () => {
    const d = tempDir("nan-");
    const m = join(d, "m");
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m)).rc).toBe(0);
    corruptTensor(m, "model.norm.weight", 5, NaN);
    const r = await cli("model", "sample", m, "--ids", "1,2,3");
    expect(r.rc).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain(`pedgpt: ${join(m, "model.safetensors")}: tensor "model.norm.weight" holds a non-finite value (NaN) at flat index 5`);
  });

  it("model export-gguf refuses a NaN checkpoint and writes nothing", async () => {
    const d = tempDir("nan-");
    const m = join(d, "m");
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m)).rc).toBe(0);
    corruptTensor(m, "model.layers.0.mlp.up_proj.weight", 7, Infinity);
    const out = join(d, "m.gguf");
    const r = await cli("model", "export-gguf", m, "--out", out, "--vocab", "synthetic");
    expect(r.rc).toBe(1);
    expect(r.err).toContain('tensor "model.layers.0.mlp.up_proj.weight" holds a non-finite value (Infinity) at flat index 7');
    expect(existsSync(out)).toBe(false);
  });
});

describe("export-gguf output path", () => {
  it("an existing folder as --out is refused before the export", async () => {
    const d = tempDir("gguf-out-");
    const m = join(d, "m");
    expect((await cli("model", "init", "--config", "tiny-llama", "--vocab-size", "300", "--out", m)).rc).toBe(0);
    const folder = join(d, "exports");
    mkdirSync(folder);
    const r = await cli("model", "export-gguf", m, "--out", folder, "--vocab", "synthetic");
    expect(r.rc).toBe(1);
    expect(r.err).toContain(`pedgpt: ${folder}: is a folder; give the path of a file to write`);
    expect(readdirSync(folder)).toEqual([]);
    expect(readdirSync(d).sort()).toEqual(["exports", "m"]);
  });
});
