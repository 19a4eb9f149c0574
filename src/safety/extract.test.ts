import { describe, expect, it } from "vitest";
import { extractAges, extractAmounts, extractFever, extractFrequency, extractStrengths, extractWeights } from "./extract.js";
import { parseNumber } from "./text.js";

const amounts = (t: string) => extractAmounts(t).map((a) => ({ text: a.text, lo: a.lo, hi: a.hi, unit: a.unit, q: a.qualifier, max: a.isMax }));

describe("numbers", () => {
  it("reads Arabic, Chinese and fractional numbers", () => {
    expect(parseNumber("2.5")).toBe(2.5);
    expect(parseNumber("十二")).toBe(12);
    expect(parseNumber("两")).toBe(2);
    expect(parseNumber("一百二十")).toBe(120);
    expect(parseNumber("半")).toBe(0.5);
    expect(parseNumber("1/2")).toBe(0.5);
    expect(parseNumber("abc")).toBeNaN();
  });
});

describe("dose amounts", () => {
  it("parses units: mg/kg, 毫升, ml, mg, g, 片, 袋", () => {
    expect(amounts("一次10mg/kg")).toEqual([{ text: "10mg/kg", lo: 10, hi: 10, unit: "mg/kg", q: "dose", max: false }]);
    expect(amounts("每次5 毫升")[0]).toMatchObject({ lo: 5, unit: "ml", q: "dose" });
    expect(amounts("2.5ml")[0]).toMatchObject({ lo: 2.5, unit: "ml", q: "none" });
    expect(amounts("每次0.25g")[0]).toMatchObject({ lo: 250, unit: "mg" });
    expect(amounts("每次1袋")[0]).toMatchObject({ lo: 1, unit: "sachet" });
    expect(amounts("每次一粒")[0]).toMatchObject({ lo: 1, unit: "capsule" });
  });
  it("reads 半片, 一片半 and 1/2片", () => {
    expect(amounts("每次半片")[0]).toMatchObject({ lo: 0.5, unit: "tablet" });
    expect(amounts("每次一片半")[0]).toMatchObject({ lo: 1.5, unit: "tablet" });
    expect(amounts("每次1/2片")[0]).toMatchObject({ lo: 0.5, unit: "tablet" });
  });
  it("reads ranges with -, ~, 至 and 到", () => {
    for (const t of ["5-10mg/kg", "5~10mg/kg", "5至10mg/kg", "5到10mg/kg", "5～10 mg/kg"]) expect(amounts(t)[0]).toMatchObject({ lo: 5, hi: 10, unit: "mg/kg" });
  });
  it("tells per-dose from per-day amounts", () => {
    expect(amounts("每日40-50mg/kg，分3次")[0]).toMatchObject({ q: "day", lo: 40, hi: 50 });
    expect(amounts("40mg/(kg·d)")[0]).toMatchObject({ q: "day", unit: "mg/kg" });
    expect(amounts("30mg/kg/d")[0]).toMatchObject({ q: "day" });
    expect(amounts("每日3次，每次5ml")[0]).toMatchObject({ q: "dose", lo: 5 });
    expect(amounts("一天总量不超过400mg")[0]).toMatchObject({ max: true });
  });
  it("marks stated ceilings and skips thresholds and strengths", () => {
    expect(amounts("最大剂量不超过400mg")[0]!.max).toBe(true);
    expect(amounts("单次最大400mg")[0]!.max).toBe(true);
    expect(amounts("布洛芬混悬液（100mg/5ml）每次5ml")).toEqual([{ text: "5ml", lo: 5, hi: 5, unit: "ml", q: "dose", max: false }]);
    expect(amounts("体重12kg")).toEqual([]);
    expect(amounts("发烧38.5度")).toEqual([]);
  });
  it("reads mg per kg written in words", () => {
    expect(extractAmounts("按每公斤体重5～10毫克计算")[0]).toMatchObject({ lo: 5, hi: 10, unit: "mg/kg" });
  });
  it("reads volumes per kg", () => {
    expect(extractAmounts("每次0.5ml/kg")[0]).toMatchObject({ lo: 0.5, unit: "ml", perKg: true });
  });
  it("keeps offsets into the original text", () => {
    const t = "可以口服布洛芬混悬液，每次５ｍｌ。";
    const a = extractAmounts(t)[0]!;
    expect(t.slice(a.start, a.end)).toBe("５ｍｌ");
    expect(a.lo).toBe(5);
  });
});

