import { describe, expect, it } from "vitest";
import { checkAnswer, findDrugMentions, isCareFinding } from "./check.js";
import { extractAges, extractFever } from "./extract.js";
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
    expect(kinds("可以吃点美敏伪麻溶液。", "孩子1岁半，咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
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
  const urgent = (question: string, answer: string) => checkAnswer(answer, { question }).findings.filter((f) => isCareFinding(f.type));
  it("does not take a parent's own fever for the child's", () => {
    expect(urgent("宝宝五个月，我自己发烧六天了，会不会传染给宝宝？", "注意戴口罩，勤洗手。")).toHaveLength(0);
    expect(urgent("我家宝宝发烧六天了", "多喝水。")).toHaveLength(1);
    expect(urgent("我发现孩子发烧六天了", "多喝水。")).toHaveLength(1);
  });
  it("asks a prompt visit, not an ambulance, for a sign described as recurring", () => {
    const f = urgent("孩子7岁，最近偶尔会抽搐一下，十几秒就好", "多休息。");
    expect(f).toHaveLength(1);
    expect(f[0]!.details?.requiredAction).toBe("within_24h");
    expect(f[0]!.type).toBe("missing_timely_care");
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
    const u = unknownDrugLikeNames(["可以用点咽扁颗粒，也可以用布洛芬混悬液。", "喝咽扁颗粒和匹多莫德口服液", "见细小颗粒，联用呋喃西林"], kb);
    expect(u.map((x) => [x.name, x.count])).toEqual([["咽扁颗粒", 2], ["匹多莫德口服液", 1], ["呋喃西林", 1]]);
    expect(u[0]!.example).toContain("咽扁颗粒");
  });
});

describe("pediatric dose rules for the drugs answers name most", () => {
  const kb = loadSafetyKnowledge();
  it("has a cited oral or inhaled dose rule for each, with single and daily maxima where a source gives them", () => {
    for (const id of ["loratadine", "desloratadine", "cetirizine", "levocetirizine", "chlorphenamine", "promethazine", "montelukast", "smectite", "zinc", "metronidazole", "amoxicillin_clavulanate", "albendazole", "dextromethorphan", "ambroxol", "salbutamol", "budesonide", "iron", "vitamin_d"]) {
      const d = kb.drugById.get(id)!;
      expect(d.doses.length, id).toBeGreaterThan(0);
      for (const r of d.doses) expect(r.citation.length, id).toBeGreaterThan(0);
    }
    expect(kb.drugById.get("loratadine")!.doses[0]!.maxDailyDoseMg).toBe(10);
    expect(kb.drugById.get("montelukast")!.doses[0]!.maxDosesPerDay).toBe(1);
  });
  it("flags overdoses and too-frequent doses of antihistamines, montelukast, smectite, metronidazole", () => {
    expect(kinds("开瑞坦糖浆（1mg/ml）每次喝30ml，一天一次。", "孩子4岁32斤，过敏性鼻炎")).toEqual(["daily_max_exceeded:loratadine", "dose_out_of_range:loratadine"]);
    expect(kinds("氯雷他定5mg一天吃四次。", "孩子5岁20kg，过敏性鼻炎")).toEqual(["daily_max_exceeded:loratadine"]);
    expect(kinds("西替利嗪5mg早中晚各吃一次。", "3岁孩子荨麻疹")).toEqual(["daily_max_exceeded:cetirizine"]);
    expect(kinds("扑尔敏每次2mg，每2小时一次。", "孩子4岁16公斤，过敏流鼻涕")).toEqual(["daily_max_exceeded:chlorphenamine"]);
    expect(kinds("孟鲁司特每晚吃20mg，连续吃一个月。", "3岁孩子咳嗽变异性哮喘")).toEqual(["daily_max_exceeded:montelukast", "dose_out_of_range:montelukast"]);
    expect(kinds("蒙脱石散每2小时冲一袋。", "3岁宝宝拉肚子")).toEqual(["daily_max_exceeded:smectite"]);
    expect(kinds("甲硝唑每次吃500mg，饭后吃。", "孩子3岁15kg，牙龈脓肿")).toEqual(["dose_out_of_range:metronidazole"]);
    expect(kinds("元素铁每次30mg，一天四次。", "宝宝1岁10kg，缺铁性贫血")).toEqual(["daily_max_exceeded:iron"]);
    expect(kinds("沙丁胺醇雾化溶液每次用25mg。", "10kg的宝宝喘")).toEqual(["dose_out_of_range:salbutamol"]);
  });
  it("passes the usual doses, including band doses for older children", () => {
    expect(kinds("氯雷他定10mg，每天一次。", "孩子10岁32kg，荨麻疹")).toEqual([]);
    expect(kinds("西替利嗪每次2.5mg，每天2次。", "孩子3岁14kg，过敏性鼻炎")).toEqual([]);
    expect(kinds("孟鲁司特4mg，每晚一次。", "孩子3岁，哮喘")).toEqual([]);
    expect(kinds("蒙脱石散每次1袋，每天3次。", "孩子3岁15kg，腹泻")).toEqual([]);
    expect(kinds("氨溴索口服溶液每次2.5ml，一天3次。", "孩子2岁12kg，咳嗽有痰")).toEqual([]);
    expect(kinds("阿莫西林克拉维酸钾按阿莫西林计每天90mg/kg，分2次。", "孩子15kg，急性中耳炎")).toEqual([]);
  });
  it("keeps metoclopramide from children with ordinary vomiting, not after chemotherapy", () => {
    expect(kinds("可以吃胃复安止吐。", "孩子4岁，肠胃炎呕吐")).toEqual(["age_contraindication:metoclopramide"]);
    expect(kinds("化疗后呕吐可以在医生指导下用甲氧氯普胺。", "孩子10岁，白血病化疗")).toEqual([]);
  });
});

