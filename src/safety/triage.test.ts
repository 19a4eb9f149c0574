import { describe, expect, it } from "vitest";
import { checkAnswer } from "./check.js";
import { fuzzyTermPattern, leadingLiterals, triage } from "./triage.js";

const ids = (t: string, o = {}) => triage(t, o).redFlags.map((h) => h.id);

describe("triage", () => {
  it("finds red flags with the most urgent action first, a banner and citations", () => {
    const r = triage("孩子2岁，发烧39度，抽搐了一次，呼吸急促");
    expect(r.action).toBe("call_120");
    expect(r.redFlags.map((h) => h.id)).toEqual(["convulsion", "breathing_difficulty"]);
    expect(r.banner).toContain("立即拨打120");
    expect(r.citations.join()).toContain("IMCI");
    const h = r.redFlags[0]!;
    expect("孩子2岁，发烧39度，抽搐了一次，呼吸急促".slice(h.evidence.start, h.evidence.end)).toBe("抽搐");
  });
  it("ignores negated signs", () => {
    expect(triage("孩子发烧，没有抽搐，无呼吸困难，精神好").redFlags).toEqual([]);
    expect(triage("普通感冒").banner).toBeNull();
  });
  it("handles conditionals on request", () => {
    expect(ids("如果出现呼吸困难，请立即就医", { includeConditional: false })).toEqual([]);
    expect(ids("如果出现呼吸困难，请立即就医")).toEqual(["breathing_difficulty"]);
  });
  it("applies age bands: fever under 3 months, 3–6 months ≥39℃, neonatal jaundice", () => {
    expect(ids("宝宝2个月，发烧38.2度")).toEqual(["young_infant_fever"]);
    expect(ids("宝宝4个月，发烧38.5度")).toEqual([]);
    expect(ids("宝宝4个月，发烧39.5度")).toEqual(["infant_high_fever"]);
    expect(ids("孩子3岁，发烧38.2度")).toEqual([]);
    expect(ids("新生儿皮肤发黄")).toEqual(["neonatal_jaundice"]);
    expect(ids("孩子5岁皮肤发黄")).toEqual([]);
    expect(ids("皮肤发黄", { ageMonths: 0.3 })).toEqual(["neonatal_jaundice"]);
  });
  it("reads fever duration and co-occurring signs", () => {
    expect(ids("孩子5岁，发烧5天了")).toEqual(["prolonged_fever"]);
    expect(ids("孩子5岁，发烧3天了")).toEqual([]);
    expect(ids("孩子摔到头，后来呕吐两次")).toEqual(["head_injury_warning"]);
    expect(ids("孩子摔到头，哭了一会儿就好了")).toEqual([]);
  });
  it("skips phrases that only contain a sign's words", () => {
    expect(ids("宝宝2个月不吃奶嘴")).toEqual([]);
    expect(ids("宝宝2个月不吃奶了")).toEqual(["unable_to_feed"]);
  });
  it("matches phrasing patterns with variable words", () => {
    expect(ids("宝宝呼吸很费劲，肋骨下面都凹进去了")).toEqual(["breathing_difficulty"]);
    expect(ids("孩子今天尿很少")).toEqual(["severe_dehydration"]);
    expect(ids("孩子11岁，睾丸突然剧烈疼痛")).toEqual(["testicular_pain"]);
    expect(ids("孩子呼吸平稳，不费劲")).toEqual([]);
  });
});

