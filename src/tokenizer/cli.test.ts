/**
 * `pedgpt tokenizer train|encode|decode|chat` through commander, on a small generated corpus: the trained
 * directory loads back, encode/decode round-trip, chat prints the rendering and mask, bad input errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it, vi } from "vitest";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { register } from "../cli/commands/tokenizer.js";
import { loadTokenizer } from "./load.js";

const tmp = mkdtempSync(join(tmpdir(), "pedgpt-tok-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...args: string[]): Promise<string> {
  const program = new Command("pedgpt").exitOverride();
  register(program);
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    await program.parseAsync(["node", "pedgpt", ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join("\n");
}

describe("pedgpt tokenizer", () => {
  const corpus = join(tmp, "corpus.txt");
  writeFileSync(corpus, generateCorpus(500, 5).join("\n"));
  const out = join(tmp, "tok");

  it("trains, then encodes and decodes with the result", async () => {
    const msg = await run("tokenizer", "train", "--corpus", corpus, "--vocab-size", "600", "--template", "qwen", "--out", out);
    expect(msg).toMatch(/vocab 600 \(339 merges\), template qwen/);
    expect(loadTokenizer(out).chatTemplateId).toBe("qwen");
    const ids = (await run("tokenizer", "encode", "-t", out, "--no-special", "孩子发热3天")).trim();
    expect(ids).toMatch(/^\d+( \d+)*$/);
    expect(await run("tokenizer", "decode", "-t", out, ...ids.split(" "))).toBe("孩子发热3天");
  });

  it("renders a conversation with the tokenizer's template", async () => {
    const m = join(tmp, "m.json");
    writeFileSync(m, JSON.stringify([{ role: "user", content: "发热" }, { role: "assistant", content: "多饮水" }]));
    const shown = await run("tokenizer", "chat", "-t", out, "--messages", m);
    expect(shown).toContain("<|im_start|>assistant\n多饮水<|im_end|>");
    expect(shown).toMatch(/mask \(\d+ trained\): [01]+/);
  });

  it("reports bad input clearly", async () => {
    await expect(run("tokenizer", "train", "--corpus", corpus, "--vocab-size", "abc", "--out", out)).rejects.toThrow(/--vocab-size must be a positive integer/);
    await expect(run("tokenizer", "decode", "-t", out, "x")).rejects.toThrow(/token id must be an integer, got x/);
    await expect(run("tokenizer", "chat", "-t", out, "--messages", join(tmp, "none.json"))).rejects.toThrow(/none\.json: cannot read messages JSON/);
  });
});
