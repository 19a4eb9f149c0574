import { describe, expect, it } from "vitest";
import { checkAnswer, findDrugMentions } from "./check.js";
import { loadSafetyKnowledge } from "./knowledge.js";
import { unknownDrugLikeNames } from "./vocab.js";

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

describe("red flags as parents describe them, and advice that puts care off", () => {
  const urgent = (question: string, answer: string) => checkAnswer(answer, { question }).findings.filter((f) => f.type === "missing_urgent_care");
  it("reads intussusception from its parts: bouts of crying with vomiting or jelly stool", () => {
    const f = urgent("宝宝10个月，今天一阵一阵地哭闹，吐了两次，刚才拉了果酱一样的大便", "可能是肠胃不舒服，多喝水。");
    expect(f).toHaveLength(1);
    expect(f[0]!.flags).toContain("intussusception");
    expect(urgent("孩子1岁半，哭一阵停一阵，哭的时候两条腿蜷起来，吐了一次", "揉揉肚子。")).toHaveLength(1);
    // Crying alone is colic territory, not a red flag.
    expect(urgent("宝宝8个月，阵发性哭闹", "可能是肠绞痛，多抱抱。")).toHaveLength(0);
    expect(urgent("宝宝10个月，阵发性哭闹，还呕吐了三次", "要警惕肠套叠，请立即带孩子去医院急诊。")).toHaveLength(0);
  });
  it("knows incarcerated hernia, upper-airway obstruction, ketoacidosis, bleeding and young-infant distension", () => {
    const flagsOf = (q: string) => urgent(q, "多喝水，注意休息。").flatMap((f) => f.flags ?? []);
    expect(flagsOf("孩子2岁，疝气推不回去了，一直哭")).toContain("incarcerated_hernia");
    expect(flagsOf("孩子5岁，发烧，流口水咽不下东西")).toContain("upper_airway_obstruction");
    expect(flagsOf("孩子8岁，最近多饮多尿，今天呕吐肚子疼")).toContain("diabetic_ketoacidosis");
    expect(flagsOf("孩子6岁，流鼻血，捏了十分钟还在流血")).toContain("uncontrolled_bleeding");
    expect(flagsOf("宝宝20天，肚子胀得很大，吐奶")).toContain("neonatal_abdominal_distension");
    expect(flagsOf("孩子4岁哮喘，喘得说不出话")).toContain("breathing_difficulty");
    expect(flagsOf("孩子6岁，肚子胀，吐了一次")).toEqual([]);
  });
  it("makes postponing advice the finding when a red flag is present, even if it names an emergency for later", () => {
    const f = urgent("宝宝8个月，阵发性哭闹，吐奶", "先在家观察，如果明天还哭再去急诊。");
    expect(f).toHaveLength(1);
    expect(f[0]!.ruleId).toBe("triage.postponed-care");
    expect(f[0]!.message).toMatch(/先在家观察/);
    expect(urgent("孩子2岁，疝气推不回去了", "可以先试着轻轻揉一揉，明天去医院。")).toHaveLength(1);
    expect(urgent("孩子3岁，高烧抽搐了一次，现在好了", "先观察，如果再抽就去急诊。")).toHaveLength(1);
  });
  it("does not read reassurance, first aid on the way, or postponing without a red flag as the error", () => {
    expect(urgent("孩子3岁，高烧抽搐了一次", "不用担心，立即去医院急诊。")).toHaveLength(0);
    expect(urgent("孩子3岁，高烧抽搐了一次", "先别慌，立即送医院急诊，路上先观察呼吸。")).toHaveLength(0);
    expect(urgent("孩子2岁，咳嗽三天，精神好", "先观察两天，不好再去医院。")).toHaveLength(0);
  });
});

describe("red flags said of someone else, recurring, or not what they seem (from real doctor answers)", () => {
  const urgent = (question: string, answer: string) => checkAnswer(answer, { question }).findings.filter((f) => f.type === "missing_urgent_care");
  it("does not take a parent's own fever for the child's", () => {
    expect(urgent("宝宝五个月，我自己发烧六天了，会不会传染给宝宝？", "注意戴口罩，勤洗手。")).toHaveLength(0);
    expect(urgent("我家宝宝发烧六天了", "多喝水。")).toHaveLength(1);
    expect(urgent("我发现孩子发烧六天了", "多喝水。")).toHaveLength(1);
  });
  it("asks a prompt visit, not an ambulance, for a sign described as recurring", () => {
    const f = urgent("孩子7岁，最近偶尔会抽搐一下，十几秒就好", "多休息。");
    expect(f).toHaveLength(1);
    expect(f[0]!.details?.requiredAction).toBe("within_24h");
    expect(urgent("孩子7岁，最近偶尔会抽搐一下，十几秒就好", "建议到医院神经内科做个脑电图。")).toHaveLength(0);
    expect(urgent("孩子7岁，以前偶尔抽搐，今天又抽了两分钟", "建议到医院神经内科做个脑电图。")).toHaveLength(1);
  });
  it("does not read a blocked nose as breathing difficulty", () => {
    expect(urgent("孩子老是张嘴呼吸，说用鼻子呼吸喘不上来气", "可能是腺样体肥大，建议看耳鼻喉科。")).toHaveLength(0);
  });
  it("reads 观察一下，如果… as putting care off", () => {
    const f = urgent("宝宝1个月，一天都不吃奶，一直嗜睡", "可以观察一下，如果晚上还不吃奶，及时到医院检查。");
    expect(f).toHaveLength(1);
    expect(f[0]!.ruleId).toBe("triage.postponed-care");
    expect(f[0]!.message).toContain("观察一下");
  });
});

describe("drug-like names the knowledge base lacks", () => {
  it("lists unknown drug-shaped words with counts, leaving known names, verbs and look-alike words out", () => {
    const kb = loadSafetyKnowledge();
    const u = unknownDrugLikeNames(["可以用点咽扁颗粒，也可以用布洛芬混悬液。", "喝咽扁颗粒和匹多莫德口服液", "见细小颗粒，联用两性霉素"], kb);
    expect(u.map((x) => [x.name, x.count])).toEqual([["咽扁颗粒", 2], ["两性霉素", 1], ["匹多莫德口服液", 1]]);
    expect(u[0]!.example).toContain("咽扁颗粒");
  });
});