describe("looser phrasings of signs", () => {
  it("fills degree, quantity and direction slots of a sign's wording", () => {
    expect(fuzzyTermPattern("不吃奶")).toBeNull();
    expect(new RegExp(fuzzyTermPattern("叫不醒")!).test("叫不太醒")).toBe(true);
    expect(new RegExp(fuzzyTermPattern("吞了纽扣电池")!).test("吞了一颗纽扣电池")).toBe(true);
    expect(new RegExp(fuzzyTermPattern("双眼上翻")!).test("双眼往上翻")).toBe(true);
  });
  it("finds signs written with extra words, and still respects negation", () => {
    expect(ids("孩子3岁，一直睡，叫不太醒，发烧39度")).toContain("unconscious");
    expect(ids("宝宝10个月，睡得很沉，喊也喊不醒")).toContain("unconscious");
    expect(ids("孩子2岁，吞了一颗纽扣电池")).toContain("poisoning");
    expect(ids("孩子1岁，发烧，刚才抽了一下，眼睛往上翻")).toContain("convulsion");
    expect(ids("宝宝5个月，哭得嘴唇有点发紫")).toContain("cyanosis");
    expect(ids("孩子2岁，没有吞纽扣电池，也没有翻白眼")).toEqual([]);
    expect(ids("孩子3岁，午睡叫醒后哭闹")).toEqual([]);
    expect(ids("孩子3岁，头撞到桌角，吐了两次")).toContain("head_injury_warning");
    expect(ids("孩子3岁，头撞到桌角，起了个包，没有呕吐")).toEqual([]);
    expect(ids("孩子2岁，把奶奶的降压药吃了")).toContain("poisoning");
    expect(ids("孩子2岁，把纽扣电池吞下去了")).toContain("poisoning");
    expect(ids("孩子2岁，吞下去一颗磁铁")).toContain("poisoning");
    expect(ids("孩子3岁，好不容易把药吃了")).toEqual([]);
    expect(ids("孩子3岁，咳嗽，没有呼吸困难")).toEqual([]);
  });
  it("treats past signs as history unless the text returns to now", () => {
    expect(ids("孩子5岁，以前有过高热惊厥，现在咳嗽")).toEqual([]);
    expect(ids("孩子5岁，有热性惊厥史")).toEqual([]);
    expect(ids("孩子5岁，去年发烧抽过一次，今天又抽搐了")).toContain("convulsion");
    expect(ids("宝宝刚满月，发烧38.2度")).toContain("young_infant_fever");
  });
});

describe("leadingLiterals (the prefilter that skips patterns whose opening words are absent)", () => {
  it("reads a leading run or a group of plain alternatives, and gives up on anything else", () => {
    expect(leadingLiterals("(?:肚子|腹部)[^，]{0,6}疼")).toEqual(["肚子", "腹部"]);
    expect(leadingLiterals("想死|不想活|活着没意思")).toBeNull();
    expect(leadingLiterals("右下腹[^，]{0,4}(?:疼|痛)")).toEqual(["右下腹"]);
    expect(leadingLiterals("体温不(?:太|大)?升")).toEqual(["体温不"]);
    expect(leadingLiterals("嘴?角抽动")).toEqual(null);
    expect(leadingLiterals("(?:一直|老是)?睡")).toBeNull();
    expect(leadingLiterals("(?<![不没])昏睡")).toBeNull();
    expect(leadingLiterals("(?:a\\s|b)c")).toBeNull();
  });
});

