import { describe, expect, it } from "vitest";
import { Deduper } from "./dedup.js";
import { qualityCheck, DEFAULT_FILTERS } from "./filters.js";
import { Hash64Map, hash64 } from "./hash.js";
import { estimateJaccard, exactJaccard, minhashSignature } from "./minhash.js";
import { normalizeText } from "./normalize.js";
import { emptyPiiCounts, isValidIdCard, scrubNames, scrubNumbers } from "./pii.js";

/** Build a valid 18-digit ID number from 17 digits by computing the GB 11643 check character. */
function withCheck(d17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...d17].reduce((a, c, i) => a + Number(c) * w[i]!, 0);
  return d17 + "10X98765432"[sum % 11]!;
}

describe("normalizeText", () => {
  it("folds full-width letters/digits but keeps Chinese punctuation", () => {
    expect(normalizeText("体温３８．５℃，ＣＲＰ升高（１０ｍｇ／Ｌ）。")).toBe("体温38.5℃，CRP升高（10mg/L）。");
  });
  it("turns ASCII punctuation after CJK into full-width, but not in numbers", () => {
    expect(normalizeText("发热,咳嗽;流涕:怎么办?")).toBe("发热，咳嗽；流涕：怎么办？");
    expect(normalizeText("比例1:2, 时间10:30")).toBe("比例1:2, 时间10:30");
  });
  it("cleans spaces, zero-width and control characters, and blank-line runs", () => {
    expect(normalizeText("  孩子\u3000发烧 \u200b了\u0007\r\n\r\n\r\n\r\n第二段\t\t内容 ")).toBe("孩子发烧了\n\n第二段内容");
    expect(normalizeText("use  English   words")).toBe("use English words");
  });
  it("composes decomposed characters (NFC)", () => {
    expect(normalizeText("e\u0301")).toBe("\u00e9");
  });
});

describe("PII scrubbing", () => {
  it("replaces mainland mobile and landline numbers", () => {
    const c = emptyPiiCounts();
    expect(scrubNumbers("电话13812345678或+86 139-1234-5678，座机010-87654321。", c)).toBe("电话[电话]或[电话]，座机[电话]。");
    expect(c.phone).toBe(3);
  });
  it("replaces ID-card numbers only when the checksum and birth date are valid", () => {
    const id = withCheck("11010520180312003");
    expect(isValidIdCard(id)).toBe(true);
    const wrongCheck = id.slice(0, 17) + (id[17] === "0" ? "1" : "0");
    expect(isValidIdCard(wrongCheck)).toBe(false);
    expect(isValidIdCard(withCheck("11010520181332003"))).toBe(false); // month 13
    const c = emptyPiiCounts();
    expect(scrubNumbers(`身份证${id}，检验单号${wrongCheck}`, c)).toBe(`身份证[身份证号]，检验单号${wrongCheck}`);
    expect(c.idCard).toBe(1);
  });
  it("replaces names in dialogue headers but not medical words", () => {
    const c = emptyPiiCounts();
    expect(scrubNames("张先生您好；王女士的孩子；患者王某某，3岁；患儿李明，男；姓名：刘小红", c)).toBe("某先生您好；某女士的孩子；患者某某，3岁；患儿某某，男；姓名：某某");
    expect(c.name).toBe(5);
    expect(scrubNames("患儿高热三天，患者咳嗽，孩子王牌玩具")).toBe("患儿高热三天，患者咳嗽，孩子王牌玩具");
    // Seen in the sample corpus: 戴 is a surname, but here it is a verb.
    expect(scrubNames("照光时会给宝宝戴眼罩、遮住会阴")).toBe("照光时会给宝宝戴眼罩、遮住会阴");
    expect(scrubNames("患者张伟，男，5岁；患儿刘洋，3岁；宝宝张XX；孩子王某")).toBe("患者某某，男，5岁；患儿某某，3岁；宝宝某某；孩子某某");
    expect(scrubNames("患儿黄疸2个月")).toBe("患儿黄疸2个月");
    expect(scrubNames("患者孙悟，体温正常")).toBe("患者孙悟，体温正常"); // no header field after it: not taken as a name
  });
});

