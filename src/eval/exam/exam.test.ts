import { describe, expect, it } from "vitest";
import { parseExamJsonl, parseExamRecord, ExamFormatError, type ExamItem } from "./schema.js";
import { extractChoice, extractTrueFalse, majorityVote } from "./extract.js";
import { buildPrompt, selectShots } from "./prompt.js";
import { likelihoodAnswer, type LikelihoodScorer } from "./likelihood.js";
import { parsePredictionsJsonl, scoreExam } from "./score.js";

// PediaBench-shaped records (field names as in its dev.jsonl), content written for this test.
const GOLD = [
  { id: "mc-1", qtype: "multiple_choice", disease_group: "儿科呼吸系统疾病", question: "婴儿期最常见的肺炎类型是", options: { A: "大叶性肺炎", B: "支气管肺炎", C: "间质性肺炎", D: "干酪性肺炎", E: "吸入性肺炎" }, answer: "B", multi_answer: false, explanation: null },
  { id: "mc-2", qtype: "multiple_choice", disease_group: "新生儿疾病", question: "（存在多个正确答案）生理性黄疸的特点包括", options: { A: "生后2~3天出现", B: "一般情况良好", C: "生后24小时内出现", D: "足月儿2周内消退", E: "血清胆红素每日上升超过85μmol/L", F: "伴贫血" }, answer: "ABD", multi_answer: true, explanation: "…" },
  { id: "tf-1", qtype: "true_or_false", disease_group: "新生儿疾病", question: "新生儿生理性体重下降一般不超过出生体重的10%。", answer: "对", explanation: null },
  { id: "pa-1", qtype: "pairing", items: [] },
];
const GOLD_TEXT = GOLD.map((g) => JSON.stringify(g)).join("\n");
const items = parseExamJsonl(GOLD_TEXT, "gold.jsonl").items;
const single = items[0]!;
const multi = items[1]!;

describe("exam records", () => {
  it("reads PediaBench fields and skips non-exam types", () => {
    const r = parseExamJsonl(GOLD_TEXT, "gold.jsonl");
    expect(r.items.map((i) => i.id)).toEqual(["mc-1", "mc-2", "tf-1"]);
    expect(r.skipped).toBe(1);
    expect(multi).toMatchObject({ kind: "choice", answer: "ABD", multi: true, category: "新生儿疾病" });
    expect(r.items[2]).toMatchObject({ kind: "true_false", answer: "对" });
  });

  it("reads the generic schema (array options, array answer, type)", () => {
    const it = parseExamRecord({ id: 7, type: "choice", question: "q", options: ["x", "y", "z"], answer: ["C", "A"], category: "c" }, "g:1")!;
    expect(it).toMatchObject({ id: "7", options: { A: "x", B: "y", C: "z" }, answer: "AC", multi: true });
    const tf = parseExamRecord({ id: "t", type: "true_false", question: "q", answer: false }, "g:2")!;
    expect(tf.answer).toBe("错");
  });

  it("names file, line and field on bad records", () => {
    expect(() => parseExamJsonl('{"id":"a","question":"q","options":{"A":"x","B":"y"},"answer":"C"}', "gold.jsonl")).toThrow(/gold\.jsonl:1: field "answer": letter C is not among the options AB/);
    expect(() => parseExamJsonl('{"id":"a","question":"q","options":{"A":"x","B":"y"},"answer":"A"}\n{oops', "g.jsonl")).toThrow(/g\.jsonl:2: not valid JSON/);
    expect(() => parseExamJsonl('{"id":"a","question":"","options":{"A":"x"},"answer":"A"}', "g.jsonl")).toThrow(ExamFormatError);
  });
});