describe("red flags as parents say them", () => {
  it("reads red flags in dialect and lay words, and leaves their look-alikes alone", () => {
    // Head injury: the head first to the ground, then repeated vomiting or drowsiness.
    expect(ids("女儿从沙发上翻下来，脑袋先着地，后来吐了好几次")).toEqual(["head_injury_warning"]);
    expect(ids("儿子摔倒了后脑勺着地，现在一直犯困")).toEqual(["head_injury_warning"]);
    expect(ids("摔了一跤，手先着地，擦破点皮")).toEqual([]);
    // Intussusception: howling in bouts, pain in bouts, a red jelly stool.
    expect(ids("宝宝9个月，一阵一阵地嚎，还吐了")).toContain("intussusception");
    expect(ids("宝宝1岁，便便红红的像果冻一样")).toContain("intussusception_or_gi_bleed");
    expect(ids("宝宝1岁，晚上一阵一阵地闹，吐了一口奶")).toEqual([]);
    // Meningitis: a stiff neck and spots that do not fade when pressed.
    expect(ids("孩子5岁，发烧，脖子硬邦邦的")).toEqual(["neck_stiffness"]);
    expect(ids("孩子5岁，头低不下去")).toEqual(["neck_stiffness"]);
    expect(ids("孩子5岁，腿上的小红点按了也按不下去")).toEqual(["non_blanching_rash"]);
    expect(ids("孩子5岁，身上的疹子按下去就消了")).toEqual([]);
    // Dehydration: a dry nappy for hours, no tears.
    expect(ids("宝宝1岁，拉肚子，8个小时纸尿裤还是干的")).toEqual(["severe_dehydration"]);
    expect(ids("宝宝1岁，哭起来也没眼泪")).toEqual(["severe_dehydration"]);
    expect(ids("宝宝1岁，换下来的尿不湿是干的")).toEqual([]);
    // Bilious vomiting with a count between the verb and the colour.
    expect(ids("宝宝5天，吐了两回墨绿色的水")).toEqual(["bilious_vomiting"]);
    expect(ids("宝宝5天，吐了两回黄色的奶")).toEqual([]);
    // Epiglottitis: cannot swallow saliva, leans forward to breathe; stridor while resting.
    expect(ids("孩子6岁，嗓子疼得吞不下唾沫")).toEqual(["upper_airway_obstruction"]);
    expect(ids("孩子6岁，向前伸着脖子喘")).toEqual(["upper_airway_obstruction"]);
    expect(ids("孩子2岁，吸气时喉咙里有哨音，躺着不动也有")).toEqual(["upper_airway_obstruction"]);
    expect(ids("孩子6岁，嗓子疼，咽口水都疼")).toEqual([]);
    // Unresponsive or glazed eyes.
    expect(ids("宝宝10个月，烧得昏昏沉沉")).toEqual(["lethargy"]);
    expect(ids("宝宝10个月，一直迷糊，叫她也不答应")).toEqual(["lethargy"]);
    expect(ids("孩子6岁，玩游戏入迷了，叫他也不理")).toEqual([]);
    expect(ids("孩子8岁，上课老是眼神发呆")).toEqual([]);
    // Testicular pain told in slang needs a side or a worsening course.
    expect(ids("孩子12岁，右边蛋子疼")).toEqual(["testicular_pain"]);
    expect(ids("孩子12岁，说这作业真蛋疼")).toEqual([]);
    // Severe asthma: cannot finish a sentence, blue lips.
    expect(ids("孩子6岁，哮喘发作，喘得话都说不完整")).toEqual(["breathing_difficulty"]);
    expect(ids("孩子6岁，哮喘发作，憋得说话说不连贯")).toEqual(["breathing_difficulty"]);
    expect(ids("孩子2岁，说话还说不成句")).toEqual([]);
    expect(ids("孩子6岁，嘴皮子发乌")).toEqual(["cyanosis"]);
    expect(ids("孩子6岁，嘴唇有些青")).toEqual(["cyanosis"]);
    expect(ids("孩子6岁，嘴唇有点干")).toEqual([]);
    // Retractions with words between the place and the sinking.
    expect(ids("孩子2岁，肋骨下面那一块都往里凹")).toEqual(["breathing_difficulty"]);
    // A bulging fontanelle told in lay words; the sign itself says the child is young.
    expect(ids("头顶那块软的地方今天鼓起来了")).toEqual(["bulging_fontanelle"]);
    expect(ids("宝宝5个月，头顶软的地方有点凹")).not.toContain("bulging_fontanelle");
    // Blood in stool with a quantity word.
    expect(ids("宝宝1个月，大便里有些血丝")).toEqual(["blood_in_stool"]);
    // Anaphylaxis: a swollen mouth with a hoarse voice.
    expect(ids("孩子4岁，吃了虾以后嘴肿了，声音也哑了")).toEqual(["anaphylaxis"]);
    expect(ids("孩子4岁，吃了虾以后嘴肿了，有点痒")).toEqual([]);
    // Caustic ingestion.
    expect(ids("孩子3岁，喝了两口管道疏通剂")).toEqual(["poisoning"]);
    expect(ids("孩子3岁，家里刚用管道疏通剂通了下水道")).toEqual([]);
  });
});

describe("a sign a doctor has already judged", () => {
  it("asks nothing more of the answer when the question gives the doctor's verdict", async () => {
    const { checkAnswer } = await import("./check.js");
    // Well newborn jaundice needs a visit within 24 hours: the finding is missing timely care.
    const urgent = (q: string) => checkAnswer("多喂奶，注意观察。", { question: q }).findings.filter((f) => f.type === "missing_timely_care").length;
    expect(urgent("宝宝出生第6天，皮肤发黄，医生说是生理性的")).toBe(0);
    expect(urgent("宝宝出生第6天，皮肤发黄")).toBe(1);
    expect(urgent("宝宝出生第6天，医生说是感冒，今天皮肤发黄")).toBe(1);
  });
});

