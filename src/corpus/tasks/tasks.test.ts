import { describe, expect, it } from "vitest";
import type { Located } from "../errors.js";
import type { Consultation, PassageSection } from "../readers/types.js";
import { ageGroupOf, classifyInstruction, fromCmdRow, fromConsultation, fromPassageSection, questionForSection, TripleGroups, type SourceInfo } from "./templates.js";

const info: SourceInfo = { source: "test", department: "儿科", display: (f) => `src/${f}` };
const at = <T>(value: T, line = 1, file = "f"): Located<T> => ({ value, file, line });

describe("MedKQ&A / TreRecom from passages", () => {
  it("chooses the question and task from the section heading", () => {
    expect(questionForSection("手足口病", "临床表现")).toEqual({ task: "MedKQ&A", question: "手足口病有哪些临床表现？" });
    expect(questionForSection("手足口病", "治疗")).toEqual({ task: "TreRecom", question: "手足口病应该如何治疗？" });
    expect(questionForSection("手足口病", "家庭护理").task).toBe("TreRecom");
    expect(questionForSection("手足口病（HFMD）", "何时就医").question).toBe("手足口病患儿出现哪些情况需要及时就医？");
    expect(questionForSection("水痘", "传播")).toEqual({ task: "MedKQ&A", question: "关于水痘，请介绍“传播”。" });
    expect(questionForSection("儿童发热", "退热药", "治疗")).toEqual({ task: "TreRecom", question: "儿童发热的治疗中，“退热药”有哪些要点？" });
  });
  it("keeps metadata and provenance", () => {
    const sec: PassageSection = { title: "儿童发热", section: "概述", paragraphs: ["发热是常见症状。", "第二段。"], meta: { department: "儿科", age_group: "婴幼儿", source: "guideline" } };
    const r = fromPassageSection(at(sec, 5, "fever.md"), info);
    expect(r).toMatchObject({ task: "MedKQ&A", source: "guideline", department: "儿科", ageGroup: "婴幼儿", provenance: "src/fever.md:L5#概述", generator: "template" });
    expect(r.messages[1]!.content).toBe("发热是常见症状。\n\n第二段。");
    expect(r.id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("KG triples", () => {
  it("groups by (head, relation) into one question each, with drug answers carrying a caution", () => {
    const g = new TripleGroups();
    g.add(at({ head: "手足口病", relation: "症状", tail: "发热" }, 2));
    g.add(at({ head: "手足口病", relation: "治疗药物", tail: "对乙酰氨基酚" }, 3));
    g.add(at({ head: "手足口病", relation: "症状", tail: "口腔疱疹" }, 4));
    g.add(at({ head: "手足口病", relation: "症状", tail: "发热" }, 5));
    g.add(at({ head: "川崎病", relation: "特殊关系", tail: "某值" }, 6));
    const recs = [...g.records(info)];
    expect(recs.map((r) => [r.task, r.messages[0]!.content, r.messages[1]!.content])).toEqual([
      ["MedKQ&A", "手足口病有哪些症状？", "手足口病的常见症状包括：发热、口腔疱疹。"],
      ["TreRecom", "手足口病可以用哪些药物治疗？", expect.stringMatching(/^手足口病常用的治疗药物包括：对乙酰氨基酚。.*医生/)],
      ["MedKQ&A", "川崎病的特殊关系是什么？", "川崎病的特殊关系：某值。"],
    ]);
    expect(recs[0]!.provenance).toBe("src/f:L2,L4,L5");
    expect([...g.texts()]).toHaveLength(2);
  });
});

describe("EviDiag / TreRecom from consultations", () => {
  const c: Consultation = {
    id: "c1",
    department: "儿科",
    age: "2岁",
    turns: [
      { role: "patient", text: "孩子发烧两天了。" },
      { role: "doctor", text: "最高多少度？精神怎么样？" },
      { role: "patient", text: "最高39度，精神还好。" },
      { role: "doctor", text: "考虑病毒感染，注意补液和观察。" },
    ],
    diagnosis: "急性上呼吸道感染",
    advice: "多喝水，按体重用退热药，持续高热超过三天及时就医。",
  };
  it("keeps the whole multi-turn dialogue as EviDiag and derives a TreRecom record from the advice", () => {
    const [ev, tr] = fromConsultation(at(c, 7, "c.jsonl"), info);
    expect(ev!.task).toBe("EviDiag");
    expect(ev!.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(ev!.ageGroup).toBe("幼儿");
    expect(tr!.task).toBe("TreRecom");
    expect(tr!.messages[0]!.content).toBe("患儿2岁，孩子发烧两天了；最高39度，精神还好。初步考虑急性上呼吸道感染。请给出治疗和护理建议。");
    expect(tr!.provenance).toBe("src/c.jsonl:L7#c1#advice");
  });
  it("classifies CMD rows by what the patient asks", () => {
    expect(fromCmdRow(at({ department: "儿科", title: "宝宝发烧吃什么药", ask: "1岁发烧38.5度", answer: "可以按体重用对乙酰氨基酚。" }), info).task).toBe("TreRecom");
    expect(fromCmdRow(at({ department: "儿科", title: "皮疹", ask: "身上起疹子是什么原因", answer: "需要看皮疹形态。" }), info).task).toBe("EviDiag");
  });
});

describe("instruction classification", () => {
  const ex = (q: string, n = 2) => ({ messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 ? ("assistant" as const) : ("user" as const), content: i ? "答" : q })), extra: {} });
  it("uses an explicit task field, then the configured label, then keywords", () => {
    expect(classifyInstruction({ ...ex("任意"), extra: { task: "EviDiag" } }, "auto")).toBe("EviDiag");
    expect(classifyInstruction(ex("什么是川崎病？"), "general")).toBe("general");
    expect(classifyInstruction(ex("你是谁？"), "auto")).toBe("general");
    expect(classifyInstruction(ex("写一首关于春天的诗"), "auto")).toBe("general");
    expect(classifyInstruction(ex("孩子发烧吃什么药？"), "auto")).toBe("TreRecom");
    expect(classifyInstruction(ex("什么是川崎病？"), "auto")).toBe("MedKQ&A");
    expect(classifyInstruction(ex("孩子咳嗽", 4), "auto")).toBe("EviDiag");
  });
});

describe("age groups", () => {
  it("maps free-text ages to pediatric periods", () => {
    const cases: [string, string | undefined][] = [
      ["出生5天", "新生儿"], ["3周", "新生儿"], ["6周", "婴儿"], ["8个月", "婴儿"], ["半岁", "婴儿"], ["1岁", "幼儿"],
      ["1岁3个月", "幼儿"], ["18个月", "幼儿"], ["两岁", "幼儿"], ["2岁半", "幼儿"], ["3岁", "学龄前"], ["5岁", "学龄前"],
      ["6岁", "学龄"], ["十岁", "学龄"], ["十二岁", "青春期"], ["14岁", "青春期"], ["婴幼儿", "婴幼儿"], ["不详", undefined],
    ];
    for (const [age, group] of cases) expect(ageGroupOf(age), age).toBe(group);
  });
});