describe("answer extraction", () => {
  const cases: Array<[string, string | null]> = [
    ["答案是B", "B"],
    ["答案：Ｂ", "B"],
    ["根据临床表现，正确答案为（B）支气管肺炎。", "B"],
    ["A选项是大叶性肺炎，多见于年长儿，故选B。", "B"],
    ["B", "B"],
    ["B. 支气管肺炎", "B"],
    ["（B）", "B"],
    ["婴儿期最常见的是支气管肺炎。", "B"],
    ["我认为应该选择 C，不对，应选B", "B"],
    ["The answer is B because infants...", "B"],
    ["抱歉，我无法确定这道题的答案。", null],
    ["这道题比较难。", null],
    ["这可能与B超和C反应蛋白的结果有关", null], // medical terms, not option letters
    ["我认为B正确", "B"],
    ["答案是G", null], // not an option
    ["【答案】B\n【解析】婴儿期以支气管肺炎最多见。", "B"],
    ["答：B", "B"],
  ];
  for (const [reply, want] of cases) {
    it(`single: ${JSON.stringify(reply)} -> ${want}`, () => expect(extractChoice(reply, single).answer).toBe(want));
  }
  const multiCases: Array<[string, string | null]> = [
    ["答案：ABD", "ABD"],
    ["正确答案为A、B、D。", "ABD"],
    ["故选ＡＢＤ", "ABD"],
    ["D，A，B", "ABD"],
    ["答案是A,B和D", "ABD"],
    ["选项A和B正确", null], // no conclusion and letters not at the start: no guess on multi-answer items
  ];
  for (const [reply, want] of multiCases) {
    it(`multi: ${JSON.stringify(reply)} -> ${want}`, () => expect(extractChoice(reply, multi).answer).toBe(want));
  }
  it("reports the method used", () => {
    expect(extractChoice("故选B", single).method).toBe("explicit");
    expect(extractChoice("B", single).method).toBe("leading");
    expect(extractChoice("抱歉，无法回答", single).method).toBe("refusal");
  });
  const tf: Array<[string, string | null]> = [
    ["对", "对"], ["错误。体重下降可达15%", "错"], ["答案：正确", "对"], ["这种说法不正确。", "错"], ["该说法是正确的", "对"],
    ["√", "对"], ["×", "错"], ["无法判断", null], ["题干说法不对，应为7%", "错"],
  ];
  for (const [reply, want] of tf) {
    it(`true/false: ${JSON.stringify(reply)} -> ${want}`, () => expect(extractTrueFalse(reply).answer).toBe(want));
  }
  it("majority vote ignores unanswered and breaks ties by first seen", () => {
    expect(majorityVote(["B", null, "C", "B"]).answer).toBe("B");
    expect(majorityVote(["C", "B"]).answer).toBe("C");
    expect(majorityVote([null, null]).answer).toBe(null);
    expect(majorityVote(["A", "A", "B"]).votes).toEqual({ A: 2, B: 1 });
  });
});

describe("prompts", () => {
  it("zero-shot ends with 答案： and lists the options", () => {
    const p = buildPrompt(single);
    expect(p).toContain("单项选择题");
    expect(p).toContain("B. 支气管肺炎");
    expect(p.endsWith("答案：")).toBe(true);
  });
  it("few-shot includes worked answers and never the item itself", () => {
    const pool: ExamItem[] = [single, { ...single, id: "mc-9", question: "小儿生理性贫血出现在", answer: "C" }];
    const shots = selectShots(pool, single, 2);
    expect(shots.map((s) => s.id)).toEqual(["mc-9"]);
    const p = buildPrompt(single, { shots });
    expect(p).toContain("小儿生理性贫血出现在");
    expect(p).toContain("答案：C\n\n");
    expect(buildPrompt(multi)).toContain("多项选择题");
    expect(buildPrompt(items[2]!)).toContain("判断题");
  });
});

