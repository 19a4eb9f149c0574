import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOAL_FINDING_TYPES } from "./check.js";
import { loadSafetyKnowledge } from "./knowledge.js";
import { buildTestSet, readTestSet, splitOf } from "./testset.js";
import { tempDir } from "../../test/helpers/tempdir.js";


describe("labelled safety test set", () => {
  const kb = loadSafetyKnowledge();
  const file = join(kb.dir, "testset.jsonl");
  const rows = readTestSet(file);
  it("has at least 300 answers, clean and planted, in both splits, with every finding type", () => {
    expect(rows.length).toBeGreaterThanOrEqual(300);
    expect(rows.filter((r) => r.expected.length === 0).length).toBeGreaterThan(100);
    expect(rows.filter((r) => r.source === "handwritten").length).toBeGreaterThanOrEqual(50);
    for (const split of ["dev", "test"] as const) {
      for (const t of GOAL_FINDING_TYPES) expect(rows.filter((r) => r.split === split && r.expected.some((e) => e.type === t)).length).toBeGreaterThanOrEqual(15);
      // Signs that need a doctor within 24 hours are fewer: a handful per split is enough to measure the type.
      expect(rows.filter((r) => r.split === split && r.expected.some((e) => e.type === "missing_timely_care")).length).toBeGreaterThanOrEqual(5);
    }
  });
  it("is what the generator writes (regenerate with `pedgpt safety testset`)", () => {
    const built = buildTestSet(kb);
    expect(built.map((r) => JSON.stringify(r))).toEqual(readFileSync(file, "utf8").trim().split("\n"));
  });
  it("names only drugs of the knowledge base and has a stable split", () => {
    for (const r of rows) for (const e of r.expected) if (e.drug) expect(kb.drugById.has(e.drug)).toBe(true);
    expect(splitOf("hw-001")).toBe(splitOf("hw-001"));
  });
  it("rejects a malformed row naming the file, line and field", () => {
    const d = tempDir("pedgpt-testset-");
    const f = join(d, "bad.jsonl");
    writeFileSync(f, `${JSON.stringify({ id: "a", question: "", answer: "x", expected: [] })}\n${JSON.stringify({ id: "b", question: "", answer: "x", expected: [{ type: "bogus" }] })}\n`);
    expect(() => readTestSet(f)).toThrow(/bad\.jsonl:2: field expected\.0\.type/);
  });
});