describe("strengths", () => {
  it("reads mg/ml, label style and per-unit strengths", () => {
    expect(extractStrengths("100mg/5ml")[0]).toMatchObject({ mgPer: 20, unit: "ml" });
    expect(extractStrengths("15ml:0.6g")[0]).toMatchObject({ mgPer: 40, unit: "ml" });
    expect(extractStrengths("每袋含0.1g")[0]).toMatchObject({ mgPer: 100, unit: "sachet" });
    expect(extractStrengths("0.125g/片")[0]).toMatchObject({ mgPer: 125, unit: "tablet" });
  });
});

describe("frequency", () => {
  it("reads counts, intervals, divisions, caps and Latin abbreviations", () => {
    expect(extractFrequency("每日3次").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("一天吃6次").timesPerDay).toEqual([6, 6]);
    expect(extractFrequency("每日2-3次").timesPerDay).toEqual([2, 3]);
    expect(extractFrequency("每6-8小时一次").intervalHours).toEqual([6, 8]);
    expect(extractFrequency("间隔4~6小时").intervalHours).toEqual([4, 6]);
    expect(extractFrequency("q6h").intervalHours).toEqual([6, 6]);
    expect(extractFrequency("tid").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("every 6 hours").intervalHours).toEqual([6, 6]);
    expect(extractFrequency("分3次口服").dividedInto).toEqual([3, 3]);
    const f = extractFrequency("每4-6小时一次，24小时不超过4次");
    expect(f.maxTimesPerDay).toBe(4);
    expect(f.timesPerDay).toBeUndefined();
  });
});

describe("age and weight", () => {
  const ages = (t: string) => extractAges(t).map((a) => Math.round(a.months * 100) / 100);
  it("reads stated ages", () => {
    expect(ages("孩子3岁")).toEqual([36]);
    expect(ages("宝宝8个月")).toEqual([8]);
    expect(ages("1岁2个月")).toEqual([14]);
    expect(ages("3岁半")).toEqual([42]);
    expect(ages("宝宝刚满月")).toEqual([1]);
    expect(ages("孩子刚过周岁")).toEqual([12]);
    expect(ages("满月后可以打疫苗")).toEqual([]);
    expect(extractWeights("体重30来斤").map((w) => w.kg)).toEqual([15]);
    expect(extractWeights("二十多斤").map((w) => w.kg)).toEqual([10]);
    expect(ages("两岁的孩子")).toEqual([24]);
    expect(ages("出生10天")).toEqual([0.33]);
    expect(ages("新生儿")).toEqual([0.5]);
  });
  it("skips age thresholds, ranges and symptom durations", () => {
    expect(ages("6个月以下婴儿不推荐")).toEqual([]);
    expect(ages("12岁以下儿童禁用")).toEqual([]);
    expect(ages("1-3岁每次5ml")).toEqual([]);
    expect(ages("咳嗽3个月了")).toEqual([]);
    expect(ages("满2岁后可以用")).toEqual([]);
  });
  it("reads weights in kg, 公斤 and 斤, skipping per-kg units and thresholds", () => {
    expect(extractWeights("体重12kg").map((w) => w.kg)).toEqual([12]);
    expect(extractWeights("15公斤").map((w) => w.kg)).toEqual([15]);
    expect(extractWeights("体重24斤").map((w) => w.kg)).toEqual([12]);
    expect(extractWeights("10mg/kg")).toEqual([]);
    expect(extractWeights("体重超过30kg的孩子")).toEqual([]);
    expect(extractWeights("30kg以上")).toEqual([]);
  });
  it("reads temperatures and fever duration", () => {
    const f = extractFever("孩子发烧39.5度3天了");
    expect(f.maxTempC).toBe(39.5);
    expect(f.days).toBe(3);
    expect(extractFever("烧了一周").days).toBe(7);
    expect(extractFever("体温38").maxTempC).toBe(38);
  });
});