describe("urgent care: answers that send the child now against answers that put care off", () => {
  it("reads urgent first aid followed by the hospital as care now, and a hospital put off after it as not", async () => {
    const { checkAnswer } = await import("./check.js");
    const missing = (q: string, a: string) => checkAnswer(a, { question: q }).findings.some((f) => f.type === "missing_urgent_care");
    const burn = "孩子被开水烫了，胸口肚子一大片起水泡";
    expect(missing(burn, "立即用流动冷水冲15分钟，然后去医院。")).toBe(false);
    expect(missing("孩子喝了一口84消毒液", "立即让孩子漱口，不要催吐，然后带上瓶子去医院。")).toBe(false);
    for (const a of ["立即冷水冲，然后明天去医院看看。", "马上冷敷，之后观察两天再去医院。", "赶紧冲凉水，然后不用去医院，在家涂药。", "立即冲凉水，然后有空去医院看看。", "马上冲水，然后过几天去医院复查。"]) expect(missing(burn, a), a).toBe(true);
  });
  it("clears every red flag below only with care now, in the ways answers say it", async () => {
    const { checkAnswer } = await import("./check.js");
    const flags = ["孩子两岁，发烧抽搐，叫不醒", "宝宝出生10天，发烧38.5度", "孩子吞了一颗纽扣电池", "孩子喝了一口84消毒液", "宝宝8个月，一阵一阵哭，拉果酱样大便", "孩子哮喘发作，喘得说话一个字一个字往外蹦", "孩子发烧，身上有紫红色小点，按了不褪色", "孩子10岁，右边睾丸突然很疼", "孩子摔到头，吐了三次，老想睡", "宝宝嘴唇发紫，喘不上气", "孩子被开水烫了，胸口肚子一大片起水泡", "孩子吃花生呛了，一直咳，喘气有呼呼声"];
    const now = ["请马上去急诊。", "立即拨打120。", "赶紧叫救护车。", "尽快去儿科急诊，不要耽误。", "直接去最近的医院急诊科。", "别等了，现在就带去医院，路上注意保暖。", "马上送医。", "第一时间送到医院急诊。", "不要在家观察，马上去医院。", "不要等到明天，现在就去医院。", "赶紧送孩子去最近的医院，路上别让他吃东西。", "别犹豫，马上去儿童医院急诊。", "一分钟都不要耽搁，抱上孩子就往医院跑。", "这个必须去医院，越快越好。", "叫急救车。", "不要耽误，马上去医院。"];
    const later = ["明天一早去医院看看。", "有空带去医院看看。", "观察一晚，不好再去医院。", "先在家多喝水，如果加重再去医院。", "下周复查一下。", "可以先去社区医院挂个号。", "先观察一下，如果还不好就去医院。", "今晚先观察，明早去医院。", "先喂点水看看情况，不好再去急诊。", "先在家观察几个小时，不行再去急诊。", "等孩子睡醒了再去医院。", "可以预约门诊。", "不用去急诊，门诊就行。", "方便的时候去医院看看。", "可以等到周一门诊。"];
    const missing = (q: string, a: string) => checkAnswer(a, { question: q }).findings.some((f) => f.type === "missing_urgent_care");
    for (const q of flags) {
      for (const a of now) expect(missing(q, a), `${q} | ${a}`).toBe(false);
      for (const a of later) expect(missing(q, a), `${q} | ${a}`).toBe(true);
    }
  });
});

