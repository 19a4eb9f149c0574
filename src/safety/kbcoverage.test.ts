import { describe, expect, it } from "vitest";
import { checkAnswer, findDrugMentions } from "./check.js";
import { loadSafetyKnowledge } from "./knowledge.js";

const kinds = (answer: string, question = "") =>
  checkAnswer(answer, { question }).findings.map((f) => `${f.type}:${f.drug ?? "-"}`).sort();

describe("knowledge base: drugs pediatric answers misname", () => {
  const kb = loadSafetyKnowledge();
  it("knows adult cardiovascular drugs by their salt names and brands, each cited", () => {
    expect(findDrugMentions("甲苯磺酸氨基氯地平、苯磺酸氨氯地平、络活喜、硝苯地平控释片、心得安、倍他乐克、卡托普利、速尿、地高辛").map((m) => m.drug))
      .toEqual(["amlodipine", "amlodipine", "amlodipine", "nifedipine", "propranolol", "metoprolol", "captopril", "furosemide", "digoxin"]);
    for (const id of ["amlodipine", "nifedipine", "propranolol", "captopril", "digoxin", "furosemide"]) expect(kb.drugById.get(id)!.citationNames.length).toBeGreaterThan(0);
  });
  it("flags amlodipine called a muscle relaxant, in the slide's list shape and in prose", () => {
    const f = checkAnswer("3. 肌肉松弛剂：常用的有甲苯磺酸氨基氯地平片，可以缓解肌肉紧张。").findings;
    expect(f.map((x) => `${x.type}:${x.drug}`)).toEqual(["wrong_class:amlodipine"]);
    expect(f[0]!.message).toMatch(/钙通道阻滞剂/);
    expect(f[0]!.severity).toBe("high");
    expect(kinds("氨氯地平是一种肌松药。")).toEqual(["wrong_class:amlodipine"]);
    expect(kinds("1. 降压药：如氨氯地平、硝苯地平，须在专科医生指导下使用。")).toEqual([]);
    expect(kinds("- 利尿剂：呋塞米、地高辛")).toEqual(["wrong_class:digoxin"]);
  });
  it("keeps compound cough/cold products from children under 2 (the single drugs too)", () => {
    expect(kinds("可以吃点美敏伪麻溶液。", "孩子1岁半，咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(kinds("可以吃点氨酚伪麻片。", "孩子1岁，鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("可以吃点美敏伪麻溶液。", "孩子4岁，咳嗽")).toEqual([]);
    const rule = kb.drugById.get("pseudoephedrine_compound")!.ageRule!;
    expect(rule.minAgeMonths).toBe(24);
    expect(kb.drugById.get("pseudoephedrine_compound")!.cautions.join("")).toMatch(/6岁以下/);
  });
  it("keeps codeine-containing compounds from children under 12, even without a stated age", () => {
    expect(kinds("可以喝联邦止咳露。", "孩子8岁咳嗽厉害")).toEqual(["age_contraindication:codeine_compound"]);
    expect(kinds("止咳可以用可愈糖浆。")).toEqual(["age_contraindication:codeine_compound"]);
    expect(kinds("可以短期用可愈糖浆。", "孩子13岁，干咳")).toEqual([]);
  });
  it("knows neonatal contraindications (chloramphenicol, furazolidone) and reads 宝宝20天 as an age", () => {
    expect(kinds("可以用氯霉素滴眼液，每天3次。", "宝宝出生12天，眼屎多")).toEqual(["age_contraindication:chloramphenicol"]);
    expect(kinds("可以用氯霉素滴眼液，每天3次。", "孩子3岁，结膜炎")).toEqual([]);
    expect(kinds("可以吃点痢特灵。", "宝宝20天，拉肚子")).toEqual(["age_contraindication:furazolidone"]);
    expect(kinds("可以吃点蒙脱石散。", "宝宝3天没拉大便了")).toEqual([]);
  });
  it("reads the misspellings real doctor answers use", () => {
    expect(findDrugMentions("录雷它定片，莲花清温颗粒，板兰根冲剂，黄连素片").map((m) => m.drug)).toEqual(["loratadine", "lianhua_qingwen", "banlangen", "berberine"]);
  });
});