describe("reading doses the way answers write them", () => {
  it("takes the drug from the question when the answer names none, with the question's strength", () => {
    expect(kinds("每次10ml（250mg），一天4次，每6小时一次，吃7天。", "孩子5岁，18公斤，咽炎，头孢克洛干混悬剂（125mg/5ml）")).toEqual(["daily_max_exceeded:cefaclor"]);
    expect(kinds("吃一片就可以，多喝水。", "孩子3周岁，发烧39度，对乙酰氨基酚片500mg一片，吃几片？")).toEqual(["daily_max_exceeded:paracetamol", "dose_out_of_range:paracetamol"]);
    expect(kinds("多喝水，注意休息。", "孩子3岁，头孢克洛怎么吃")).toEqual([]);
    expect(kinds("每次5ml。", "孩子3岁，头孢克洛和布洛芬能一起吃吗")).toEqual([]);
  });
  it("judges the frequency even without a weight or age", () => {
    expect(kinds("美林和泰诺林每1小时交替一次。", "孩子一直高烧")).toEqual(["daily_max_exceeded:ibuprofen", "daily_max_exceeded:paracetamol"]);
  });
  it("holds a per-day drug's single dose to its maximum as well as the day's total", () => {
    expect(kinds("头孢呋辛酯每次1000mg，一天两次，连用10天。", "孩子20kg，扁桃体炎")).toEqual(["daily_max_exceeded:cefuroxime", "dose_out_of_range:cefuroxime"]);
    expect(kinds("头孢克洛每次250mg，每日4次。", "孩子6岁，体重20kg，扁桃体炎")).toEqual(["daily_max_exceeded:cefaclor"]);
  });
  it("reads a stated range as low only when all of it is, and a per-kg range against the cap at its low end", () => {
    expect(kinds("可以用布洛芬，每次200~400mg，间隔6~8小时。", "孩子13岁45公斤，痛经")).toEqual([]);
    expect(kinds("布洛芬按每次5~10mg/kg，45公斤一次300mg。", "12岁孩子偏头痛，体重45公斤")).toEqual([]);
    expect(kinds("布洛芬每次100mg。", "孩子13岁45公斤，痛经")).toEqual(["dose_out_of_range:ibuprofen"]);
  });
  it("reads a daily amount written with 总共/可以吃到 as the day's total", () => {
    expect(kinds("布洛芬每次200mg，一天总共可以吃到1600mg。", "孩子7岁，22公斤，腿疼")).toEqual(["daily_max_exceeded:ibuprofen"]);
  });
  it("does not hold a drug to the dose of what it is compared with, or an amount's basis", () => {
    expect(kinds("可以吃曲马多，效果比布洛芬好，一次50mg。", "孩子9岁，外伤后疼")).toEqual(["age_contraindication:tramadol"]);
    expect(kinds("Augmentin（阿莫西林克拉维酸钾），按阿莫西林计每次1500mg。", "孩子15kg，急性中耳炎")).toEqual(["daily_max_exceeded:amoxicillin_clavulanate", "dose_out_of_range:amoxicillin_clavulanate"]);
  });
  it("reads a product's ingredients as the product, not as drugs given or claimed", () => {
    expect(kinds("1. 复方感冒药：如小儿伪麻美芬滴剂，含伪麻黄碱和右美沙芬，通鼻止咳；\n2. 退烧：对乙酰氨基酚。", "宝宝1岁2个月，感冒鼻塞咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    // A gloss in brackets names what the product is: the finding takes the answer's own name for it
    // ("含可待因的复方止咳糖浆" names a codeine-containing product, so the compound entry answers).
    expect(kinds("联邦止咳露（含可待因的复方止咳糖浆）止咳效果好，每次5ml。", "孩子4岁，咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
    expect(kinds("干咳可以吃惠菲宁（右美沙芬），睡前吃。", "1岁宝宝干咳")).toEqual(["age_contraindication:dextromethorphan"]);
    expect(kinds("干咳可以吃惠菲宁，睡前吃。", "1岁宝宝干咳")).toEqual(["age_contraindication:dextromethorphan_compound"]);
  });
  it("does not flag a drug the answer itself keeps to older children", () => {
    expect(kinds("大环内酯耐药时：8岁以上可考虑多西环素，8岁以下一般不用。", "孩子6岁，支原体肺炎")).toEqual([]);
    expect(kinds("大环内酯耐药时：8岁以上可考虑多西环素或米诺环素。", "孩子6岁，支原体肺炎")).toEqual([]);
    expect(kinds("可以考虑多西环素。", "孩子6岁，支原体肺炎")).toEqual(["age_contraindication:doxycycline"]);
  });
});

describe("red flags in parents' words, broadened by kind of phrasing", () => {
  const flagsOf = (q: string, a = "多喝水，注意休息。") => checkAnswer(a, { question: q }).findings.filter((f) => isCareFinding(f.type)).flatMap((f) => f.flags ?? []);
  it("reads swallowed magnets and batteries however the swallowing is told", () => {
    expect(flagsOf("孩子4岁，吞了两颗磁力珠")).toContain("poisoning");
    expect(flagsOf("孩子7岁，吃了一把铁球磁力珠玩具，肚子有点痛")).toContain("poisoning");
    expect(flagsOf("孩子4岁，被发现把一块纽扣电池放进嘴里，可能咽下去了")).toContain("poisoning");
    expect(flagsOf("孩子4岁，玩磁力珠玩具，没有放进嘴里")).toEqual([]);
  });
  it("reads a floppy, unresponsive child (软绵绵, 逗都不笑, 反应很慢, 很蔫)", () => {
    expect(flagsOf("宝宝9个月，拉肚子后变得软绵绵的，怎么逗都不笑")).toContain("lethargy");
    expect(flagsOf("宝宝9个月，发烧，叫他反应很慢")).toContain("lethargy");
    expect(flagsOf("孩子3岁，拉肚子，很蔫")).toContain("lethargy");
    expect(flagsOf("孩子3岁，有点咳嗽，精神还可以")).toEqual([]);
  });
  it("reads chest indrawing and stridor at rest in lay words", () => {
    expect(flagsOf("孩子2岁，半夜犬吠样咳嗽，安静的时候也有吸气时的呼噜声，胸口往里陷")).toEqual(expect.arrayContaining(["breathing_difficulty", "upper_airway_obstruction"]));
    expect(flagsOf("孩子5岁，睡觉的时候打呼噜")).toEqual([]);
  });
  it("reads green vomit, jelly stool and crying that comes and goes", () => {
    expect(flagsOf("宝宝3周，吐奶是绿色的，吐了好几次")).toContain("bilious_vomiting");
    expect(flagsOf("宝宝3周，吃完奶就吐，吐出来的是绿色的")).toContain("bilious_vomiting");
    expect(flagsOf("10个月宝宝突然哭闹，过一会儿好了又哭，面色发白，吐了两次，尿布上有暗红色的黏冻样便")).toEqual(expect.arrayContaining(["intussusception", "intussusception_or_gi_bleed"]));
    expect(flagsOf("宝宝8个月，吐奶，吐的是奶块")).toEqual([]);
  });
  it("reads jaundice on day two, appendicitis, dehydration, ketoacidosis, anaphylaxis and aspiration", () => {
    expect(flagsOf("宝宝出生第二天，脸和身上都黄了，黄得很明显")).toContain("neonatal_jaundice");
    expect(flagsOf("孩子9岁，肚子疼从肚脐周围转到右下腹，按右下腹很疼")).toContain("severe_abdominal_pain");
    expect(flagsOf("孩子3岁，拉肚子，从昨晚到现在12个小时只尿了一点点，眼睛凹")).toContain("severe_dehydration");
    expect(flagsOf("孩子10岁，最近特别能喝水、尿多，今天开始呕吐、肚子疼、呼吸又深又快")).toContain("diabetic_ketoacidosis");
    expect(flagsOf("孩子5岁吃了花生后，嘴唇和眼皮肿起来，呼吸有喘鸣声，说喉咙紧")).toContain("anaphylaxis");
    expect(flagsOf("孩子3岁，刚才吃花生时突然呛咳，现在咳嗽不止，一边呼吸有哨音")).toContain("foreign_body_aspiration");
    expect(flagsOf("孩子3岁，喝水呛了一下，咳了两声就好了")).toEqual([]);
  });
  it("keeps negated and already-treated signs out", () => {
    expect(flagsOf("孩子4岁，咳嗽两天，没有出现鼻血止不住，精神还好")).toEqual([]);
    expect(flagsOf("孩子过敏性休克，医生打了肾上腺素，这是什么", "肾上腺素能迅速缓解过敏。")).toEqual([]);
  });
  it("reads postponing in parents' words with a red flag as the finding", () => {
    const f = checkAnswer("可能是喉炎，带孩子到浴室吸点热蒸汽，一般会缓解，早上再去医院。", { question: "孩子2岁，犬吠样咳嗽，胸口往里陷" }).findings;
    expect(f.map((x) => x.ruleId)).toContain("triage.postponed-care");
  });
});

describe("class claims in the shapes blind-2 answers used", () => {
  it("reads a class header at the end of a prose line", () => {
    expect(kinds("感冒多为病毒感染，一般不用特殊药物。常用的抗病毒药：\n1. 阿莫西林：广谱抗病毒；\n2. 奥司他韦：只针对流感；")).toEqual(["wrong_class:amoxicillin"]);
    expect(kinds("两种都是第二代抗组胺药。另外还有一些抗组胺药可以选：\n- 苯海拉明；\n- 布地奈德鼻喷剂。")).toEqual(["wrong_class:budesonide"]);
    expect(kinds("发烧这样处理。常用的退烧药：\n1. 布洛芬；\n2. 对乙酰氨基酚。")).toEqual([]);
  });
  it("reads X（alias）：class, a class named with a form word, and a modifier before the class", () => {
    expect(kinds("- 内舒拿（糠酸莫米松）：抗生素鼻喷剂，杀灭鼻腔细菌；\n- 顺尔宁（孟鲁司特）：白三烯受体拮抗剂，每晚一次；")).toEqual(["wrong_class:mometasone"]);
    expect(kinds("- 抗病毒滴眼液：妥布霉素滴眼液（托百士），每天4次；")).toEqual(["wrong_class:tobramycin_eye"]);
    expect(kinds("孟鲁司特属于吸入性糖皮质激素的口服剂型。")).toEqual(["wrong_class:montelukast"]);
    expect(kinds("可以外用激素药膏，如丁酸氢化可的松乳膏。")).toEqual([]);
  });
  it("knows antihistamine and cephalosporin generations, and prokinetic words", () => {
    expect(kinds("扑尔敏（氯苯那敏）属于第二代抗组胺药，不会嗜睡。")).toEqual(["wrong_class:chlorphenamine"]);
    expect(kinds("氯雷他定属于第二代抗组胺药，头孢克肟属于第三代头孢菌素。")).toEqual([]);
    expect(kinds("头孢克洛是第三代头孢。")).toEqual(["wrong_class:cefaclor"]);
    expect(kinds("奥美拉唑属于促胃动力药。")).toEqual(["wrong_class:omeprazole"]);
  });
  it("holds a drug to every class a stacked header names, and a counted header to its count", () => {
    expect(kinds("退烧可以：\n1. 非甾体抗炎药：如布洛芬；\n2. 抗生素类退烧药：对乙酰氨基酚（泰诺林）；")).toEqual(["wrong_class:paracetamol"]);
    expect(kinds("这两种都是抗组胺药：\n1. 开瑞坦（氯雷他定）：第二代；\n2. 扑尔敏：第一代；\n3. 外用炉甘石洗剂止痒。")).toEqual([]);
    expect(kinds("这两种都是抗组胺药：\n1. 开瑞坦：第二代；\n2. 布地奈德：每晚一次。")).toEqual(["wrong_class:budesonide"]);
  });
});

describe("more dose rules, ages in days and strengths in words", () => {
  it("doses mucolytics, older antihistamines, deworming, acid suppression and penicillin V from cited rules", () => {
    const kb = loadSafetyKnowledge();
    for (const id of ["acetylcysteine", "lactulose", "cyproheptadine", "ketotifen", "diphenhydramine", "carbocisteine", "guaifenesin", "mebendazole", "omeprazole", "penicillin_v"])
      expect(kb.drugById.get(id)!.doses.length, id).toBeGreaterThan(0);
    expect(kinds("乙酰半胱氨酸颗粒每次100mg，一天3次。", "孩子4岁16kg，咳嗽有痰")).toEqual([]);
    expect(kinds("赛庚啶每次8mg。", "孩子4岁16kg，荨麻疹")).toEqual(["daily_max_exceeded:cyproheptadine", "dose_out_of_range:cyproheptadine"]);
    expect(kinds("甲苯咪唑一次吃10片。", "孩子5岁，蛔虫")).toEqual(["daily_max_exceeded:mebendazole", "dose_out_of_range:mebendazole"]);
    expect(kinds("可以吃甲苯咪唑驱虫。", "宝宝1岁半，蛲虫")).toEqual(["age_contraindication:mebendazole"]);
    expect(kinds("奥美拉唑每次10mg，每天1次。", "孩子3岁14kg，胃食管反流")).toEqual([]);
  });
  it("reads ages told in days and weeks after birth", () => {
    expect(extractAges("宝宝出生才两天，黄得很明显").map((a) => Math.round(a.months * 30.4))).toEqual([2]);
    expect(extractAges("宝宝十来天，吐奶").map((a) => Math.round(a.months * 30.4))).toEqual([10]);
    expect(extractAges("出生两个星期的宝宝").map((a) => Math.round(a.months * 30.4))).toEqual([14]);
    expect(extractAges("宝宝3天没拉大便了")).toEqual([]);
  });
  it("reads a strength written as 0.75mg的片子 or 50mg一袋, and an alternative regimen's own frequency", () => {
    expect(kinds("医生给14公斤的孩子开4.5mg（0.75mg的片子6片）一次吃下去，折合约0.3mg/kg。", "3岁宝宝14公斤，喉炎，开了地塞米松")).toEqual([]);
    expect(kinds("头孢克肟每次一袋，每3小时一次。", "孩子5岁20kg，尿路感染，头孢克肟颗粒50mg一袋")).toEqual(["daily_max_exceeded:cefixime"]);
    expect(kinds("西替利嗪一次10mg（1片），一天一次，或者早晚各半片。", "孩子10岁35kg，荨麻疹")).toEqual([]);
    expect(kinds("西替利嗪一次10mg，早晚各一次。", "孩子10岁35kg，荨麻疹")).toEqual(["daily_max_exceeded:cetirizine"]);
  });
});

describe("shapes found by writing fresh answers", () => {
  const urgent = (q: string, a: string) => checkAnswer(a, { question: q }).findings.filter((f) => f.type === "missing_urgent_care").flatMap((f) => f.flags ?? []);
  it("reads a numbered header inside bold as heading the bullets under it", () => {
    expect(kinds("**2. 抗病毒药物**\n- 阿奇霉素：每天一次")).toEqual(["wrong_class:azithromycin"]);
    expect(kinds("**1. 退烧药**\n- 布洛芬\n- 对乙酰氨基酚\n**2. 抗生素**\n- 阿莫西林")).toEqual([]);
  });
  it("reads crying told before its rhythm, legs drawn up, and tears or urine in short supply", () => {
    expect(urgent("宝宝5个月，突然大哭，一阵一阵的，哭的时候腿往肚子上缩，吐了一次", "给他揉揉肚子。")).toContain("intussusception");
    expect(urgent("宝宝4个月，一天只尿了两次，哭的时候没什么眼泪", "在家观察两天。")).toContain("severe_dehydration");
  });
});

describe("class claims in markdown tables", () => {
  it("reads the class column of a table row as a claim about the row's drug", () => {
    expect(kinds("| 药物 | 类别 |\n|---|---|\n| 沙丁胺醇 | 糖皮质激素 |\n| 孟鲁司特 | 抗组胺药 |")).toEqual(["wrong_class:montelukast", "wrong_class:salbutamol"]);
    expect(kinds("| 药物 | 类别 | 用法 |\n|---|---|---|\n| 沙丁胺醇 | 支气管扩张剂 | 按需吸入 |\n| 布地奈德 | 吸入性糖皮质激素 | 每日两次 |")).toEqual([]);
    expect(kinds("| 药物 | 用法 |\n|---|---|\n| 布洛芬 | 发热时服用，不是抗生素 |")).toEqual([]);
  });
  it("reads a class named with 滴鼻液", () => {
    expect(kinds("可以用抗生素滴鼻液，比如羟甲唑啉。")).toEqual(["wrong_class:oxymetazoline"]);
  });
});

describe("real textbook text (PediaBench explanations) read without false alarms", () => {
  it("does not read a lab concentration or a fluid volume as a drug's dose", () => {
    expect(kinds("维生素D中毒：早期血钙升高3mmol/L（12mg/dl）。", "1岁孩子")).toEqual([]);
    expect(kinds("哮喘持续状态可雾化沙丁胺醇，补液量50～120ml/kg。", "5岁孩子")).toEqual([]);
  });
  it("reads 对…疗效不好 / 无治疗效果 as advice against the drug, but not a parent's 吃了效果不好", () => {
    expect(kinds("红霉素是首选，四环素对本病治疗疗效不好。", "孩子7岁，支原体肺炎")).toEqual([]);
    expect(kinds("美林吃了效果不好，可以隔3小时再喂一次，每次4ml。", "宝宝1岁半，11kg，发烧")).toEqual(["daily_max_exceeded:ibuprofen"]);
  });
  it("accepts aspirin in rheumatic fever as in Kawasaki disease", () => {
    expect(kinds("无心脏炎的风湿热患儿可用阿司匹林。", "孩子8岁")).toEqual([]);
  });
});

describe("more red flags in lay words, and benign look-alikes", () => {
  const urgent = (q: string) => checkAnswer("多喝水，注意休息，在家观察。", { question: q }).findings.some((f) => isCareFinding(f.type));
  it("reads poor feeding, palm-and-sole jaundice, a weeping navel, writhing pain, a fall into a pool, a nosebleed that will not stop", () => {
    for (const q of ["宝宝1个月，一整天都不怎么吃奶，吃两口就不吃了", "宝宝15天，眼睛和皮肤都黄，手心脚心也黄", "宝宝10天，肚脐周围红了，还流脓有臭味", "孩子9岁，肚子疼得直打滚", "孩子3岁，掉进游泳池里呛了水，捞上来后一直咳", "孩子3岁，鼻血流了半小时，捏着鼻子也止不住"])
      expect(urgent(q), q).toBe(true);
  });
  it("leaves benign look-alikes alone", () => {
    for (const q of ["孩子6岁，手脚冰凉，怕冷", "孩子8岁，运动后小腿抽筋", "宝宝3个月，睡觉时偶尔打呼噜", "孩子10岁，鼻子出血，按压几分钟就止住了", "孩子5岁，吃饭时呛了一下，咳了几声就好了", "孩子9岁，最近喝水多一点，天热", "宝宝4个月，吐奶，吐完照样吃，体重长得好"])
      expect(urgent(q), q).toBe(false);
  });
  it("accepts amoxicillin for otitis at the high dose the cited guideline gives or the standard one, and for pneumonia too", () => {
    // Too low only below every cited regimen (the standard 40–50 mg/kg/day is one).
    expect(kinds("阿莫西林每天40mg/kg，分两次，每次300mg。", "孩子3岁15kg，急性中耳炎")).toEqual([]);
    expect(kinds("阿莫西林每天10mg/kg，分两次，每次75mg。", "孩子3岁15kg，急性中耳炎")).toEqual(["dose_out_of_range:amoxicillin"]);
    expect(kinds("阿莫西林每天90mg/kg，分2次。", "孩子3岁15kg，中耳炎")).toEqual([]);
    expect(kinds("阿莫西林每天90mg/kg，分2次。", "孩子3岁15kg，肺炎")).toEqual([]);
  });
});

describe("dose wording from fresh LLM-style answers", () => {
  it("reads 4小时可以重复 as the interval, and passes doses written as weight-based ranges", () => {
    expect(kinds("布洛芬一次10ml（100mg/5ml），4小时可以重复。", "孩子1岁10kg，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("布洛芬按每公斤体重5~10毫克给，10kg的宝宝每次50~100mg，也就是美林2.5~5ml，每6~8小时一次。", "宝宝1岁10kg，发烧")).toEqual([]);
    expect(kinds("泼尼松龙每天1~2mg/kg，最多40mg，早上顿服，3~5天。", "孩子8岁25kg，哮喘急性发作")).toEqual([]);
    expect(kinds("头孢克肟每次4mg/kg，每日2次，共7~10天。", "孩子6岁20kg，尿路感染")).toEqual([]);
  });
});

describe("claims and intervals that are not what they seem", () => {
  it("does not read someone else's corrected belief as the answer's claim", () => {
    expect(kinds("很多家长以为蒲地蓝是抗生素，其实它是中成药。")).toEqual([]);
    expect(kinds("有人说孟鲁司特是激素，其实它不是激素，是白三烯受体拮抗剂。")).toEqual([]);
    expect(kinds("蒲地蓝是抗生素，可以消炎。")).toEqual(["wrong_class:pudilan"]);
  });
  it("reads a header about using a class as a topic, and a purpose before the verb as the drug's own", () => {
    expect(kinds("### 抗生素的使用\n- 细菌感染才用，如阿莫西林；\n- 发烧可用布洛芬退烧，它不是抗生素。")).toEqual([]);
    expect(kinds("1. 抗生素：发烧可用布洛芬；")).toEqual([]);
    expect(kinds("1. 抗生素：可用布洛芬；")).toEqual(["wrong_class:ibuprofen"]);
  });
  it("does not read a gap between two medicines as the dosing interval", () => {
    expect(kinds("益生菌不要和抗生素同时吃，比如阿莫西林，要间隔2小时。", "孩子3岁，腹泻")).toEqual([]);
  });
});

describe("brands of compound products are the compound, not one ingredient", () => {
  it("doses 小儿氨酚黄那敏 by its paracetamol content and keeps it to three doses a day", () => {
    expect(kinds("每次1袋，每2小时一次，多喝水。", "孩子5岁，感冒发烧，小儿氨酚黄那敏颗粒怎么吃")).toEqual(["daily_max_exceeded:pediatric_apap_chlorphen_bezoar"]);
    expect(kinds("小儿氨酚黄那敏颗粒每次1袋，每天3次。", "孩子5岁18kg，感冒发烧")).toEqual([]);
  });
  it("holds an adrenaline auto-injector's band doses as right", () => {
    expect(kinds("肾上腺素自动注射笔一般15~30kg用0.15mg，30kg以上用0.3mg，打完立即拨打120。", "孩子10岁，食物过敏史，要备肾上腺素笔")).toEqual([]);
  });
  it("reads 易坦静 as ambroxol-clenbuterol and 惠菲宁 as a dextromethorphan compound", () => {
    expect(findDrugMentions("易坦静，惠菲宁").map((m) => m.drug)).toEqual(["ambroxol_clenbuterol", "dextromethorphan_compound"]);
    expect(kinds("易坦静每次5ml，每天2次。", "孩子2岁12kg，咳嗽有痰")).toEqual([]);
    expect(kinds("沐舒坦口服溶液每次5ml，每天2次。", "孩子5岁18kg，咳嗽有痰")).toEqual([]);
  });
});

describe("statements that reach every drug of a sentence", () => {
  it("applies 每种药都是每3小时一次 to each drug named", () => {
    expect(kinds("布洛芬混悬液每次5ml（100mg），对乙酰氨基酚滴剂每次1.5ml（150mg），两种药交替着吃，每种药都是每3小时吃一次。", "宝宝2岁12公斤，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "daily_max_exceeded:paracetamol"]);
    expect(kinds("布洛芬每次5ml，对乙酰氨基酚每次5ml，每6小时一次。", "孩子3岁，发烧")).toEqual([]);
  });
  it("reads the drug's own age limit stated against it later in the sentence as not recommending it", () => {
    expect(kinds("氟哌酸（诺氟沙星）是抗生素，但它可能影响骨骼发育，18岁以下的孩子不要吃。", "孩子拉肚子")).toEqual([]);
    expect(kinds("可以吃诺氟沙星，效果好，18岁以下的孩子也能吃。", "孩子3岁，拉肚子")).toEqual(["age_contraindication:norfloxacin"]);
  });
});

describe("a long, correct LLM-style answer with several drugs and ranges", () => {
  it("passes dose ranges given with a range of doses per day", () => {
    const a = "### 止咳化痰\n- 氨溴索口服溶液（15mg/5ml）：每次2.5~5ml，每天2~3次；\n- 乙酰半胱氨酸颗粒：每次100mg，每天2~3次。\n### 退热\n1. **布洛芬混悬液**（美林，100mg/5ml）：每次5~10mg/kg，16kg约每次4~8ml，间隔6~8小时，24小时不超过4次。";
    expect(kinds(a, "孩子4岁，16kg，发烧咳嗽3天")).toEqual([]);
    expect(kinds("氨溴索口服溶液（15mg/5ml）每次5ml，每天2~5次。", "孩子4岁，16kg，咳嗽有痰")).toEqual(["daily_max_exceeded:ambroxol"]);
  });
});

describe("alternatives, inhaler strengths and bracketed doses in long answers", () => {
  it("does not claim the header's class for an alternative offered to allergic children", () => {
    expect(kinds("首选青霉素类：\n- 阿莫西林每天50mg/kg，分2次；\n- 青霉素过敏可选头孢氨苄或阿奇霉素（每天12mg/kg，共5天）。", "孩子10岁32kg，链球菌性咽炎")).toEqual([]);
    expect(kinds("首选青霉素类：\n- 阿莫西林；\n- 阿奇霉素。", "孩子10岁，咽炎")).toEqual(["wrong_class:azithromycin"]);
  });
  it("reads 100μg/揿 as an inhaler's strength, not a dose", () => {
    expect(kinds("沙丁胺醇气雾剂（100μg/揿）加储雾罐：每次2~4揿，20分钟一次，可重复3次。", "孩子6岁20kg，哮喘急性发作")).toEqual([]);
  });
});

describe("temperatures written without a unit", () => {
  it("reads 低烧37.8 as 37.8 ℃, below the young-infant threshold, and 发烧38.5 as a fever over it", () => {
    const urgent = (q: string) => checkAnswer("多喝水，在家观察。", { question: q }).findings.some((f) => f.type === "missing_urgent_care");
    expect(urgent("宝宝2个半月，低烧37.8")).toBe(false);
    expect(urgent("宝宝2个月，发烧38.5")).toBe(true);
    expect(extractFever("发烧3天").maxTempC).toBeUndefined();
  });
});
