/**
 * The serving safety view: annotations of a streamed answer (fed in token-sized pieces) equal those of
 * the whole answer, and findings show up as soon as the sentence that confirms them is complete.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSafetyKnowledge } from "../safety/knowledge.js";
import { readTestSet } from "../safety/testset.js";
import { SafetyStream, safetyAfter } from "./safety.js";

const pieces = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe("SafetyStream", () => {
  it("gives the same annotations as the whole-answer check on labelled answers fed 3 characters at a time", () => {
    const rows = readTestSet(join(loadSafetyKnowledge().dir, "testset.jsonl")).filter((_, i) => i % 7 === 0);
    expect(rows.length).toBeGreaterThan(100);
    for (const row of rows) {
      const s = new SafetyStream(row.question);
      for (const p of pieces(row.answer, 3)) s.append(p);
      const streamed = s.finish();
      const whole = safetyAfter(row.answer, row.question);
      expect(streamed.findings.map((f) => `${f.type}:${f.ruleId}`).sort(), row.id).toEqual(whole.findings.map((f) => `${f.type}:${f.ruleId}`).sort());
      expect(streamed.score, row.id).toBeCloseTo(whole.score, 10);
    }
  });
  it("reports a dose finding when its sentence ends, before the answer is finished", () => {
    const s = new SafetyStream("孩子2岁12公斤，发烧");
    expect(s.append("布洛芬混悬液每次")).toEqual([]);
    const live = s.append("15ml，每4小时一次。");
    expect(live.map((f) => f.type)).toContain("daily_max_exceeded");
    s.append("多喝水。");
    expect(s.finish().text).toMatch(/布洛芬/);
  });
});