describe("frequency written without 每", () => {
  it("reads intervals, repeats, times of day and times-per-day variants", () => {
    expect(extractFrequency("每次4ml，4小时一次").intervalHours).toEqual([4, 4]);
    expect(extractFrequency("4到6个小时吃一次").intervalHours).toEqual([4, 6]);
    expect(extractFrequency("如果还烧，2小时后可以再吃一次").intervalHours).toEqual([2, 2]);
    expect(extractFrequency("过3个小时可以再喂一次").intervalHours).toEqual([3, 3]);
    expect(extractFrequency("早晚各一次").timesPerDay).toEqual([2, 2]);
    expect(extractFrequency("早中晚各1片").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("早上和晚上各吃一袋").timesPerDay).toEqual([2, 2]);
    expect(extractFrequency("一天吃三回").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("一天里要吃3遍").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("3次/日").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("三次一天").timesPerDay).toEqual([3, 3]);
  });
  it("does not take a gap from meals or other medicines, or a rejected frequency, as the interval", () => {
    expect(extractFrequency("饭后2小时再吃").intervalHours).toBeUndefined();
    expect(extractFrequency("与益生菌间隔2小时服用").intervalHours).toBeUndefined();
    expect(extractFrequency("不用4小时吃一次，间隔6到8小时就可以").intervalHours).toEqual([6, 8]);
  });
});

describe("counts per day said loosely", () => {
  it("reads 个/上 before the count and neighbouring numerals as a range", () => {
    expect(extractFrequency("一天喂个八九次也没关系").timesPerDay).toEqual([8, 9]);
    expect(extractFrequency("每天两三次").timesPerDay).toEqual([2, 3]);
    expect(extractFrequency("一天吃上5次").timesPerDay).toEqual([5, 5]);
    expect(extractFrequency("一天三次").timesPerDay).toEqual([3, 3]);
    expect(extractFrequency("一天十次").timesPerDay).toEqual([10, 10]);
    expect(extractFrequency("一天九十次").timesPerDay).toEqual([90, 90]);
  });
});

describe("a product's strength written after its form word", () => {
  const s = (t: string) => extractStrengths(t).map((x) => [x.mgPer, x.unit]);
  it("reads 片0.3g after a product name as the tablet's strength", () => {
    expect(s("家里有对乙酰氨基酚片0.3g，怎么吃")).toEqual([[300, "tablet"]]);
    expect(s("医生开了沙丁胺醇片（2mg）")).toEqual([[2, "tablet"]]);
  });
  it("leaves amounts alone: a count before the form word, or a verb of taking before the product", () => {
    expect(s("一次1片0.3g")).toEqual([]);
    expect(s("可以吃布洛芬片0.2g，一天3次")).toEqual([]);
  });
});

describe("fractions in words", () => {
  it("reads 十分之一袋 and 四分之一片 as amounts", () => {
    expect(extractAmounts("一次吃十分之一袋").map((a) => [a.lo, a.unit])).toEqual([[0.1, "sachet"]]);
    expect(extractAmounts("每次四分之一片").map((a) => [a.lo, a.unit])).toEqual([[0.25, "tablet"]]);
    expect(extractAmounts("三分之二的孩子会好转")).toEqual([]);
  });
});

describe("a day's count after a per-dose amount", () => {
  const q = (t: string) => extractAmounts(t).map((a) => `${a.text}:${a.qualifier}`);
  it("is the day's total, never a single dose", () => {
    expect(q("每次1袋，每2小时吃一次，一天吃够12袋")).toEqual(["1袋:dose", "12袋:day"]);
    expect(q("每拉一次就冲1袋喝，一天拉几次就吃几袋，七八袋也没问题")).toEqual(["1袋:dose", "七八袋:day"]);
    expect(q("每次5ml，一天加起来20ml左右")).toEqual(["5ml:dose", "20ml:day"]);
  });
  it("stays a dose when a count of doses closes the day's phrase or a sentence ends", () => {
    expect(q("每次1袋，一天3次，首剂2袋")).toEqual(["1袋:dose", "2袋:none"]);
    expect(q("每次1袋。一天下来，严重时给2袋")).toEqual(["1袋:dose", "2袋:none"]);
  });
  it("reads a strength after a verb of taking as the dose ('每晚吃10mg一片')", () => {
    expect(q("每晚吃10mg一片")).toEqual(["10mg:none", "一片:none"]);
    expect(extractStrengths("孟鲁司特钠咀嚼片，4mg一片").map((s) => s.mgPer)).toEqual([4]);
  });
});
