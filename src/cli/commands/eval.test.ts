import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { register } from "./eval.js";

const dir = mkdtempSync(join(tmpdir(), "pedgpt-eval-"));
// Removed after the tests (a process "exit" hook does not run in vitest's worker processes).
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, rows: object[]) => {
  const f = join(dir, name);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return f;
};
const run = async (args: string[]) => {
  const program = new Command().exitOverride();
  register(program);
  const logs: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logs.push(a.join(" ")));
  try {
    await program.parseAsync(["node", "pedgpt", ...args]);
  } finally {
    spy.mockRestore();
  }
  return logs.join("\n");
};

afterEach(() => vi.restoreAllMocks());

describe("pedgpt eval metrics", () => {
  const ref = write("ref.jsonl", [{ id: "1", reference: "宝宝发热38.5℃，建议多喝水。" }, { id: "2", reference: "孩子咳嗽，可以雾化治疗。" }]);
  it("prints a table and writes per-sample JSON", async () => {
    const pred = write("pred.jsonl", [{ id: "2", response: "孩子咳嗽，建议雾化。" }, { id: "1", response: "" }]);
    const out = join(dir, "m.json");
    const text = await run(["eval", "metrics", "--pred", pred, "--ref", ref, "--out", out]);
    expect(text).toContain("mode: paper");
    expect(text).toContain("empty hypotheses (scored 0): 1");
    expect(text).toMatch(/BLEU-4\s+\d+\.\d\d/);
    const report = JSON.parse(readFileSync(out, "utf8"));
    expect(report.samples.map((s: { id: string }) => s.id)).toEqual(["2", "1"]);
    expect(report.samples[1].scores.rouge1).toBe(0);
    expect(report.segmenter.name).toBe("jieba-ts");
  });
  it("standard mode prints intervals and corpus BLEU", async () => {
    const pred = write("pred2.jsonl", [{ id: "1", response: "宝宝发热，多喝水。" }, { id: "2", response: "孩子咳嗽。" }]);
    const text = await run(["eval", "metrics", "--pred", pred, "--ref", ref, "--mode", "standard", "--resamples", "50"]);
    expect(text).toContain("corpus BLEU");
    expect(text).toContain("95% CI");
  });
  it("names the file and line of a mismatched id", async () => {
    const pred = write("pred3.jsonl", [{ id: "1", response: "x" }, { id: "9", response: "y" }]);
    await expect(run(["eval", "metrics", "--pred", pred, "--ref", ref])).rejects.toThrow(/pred3\.jsonl:2: id "9" has no reference/);
  });
});

describe("pedgpt eval exam", () => {
  it("scores PediaBench-style items and prints per-category accuracy", async () => {
    const gold = write("gold.jsonl", [
      { id: "a", qtype: "multiple_choice", disease_group: "新生儿疾病", question: "q1", options: { A: "x", B: "y" }, answer: "B", multi_answer: false },
      { id: "b", qtype: "true_or_false", disease_group: "新生儿疾病", question: "q2", answer: "错" },
    ]);
    const pred = write("epred.jsonl", [{ id: "a", response: "故选B" }, { id: "b", response: "这种说法正确" }]);
    const out = join(dir, "e.json");
    const text = await run(["eval", "exam", "--pred", pred, "--gold", gold, "--out", out]);
    expect(text).toContain("accuracy: 50.00%");
    expect(text).toContain("新生儿疾病");
    expect(JSON.parse(readFileSync(out, "utf8")).samples[1].predicted).toBe("对");
  });
});

describe("pedgpt eval exam-prompts", () => {
  it("writes one few-shot prompt per item", async () => {
    const gold = write("gold2.jsonl", [
      { id: "a", qtype: "multiple_choice", disease_group: "g", question: "问题一", options: { A: "x", B: "y" }, answer: "B", multi_answer: false },
      { id: "b", qtype: "multiple_choice", disease_group: "g", question: "问题二", options: { A: "x", B: "y" }, answer: "A", multi_answer: false },
    ]);
    const out = join(dir, "prompts.jsonl");
    const text = await run(["eval", "exam-prompts", "--gold", gold, "--out", out, "--shots", "1"]);
    expect(text).toContain("wrote 2 prompts (1-shot)");
    const rows = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string; prompt: string });
    expect(rows[0]!.prompt).toContain("问题二\nA. x\nB. y\n答案：A");
    expect(rows[0]!.prompt.endsWith("问题一\nA. x\nB. y\n答案：")).toBe(true);
  });
});