describe("after the twelfth batch: blood pressure, a floppy unresponsive infant, spit-ups, a fracture in a cast", () => {
  const urgent = (q: string, a: string) => checkAnswer(a, { question: q }).findings.filter((f) => f.type === "missing_urgent_care").length;
  it("reads a blood pressure at or over the emergency line, or stage 2 with a headache or blurred vision, as an emergency", () => {
    for (const q of [
      "孩子14岁，头疼得厉害，看东西模糊，量血压190/120，以前查出过高血压",
      "孩子12岁，量血压150/95，头痛，还吐了",
      "孩子13岁，高压185，低压110，精神还行",
      "女儿11岁肾炎，今天眼花，血压160/100mmHg",
      "孩子16岁，收缩压175，舒张压125",
      "孩子13岁，头痛，血压测了一下180多/110",
      "孩子12岁肾病，血压一直高，今天头疼得厉害，测了170/110",
      "孩子15岁，头晕眼花，高压都快200了",
      "孩子13岁，今天头疼得厉害，量血压150/95",
      "孩子13岁，偶尔头疼，量血压190/125",
    ]) expect(ids(q), q).toContain("hypertensive_emergency");
    for (const q of [
      "孩子10岁，体检血压130/85，没有不舒服",
      "孩子15岁，血压145/92，没什么症状",
      "孩子9岁头疼，吃布洛芬5/10mg",
      "奶奶血压190/120，头疼，孩子5岁感冒",
      "孩子12岁，以前血压160/100，现在吃药控制在110/70，偶尔头疼",
      "孩子10岁，头疼，量了体温38.5，测了一下视力5/10",
      "孩子12岁，血压正常，头疼，测了两次，120/80",
      "孩子13岁，血压145/95，偶尔头疼，要紧吗",
      "孩子13岁，最近老是头疼，量血压150/95",
    ]) expect(ids(q), q).not.toContain("hypertensive_emergency");
    expect(urgent("孩子14岁，头疼得厉害，看东西模糊，量血压190/120", "先休息，吃片布洛芬，血压高可以明天去门诊复查一下。")).toBe(1);
    expect(urgent("孩子14岁，头疼得厉害，看东西模糊，量血压190/120", "这是高血压急症，请立即去医院急诊。")).toBe(0);
  });
  it("reads a baby who is floppy and does not respond as a danger sign, whatever came before (a vaccine)", () => {
    for (const q of [
      "宝宝3个月，打完疫苗半小时，突然全身起疹子，脸色发白，软软的没反应",
      "宝宝4个月，人软软的，没啥反应",
      "孩子1岁，吃了鸡蛋后浑身软绵绵的，也没什么反应",
    ]) expect(ids(q), q).toContain("lethargy");
    for (const q of ["宝宝6个月，头顶软软的，没反应过来是囟门", "孩子3岁，肚子软软的，没什么反应", "宝宝5个月，打完疫苗有点困，软软的想睡觉，逗他还笑"]) expect(ids(q), q).toEqual([]);
    expect(urgent("宝宝3个月，打完疫苗半小时，突然全身起疹子，脸色发白，软软的没反应", "打疫苗后有一点反应很正常，回家多喂奶，疹子可以抹点炉甘石洗剂。")).toBe(1);
  });
  it("does not read a spit-up told as not projectile as projectile vomiting", () => {
    for (const q of [
      "宝宝2个月，吃完奶偶尔吐一小口奶，不是喷射状，体重长得很好，吐完还笑",
      "宝宝2个月，吐奶，并不是喷射性的，就是嘴角流出来一点",
      "宝宝40天，吐奶的时候不是喷出来，是流出来的",
    ]) expect(ids(q), q).not.toContain("vomits_everything");
    for (const q of ["宝宝1个月，吐奶不是一点点，是喷出来的", "宝宝1个月，每次吃完奶都喷射状地吐"]) expect(ids(q), q).toContain("vomits_everything");
  });
  it("does not read a deliberate deep breath that draws the chest in as chest indrawing, but keeps the other signs", () => {
    for (const q of [
      "孩子5岁，深呼吸的时候胸口一陷一陷的",
      "孩子3岁，深吸气时胸口一陷一陷，其他还好",
      "孩子2岁，让他深吸一口气，肋骨中间往里凹",
      "孩子6岁，使劲吸气的时候锁骨上面有个坑，平时呼吸正常",
    ]) expect(ids(q), q).not.toContain("breathing_difficulty");
    for (const q of [
      "宝宝6个月，喘气的时候胸口一陷一陷的",
      "宝宝8个月，呼吸的时候肋骨下面一吸一个坑",
      "孩子2岁，深吸一口气，肋骨中间往里凹，喘得厉害",
      "孩子4岁，喘不上气，吸气时胸口往里凹",
    ]) expect(ids(q), q).toContain("breathing_difficulty");
  });
  it("asks no visit for a fracture already in a cast or reduced, but still for one that is not", () => {
    expect(urgent("10岁孩子摔断了手腕，打了石膏还疼得哭，能吃点什么止痛？", "可以吃布洛芬，把手抬高。")).toBe(0);
    expect(urgent("孩子7岁胳膊摔断了，医院已经复位上了夹板，晚上疼", "可以吃布洛芬。")).toBe(0);
    expect(urgent("孩子8岁胳膊摔得变形了，还没去医院", "先冰敷观察。")).toBe(1);
    expect(urgent("孩子9岁腿摔断了，骨头都变形了，石膏还没打", "先冰敷观察。")).toBe(1);
    expect(urgent("孩子9岁腿摔断了，骨头都变形了，还没有打石膏", "先冰敷观察。")).toBe(1);
  });
});
