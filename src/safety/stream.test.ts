import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkAnswer } from "./check.js";
import { SafetyInputError } from "./errors.js";
import { loadSafetyKnowledge } from "./knowledge.js";
import { createStreamingChecker } from "./stream.js";
import { readHandwritten } from "./testset.js";
import { mulberry32 } from "../util/random.js";

const keys = (fs: { type: string; drug?: string }[]) => fs.map((f) => `${f.type}:${f.drug ?? "-"}`).sort();

/** Feed `answer` in pieces of 1–6 characters, as a token stream would. */
function stream(answer: string, question: string, seed = 1) {
  const r = mulberry32(seed);
  const s = createStreamingChecker({ question });
  const perAppend: { at: number; keys: string[] }[] = [];
  for (let i = 0; i < answer.length; ) {
    const n = 1 + Math.floor(r() * 6);
    const got = s.append(answer.slice(i, i + n));
    i += n;
    if (got.length) perAppend.push({ at: i, keys: keys(got) });
  }
  return { s, perAppend, result: s.finish() };
}

describe("streaming checker", () => {
  it("reports a finding once, when its sentence completes, with evidence indexing the whole answer", () => {
    const answer = "建议多喝水。\n2. 肌肉松弛剂：对于儿童，常用的包括硫酸溴己新 (Bromhexine) 等，可帮助缓解肌肉痉挛。\n3. 物理治疗：热敷。";
    const { perAppend, result } = stream(answer, "孩子5岁，咳嗽");
    expect(perAppend.flatMap((p) => p.keys)).toEqual(["wrong_class:bromhexine"]);
    expect(perAppend[0]!.at).toBeGreaterThanOrEqual(answer.indexOf("痉挛。") + 3);
    const f = result.findings[0]!;
    expect(answer.slice(f.evidence.start, f.evidence.end)).toBe(f.evidence.text);
    expect(f.evidence.text).toContain("溴己新");
  });
  it("keeps a list header's claim for sub-items that arrive lines later", () => {
    const answer = "1. 支气管扩张剂：\n   - 沙丁胺醇\n   - 特布他林\n   - 孟鲁司特\n2. 糖皮质激素：\n   - 布地奈德\n";
    expect(keys(stream(answer, "").result.findings)).toEqual(["wrong_class:montelukast"]);
  });
  it("reads a dose given in the sentence after its drug, and a pronoun for the drug before", () => {
    expect(keys(stream("可以用布洛芬。每次20ml，每天3次。", "孩子2岁，12kg，发烧").result.findings)).toEqual(checkAnswer("可以用布洛芬。每次20ml，每天3次。", { question: "孩子2岁，12kg，发烧" }).findings.map((f) => `${f.type}:${f.drug ?? "-"}`).sort());
    expect(keys(stream("医生给开了多潘立酮。这药属于抗生素，要吃满疗程。", "孩子6岁").result.findings)).toEqual(["wrong_class:domperidone"]);
  });
  it("decides urgent care at the end: advice may come last, and postponing advice anywhere counts", () => {
    const q = "宝宝10个月，阵发性哭闹，还呕吐了三次";
    const late = stream("这种情况可能是肠套叠。肠套叠需要及时复位。请立即去医院急诊。", q);
    expect(late.perAppend).toEqual([]);
    expect(late.result.findings).toEqual([]);
    expect(late.result.banner).toMatch(/就医提示/);
    const put = stream("先在家观察。如果明天还哭，再去急诊。", q);
    expect(keys(put.result.findings)).toEqual(["missing_urgent_care:-"]);
    expect(put.result.findings[0]!.ruleId).toBe("triage.postponed-care");
  });
  it("agrees with checkAnswer on the committed hand-written rows, streamed in random pieces", () => {
    const rows = readHandwritten(join(loadSafetyKnowledge().dir, "testset-handwritten.jsonl")).filter((r, i) => i % 4 === 0 || /struct|flag|kb/.test(r.id));
    expect(rows.length).toBeGreaterThan(100);
    for (const [i, r] of rows.entries()) {
      const batch = checkAnswer(r.answer, { question: r.question });
      const { result } = stream(r.answer, r.question, i + 1);
      expect({ id: r.id, f: keys(result.findings) }).toEqual({ id: r.id, f: keys(batch.findings) });
      expect(result.score).toBeCloseTo(batch.score, 9);
    }
  });
  it("keeps a table's header row and a header ending a prose line in view, as checkAnswer does", () => {
    const answers = [
      "用药如下：\n| 药物 | 类别 |\n|---|---|\n| 布洛芬 | 退烧药 |\n| 氨溴索 | 祛痰药 |\n| 沙丁胺醇 | 糖皮质激素 |\n| 孟鲁司特 | 抗组胺药 |\n以上供参考。",
      "感冒多为病毒感染，一般不用特殊药物。常用的抗病毒药：\n1. 奥司他韦：只针对流感；\n2. 阿莫西林：广谱抗病毒；\n多喝水。",
      "**2. 抗病毒药物**\n- 奥司他韦：流感时用\n- 阿奇霉素：每天一次",
    ];
    for (const [i, a] of answers.entries()) {
      const batch = checkAnswer(a);
      expect(batch.findings.length).toBeGreaterThan(0);
      expect(keys(stream(a, "", i + 7).result.findings)).toEqual(keys(batch.findings));
    }
  });
  it("refuses to append after finish, and non-text pieces, with a typed error", () => {
    const s = createStreamingChecker();
    s.append("多喝水。");
    s.finish();
    expect(() => s.append("再见。")).toThrow(SafetyInputError);
    expect(() => createStreamingChecker().append(undefined as unknown as string)).toThrow(/expected a string/);
  });
});