describe("quality filters", () => {
  it("returns counted reasons", () => {
    expect(qualityCheck("好的")).toBe("too-short");
    expect(qualityCheck("This answer has no Chinese characters at all.")).toBe("low-cjk-ratio");
    expect(qualityCheck("哈".repeat(30))).toBe("char-repetition");
    expect(qualityCheck("多喝水多休息观察体温。".repeat(20))).toBe("sentence-repetition");
    expect(qualityCheck("字".repeat(10) + "长".repeat(0), { ...DEFAULT_FILTERS, maxChars: 5 })).toBe("too-long");
    expect(qualityCheck("发热时注意补充水分，观察精神状态和尿量。")).toBeUndefined();
  });
});

describe("hashing", () => {
  it("Hash64Map stores and finds keys across growth", () => {
    const m = new Hash64Map(4);
    const h = new Uint32Array(2);
    for (let i = 0; i < 5000; i++) {
      hash64(`k${i}`, h);
      expect(m.putIfAbsent(h[0]!, h[1]!, i)).toBe(-1);
    }
    for (let i = 0; i < 5000; i += 97) {
      hash64(`k${i}`, h);
      expect(m.get(h[0]!, h[1]!)).toBe(i);
    }
    expect(m.size).toBe(5000);
    hash64("absent", h);
    expect(m.get(h[0]!, h[1]!)).toBe(-1);
  });
});

const BASE =
  "手足口病是由肠道病毒引起的常见儿童传染病，多见于五岁以下儿童，主要表现为发热和手、足、口腔等部位的皮疹或疱疹。多数患儿一周左右自愈，少数可出现脑炎、肺水肿等严重并发症，需要密切观察精神状态和呼吸情况。";

describe("MinHash (one-permutation hashing)", () => {
  it("is an unbiased estimate of Jaccard similarity (mean over 50 seeds within 0.03 of exact)", () => {
    const variants = [BASE.replace("五岁", "5岁"), BASE.slice(0, 60) + "家长应注意手卫生。", "川崎病是一种以全身血管炎为主要病变的急性发热出疹性疾病，多见于五岁以下儿童。"];
    const exacts = variants.map((v) => exactJaccard(BASE, v));
    expect(exacts[0]).toBeGreaterThan(0.8);
    expect(exacts[2]).toBeLessThan(0.1);
    for (const K of [64, 256]) {
      variants.forEach((v, i) => {
        let sum = 0;
        for (let seed = 1; seed <= 50; seed++) sum += estimateJaccard(minhashSignature(BASE, { numPerm: K, ngram: 5, seed }), minhashSignature(v, { numPerm: K, ngram: 5, seed }));
        expect(Math.abs(sum / 50 - exacts[i]!)).toBeLessThan(0.03);
      });
    }
  });
  it("ignores whitespace and punctuation and handles short texts", () => {
    const a = minhashSignature("发热，咳嗽。流涕");
    const b = minhashSignature("发热 咳嗽 流涕");
    expect(estimateJaccard(a, b)).toBe(1);
    const s = minhashSignature("发热");
    expect([...s].every((x) => x !== 0xffffffff)).toBe(true);
    expect(estimateJaccard(s, minhashSignature("咳嗽"))).toBeLessThan(0.2);
  });
});

describe("Deduper", () => {
  it("removes exact and near duplicates and keeps distinct texts", () => {
    const d = new Deduper();
    expect(d.check(BASE)).toBeUndefined();
    expect(d.check(BASE.replace(/，/g, ", "))).toMatchObject({ kind: "exact", of: 0 });
    expect(d.check(BASE.replace("一周左右", "7到10天"))).toMatchObject({ kind: "near", of: 0 });
    expect(d.check("川崎病是一种以全身血管炎为主要病变的急性发热出疹性疾病，多见于五岁以下儿童，需及时使用丙种球蛋白治疗。")).toBeUndefined();
    expect(d.stats()).toMatchObject({ seen: 4, kept: 2, exactDups: 1, nearDups: 1, dedupRate: 0.5 });
  });
  it("keeps texts below the threshold when verifying", () => {
    const d = new Deduper({ threshold: 0.95 });
    d.check(BASE);
    expect(d.check(BASE.slice(0, 70) + "其余内容完全不同，讲述的是预防接种的时间安排和注意事项。")).toBeUndefined();
  });
  it("has a per-text index cost independent of text length", () => {
    const d = new Deduper();
    for (let i = 0; i < 2000; i++) d.check(`${i}号文档：` + BASE.slice(i % 50) + `编号${i * 7919}`);
    expect(d.indexBytes / d.keptCount).toBeLessThan(2048);
  });
});
