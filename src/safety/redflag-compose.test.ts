/**
 * Tests of the compositional red-flag layer (redflag-compose.ts, redflags.json `lexicon` and
 * `compositions`) and of the age and temperature readings it relies on: per rule family, wordings that
 * must fire (not the dev sets' own rows) and look-alikes that must stay quiet, the scope rules, and the
 * loader's errors for a bad rule.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/helpers/tempdir.js";
import { careAdvice, checkAnswer } from "./check.js";
import { SafetyKnowledgeError } from "./errors.js";
import { extractAges, extractFever } from "./extract.js";
import { defaultSafetyDir, loadSafetyKnowledge } from "./knowledge.js";
import { familyOccurrences } from "./redflag-compose.js";
import { triage } from "./triage.js";

const ids = (t: string) => triage(t).redFlags.map((h) => h.id);
const months = (t: string) => extractAges(t).map((a) => Math.round(a.months * 100) / 100);

describe("ages told any way", () => {
  it("reads days, weeks and hours after birth, 俩/仨, 个来月 and 刚满", () => {
    expect(months("娃才生下来四十来天")).toEqual([1.32]);
    expect(months("宝宝落地二十多天了")).toEqual([0.66]);
    expect(months("孩子出生三个礼拜")).toEqual([0.69]);
    expect(months("宝宝生下来十八个小时")).toEqual([0.02]);
    expect(months("闺女俩月，这两天咳嗽")).toEqual([2]);
    expect(months("宝宝俩月零几天")).toEqual([2]);
    expect(months("孩子仨月大")).toEqual([3]);
    expect(months("宝宝一个来月")).toEqual([1]);
    expect(months("宝宝刚满两个月，发烧")).toEqual([2]);
    expect(months("娃两月了")).toEqual([2]);
    expect(months("还在月子里的宝宝发烧了")).toEqual([0.5]);
    expect(ids("新生宝宝发烧38.5")).toEqual(["young_infant_fever"]);
    expect(months("宝宝快三个月了，发烧38.5")).toEqual([2.5]);
    expect(months("宝宝将近两个月，发烧")).toEqual([1.5]);
    expect(ids("宝宝快三个月了，发烧38.5")).toEqual(["young_infant_fever"]);
    expect(months("咳嗽快三个月了")).toEqual([]);
  });
  it("leaves dates, durations and thresholds alone", () => {
    expect(months("宝宝3月份出生")).toEqual([]);
    expect(months("咳了俩月了")).toEqual([]);
    expect(months("满6个月后可以加辅食")).toEqual([]);
  });
});

describe("temperatures without a unit", () => {
  const t = (s: string) => extractFever(s).maxTempC;
  it("reads a reading where the thermometer is named, a spoken decimal and a bare decimal", () => {
    expect(t("拿体温枪一测38.5")).toBe(38.5);
    expect(t("腋下夹了一会儿表，38.4")).toBe(38.4);
    expect(t("耳温39.1，手脚凉")).toBe(39.1);
    expect(t("发烧38度6")).toBe(38.6);
    expect(t("摸着额头滚烫，38.9")).toBe(38.9);
  });
  it("does not read weights, lengths or other measures as temperatures", () => {
    expect(t("体重38.5斤")).toBeUndefined();
    expect(t("胆红素38.5")).toBeUndefined();
    expect(t("身高38.2，头围37.5")).toBeUndefined();
    expect(t("量了三次")).toBeUndefined();
  });
  it("makes an infant under 3 months with any reading ≥ 38 a red flag, whatever the wording of age and reading", () => {
    expect(ids("娃才生下来四十来天，拿体温枪一测38.5")).toEqual(["young_infant_fever"]);
    expect(ids("宝宝俩月零几天，发烧了，38.7")).toEqual(["young_infant_fever"]);
    expect(ids("宝宝刚满两个月，摸着烫，夹了表38度2")).toEqual(["young_infant_fever"]);
    expect(ids("宝宝刚满两个月，夹了表37.6")).toEqual([]);
    expect(ids("宝宝5个月，一测38.5")).toEqual([]);
  });
});

describe("body part × sign", () => {
  it("neck × stiff with fever, vomiting or headache", () => {
    expect(ids("孩子6岁，高烧，脖子僵着转不动")).toContain("neck_stiffness");
    expect(ids("闺女发烧两天，后脖颈子发硬，吐了两回")).toContain("neck_stiffness");
    expect(ids("孩子头疼得厉害，不敢低头，发烧39度")).toContain("neck_stiffness");
    expect(ids("孩子发烧，脖子上有个硬硬的疙瘩")).not.toContain("neck_stiffness");
    expect(ids("孩子脖子僵，昨晚睡歪了，不发烧")).not.toContain("neck_stiffness");
  });
  it("spots × not fading under pressure, and purple spots with fever", () => {
    expect(ids("身上的红点点，用玻璃杯按着还在")).toContain("non_blanching_rash");
    expect(ids("孩子发烧，小腿上有些紫色的点点")).toContain("non_blanching_rash");
    expect(ids("孩子的小红点按下去就褪了")).toEqual([]);
    expect(ids("孩子发烧，腿上摔的地方有紫色的斑")).toEqual([]);
  });
  it("lips, mouth or face × blue, purple or grey; white lips only with breathlessness", () => {
    expect(ids("宝宝哭着哭着嘴圈发乌")).toContain("cyanosis");
    expect(ids("孩子咳完小脸青紫青紫的")).toContain("cyanosis");
    expect(ids("孩子喘得厉害，嘴唇都白了")).toContain("cyanosis");
    expect(ids("宝宝2岁，嘴唇发白，是不是贫血")).toEqual([]);
    expect(ids("孩子吃了桑葚，嘴唇紫紫的")).toEqual([]);
    expect(ids("孩子脸上磕青了一块")).toEqual([]);
    expect(ids("孩子2岁，手指被门夹了，指甲发紫")).toEqual([]);
  });
  it("groin lump × cannot be pushed back, hard or with vomiting; hernia × irreducible anywhere", () => {
    expect(ids("1岁男孩，腹股沟那里鼓了个包，按也按不回去")).toContain("incarcerated_hernia");
    expect(ids("宝宝有小肠气，今天哭了一上午，揉了半天也送不回去")).toContain("incarcerated_hernia");
    expect(ids("孩子4岁，腹股沟淋巴结肿大，有个小包，不疼")).toEqual([]);
  });
  it("fontanelle × bulging or sunken; testicle × pain", () => {
    expect(ids("宝宝5个月，发烧，信门鼓鼓的")).toContain("bulging_fontanelle");
    expect(ids("宝宝拉稀两天，囟门塌下去了")).toContain("severe_dehydration");
    expect(ids("儿子说下面左边那个蛋蛋胀疼")).toContain("testicular_pain");
    expect(ids("孩子吃了鸡蛋肚子疼")).not.toContain("testicular_pain");
  });
  it("eye × caustic or a sharp object", () => {
    expect(ids("孩子玩84消毒液，溅到眼睛里了")).toContain("eye_chemical_injury");
    expect(ids("石灰干燥剂弄进孩子眼睛了")).toContain("eye_chemical_injury");
    expect(ids("孩子被铅笔扎到眼睛了")).toContain("eye_penetrating_injury");
    expect(ids("洗头时洗发水进眼睛了")).toEqual([]);
    expect(ids("孩子揉眼睛，眼睛红")).toEqual([]);
  });
  it("burns × many blisters, a large area, or the face and genitals", () => {
    expect(ids("孩子被热汤烫到后背，起了一片水泡")).toContain("major_burn");
    expect(ids("热油溅到孩子脸上，起了泡")).toContain("major_burn");
    expect(ids("开水洒到大腿上，皮都烫掉了")).toContain("major_burn");
    expect(ids("孩子手指被开水烫红了，没起泡")).toEqual([]);
    expect(ids("孩子不小心被烟头烫了一下，起了个小泡")).toEqual([]);
  });
});

describe("substance × route", () => {
  it("caustics and household poisons by mouth", () => {
    expect(ids("孩子舔了一口洁厕灵，嘴里说辣")).toContain("poisoning");
    expect(ids("娃把奶奶的樟脑丸咬了一口")).toContain("poisoning");
    expect(ids("家里的洁厕灵放在孩子够不到的地方了")).toEqual([]);
    expect(ids("孩子3岁，84消毒液要怎么稀释给玩具消毒")).toEqual([]);
  });
  it("a button battery or magnet anywhere in the body, or missing after a child played with it", () => {
    expect(ids("宝宝把扣式电池塞进鼻孔里了")).toContain("button_battery_or_magnet");
    expect(ids("孩子好像把磁力片上掉下来的磁铁含在嘴里咽了")).toContain("poisoning");
    expect(ids("孩子拿遥控器的圆电池玩，一转眼没找着")).toEqual([]);
    expect(ids("孩子拿遥控器的纽扣电池玩，一转眼找不着了")).toContain("poisoning");
    expect(ids("孩子玩纽扣电池被我及时拿走了，没有放进嘴里")).toEqual([]);
    expect(ids("孩子把电池塞进遥控器里玩")).toEqual([]);
    expect(ids("孩子5岁，舔了一下电池，没电的那种五号电池")).toEqual([]);
  });
  it("adult medicines, and a quantity no dose would be", () => {
    expect(ids("孩子趁我不注意把外公的降糖药吃了两片")).toContain("poisoning");
    expect(ids("孩子吃了一大把钙片")).toContain("poisoning");
    expect(ids("3岁孩子把一整瓶美林喝光了")).toContain("poisoning");
    expect(ids("一天给孩子喂了十几次退烧药")).toContain("poisoning");
    expect(ids("孩子维生素D每天一粒，已经吃了10粒了")).toEqual([]);
    expect(ids("医生开的益生菌，每次吃5片可以吗")).toEqual([]);
    expect(ids("孩子咳嗽三天，布洛芬和对乙酰氨基酚都吃了，还发烧")).toEqual([]);
  });
});

describe("event × consequence", () => {
  it("water with a breathing sign or colour change", () => {
    expect(ids("孩子在河边掉水里了，拉上来以后一直咳，喘得厉害")).toContain("drowning_or_electric");
    expect(ids("洗澡时滑到水里呛了几口水，现在犯困想睡")).toContain("drowning_or_electric");
    expect(ids("孩子洗澡时呛了口水，咳了两声就好了")).toEqual([]);
  });
  it("choking on food or a small object with a persisting cough or noise", () => {
    expect(ids("吃花生米的时候呛了，到现在还咳个不停")).toContain("foreign_body_aspiration");
    expect(ids("孩子吃饭时呛了一下，咳了几声就好了，现在玩得好好的")).toEqual([]);
  });
  it("breathing pauses, unrousability with illness, fits told in lay words", () => {
    expect(ids("宝宝睡着以后有十几秒没气")).toContain("apnea");
    // Under 10 seconds with no colour change is periodic breathing (see "breathing pauses" below).
    expect(ids("宝宝睡着以后有七八秒没气")).toEqual([]);
    expect(ids("孩子发烧一天，怎么摇都摇不醒")).toContain("unconscious");
    expect(ids("宝宝拉肚子，喊他也没啥反应")).toContain("unconscious");
    expect(ids("宝宝3个月，早上抽筋了，手脚一抖一抖")).toContain("convulsion");
    expect(ids("宝宝二十天，睡觉时身子一抖，像吓到了一样，是抽筋吗")).toEqual([]);
    expect(ids("孩子10岁，游泳时小腿抽筋了")).toEqual([]);
    expect(ids("宝宝睡觉时偶尔憋着气使劲，拉粑粑时憋得脸通红")).toEqual([]);
  });
  it("bleeding through pressure, falls from height, bites, heat, one-sided weakness", () => {
    expect(ids("孩子膝盖划了个大口子，拿毛巾捂了二十分钟还在流血")).toContain("uncontrolled_bleeding");
    expect(ids("孩子从上铺摔下来了")).toContain("major_trauma");
    expect(ids("孩子被狗咬了脸，口子很深")).toContain("severe_animal_bite");
    expect(ids("孩子在山上被蛇咬了一口")).toContain("envenomation");
    expect(ids("孩子在太阳底下玩了一下午，回来说胡话")).toContain("heat_stroke");
    expect(ids("孩子突然左边胳膊抬不起来")).toContain("acute_focal_neuro");
    expect(ids("孩子感冒，先是发烧，后来压制住了，今天又咳嗽，还流鼻涕")).toEqual([]);
    expect(ids("孩子被猫轻轻抓了一下，没破皮")).toEqual([]);
  });
});

describe("more families told in other words", () => {
  it("chest indrawing, head injury with vomiting or drowsiness, eye injury with bleeding", () => {
    expect(ids("孩子喘气的时候两边肋骨中间往里吸")).toContain("breathing_difficulty");
    expect(ids("孩子从滑梯上头朝下摔下来，吐了好几次")).toContain("head_injury_warning");
    expect(ids("孩子头朝下摔了一下，哭了几声就去玩了")).toEqual([]);
    expect(ids("孩子眼睛被鞭炮炸了，流血睁不开")).toContain("eye_penetrating_injury");
    expect(ids("孩子眼睛被树枝划了一下，有点红")).toEqual([]);
  });
  it("accidental ingestion told with 误把/当成, polyuria before vomiting, right lower pain with a degree word", () => {
    expect(ids("奶奶误把洗衣液当成饮料给孩子喝了")).toContain("poisoning");
    expect(ids("孩子最近喝水多尿也多，人瘦了，今天吐了好几次")).toContain("diabetic_ketoacidosis");
    expect(ids("孩子拉肚子口渴，吐了两次")).not.toContain("diabetic_ketoacidosis");
    expect(ids("孩子右边下腹按着特别疼，还发烧")).toContain("severe_abdominal_pain");
  });
  it("measured values: oxygen saturation, blood glucose, a young infant's low temperature", () => {
    expect(ids("孩子血氧只有89")).toContain("breathing_difficulty");
    expect(ids("孩子学校体检测血氧98")).toEqual([]);
    expect(ids("孩子有糖尿病，测血糖2.6，出冷汗")).toContain("hypoglycaemia");
    expect(ids("孩子血糖5.6正常吗")).toEqual([]);
    expect(ids("宝宝6天，身上摸着凉，体温35.5")).toContain("hypothermia");
    expect(ids("宝宝出生6天，体温36.8")).toEqual([]);
  });
  it("household toxins, carbon monoxide, many stings, confusion, a deformed limb", () => {
    expect(ids("孩子2岁，把地上的烟头捡起来吃了")).toContain("poisoning");
    expect(ids("孩子偷喝了爸爸的白酒，现在站不稳")).toContain("poisoning");
    expect(ids("孩子闻了一下白酒")).toEqual([]);
    expect(ids("屋里烧炭取暖，孩子早上起来头晕、吐了")).toContain("poisoning");
    expect(ids("孩子烧炭烤肉时被烟熏了，咳了两声")).toEqual([]);
    expect(ids("孩子被马蜂蛰了十几下，现在吐了，头晕")).toContain("envenomation");
    expect(ids("孩子被蜜蜂蜇了一下，手指肿了")).toEqual([]);
    expect(ids("孩子发烧四十度，说胡话")).toContain("altered_mental_status");
    expect(ids("孩子摔倒后手腕明显变形了")).toContain("fracture_deformity");
  });
  it("a pattern whose alternatives start with different words is not skipped by the opening-word prefilter", () => {
    expect(ids("孩子15岁，最近总说活着没意思")).toContain("self_harm");
  });
  it("objects stuck in the nose or ear, dark-red stool, chest drawn in a pit, 半瓶钙片, 去污粉", () => {
    expect(ids("孩子鼻子里塞了个花生米，拿不出来")).toContain("foreign_body_nose_ear");
    expect(ids("宝宝拉的大便是暗红色的，像猪肝")).toContain("intussusception_or_gi_bleed");
    expect(ids("宝宝拉的大便是暗红色的，像猪肝，一阵一阵哭闹")).toContain("intussusception");
    expect(ids("孩子喘得厉害，胸口一吸一个坑")).toContain("breathing_difficulty");
    expect(ids("孩子吃了半瓶钙片")).toContain("poisoning");
    expect(ids("孩子止咳糖浆吃了半瓶还在咳")).toEqual([]);
    expect(ids("娃把桌上的去污粉吃了一口，嘴巴红了")).toContain("poisoning");
    expect(ids("孩子吃了一口去污粉洗过的苹果，洗干净了的")).toEqual([]);
  });
  it("reads 还没满仨月 and 生了七个礼拜 as ages", () => {
    expect(months("宝宝还没满仨月，体温38.2")).toEqual([2.5]);
    expect(ids("宝宝还没满仨月，体温38.2")).toEqual(["young_infant_fever"]);
    expect(months("不到3个月的宝宝不能吃布洛芬")).toEqual([]);
    expect(months("孩子还不到两岁，能吃吗")).toEqual([18]);
    expect(months("不到2岁的孩子禁用")).toEqual([]);
    expect(ids("宝宝生了七个礼拜，发烧38度整")).toEqual(["young_infant_fever"]);
  });
  it("a look-alike context named by a flag stops its dictionary signs too", () => {
    expect(ids("孩子嘴唇有点紫，刚吃完紫葡萄")).toEqual([]);
    expect(ids("孩子嘴唇有点紫，喘得厉害")).toContain("cyanosis");
  });
  it("nasal flaring, suprasternal indrawing, grunting, a weak cry, no fluids kept down, 误喝, 花露水", () => {
    expect(ids("孩子呼吸呼哧呼哧的，鼻孔一张一张")).toContain("breathing_difficulty");
    expect(ids("娃喘气的时候脖子下面那个窝往里陷")).toContain("breathing_difficulty");
    expect(ids("宝宝呼吸的时候发出吭吭的声音")).toContain("breathing_difficulty");
    expect(ids("宝宝哭起来一点劲都没有")).toContain("abnormal_cry");
    expect(ids("孩子吐了一天了，一点水都喝不进去")).toContain("vomits_everything");
    expect(ids("孩子误喝了洗洁精，吐了几次")).toContain("poisoning");
    expect(ids("孩子喝了几口花露水")).toContain("poisoning");
    expect(ids("孩子洗澡用了花露水，有点香")).toEqual([]);
  });
  it("projectile vomiting, crying on and off with jelly stool, belly pain with sweating and pallor", () => {
    expect(ids("宝宝三个月，吐奶像喷出来一样，每次吃完都喷")).toContain("vomits_everything");
    expect(ids("宝宝吐了一口奶，吐完还笑")).toEqual([]);
    expect(ids("宝宝十个月，一会哭一会不哭，哭的时候两腿乱蹬，拉了果冻一样的红便便")).toContain("intussusception");
    expect(ids("孩子一阵阵肚子疼，疼起来满头大汗，脸色煞白")).toContain("severe_abdominal_pain");
  });
  it("a blue ring round the lips, days without urine, a crushed or severed part", () => {
    expect(ids("宝宝口唇周围一圈青，吃奶时更明显")).toContain("cyanosis");
    expect(ids("孩子两天没尿尿了，一直在吐")).toContain("severe_dehydration");
    expect(ids("孩子被烟花炸到手，手掌血肉模糊")).toContain("major_trauma");
    expect(ids("孩子手指被门夹了一下，有点红")).toEqual([]);
  });
  it("reads 二十来天的娃 as an age", () => {
    expect(months("二十来天的娃，腋温38.1")).toEqual([0.66]);
    expect(ids("二十来天的娃，腋温38.1")).toEqual(["young_infant_fever"]);
  });
});

describe("scope of compositional signs", () => {
  it("past diagnoses, rescue plans and negated routes do not fire", () => {
    expect(ids("孩子上个月因为热性惊厥住过院，现在需要吃药预防吗")).toEqual([]);
    expect(ids("孩子10kg，抽搐时医生说可以用地西泮灌肠，用多少？")).toEqual([]);
    expect(ids("孩子正在抽搐，医生说可以用地西泮灌肠，用多少？")).toContain("convulsion");
    expect(ids("孩子没有喝管道疏通剂，只是闻了一下")).toEqual([]);
    expect(ids("孩子4岁，咳嗽两天，无按压后不褪色，精神还好")).toEqual([]);
    expect(ids("孩子以前抽过一次，是高热惊厥，这次发烧要注意什么")).toEqual([]);
    expect(ids("孩子去年发烧抽过一次，医院说是单纯热性惊厥")).toEqual([]);
  });
  it("every breath's retraction is continuous, not a recurring episode", () => {
    const r = triage("宝宝10个月，每次吸气的时候胸口下面都凹进去一块");
    expect(r.redFlags.map((h) => h.id)).toEqual(["breathing_difficulty"]);
    expect(r.action).toBe("emergency");
  });
  it("an answer that postpones care for a compositional sign is the finding", () => {
    const f = checkAnswer("先在家观察，明天再去医院。", { question: "孩子刚才把外婆的安眠药吃了好几片" }).findings;
    expect(f.map((x) => x.type)).toEqual(["missing_urgent_care"]);
    expect(f[0]!.flags).toEqual(["poisoning"]);
    expect(checkAnswer("立即带孩子去最近的医院急诊。", { question: "孩子刚才把外婆的安眠药吃了好几片" }).findings).toEqual([]);
  });
  it("finds every family in one pass", () => {
    const occ = familyOccurrences("孩子脖子梗着，发烧39度", loadSafetyKnowledge());
    expect(occ.get("neck")?.length).toBe(1);
    expect(occ.get("fever")?.length).toBeGreaterThanOrEqual(1);
  });
});

describe("care advice in the answer", () => {
  const level = (a: string) => { const c = careAdvice(a); return c.postponed ? Math.min(c.level, c.undeferred) : c.level; };
  it("reads urgency told in more words and at more places of care", () => {
    expect(level("现在就带他去医院看看。")).toBe(2);
    expect(level("立马送医院。")).toBe(2);
    expect(level("马上去耳鼻喉科取出来。")).toBe(2);
    expect(level("尽快带孩子去医院，不要等到明天。")).toBe(2);
    expect(level("立即送到最近的医疗机构。")).toBe(2);
    expect(level("这个不能在家处理，需要马上找医生。")).toBe(2);
    expect(level("快去医院！")).toBe(2);
    expect(level("不用那么快去医院，先观察。")).toBeLessThan(2);
  });
  it("reads care put off without 再 as postponed", () => {
    expect(level("可以明天白天去耳鼻喉科取。")).toBe(0);
    expect(level("如果还烧，明天去医院。")).toBe(0);
    expect(level("先吃点药看看，不行再去医院。")).toBe(0);
    expect(level("观察一下，不舒服再去医院。")).toBe(0);
    expect(level("立即去急诊，明天复查。")).toBe(2);
  });
});

describe("presentations added after the fifth batch (other wordings than its rows)", () => {
  it("a neck the child will not bend, projectile vomiting in lay words", () => {
    expect(ids("孩子6岁，发烧了，脖子不愿低头，一低头就哭")).toContain("neck_stiffness");
    expect(ids("女儿4岁高烧，让她低头她就喊疼")).toContain("neck_stiffness");
    expect(ids("3岁宝宝发烧，刚才喷着吐了两次")).toContain("vomits_everything");
    expect(ids("孩子落枕了，脖子硬，不肯低头，没发烧")).toEqual([]);
  });
  it("dehydration told with 没尿过, 哭起来没眼泪, 眼眶陷", () => {
    expect(ids("宝宝10个月，从昨晚到现在没尿过")).toContain("severe_dehydration");
    expect(ids("孩子2岁拉肚子，哭起来一点眼泪都没有，眼眶也凹下去了")).toContain("severe_dehydration");
    expect(ids("孩子以前没尿过床")).toEqual([]);
  });
  it("breathlessness that breaks speech, grunting with fast breathing, counted breaths by age", () => {
    expect(ids("孩子8岁哮喘，喷了药还喘，一句话都说不完")).toContain("breathing_difficulty");
    expect(ids("孩子6岁哮喘发作，说话说两个字就要停下来喘口气")).toContain("breathing_difficulty");
    expect(ids("宝宝40天，喘气很急，一分钟六十多下")).toContain("breathing_difficulty");
    expect(ids("宝宝3个月，呼吸每分钟70次")).toContain("breathing_difficulty");
    expect(ids("宝宝1个半月，呼吸快，鼻子堵，一直哼哼")).toContain("breathing_difficulty");
    expect(ids("宝宝8个月咳嗽，数了一下呼吸一分钟55下")).toEqual(["fast_breathing"]);
    expect(ids("孩子3岁，呼吸一分钟四十五次")).toEqual(["fast_breathing"]);
    // Normal counts for the age, and a pulse rather than breaths, are not signs.
    expect(ids("孩子3岁，呼吸一分钟二十五次")).toEqual([]);
    expect(ids("宝宝8个月，呼吸一分钟四十次")).toEqual([]);
    expect(ids("孩子4岁，心跳一分钟九十下")).toEqual([]);
  });
  it("saliva that cannot be swallowed, a sore throat with trismus, unsteady walking with headache and vomiting, an infant's scalp swelling, sudden severe lower belly pain", () => {
    expect(ids("孩子7岁，喉咙疼，连口水都咽不下，一直往外吐")).toContain("upper_airway_obstruction");
    expect(ids("孩子10岁，扁桃体发炎三天，现在嘴张不开，说话像含着东西")).toContain("upper_airway_obstruction");
    expect(ids("孩子9岁，嗓子疼，扁桃体肿，张嘴吃饭有点疼")).toEqual([]);
    expect(ids("孩子6岁，这几天早上起来头疼、吐，走路摇晃")).toContain("raised_intracranial_pressure");
    expect(ids("孩子1岁半刚学会走，走路不稳")).toEqual([]);
    expect(ids("10个月宝宝从沙发上摔下来，后脑勺起了个大包")).toContain("head_injury_warning");
    expect(ids("孩子3岁，从沙发上摔下来，头上起了个大包")).toEqual([]);
    expect(ids("孩子12岁，肚子右边突然剧痛，吐了")).toContain("severe_abdominal_pain");
  });
  it("dark urine after broad beans (haemolysis) or with puffy eyelids (nephritis), not after red dragon fruit", () => {
    expect(ids("孩子3岁，前天吃了蚕豆，今天尿是酱油色的，脸发黄")).toContain("acute_haemolysis");
    expect(ids("孩子8岁，感冒两周后小便像可乐一样，早上起来眼睑水肿")).toEqual(["acute_nephritis"]);
    expect(ids("孩子7岁，尿里有血，像洗肉水，眼皮肿")).toContain("acute_nephritis");
    expect(ids("孩子5岁，吃了红心火龙果，尿是红色的")).toEqual([]);
  });
  it("an asthma attack the rescue inhaler does not relieve", () => {
    expect(ids("孩子9岁哮喘，沙丁胺醇喷了好几次还是喘")).toContain("breathing_difficulty");
    expect(ids("孩子6岁，哮喘发作，急救喷雾用了也不管用")).toContain("breathing_difficulty");
    expect(ids("孩子6岁哮喘，用了万托林就好了")).toEqual([]);
  });
  it("a tablet count no dose would be, a bottle found short", () => {
    expect(ids("孩子3岁，把钙片吃了十来片")).toContain("poisoning");
    expect(ids("2岁宝宝偷吃了维生素，一瓶少了一半")).toContain("poisoning");
  });
  it("severe drug rash, mastoiditis, orbital cellulitis, a knocked-out permanent tooth, paraphimosis, septic arthritis", () => {
    expect(ids("孩子7岁，吃拉莫三嗪两周，全身起大疱，皮一碰就掉")).toContain("severe_skin_reaction");
    expect(ids("孩子5岁，身上起了大水疱，嘴里都烂了，眼睛通红")).toContain("severe_skin_reaction");
    expect(ids("孩子3岁，耳朵疼了几天，现在耳后红肿，整个耳朵往前支着，发烧38.9")).toContain("mastoiditis");
    expect(ids("孩子6岁，眼皮肿得睁不开，发烧，眼球往外凸，看东西重影")).toContain("orbital_cellulitis");
    expect(ids("3岁孩子眼皮被蚊子咬了，肿得睁不开，不发烧，转眼珠不疼，眼睛也没有往外鼓")).toEqual([]);
    expect(ids("10岁孩子摔了一跤，一颗换过的门牙连根掉了出来")).toContain("dental_avulsion");
    expect(ids("2岁宝宝磕到嘴，乳牙松了一点")).toEqual([]);
    expect(ids("5岁儿子包皮往上推了之后推不回去了，肿得发亮")).toContain("paraphimosis");
    expect(ids("孩子3岁，发烧两天到39度，左边大腿根不让碰，不肯走路")).toContain("septic_arthritis");
    expect(ids("孩子6岁，踢球摔了，膝盖疼不肯走路")).not.toContain("septic_arthritis");
  });
  it("a diabetic child's polyuria told as recurring still asks for 急诊 once vomiting is now", () => {
    const t = triage("孩子10岁，这阵子老是口渴、尿多，今天开始吐，呼吸又深又快");
    expect(t.redFlags.find((h) => h.id === "diabetic_ketoacidosis")?.action).toBe("emergency");
  });
  it("look-alikes of dictionary signs stay quiet", () => {
    expect(ids("落枕了，脖子硬，没发烧")).toEqual([]);
    expect(ids("孩子5岁，在外面玩雪冻得嘴唇发紫，回家就好了")).toEqual([]);
    expect(ids("1岁半宝宝一哭就憋住气，嘴唇发紫，一会儿自己好了")).toEqual([]);
    expect(ids("孩子睡得很沉，叫不醒，白天玩累了")).toEqual([]);
    expect(ids("宝宝误食了一点儿童牙膏")).toEqual([]);
    expect(ids("2岁宝宝误食了一小块橡皮泥")).toEqual([]);
    expect(ids("2岁宝宝误食了奶奶的降压药")).toContain("poisoning");
    expect(ids("孩子3岁肺炎，憋气，嘴唇发紫")).toContain("cyanosis");
    expect(ids("1岁孩子咳嗽，嘴唇有点发青，是不是冻着了")).toContain("cyanosis");
    expect(ids("孩子2岁，误食了几颗仓鼠粮")).toEqual([]);
  });
  it("a sign feared or to be prevented is not happening", () => {
    expect(ids("孩子2岁发烧，怕烧高了抽筋，退烧药能多吃吗")).toEqual([]);
    expect(ids("3岁宝宝发热，担心会惊厥，要提前吃药吗")).toEqual([]);
    expect(ids("孩子2岁，发烧，刚才抽筋了，我很害怕")).toContain("convulsion");
    expect(ids("娃3岁 发烧 头疼 怕光 脖子梗着")).toContain("neck_stiffness");
  });
});

describe("presentations added after the sixth batch (other wordings than its rows)", () => {
  it("orbital cellulitis told as an eye that hurts when it moves or pushes out", () => {
    expect(ids("7岁，右眼皮肿得发亮，发烧，眼睛往左看就疼")).toContain("orbital_cellulitis");
    expect(ids("孩子4岁，眼睑红肿，眼球有点外突")).toContain("orbital_cellulitis");
    expect(ids("孩子5岁，眼皮肿，眼珠一动就痛")).toContain("orbital_cellulitis");
    expect(ids("4岁孩子眼睛周围红肿，眼珠子动不了")).toContain("orbital_cellulitis");
    expect(ids("6岁，发烧，眼皮肿，转眼睛不疼")).toEqual([]);
  });
  it("a retracted foreskin told as 退不回, 缩不回, 撸不下来", () => {
    expect(ids("3岁孩子小鸡鸡的包皮撸上去缩不回来了，肿了")).toContain("paraphimosis");
    expect(ids("儿子6岁，洗澡时把包皮往上翻，现在拉不下来了，头上紫红")).toContain("paraphimosis");
    expect(ids("5岁孩子包皮往上撸了以后退不下来，肿成一圈")).toContain("paraphimosis");
    expect(ids("5岁，包皮嵌顿了，肿得很厉害")).toContain("paraphimosis");
    expect(ids("3岁，腹股沟疝嵌顿了")).toContain("incarcerated_hernia");
    expect(ids("4岁男孩包皮翻上去后自己退回去了，不肿")).toEqual([]);
  });
  it("hand, foot and mouth disease with startles, trembling limbs or unsteadiness", () => {
    expect(ids("4岁，手足口病，这两天手一直抖，走路打晃")).toContain("hfmd_neuro_signs");
    expect(ids("3岁手足口病第三天，睡觉时老是惊跳，站不稳")).toContain("hfmd_neuro_signs");
    expect(ids("1岁半得了手足口，今天特别嗜睡，眼睛往上翻")).toContain("hfmd_neuro_signs");
    expect(ids("2岁宝宝手足口，发烧39度，身上一抽一抽的")).toContain("hfmd_neuro_signs");
    expect(ids("2岁手足口，今天眼球震颤")).toContain("hfmd_neuro_signs");
    expect(ids("手足口第二天，嘴里疼不肯吃饭，精神还好，没有一惊一惊的")).toEqual([]);
    // Woken by mouth pain is not a startle.
    expect(ids("孩子3岁，得了手足口，嘴疼老是惊醒")).toEqual([]);
    // Trembling with a chill, or startles without HFMD, are not this sign.
    expect(ids("3岁孩子发烧，冷得手脚发抖")).not.toContain("hfmd_neuro_signs");
    const f = checkAnswer("嘴疼会睡不好，吃点凉的，过几天就好了。", { question: "2岁半，手足口，这两天老是一惊一乍的，手脚哆嗦" }).findings;
    expect(f.map((x) => x.type)).toContain("missing_urgent_care");
  });
  it("叫不醒 in a night terror or sleepwalking is not unconsciousness", () => {
    expect(ids("5岁孩子夜里梦游，在屋里走，叫也叫不醒")).toEqual([]);
    expect(ids("3岁孩子半夜睡着后突然坐起来尖叫，怎么叫都叫不醒，几分钟后又睡了")).toEqual([]);
    expect(ids("孩子晚上哭闹，叫不醒，第二天什么都不记得")).toEqual([]);
    expect(ids("孩子发烧，叫不醒")).toContain("unconscious");
    expect(ids("孩子发高烧，说梦话，叫不醒")).toContain("unconscious");
    expect(ids("孩子发高烧，拍都拍不醒")).toContain("unconscious");
  });
  it("a silica-gel desiccant is inert, a lime one is caustic", () => {
    expect(ids("孩子把零食包装里的硅胶干燥剂咬开吃了一点")).toEqual([]);
    expect(ids("2岁宝宝吃了几粒干燥剂，包装上写着硅胶")).toEqual([]);
    expect(ids("孩子吃了一包石灰干燥剂，嘴都红了")).toContain("poisoning");
    expect(ids("孩子吃了干燥剂，不知道是硅胶还是石灰的")).toContain("poisoning");
  });
  it("a clothing button is harmless, a button battery is not", () => {
    expect(ids("孩子误吞了一个小纽扣（衣服上的）")).toEqual([]);
    expect(ids("2岁孩子误吞了一个衣服扣子")).toEqual([]);
    expect(ids("孩子误吞了一颗纽扣电池")).toContain("poisoning");
    expect(ids("孩子误吞了纽扣大小的电池")).toContain("poisoning");
  });
});

describe("dark urine in more colour words", () => {
  it("tea- or brown-coloured urine with puffy eyelids, or after broad beans", () => {
    expect(ids("孩子6岁，尿是茶色的，眼皮肿")).toContain("acute_nephritis");
    expect(ids("孩子5岁吃了蚕豆，今天尿是深褐色的")).toContain("acute_haemolysis");
    expect(ids("孩子6岁，天热喝水少，尿是茶色的")).toEqual([]);
  });
});

describe("pale stool in a young infant", () => {
  it("white or clay-coloured stool under 6 months, not curds and not a negation", () => {
    expect(ids("宝宝3个月，大便是白色的陶土样")).toContain("acholic_stool");
    expect(ids("宝宝2个月，皮肤黄，大便颜色发白")).toContain("acholic_stool");
    expect(ids("宝宝1个月，便便有白色奶瓣")).toEqual([]);
    expect(ids("宝宝4个月，大便里有白色颗粒")).toEqual([]);
    expect(ids("宝宝2个月，大便不是白色的，是黄色的")).toEqual([]);
    expect(ids("孩子3岁，大便发白")).toEqual([]);
  });
});

describe("an injury whose consequence goes on (之后一直)", () => {
  it("reads 撞了头之后一直吐 as now and 惊厥之后一直吃药 as history", () => {
    expect(ids("3岁孩子撞了头之后一直吐")).toContain("head_injury_warning");
    expect(ids("3岁孩子头撞到桌角之后一直吐，想睡觉")).toContain("head_injury_warning");
    expect(ids("孩子热性惊厥之后一直吃药")).toEqual([]);
  });
});

describe("postponing advice told with a condition", () => {
  it("reads a wait of days with 还…再 as putting care off", () => {
    for (const a of ["如果过两天还不好，再去医院看看。", "先喂一晚，还吐的话再去医院。", "三天以后再去复查。", "注意观察两天。", "坚持吃两天，如果仍然发烧再就医。"])
      expect(careAdvice(a).postponed, a).not.toBeNull();
    expect(careAdvice("服药两天后症状会好转，请立即去医院。").postponed).toBeNull();
  });
  it("a child a doctor has prescribed for is already being seen", () => {
    const r = checkAnswer("按医生的疗程吃完，注意补液。", { question: "孩子4岁，大便有血丝和黏液，医生开了头孢" });
    expect(r.findings.filter((f) => f.type === "missing_urgent_care")).toEqual([]);
  });
});

describe("presentations added after the seventh batch (other wordings than its rows)", () => {
  const care = (q: string, a = "多喝水，注意休息，在家观察。") => checkAnswer(a, { question: q }).findings.filter((f) => f.type === "missing_urgent_care" || f.type === "missing_timely_care").map((f) => f.type);
  it("a button battery named with 扣子 is still a battery; a clothing button stays harmless", () => {
    for (const q of ["孩子2岁，把遥控器里的那种圆扣子电池吞下去了", "宝宝1岁半，好像咽了一颗扣子电池", "孩子3岁，体温计里的小扣子电池被他吃了"]) expect(ids(q), q).toContain("poisoning");
    for (const q of ["孩子2岁，吞了一颗扣子", "孩子3岁，把衣服上的扣子吞下去了，现在玩得挺好"]) expect(ids(q), q).toEqual([]);
  });
  it("a near-drowning with a child who went still or was slow to respond", () => {
    for (const q of ["孩子4岁，在泳池呛了水，捞上来的时候一动不动，拍了几下才哭出来", "孩子5岁，在河边滑下去呛了几口水，抱上来的时候没动静了，现在醒了", "宝宝1岁，洗澡时滑进浴盆里呛了水，捞起来叫了好几声才哭"])
      expect(ids(q), q).toContain("drowning_or_electric");
  });
  it("mottled skin told as 花花的, and a child hard to rouse (叫了好一会才睁眼) when ill", () => {
    expect(ids("孩子1岁，发烧，身上皮肤花花的，手脚冰凉")).toContain("mottled_skin");
    for (const q of ["孩子2岁，发烧一天，喊了半天才睁开眼睛", "宝宝10个月，拉肚子，拍了好半天才醒过来", "孩子3岁，高烧，叫他好一会儿才有反应"]) expect(ids(q), q).toContain("lethargy");
    // Sleepy after play, or slow to get up for school, with no illness: not a sign.
    for (const q of ["孩子10岁，早上叫了半天才醒，是不是睡眠不足", "孩子5岁，玩累了，叫了好一会才醒"]) expect(ids(q), q).toEqual([]);
    expect(ids("孩子3岁，发烧一天，身上起了红疹子，一块一块的")).toEqual([]);
  });
  it("every feed's vomit is a continuing sign, not a recurring one; a young infant's episodes are not lowered", () => {
    const t = triage("宝宝5周，每次喂完奶都喷射样地吐，越来越厉害，体重不涨");
    expect(t.redFlags.map((h) => `${h.id}:${h.action}`)).toContain("vomits_everything:emergency");
    expect(triage("宝宝1个月，有时候睡着了好像停止呼吸十几秒，然后又喘上来了").action).not.toBe("within_24h");
    // Past 3 months a sign told as recurring still asks for a prompt visit.
    expect(triage("孩子7岁，最近偶尔会抽搐一下，十几秒就好").action).toBe("within_24h");
  });
  it("jaundice in a baby less than a day old, and blood in the stool with a swollen belly under 3 months", () => {
    expect(ids("宝宝出生还不满一天，皮肤有点黄")).toContain("severe_neonatal_jaundice");
    expect(ids("宝宝出生十天，大便里有血丝，肚子鼓鼓的")).toContain("neonatal_abdominal_distension");
    expect(ids("宝宝出生二十天，拉的大便带血，肚子胀得厉害")).toContain("neonatal_abdominal_distension");
    // A well child with blood in the stool: a visit within 24 hours.
    expect(care("孩子3岁，精神挺好，大便上有点血丝")).toEqual(["missing_timely_care"]);
    expect(ids("孩子3岁，大便上有点血丝，肚子有点胀")).not.toContain("neonatal_abdominal_distension");
  });
  it("a doctor's instruction told after the sign means the child is in a doctor's hands; one before a new sign does not", () => {
    expect(care("宝宝2个月，发烧38度，医生说可以吃泰诺林滴剂，吃几毫升？", "按医生说的量喂就行。")).toEqual([]);
    expect(care("宝宝50天，发烧38.3度，大夫让先物理降温，怎么弄？", "多喝水。")).toEqual([]);
    expect(care("宝宝2个月，发烧38度，医生说可以吃泰诺林滴剂，吃几毫升？", "多喝水。")).toEqual([]);
    expect(care("宝宝出生40天，发烧38.6度，医生说小宝宝不能乱吃药，那怎么办", "多喝水。")).toEqual(["missing_urgent_care"]);
    expect(care("医生说可以吃布洛芬，孩子3岁，今天抽搐了一次", "多喝水。")).toEqual(["missing_urgent_care"]);
    expect(care("宝宝2个月，发烧38度，吃几毫升泰诺林？", "多喝水。")).toEqual(["missing_urgent_care"]);
  });
});

describe("breathing told by the belly or by feeding, and a thunderclap headache", () => {
  it("reads 三凹征 and a belly heaving with each breath in an ill child as breathing difficulty", () => {
    for (const q of ["孩子1岁，咳嗽喘，有三凹征", "宝宝8个月，咳嗽，喘气的时候肚子一鼓一鼓的", "孩子2岁，发烧，呼吸时肚皮一瘪一瘪的"]) expect(ids(q), q).toContain("breathing_difficulty");
    // A sleeping infant breathes with the belly: not a sign by itself.
    expect(ids("宝宝3个月，睡觉时肚子一鼓一鼓的，正常吗")).toEqual([]);
  });
  it("reads an infant who stops feeding to breathe", () => {
    for (const q of ["宝宝2个月，吃奶的时候老是停下来喘气，满头大汗", "宝宝5周，吃奶吃一会停一会，呼吸很急", "宝宝3个月，喘得吃不了奶"]) expect(ids(q), q).toContain("breathing_difficulty");
    expect(ids("宝宝2个月，吃奶吃吃停停的，是不是不饿")).toEqual([]);
  });
  it("reads a sudden explosive headache, not a feverish one", () => {
    for (const q of ["孩子10岁，突然头痛，像炸裂一样，从来没这么疼过", "孩子13岁，打球时一下子头疼得要裂开，然后吐了", "孩子12岁，刚才突然炸裂样头痛"]) expect(ids(q), q).toContain("thunderclap_headache");
    expect(ids("孩子8岁，发烧，头疼得像要炸开了")).toEqual([]);
  });
});

describe("signs described rather than named", () => {
  it("reads hand, foot and mouth disease told by its spots, with early neurological signs", () => {
    for (const q of ["孩子3岁，手上脚上长了小红点，嘴里也有泡，手有点抖", "孩子2岁，发烧第二天，嘴里有疱疹，手脚有疹子，今天老是一惊一惊的"]) expect(ids(q), q).toContain("hfmd_neuro_signs");
    expect(ids("孩子2岁，嘴里有疱疹，手脚有疹子，精神挺好")).toEqual([]);
  });
  it("reads vomiting even water as vomiting everything", () => {
    for (const q of ["宝宝4个月，一天吐了五六次，喝水也吐", "孩子3岁，肠胃炎，喝口水都吐"]) expect(ids(q), q).toContain("vomits_everything");
  });
});

describe("urgent-care causes found on the eighth dev batch (other wordings than its rows)", () => {
  it("a blocked nose that makes feeding or breathing hard is not breathing difficulty; distress beside it still is", () => {
    for (const q of ["宝宝1岁，鼻塞得厉害，喝奶的时候都喘不上气", "宝宝5个月，鼻子堵了，吃奶老憋气", "孩子2岁，感冒鼻子不通，睡觉喘不过气来"]) expect(ids(q), q).not.toContain("breathing_difficulty");
    for (const q of ["宝宝3个月，鼻塞，呼吸急促，喘不过气", "宝宝2个月，鼻塞，喘不过气，肋骨往里凹"]) expect(ids(q), q).toContain("breathing_difficulty");
    expect(ids("孩子3岁，鼻塞两天，今天喘不过气，嘴唇发紫")).toContain("cyanosis");
  });
  it("a tight throat told as 嗓子眼/喉咙眼 after a food, with a swollen mouth", () => {
    for (const q of ["孩子6岁，吃了花生以后嘴唇肿了，说嗓子眼发紧", "孩子5岁，吃芒果后嘴巴肿，说喉咙眼儿堵得慌", "孩子7岁，吃完虾脸肿了，呼吸呼哧呼哧的"]) expect(ids(q), q).toContain("anaphylaxis");
    expect(ids("孩子4岁，嗓子眼疼，有点咳嗽")).toEqual([]);
  });
  it("green vomit told as what came up turning green", () => {
    for (const q of ["宝宝3周，吐的奶有点发绿", "孩子刚满月，吐出来的东西偏绿", "宝宝2个月，吐的颜色发绿，黄绿黄绿的"]) expect(ids(q), q).toContain("bilious_vomiting");
    expect(ids("宝宝2个月，吐出来的奶是白色的奶块")).toEqual([]);
  });
  it("urgent advice told with the doctor first or with 让/给, and admission as care", () => {
    expect(careAdvice("需要医生立即评估。").level).toBe(2);
    expect(careAdvice("需要尽快让医生看看。").level).toBe(2);
    expect(careAdvice("这种情况需要住院治疗。").level).toBe(1);
    expect(careAdvice("一般不需要住院。").level).toBe(0);
    expect(careAdvice("立即停用，并咨询医生。").level).toBe(0);
  });
});

describe("time-critical presentations probed after the eighth dev batch (wordings written for the purpose)", () => {
  it("sudden loss of sight, not short sight", () => {
    for (const q of ["孩子7岁，突然说看不清东西，头很疼", "孩子10岁，刚才一下子眼前发黑，看不见了"]) expect(ids(q), q).toContain("acute_vision_loss");
    for (const q of ["孩子8岁，看书看久了眼睛看不清", "孩子4岁，近视，看不清黑板"]) expect(ids(q), q).toEqual([]);
  });
  it("a sharp object swallowed, not an injection or a prick", () => {
    for (const q of ["孩子2岁，把一根针吞下去了", "孩子3岁，吞了一块碎玻璃", "宝宝1岁半，好像吞了一个大头针"]) expect(ids(q), q).toContain("sharp_object_swallowed");
    for (const q of ["孩子发烧打了针，吃了退烧药", "孩子被针扎了一下手", "孩子3岁，用牙签剔牙"]) expect(ids(q), q).toEqual([]);
  });
  it("whooping cough under 6 months, not in an older child", () => {
    for (const q of ["宝宝2个月，咳嗽咳到脸发红，咳完有鸡鸣样回声", "宝宝3个月，痉咳，咳得脸发紫"]) expect(ids(q), q).toContain("young_infant_pertussis");
    expect(ids("孩子5岁，咳嗽一阵一阵的，咳完有鸡叫声")).not.toContain("young_infant_pertussis");
    // A cold's cough that brings up milk, or comes in bouts, is not whooping cough by itself.
    for (const q of ["宝宝4个月，感冒咳嗽，咳完就吐奶", "宝宝5个月，咳嗽一阵一阵的"]) expect(ids(q), q).toEqual([]);
  });
  it("a swollen neck with a mouth that will not open or drooling", () => {
    expect(ids("孩子5岁，脖子一侧肿得很大，张不开嘴，流口水")).toContain("upper_airway_obstruction");
    expect(ids("孩子5岁，脖子一侧淋巴结肿了，不疼")).toEqual([]);
  });
  it("a young infant not feeding well (WHO IMCI), not an older baby who takes a little less", () => {
    for (const q of ["宝宝出生3天，不怎么吃奶，老是睡", "宝宝20天，这两天吃奶少了很多"]) expect(ids(q), q).toContain("unable_to_feed");
    expect(ids("宝宝4个月，吃奶少了一点，精神好")).toEqual([]);
    expect(ids("宝宝40天，奶量比平时少了一半")).toContain("unable_to_feed");
    expect(ids("宝宝1个月，吃奶少了一点点，是不是天热")).toEqual([]);
    // Formula or a dummy refused is not poor feeding.
    for (const q of ["宝宝1个月，不太吃奶粉，只吃母乳", "宝宝1个月，不怎么吃奶嘴"]) expect(ids(q), q).toEqual([]);
  });
  it("croup noise at rest told as 呼呼声 with a barking cough like a duck's", () => {
    expect(ids("娃3岁，夜里咳起来像鸭子叫，喘气嗓子里有呼呼声，不动的时候也有")).toContain("upper_airway_obstruction");
    expect(ids("孩子3岁，睡着了打呼呼，安静")).toEqual([]);
  });
});

describe("Kawasaki signs before the fifth day of fever (a visit within 24 hours)", () => {
  it("reads fever with red cracked lips or a strawberry tongue and a second feature", () => {
    for (const q of ["孩子3岁，发烧3天，眼睛红，嘴唇很红干裂，手脚有点肿", "孩子2岁，发烧，舌头像草莓，手指脱皮"]) {
      expect(triage(q).redFlags.map((h) => `${h.id}:${h.action}`), q).toContain("kawasaki_signs:within_24h");
      expect(checkAnswer("多喝水，吃退烧药。", { question: q }).findings.map((f) => f.type), q).toEqual(["missing_timely_care"]);
    }
    for (const q of ["孩子3岁，嘴唇干裂，天气干燥，眼睛红", "孩子2岁，发烧，嘴唇干裂"]) expect(ids(q), q).toEqual([]);
  });
});

describe("breathing pauses: periodic breathing and a snoring child's pauses are not apnoea", () => {
  it("a pause of a few seconds without a colour change is periodic breathing", () => {
    for (const q of ["一个月的宝宝睡觉时呼吸有时候快有时候慢，偶尔停五六秒又接着喘，脸色一直红润", "宝宝1个月，睡着的时候呼吸一会儿快一会儿慢，偶尔停几秒", "宝宝1个月，睡觉时呼吸停了几秒又好了"]) expect(ids(q), q).toEqual([]);
    expect(ids("宝宝1个月，呼吸停了几秒，脸发紫")).toContain("apnea");
    expect(ids("宝宝2个月，偶尔停三四秒，嘴唇发白")).toContain("apnea");
  });
  it("a long pause is apnoea at any age, except a snoring child's", () => {
    for (const q of ["宝宝2个月，睡觉时呼吸停了二十秒", "宝宝1个月，睡着的时候停了十几秒没呼吸", "孩子5岁，刚才二十多秒没有呼吸"]) expect(ids(q), q).toContain("apnea");
    expect(ids("孩子3岁，睡觉打呼噜，憋气停了十几秒")).toEqual([]);
  });
});

describe("look-alikes that hid behind conditional advice (a banner is shown whatever the answer says)", () => {
  it("a mild food reaction with the lips not swollen and normal breathing is not anaphylaxis", () => {
    expect(ids("孩子吃了芒果以后嘴周围起了几个小红疙瘩，有点痒，嘴唇不肿，呼吸正常")).toEqual([]);
    expect(ids("孩子5岁，吃虾后嘴唇肿了，呼吸有点急")).toContain("anaphylaxis");
  });
  it("a diabetic child who is well with ketones negative is not ketoacidosis; thirst and weight loss in a well child is a visit within 24 hours", () => {
    for (const q of ["孩子1型糖尿病，过生日吃了蛋糕，血糖测了13，尿酮阴性，精神很好，没吐", "孩子9岁，1型糖尿病，感冒了有点不想吃饭，血糖11左右，酮体阴性，精神还可以"]) expect(ids(q), q).toEqual([]);
    expect(ids("孩子有糖尿病，尿酮两个加号，肚子疼")).toContain("diabetic_ketoacidosis");
    const well = triage("孩子6岁，最近两周喝水特别多，一晚上起来尿三四次，原来不尿床现在尿床了，好像也瘦了，但精神还行");
    expect(well.redFlags.map((h) => `${h.id}:${h.action}`)).toEqual(["new_onset_diabetes:within_24h"]);
    expect(ids("孩子9岁，尿多、口渴半个月，今天呕吐，呼吸有烂苹果味")).toContain("diabetic_ketoacidosis");
  });
  it("a sign supposed with 万一/假如 is a question about what to do, not a child it is happening to", () => {
    for (const q of ["家里遥控器有纽扣电池，万一孩子吞了该怎么办？想提前知道", "假如孩子抽搐了该怎么办"]) expect(ids(q), q).toEqual([]);
    expect(ids("孩子刚才抽搐了，万一再抽怎么办")).toContain("convulsion");
    expect(ids("孩子2岁，刚才吞了一颗纽扣电池，万一卡住怎么办")).toContain("poisoning");
  });
});

describe("more lay wordings of emergencies (written for the purpose)", () => {
  it("a fall with repeated vomiting, the head not named, and a blow told as 头被砸", () => {
    for (const q of ["孩子2岁，从桌子上摔下来后吐了三四回，一直想睡", "孩子4岁，从床上掉下来，之后一直吐", "孩子10岁，头被砸了，耳朵里流出清水一样的东西"]) expect(ids(q), q).toContain("head_injury_warning");
    for (const q of ["孩子3岁，摔了一跤，膝盖破了，吐了一次", "孩子5岁，吃坏肚子吐了三次，昨天摔了一跤"]) expect(ids(q), q).toEqual([]);
  });
  it("a swollen belly with vomiting under 3 months however told; a cat-like cry; a floppy baby", () => {
    expect(ids("宝宝3周，肚子胀得鼓鼓的，吐黄水，不拉屎")).toContain("neonatal_abdominal_distension");
    expect(ids("宝宝5个月，肚子胀，吐奶")).toEqual([]);
    expect(ids("宝宝3个月，哭起来嗓子像猫叫，软软的没劲")).toEqual(expect.arrayContaining(["abnormal_cry", "lethargy"]));
  });
});

describe("causes found on the ninth dev batch (other wordings than its rows)", () => {
  const care = (q: string, a: string) => checkAnswer(a, { question: q }).findings.filter((f) => f.type === "missing_urgent_care" || f.type === "missing_timely_care").map((f) => f.type);
  it("a flat round thing from a remote or a watch is a button battery", () => {
    for (const q of ["两岁的孩子好像把手表里那种亮晶晶的小圆片咽下去了", "孩子3岁，把遥控器里面扁扁的圆圆的东西吞了"]) expect(ids(q), q).toContain("poisoning");
    expect(ids("孩子3岁，把遥控器摔坏了")).toEqual([]);
  });
  it("a red face while crying is not breathing difficulty; a blue one while choking is", () => {
    expect(ids("宝宝3周，哭起来脸憋得通红，肚子咕噜咕噜，每天傍晚哭一阵")).toEqual([]);
    expect(ids("孩子3岁，吃东西噎住了，憋得脸发紫")).toContain("breathing_difficulty");
  });
  it("a doctor's verdict told after the sign means the child has been seen (convention of the third batch on)", () => {
    expect(care("宝宝20天，有点发烧，医生说可能是感染，要吃什么药", "多喂奶。")).toEqual([]);
    expect(care("宝宝20天，医生说是湿疹，今天发烧38.5度", "多喂奶。")).toEqual(["missing_urgent_care"]);
  });
});

describe("swallowed coins against batteries, magnets and sharp objects", () => {
  it("a symptomless coin is a visit within 24 hours; a coin with drooling, a battery, a magnet or a needle is an emergency", () => {
    const level = (q: string) => triage(q).action;
    expect(level("孩子3岁，吞了一枚一元硬币，现在没什么不舒服")).toBe("within_24h");
    expect(level("孩子2岁，把游戏币吞下去了，玩得挺好")).toBe("within_24h");
    expect(level("孩子3岁，吞了一个硬币，一直流口水，咽不下东西")).toBe("emergency");
    for (const q of ["孩子3岁，吞了一枚纽扣电池", "孩子4岁，吞了两颗磁力珠", "孩子2岁，把一根针吞下去了"]) expect(level(q), q).toBe("emergency");
    expect(ids("孩子5岁，拿硬币玩，没有吞")).toEqual([]);
  });
});

describe("causes found on the eighth blind batch once opened (other wordings than its rows)", () => {
  const level = (q: string) => triage(q).action;
  it("a blunt object lodged in the oesophagus (drooling, food coming back, vomiting, neck or chest pain) is an emergency, told with or without an age", () => {
    for (const q of ["孩子3岁吞了个一块钱硬币，现在一吃东西就吐，喊胸口疼", "孩子吞了一颗弹珠，咽不下东西，口水直流", "宝宝吞了个纽扣，喊喉咙疼，不肯吃饭", "孩子吞了一颗纽扣，现在喝水都吐"]) expect(level(q), q).toBe("emergency");
    expect(triage("孩子吞了一颗弹珠，咽不下东西，口水直流").redFlags.map((h) => h.id)).toContain("esophageal_foreign_body");
    expect(level("孩子吞了硬币，精神好，能吃能喝，没有流口水")).toBe("within_24h");
    expect(level("孩子吞了硬币，没有吐，也不疼，吃饭正常")).toBe("within_24h");
    const f = checkAnswer("硬币一般能自己拉出来，多吃点青菜，注意看大便。", { question: "孩子4岁吞了个游戏币，一直流口水，吃饭就吐出来" }).findings.map((x) => x.type);
    expect(f).toEqual(["missing_urgent_care"]);
  });
  it("a medicine the child is told to take, or a question about medicines in general, is not an ingestion", () => {
    for (const q of ["儿子13岁，肾炎后血压高，医生说要吃降压药", "孩子10岁，高血压，需要吃降压药吗", "孩子12岁，一直在吃降压药，能打疫苗吗", "哪些药误服最危险", "误服什么药最危险", "预防孩子误服药物要注意什么"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["孩子刚才吃了奶奶的降压药", "孩子偷吃了两片降压药", "孩子误服了爷爷的降糖药", "孩子误服药物怎么办"]) expect(ids(q), q).toContain("poisoning");
  });
  it("a harmless tablet swallowed by mistake is not poisoning; a dangerous medicine beside it, or a whole bottle, still is", () => {
    for (const q of ["孩子误服了一片维生素C", "孩子误吃了两颗钙片", "宝宝不小心吃了一袋益生菌"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["宝宝误服了一片维生素C和妈妈的降压药", "孩子误服了维生素C和布洛芬", "孩子不小心吃了一整瓶维生素C"]) expect(ids(q), q).toContain("poisoning");
    for (const q of ["孩子4岁，把姐姐的维生素片吃了两片", "孩子4岁，把哥哥的钙片吃了三片"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["孩子4岁，把爷爷的降压片吃了一片", "孩子3岁，把妈妈的安眠药吃了两片"]) expect(ids(q), q).toContain("poisoning");
  });
  it("a family member's crisps, milk tablets or meatballs are food, not their medicine", () => {
    for (const q of ["孩子2岁，吃了妈妈的薯片，拉肚子了", "孩子2岁，吃了姐姐的奶片", "孩子2岁，吃了爸爸的肉丸"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["孩子3岁，吃了奶奶的药片", "孩子3岁，吃了奶奶的降压片"]) expect(ids(q), q).toContain("poisoning");
  });
});

describe("petechiae in a well, afebrile child and a sunken fontanelle told alone (a visit the same day)", () => {
  const level = (q: string) => triage(q).action;
  it("a few spots in a child who is well and has no fever ask for a blood count today; with fever, or nothing said of fever, they stay the emergency", () => {
    for (const q of ["孩子5岁，不发烧，精神很好，腿上有几个出血点", "孩子4岁，没发烧，玩得很好，身上有几个小出血点，按压不褪色", "孩子3岁，精神挺好的，也没发烧，就是脖子上有几个红色小点，按了不褪色"]) expect(level(q), q).toBe("within_24h");
    for (const q of ["孩子发烧39度，身上出现出血点，精神差", "孩子2岁，发烧，身上有瘀点", "孩子3岁，身上出了好多出血点"]) expect(level(q), q).toBe("emergency");
    const f = checkAnswer("可能是蚊虫叮咬，不用管。", { question: "孩子6岁，体温正常，精神也挺好，小腿上有几个瘀点" }).findings.map((x) => x.type);
    expect(f).toEqual(["missing_timely_care"]);
  });
  it("a sunken fontanelle alone is a same-day visit; with diarrhoea, vomiting or another dehydration sign it is the emergency", () => {
    for (const q of ["宝宝5个月，囟门有点凹陷", "宝宝6个月，囟门凹下去了，精神还好，吃奶正常"]) expect(level(q), q).toBe("within_24h");
    for (const q of ["宝宝3个月，拉肚子一天十几次，囟门凹陷", "宝宝8个月，吐了一天，囟门也有点凹", "宝宝4个月，前囟凹陷，哭没眼泪"]) expect(level(q), q).toBe("emergency");
    const care = (a: string) => checkAnswer(a, { question: "宝宝5个月，囟门有点凹陷" }).findings.map((x) => x.type);
    expect(care("今天去看一下医生，查一下是不是缺水。")).toEqual([]);
    expect(care("今天带去看看大夫。")).toEqual([]);
    expect(care("不用看医生，多喝奶就行。")).toEqual(["missing_timely_care"]);
  });
});

describe("a start in sleep asked about as a fit (benign sleep myoclonus)", () => {
  it("is not a convulsion; a fit told as happening, or jerking with staring in a febrile child, still is", () => {
    for (const q of ["宝宝8个月，睡觉的时候手脚突然抖一下，是不是抽搐", "宝宝3个月，刚睡着时身体一惊一惊的，算不算惊厥"]) expect(ids(q), q).not.toContain("convulsion");
    for (const q of ["宝宝8个月，睡觉的时候手脚突然抖一下，今天发烧抽搐了", "宝宝8个月，发烧，刚才手脚一直抖，眼睛发直，是不是抽搐"]) expect(ids(q), q).toContain("convulsion");
  });
});

describe("breathlessness look-alikes: after running and gone with rest; a red face from choking on a feed", () => {
  it("are not breathing difficulty; breathlessness that stays, asthma now, a blue face or a coughing fit still are", () => {
    for (const q of ["孩子5岁，跑完步喘得厉害，歇一会就好了", "孩子6岁，体育课跑步后上气不接下气，休息一下就没事了", "宝宝2个月，吃奶时总是呛，呛完脸憋得通红"]) expect(ids(q), q).not.toContain("breathing_difficulty");
    for (const q of ["孩子5岁，跑完步喘得厉害，歇了半小时还是喘不上气", "孩子5岁，哮喘，今天喘得厉害", "宝宝2个月，吃奶时呛了，憋得发紫", "宝宝3个月，咳嗽一阵一阵的，咳得脸憋得通红"]) expect(ids(q), q).toContain("breathing_difficulty");
  });
});

describe("lips purple from the weather", () => {
  it("are not cyanosis; purple lips with breathlessness in the cold still fire the breathing sign", () => {
    expect(ids("孩子6岁，嘴唇干裂发紫，天冷")).not.toContain("cyanosis");
    expect(ids("孩子6岁，天气冷，在外面玩了一下午，嘴唇有点紫")).not.toContain("cyanosis");
    expect(ids("孩子2岁，嘴唇发紫，喘不上气")).toContain("cyanosis");
    expect(ids("天冷，孩子2岁，嘴唇发紫，喘不上气")).toContain("breathing_difficulty");
  });
});

describe("a swollen mouth with a changed voice after an allergen", () => {
  it("is anaphylaxis (the airway is involved); a swollen mouth with the voice unchanged is not", () => {
    expect(ids("孩子3岁，吃了花生过敏，嘴巴肿，说话声音变了")).toContain("anaphylaxis");
    expect(ids("孩子3岁，吃了芒果嘴肿了，声音没变，呼吸正常")).not.toContain("anaphylaxis");
  });
});

describe("urgent advice whose urgency comes in a clause of its own after the place of care", () => {
  const care = (a: string) => checkAnswer(a, { question: "孩子3岁，发烧40度，刚才抽搐了一分钟" }).findings.map((x) => x.type);
  it("counts 去医院…，现在就去; not when the place is put off or the urgent act is something else", () => {
    expect(care("第一次抽搐一定要去医院查清楚原因，现在就去。")).toEqual([]);
    expect(care("要去医院看看，马上去。")).toEqual([]);
    expect(care("明天去医院，现在就去药店买退烧药。")).toEqual(["missing_urgent_care"]);
    expect(care("不用去医院，现在就去买药。")).toEqual(["missing_urgent_care"]);
  });
});

describe("a child absorbed in something who does not answer", () => {
  it("is not unconscious (daydreaming in class, a screen); unresponsive with fever or after a fall still is", () => {
    for (const q of ["孩子5岁，老师说他上课总是发呆，叫他没反应，是不是走神", "孩子4岁，看电视的时候叫他没反应"]) expect(ids(q), q).not.toContain("unconscious");
    for (const q of ["孩子4岁，发烧40度，叫他没反应", "孩子3岁，摔了头，叫他没反应"]) expect(ids(q), q).toContain("unconscious");
  });
});

describe("jaundice that lasts past the newborn weeks", () => {
  it("is still a visit within 24 hours up to two months (prolonged jaundice is tested), not after", () => {
    expect(triage("宝宝28天，皮肤有点黄，吃奶好").redFlags.map((h) => `${h.id}:${h.action}`)).toEqual(["neonatal_jaundice:within_24h"]);
    expect(ids("宝宝3个月，皮肤有点黄")).not.toContain("neonatal_jaundice");
    const care = (q: string) => checkAnswer("多晒太阳。", { question: q }).findings.map((x) => x.type);
    expect(care("宝宝20天，黄疸13，医生建议暂不打疫苗")).toEqual([]);
    expect(care("宝宝20天，黄疸13，医生说小宝宝不能乱吃药")).toEqual(["missing_timely_care"]);
  });
});

describe("heart rate and capillary refill given as numbers (NICE NG143 amber: a visit within 24 hours)", () => {
  const action = (q: string) => triage(q).redFlags.filter((h) => h.id === "tachycardia" || h.id === "slow_capillary_refill").map((h) => `${h.id}:${h.action}`);
  it("reads a fast pulse by age band", () => {
    expect(action("宝宝10个月，发烧，心率180次每分钟")).toEqual(["tachycardia:within_24h"]);
    expect(action("孩子4岁，发烧39度，心跳一分钟150下")).toEqual(["tachycardia:within_24h"]);
    expect(action("孩子1岁半，脉搏一百六十多")).toEqual(["tachycardia:within_24h"]);
    for (const q of ["孩子4岁，发烧，心率120", "宝宝8个月，心率150", "孩子8岁，心跳150"]) expect(action(q), q).toEqual([]);
  });
  it("reads a slow capillary refill, not a quick one", () => {
    expect(action("孩子2岁，发烧，按指甲盖发白后3秒多才恢复红色")).toEqual(["slow_capillary_refill:within_24h"]);
    expect(action("孩子3岁，毛细血管再充盈时间4秒")).toEqual(["slow_capillary_refill:within_24h"]);
    expect(action("孩子2岁，发烧，按指甲2秒就红了")).toEqual([]);
    const f = checkAnswer("多喝水。", { question: "宝宝10个月，发烧，心率180次每分钟" }).findings.map((x) => x.type);
    expect(f).toEqual(["missing_timely_care"]);
  });
});

describe("causes found on the ninth blind batch once opened (other wordings than its rows)", () => {
  const care = (q: string, a: string) => checkAnswer(a, { question: q }).findings.map((x) => x.type);
  it("choking while eating followed by a cough, wheeze or noisy breathing that stays is an inhaled foreign body", () => {
    for (const q of ["孩子2岁，吃东西的时候噎了一下，现在吸气有响声", "宝宝吃饭呛到了，现在一直咳个不停", "孩子4岁吃零食呛了，之后一直喘", "孩子吃瓜子时呛了，之后老是咳", "孩子吃饭时呛了一下，之后老是咳", "孩子吃饭时卡了一下，之后有点喘", "宝宝吃饼干呛到了，咳嗽不停", "孩子吃饭时呛了一下，现在呼吸有声音"]) expect(ids(q), q).toContain("foreign_body_aspiration");
    for (const q of ["孩子吃饭时呛了一下，咳了几声就好了", "孩子有哮喘，吃饭时偶尔呛一下", "孩子吃饭慢，有点喘", "2岁宝宝喝水呛了一下，咳了两声就好了", "孩子吃饼干噎了一下，喝口水就好了", "孩子吃饭呛了一下，现在好了，偶尔咳一声", "孩子最近老是咳，吃饭也不好", "孩子吃东西老卡，是不是喉咙有问题，最近总咳嗽", "孩子吃饭时容易呛，最近一直咳嗽", "孩子感冒一直咳，吃饭时也呛了一下", "宝宝吃奶时呛奶，之后一直咳", "孩子吃火锅时被辣呛到了，一直咳"]) expect(ids(q), q).not.toContain("foreign_body_aspiration");
    expect(care("孩子3岁，吃饭时被呛到，之后一直喘，吸气有声音", "拍拍背，多喝水，观察一下。")).toEqual(["missing_urgent_care"]);
    expect(care("孩子3岁，吃饭时被呛到，之后一直喘，吸气有声音", "可能是异物吸入，立即去急诊。")).toEqual([]);
  });
  it("a silica-gel desiccant is harmless; quicklime and iron-powder absorbers bitten open or eaten are poisoning", () => {
    for (const q of ["两岁孩子吃了鞋盒里的干燥剂，包装写着silica gel", "宝宝咬开了一包干燥剂，上面印着SILICA GEL", "孩子吃了干燥剂，包装上写着硅胶", "孩子吃了几粒干燥剂，是透明的小珠子"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["孩子把饼干里的干燥剂咬破了，是生石灰的", "宝宝偷吃了干燥剂，袋子上写着脱氧剂", "孩子吃了脱氧剂里面的黑色粉末", "宝宝吃了一包石灰干燥剂", "孩子吃了干燥剂，白色粉末", "孩子吃了一包干燥剂，不知道是什么的"]) expect(ids(q), q).toContain("poisoning");
  });
  it("a handful of vitamin C or calcium chewables is harmless; iron in them, a dangerous medicine beside them or a whole bottle is not", () => {
    for (const q of ["孩子5岁，偷吃了好几颗维C咀嚼片", "孩子偷吃了三四颗钙片", "孩子误吃了两片维生素C泡腾片"]) expect(ids(q), q).not.toContain("poisoning");
    for (const q of ["孩子偷吃了好几颗维C铁咀嚼片", "孩子偷吃了好几颗维C咀嚼片和一颗铁剂", "孩子偷吃了好几颗维C和爸爸的降压药", "宝宝吃了一整瓶维C片", "孩子偷吃了好几颗妈妈的补铁片"]) expect(ids(q), q).toContain("poisoning");
  });
  it("a fish bone or bone chip stuck in the throat is a sharp foreign body (emergency); one swallowed or coughed up, a prevention question or a pricked hand is not", () => {
    for (const q of ["宝宝被鱼刺卡住了喉咙，咽东西疼", "孩子吃鱼卡了刺，一直说嗓子疼", "孩子5岁，喉咙被鱼刺卡了，喝了醋还是疼", "孩子吃鸡肉时碎骨头卡在嗓子里了", "孩子鱼刺卡喉，怎么处理比较好"]) expect(ids(q), q).toContain("fish_bone_lodged");
    for (const q of ["孩子被鱼刺卡了一下，后来咽下去了，现在不疼了", "怎么防止孩子被鱼刺卡住", "孩子被鱼刺扎了手", "孩子吃鱼，鱼刺吐出来了", "我昨天被鱼刺卡了，孩子发烧38度"]) expect(ids(q), q).not.toContain("fish_bone_lodged");
    expect(care("孩子5岁，被鱼刺卡住了，嗓子疼", "可以吞一口米饭或者喝点醋把鱼刺压下去。")).toEqual(["missing_urgent_care"]);
    expect(care("孩子5岁，被鱼刺卡住了，嗓子疼", "不要喝醋吞饭团，马上去医院耳鼻喉科取出来。")).toEqual([]);
  });
  it("a red face from choking on a feed or a spoonful, told after a comma, is not breathing difficulty; a blue face or breathlessness that stays still is", () => {
    for (const q of ["宝宝9个月，吃米糊时呛到，脸憋得通红，咳出来就好了", "宝宝2个月，喝奶呛了，小脸憋得通红"]) expect(ids(q), q).toEqual([]);
    expect(ids("宝宝呛奶后，脸憋得发紫")).toContain("cyanosis");
    expect(ids("宝宝呛到了，一直咳，脸憋得通红，喘不上气")).toContain("breathing_difficulty");
  });
  it("an age told as nearly N months before the child word, and jaundice told as still yellow", () => {
    expect(months("快三个月的宝宝发烧38.5")).toEqual([2.5]);
    expect(months("将近两个月的婴儿")).toEqual([1.5]);
    expect(months("咳嗽快三个月的孩子")).toEqual([]);
    expect(ids("快两个月的宝宝，发烧38.2度")).toEqual(["young_infant_fever"]);
    for (const q of ["出生40天，皮肤还是黄", "宝宝一个多月了，皮肤还是黄黄的", "宝宝出生20天，脸和眼睛还是黄的"]) expect(ids(q), q).toContain("neonatal_jaundice");
    for (const q of ["宝宝3个月，皮肤还是黄", "宝宝20天，大便还是黄的", "宝宝20天，鼻涕还是黄的"]) expect(ids(q), q).not.toContain("neonatal_jaundice");
  });
});

describe("loader errors for compositional rules", () => {
  const dir = defaultSafetyDir();
  const variant = (edit: (data: any) => void): string => {
    const d = tempDir("pedgpt-safety-");
    for (const f of ["drugs.json", "classes.json", "growth.json"]) writeFileSync(join(d, f), readFileSync(join(dir, f)));
    const data = JSON.parse(readFileSync(join(dir, "redflags.json"), "utf8"));
    edit(data);
    writeFileSync(join(d, "redflags.json"), JSON.stringify(data, null, 2));
    return d;
  };
  const error = (d: string) => {
    try {
      loadSafetyKnowledge({ dir: d });
    } catch (err) {
      expect(err).toBeInstanceOf(SafetyKnowledgeError);
      return (err as Error).message;
    }
    throw new Error("expected the load to fail");
  };
  it("names the rule, the field and what was expected", () => {
    expect(error(variant((d) => { d.compositions[0].all.push("no_such_family"); }))).toMatch(/compositions\[0\] \(id "neck_stiff_with_fever"\) field all\[2\]: unknown word family "no_such_family"/);
    expect(error(variant((d) => { d.compositions[1].flag = "no_such_flag"; }))).toMatch(/compositions\[1\].*field flag: unknown red flag "no_such_flag"/);
    expect(error(variant((d) => { d.lexicon.neck.patterns = ["(unclosed"]; }))).toMatch(/lexicon\.neck field patterns\[0\]: invalid regular expression/);
    expect(error(variant((d) => { d.compositions[2].citation = ["NOPE"]; }))).toMatch(/field citation: unknown source key "NOPE"/);
    expect(error(variant((d) => { d.compositions[1].maxGap = 3; }))).toMatch(/field maxGap: a gap needs at least two families/);
    expect(error(variant((d) => { d.compositions[0].within = "paragraph"; }))).toMatch(/compositions\[0\] \(id "neck_stiff_with_fever"\) field within/);
    expect(error(variant((d) => { d.redFlags.find((f: any) => f.id === "cyanosis").unless = ["nope"]; }))).toMatch(/redFlags\[\d+\] \(id "cyanosis"\) field unless\[0\]: unknown word family "nope"/);
    expect(error(variant((d) => { d.composedFlags.push({ ...d.composedFlags[0], id: "orphan" }); }))).toMatch(/composedFlags\[\d+\] \(id "orphan"\): expected a composition naming this flag/);
    expect(error(variant((d) => { d.lexicon.unused_family = { words: ["某词"] }; }))).toMatch(/lexicon\.unused_family: no composition or flag names this word family/);
    expect(error(variant((d) => { d.redFlags.find((f: any) => f.id === "breathing_difficulty").unlessAround = ["nope"]; }))).toMatch(/redFlags\[\d+\] \(id "breathing_difficulty"\) field unlessAround\[0\]: unknown word family "nope"/);
  });
});

describe("time-critical presentations told the way parents talk, after the eleventh batch was opened (wordings written for the purpose)", () => {
  const urgent = (q: string) => checkAnswer("先在家观察看看。", { question: q }).findings.some((f) => f.type === "missing_urgent_care");
  it("a harmless thing named beside a dangerous one does not cancel the poisoning", () => {
    for (const q of ["孩子两岁，纸巾和洁厕灵一起舔了，嘴巴红", "孩子三岁，饼干和爸爸的降压药都吃了几颗", "宝宝把橡皮泥和一颗纽扣电池都塞嘴里吞了", "孩子误食了仓鼠粮和一点洗衣液"]) expect(ids(q), q).toContain("poisoning");
    for (const q of ["孩子两岁，纸巾舔了一下", "孩子把牙膏吃了一点", "孩子误食了一点橡皮泥", "孩子把零食包装里的硅胶干燥剂咬开吃了一点"]) expect(ids(q), q).not.toContain("poisoning");
  });
  it("an adult's medicine found opened with tablets missing where the child played", () => {
    expect(ids("闺女3岁，在爷爷屋里玩，降压药瓶打开了，少了几片氨氯地平，现在孩子正常玩")).toContain("poisoning");
    expect(ids("孩子拿着奶奶的安眠药瓶玩，数了数少了两片")).toContain("poisoning");
    expect(ids("奶奶的降压药快吃完了，还剩几片")).toEqual([]);
  });
  it("a newborn who feeds poorly, sleeps through feeds, stops breathing or turns blue", () => {
    for (const q of ["刚生下来十来天的娃，奶都不咋吃了，光睡觉", "娃生下来才一个礼拜，喂奶嘬两下就不嘬了", "宝宝半个月大，今天吃奶特别少，只吃了平时一半都不到", "孩子生下来18天，今天特别能睡，喂奶都弄不醒", "半个月的宝宝睡着睡着就憋住不喘气，脸都白了", "宝宝出生十来天，刚才突然不出气了，拍了拍才缓过来"]) expect(urgent(q), q).toBe(true);
    for (const q of ["宝宝半个月，黄疸消了，吃奶很好", "宝宝半个月，睡觉时呼吸停个两三秒又接上，脸色红润", "宝宝两个月，吃奶吃得很好，一次能吃120毫升", "孩子累了，喂奶都弄不醒，睡得香"]) expect(urgent(q), q).toBe(false);
    expect(months("半个月的宝宝吐奶")).toEqual([0.5]);
    expect(months("宝宝半个月大")).toEqual([0.5]);
    expect(months("孩子3岁，咳嗽半个月了")).toEqual([36]);
  });
  it("an infant's shrill or endless cry, intussusception and a dry nappy", () => {
    for (const q of ["宝宝6个月，一直尖叫着哭，声音很尖，哄不住，哭了三个多小时", "八个月宝宝哭得声音尖尖的，怎么抱都不停", "孩子10个月，哭起来尖声怪叫的，止不住", "十个月的宝宝隔一会就大哭一场，又吐，脸色发白", "宝宝7个月，阵阵哭闹，肚子里摸到一条硬硬的像香肠", "宝宝8个月又吐又拉，从昨晚到现在尿布都是干的"]) expect(urgent(q), q).toBe(true);
    for (const q of ["孩子5岁说话声音很尖，跟别的小朋友不一样", "宝宝7个月，晚上哭了一会儿，抱一抱就好了", "宝宝4个月肠绞痛，傍晚哭一个小时，抱着走走就好", "孩子两岁，尿不湿一直是干爽的", "宝宝9个月，一阵一阵的咳嗽"]) expect(urgent(q), q).toBe(false);
  });
  it("a toddler's choke, head injury and a breath-holding spell", () => {
    expect(urgent("孩子吃瓜子卡了一下，咳得脸通红，现在还在咳")).toBe(true);
    expect(urgent("孩子摔了一跤后脑勺着地，哭完就吐，精神不好")).toBe(true);
    expect(urgent("孩子打球被撞到头，之后说话不清楚")).toBe(true);
    expect(urgent("孩子头磕到桌角，耳朵里流出水来")).toBe(true);
    expect(urgent("俺家大孙子6岁，掉水里了，捞上来的时候不咋出气，现在迷迷瞪瞪的")).toBe(true);
    for (const q of ["孩子两岁，头磕到桌角，起了个小包，哭了几声就去玩了", "孩子吃饭的时候呛了一下，咳了两声就好了", "宝宝哭得背过气去，脸憋得发紫，一会儿就好了", "孩子一岁半，一哭就憋气，嘴唇发紫，几秒就缓过来了", "孩子三岁，早上吐了一回，之后能吃能玩"]) expect(urgent(q), q).toBe(false);
  });
  it("a school child's testis, new diabetes decompensating and a throat closing after food", () => {
    expect(urgent("儿子10岁，半夜说小鸡鸡下面一个蛋疼得厉害")).toBe(true);
    expect(urgent("孩子九岁，这段时间特别能喝水，瘦了好多，今天蔫了还吐")).toBe(true);
    expect(urgent("孩子吃芒果后嗓子像被堵住了，呼吸呼哧呼哧的")).toBe(true);
    for (const q of ["孩子十岁，吃鸡蛋，说一个蛋就饱了", "孩子10岁，最近瘦了，挑食", "孩子嗓子有痰堵着，咳不出来"]) expect(urgent(q), q).toBe(false);
  });
  it("injuries and emergencies told with no age and in lay words", () => {
    for (const q of ["娃摔了一跤，手腕肿得老高，歪了", "孩子被邻居家的狗咬了手，咬穿了", "孩子烤火的屋里睡了一晚，早上头疼想吐", "孩子突然一边手脚不会动了，嘴也歪了", "孩子发烧，浑身一抽一抽的，牙咬得紧紧的", "孩子咳嗽像小狗叫，吸气的时候嗓子里呼呼响，睡觉也响", "宝宝肚脐旁边鼓出个包，按不回去了，一直哭", "男孩小鸡鸡的皮翻上去回不来了，肿成一圈"]) expect(urgent(q), q).toBe(true);
    for (const q of ["孩子手腕扭了一下，没歪，能动", "孩子哭得浑身一抽一抽的，哄了一会就好了", "孩子在客厅烤火，玩得很好", "孩子被狗咬了一下，没咬穿，就红了一点", "宝宝两个月，肚脐眼鼓出来，一哭就大，有时吐奶", "孩子睡觉也打呼噜，呼呼响", "宝宝4个月，感冒了，鼻子呼噜呼噜的，吃奶正常，呼吸不快，睡觉也安稳", "孩子包皮有点红，能翻上去也能翻回来", "孩子晚上咳嗽像小狗叫，白天好了，安静的时候没声音"]) expect(urgent(q), q).toBe(false);
  });
  it("a choke that takes the voice, a long fit, a bone sticking out, a pedestrian hit by a car, hives with a hoarse voice", () => {
    for (const q of ["娃吃糖卡嗓子眼了，说不出话，一直抓脖子", "孩子发烧抽了快十分钟了，还没停", "孩子骑自行车摔了，胳膊肘那里骨头凸出来一块", "孩子被车撞了一下，看着没外伤，但说肚子疼，脸色不好", "孩子身上起了好多风团，眼睛肿了，嗓子哑了，喘"]) expect(urgent(q), q).toBe(true);
    for (const q of ["孩子吃糖卡了一下，咳出来就好了", "孩子腿抽筋了一分钟，跑步后", "孩子被玩具车撞了一下脚", "孩子被电动车刮了一下，擦破点皮", "孩子起了风团，痒，没有别的不舒服", "孩子哮喘，最近起了点荨麻疹，不喘", "孩子打嗝抽了好几分钟", "孩子锁骨那里有块骨头凸出来一点，一直这样，不疼", "孩子喝水呛了一下，没事了"]) expect(urgent(q), q).toBe(false);
  });
  it("a listless ill child, a collapse, bleeding no hand can hold, pain that keeps a child down, a fingertip lost", () => {
    for (const q of ["娃烧了两天，今天打蔫了，叫他也不咋理人", "孩子发烧，一直哼哼唧唧，没精打采，眼睛都不想睁", "娃突然倒在地上，人事不知", "孩子头上磕了个口子，血直往外冒，捂都捂不住", "孩子说肚子疼，疼的时候蹲在地上起不来，已经疼了一上午", "孩子被门挤了手指，指头尖掉了一块"]) expect(urgent(q), q).toBe(true);
    for (const q of ["孩子发烧38度，精神还行，叫他也会理人", "孩子困了，眼睛都不想睁，想睡觉", "孩子鼻子出血，捏了一下就止住了", "孩子肚子疼，蹲了一会儿就好了，能跑能跳", "孩子手指甲掉了一块，不疼", "孩子玩游戏太入迷，叫他也不咋理人"]) expect(urgent(q), q).toBe(false);
  });
  it("a newborn girl's pseudo-menses and urate crystals in the nappy are not blood in the stool", () => {
    expect(ids("女宝出生一周，尿布上有一点血性分泌物，吓死了")).toEqual([]);
    expect(ids("宝宝出生5天，尿布上有砖红色的东西")).toEqual([]);
    expect(ids("宝宝两个月，尿布上有血丝，大便稀")).toContain("blood_in_stool");
  });
  it("a fontanelle told as the soft spot on top of the head, chest indrawing told as 一陷一陷", () => {
    expect(urgent("宝宝七个月，头顶上软软那块胀起来了，一直吐")).toBe(true);
    expect(urgent("孩子咳了两天，今天呼吸的时候胸口下面一陷一陷的")).toBe(true);
    for (const q of ["宝宝头顶软软的，正常吗，精神很好", "宝宝三个月，囟门摸着软软平平的", "宝宝两个月，吃奶的时候奶阵来了，奶喷出来呛到了，咳两下就好"]) expect(urgent(q), q).toBe(false);
  });
  it("daytime tiredness after poor nights is not lethargy; tiredness in an ill child still is", () => {
    expect(ids("宝宝最近上一年了，记忆力下降了很多，晚上睡眠不好，白天精神很差。7岁孩子记忆力差怎么办？")).toEqual([]);
    expect(ids("孩子昨晚没睡好，今天发烧，精神很差")).toContain("lethargy");
    expect(ids("孩子发烧两天，精神很差，一直想睡")).toContain("lethargy");
  });
});