/** A real (if weak) scorer for the test: add-one smoothed character unigram model of the prompt. */
class UnigramScorer implements LikelihoodScorer {
  async scoreOptions(prompt: string, options: readonly string[]): Promise<number[]> {
    const counts = new Map<string, number>();
    for (const c of prompt) counts.set(c, (counts.get(c) ?? 0) + 1);
    const total = Array.from(prompt).length;
    const V = 5000;
    return options.map((o) => Array.from(o).reduce((s, c) => s + Math.log(((counts.get(c) ?? 0) + 1) / (total + V)), 0));
  }
}

describe("likelihood scoring", () => {
  it("picks the option the scorer prefers and reports probabilities", async () => {
    const item: ExamItem = { ...single, question: "支气管肺炎是婴儿期最常见的肺炎。婴儿期最常见的肺炎类型是" };
    const r = await likelihoodAnswer(item, new UnigramScorer(), { continuation: "text" });
    expect(r.answer).toBe("B");
    const total = Object.values(r.scores).reduce((a, s) => a + s.prob, 0);
    expect(total).toBeCloseTo(1, 12);
  });
  it("multi-answer keeps options above the threshold; true/false scores 对/错", async () => {
    const fixed: LikelihoodScorer = { scoreOptions: async (_p, o) => o.map((_x, i) => [-0.5, -0.6, -9, -0.4, -9, -9][i]!) };
    expect((await likelihoodAnswer(multi, fixed)).answer).toBe("ABD");
    const tf: LikelihoodScorer = { scoreOptions: async (_p, o) => o.map((x) => (x === "错" ? -0.1 : -2)) };
    expect((await likelihoodAnswer(items[2]!, tf)).answer).toBe("错");
  });
  it("rejects a scorer that returns the wrong number of values", async () => {
    const bad: LikelihoodScorer = { scoreOptions: async () => [0] };
    await expect(likelihoodAnswer(single, bad)).rejects.toThrow(/one log-probability per option/);
  });
});

describe("scoring", () => {
  it("exact match, per category, per kind, voting and unanswered", () => {
    const preds = parsePredictionsJsonl(
      [
        JSON.stringify({ id: "mc-1", responses: ["答案是B", "答案是C", "故选B"] }),
        JSON.stringify({ id: "mc-2", response: "答案：AB" }),
        JSON.stringify({ id: "tf-1", answer: "正确" }),
      ].join("\n"),
      "pred.jsonl",
    );
    const r = scoreExam(items, preds, { predFile: "pred.jsonl" });
    expect(r.items).toBe(3);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.byKind).toEqual({ multi: { n: 1, correct: 0, accuracy: 0 }, single: { n: 1, correct: 1, accuracy: 1 }, true_false: { n: 1, correct: 1, accuracy: 1 } });
    expect(r.byCategory["新生儿疾病"]).toEqual({ n: 2, correct: 1, accuracy: 0.5 });
    expect(r.samples[0]!.votes).toEqual({ B: 2, C: 1 });
    expect(r.methods).toEqual({ vote: 1, explicit: 1, given: 1 });
  });
  it("fails clearly on unknown or missing ids and on bad prediction lines", () => {
    expect(() => scoreExam(items, [{ id: "zz", response: "B" }], { predFile: "p.jsonl" })).toThrow(/p\.jsonl: prediction #1: id "zz" is not in the gold set/);
    expect(() => scoreExam(items, [{ id: "mc-1", response: "B" }], { predFile: "p.jsonl" })).toThrow(/2 gold item\(s\) have no prediction/);
    const r = scoreExam(items, [{ id: "mc-1", response: "B" }], { allowMissing: true });
    expect(r.unanswered).toBe(2);
    expect(() => parsePredictionsJsonl('{"id":"a"}', "p.jsonl")).toThrow(/p\.jsonl:1: expected one of "response"/);
    expect(() => parsePredictionsJsonl('{"id":"a","answer":"B"}\n{"id":"a","answer":"C"}', "p.jsonl")).toThrow(/p\.jsonl:2: field "id": duplicate id "a" \(first at line 1\)/);
  });
});
