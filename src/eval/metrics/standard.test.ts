import { describe, expect, it } from "vitest";
import { sacrebleuZhTokens, bleuStats, corpusBleuFromStats, corpusDistinct, bootstrapInterval, charTokens } from "./standard.js";
import { evaluatePairs } from "./evaluate.js";

describe("sacreBLEU zh tokenisation", () => {
  it("splits CJK characters and applies 13a rules to the rest", () => {
    expect(sacrebleuZhTokens("宝宝发热38.5℃。")).toEqual(["宝", "宝", "发", "热", "38.5", "℃", "。"]);
    expect(sacrebleuZhTokens("  Hello, world. ")).toEqual(["Hello", ",", "world", "."]);
    expect(sacrebleuZhTokens("10-15mg/kg")).toEqual(["10", "-", "15mg", "/", "kg"]);
    expect(sacrebleuZhTokens("（对）")).toEqual(["（", "对", "）"]);
  });

  it("reproduces sacreBLEU's two-character range quirk (U+2001..U+2A6D count as CJK)", () => {
    expect(sacrebleuZhTokens("a→b")).toEqual(["a", "→", "b"]); // U+2192 inside the quirk range
    expect(sacrebleuZhTokens("a\u{20000}b")).toEqual(["a\u{20000}b"]); // real Extension B is not split
  });
});

describe("corpus BLEU (sacreBLEU defaults: exp smoothing, 4-grams)", () => {
  it("is 100 for identical corpora and 0 with no matches", () => {
    const a = sacrebleuZhTokens("宝宝发热三天了，体温38.5℃。");
    expect(corpusBleuFromStats([bleuStats(a, a)]).score).toBeCloseTo(100, 10);
    expect(corpusBleuFromStats([bleuStats(["x"], ["y"])]).score).toBe(0);
  });

  it("applies the brevity penalty and exp smoothing by hand-computed values", () => {
    // hyp 2 tokens, ref 4: 2 unigram matches, 1 bigram match, no 3/4-grams
    const s = bleuStats(["a", "b"], ["a", "b", "c", "d"]);
    const r = corpusBleuFromStats([s]);
    expect(r.bp).toBeCloseTo(Math.exp(1 - 4 / 2), 15);
    // total[2] = 0 stops the loop: p3 = p4 = 0 -> my_log = -9999999999
    const expected = Math.exp(1 - 2) * Math.exp((Math.log(100) + Math.log(100) - 2 * 9999999999) / 4);
    expect(r.score).toBe(expected);
    const s2 = bleuStats(["a", "b", "c", "e", "f"], ["a", "b", "c", "d", "f"]);
    const r2 = corpusBleuFromStats([s2]);
    // p1 = 4/5, p2 = 2/4, p3 = 1/3, p4: 0 matches of 2 -> 100/(2*2)
    expect(r2.precisions).toEqual([80, 50, 100 / 3, 25]);
  });
});

describe("corpus Distinct and bootstrap", () => {
  it("counts distinct n-grams across responses", () => {
    expect(corpusDistinct([["a", "b"], ["a", "c"]], 1)).toBe(3 / 4);
    expect(corpusDistinct([["a", "b"], ["a", "b"]], 2)).toBe(1 / 2);
    expect(corpusDistinct([], 1)).toBe(0);
  });

  it("is reproducible with a seed and brackets the mean", () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i * 37) % 101);
    const stat = (idx: Int32Array) => Array.from(idx).reduce((a, i) => a + xs[i]!, 0) / idx.length;
    const a = bootstrapInterval(xs.length, stat, 500, 7);
    const b = bootstrapInterval(xs.length, stat, 500, 7);
    expect(a).toEqual(b);
    const m = xs.reduce((x, y) => x + y, 0) / xs.length;
    expect(a.low).toBeLessThan(m);
    expect(a.high).toBeGreaterThan(m);
  });

  it("character tokens drop whitespace and keep astral characters whole", () => {
    expect(charTokens("宝 宝\u3000😊")).toEqual(["宝", "宝", "😊"]);
  });
});

describe("evaluatePairs", () => {
  const pairs = [
    { id: "a", hyp: "宝宝发热，多喝水。", ref: "宝宝发热，多喝水。" },
    { id: "b", hyp: "", ref: "建议到医院就诊。" },
    { id: "c", hyp: "孩子咳嗽三天了。", ref: "孩子咳嗽两天，建议雾化。" },
  ];
  it("paper mode: counts empty hypotheses as 0 and records the segmenter", () => {
    const r = evaluatePairs(pairs);
    expect(r.mode).toBe("paper");
    expect(r.segmenter.name).toBe("jieba-ts");
    expect(r.segmenter.version).toContain("0.42.1");
    expect(r.emptyHypotheses).toBe(1);
    expect(r.rougeUndefined).toBe(1);
    expect(r.samples[1]!.scores.bleu4).toBe(0);
    expect(r.samples[0]!.scores.bleu4).toBeCloseTo(100, 10);
    expect(r.means.bleu1).toBeCloseTo((r.samples[0]!.scores.bleu1 + r.samples[2]!.scores.bleu1) / 3, 10);
    expect(r.standard).toBeUndefined();
  });
  it("standard mode adds character scores, corpus BLEU, Distinct and intervals", () => {
    const r = evaluatePairs(pairs, { mode: "standard", resamples: 200 });
    expect(r.standard!.corpusBleu.score).toBeGreaterThan(0);
    expect(r.standard!.corpusBleu.score).toBeLessThan(100);
    expect(r.samples[0]!.charScores!.rouge1).toBeCloseTo(100, 5);
    const ci = r.standard!.intervals.bleu4!;
    expect(ci.low).toBeLessThanOrEqual(r.means.bleu4);
    expect(ci.high).toBeGreaterThanOrEqual(r.means.bleu4);
    expect(r.standard!.corpusDistinct1).toBeGreaterThan(0);
  });
});
