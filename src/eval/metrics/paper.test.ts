import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";
import { readGolden } from "./golden.js";
import { PAPER_METRICS, scorePaperTokens, distinctN, nltkBleu, pltrdyRouge } from "./paper.js";
import { fsum } from "./pyfloat.js";
import { JiebaSegmenter } from "./jieba/segmenter.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/metrics/paper_golden.jsonl.gz");
const golden = readGolden(FIXTURE);

describe("golden fixtures from the Python references", () => {
  it("has at least 2,000 pairs including the edge cases", () => {
    expect(golden.pairs.length).toBeGreaterThanOrEqual(2000);
    const kinds = new Set(golden.pairs.map((p) => p.kind));
    expect(kinds).toEqual(new Set(["edge", "generated"]));
  });

  it("segments every text exactly like Python jieba 0.42.1", () => {
    const seg = JiebaSegmenter.default();
    let bad = 0;
    const first: string[] = [];
    for (const p of golden.pairs) {
      for (const [text, want] of [[p.hyp, p.hyp_tokens], [p.ref, p.ref_tokens]] as const) {
        const got = seg.cut(text);
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          bad++;
          if (first.length < 3) first.push(`pair ${p.i}: ${JSON.stringify(text)} got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
        }
      }
    }
    expect(first).toEqual([]);
    expect(bad).toBe(0);
  });

  it("matches every per-sample score within 1e-9 (on Python's tokens)", () => {
    const maxDiff: Record<string, number> = {};
    const worst: string[] = [];
    for (const p of golden.pairs) {
      const got = scorePaperTokens(p.hyp_tokens, p.ref_tokens);
      expect(got.rougeUndefined, `pair ${p.i}`).toBe(p.scores.rouge_error);
      for (const m of PAPER_METRICS) {
        const d = Math.abs(got.scores[m] - p.scores[m]);
        maxDiff[m] = Math.max(maxDiff[m] ?? 0, d);
        if (d > 1e-9 && worst.length < 5) worst.push(`pair ${p.i} ${m}: ours ${got.scores[m]} python ${p.scores[m]}`);
      }
    }
    expect(worst).toEqual([]);
    for (const m of PAPER_METRICS) expect(maxDiff[m]).toBeLessThanOrEqual(1e-9);
  });
});

describe("edge cases", () => {
  it("empty hypothesis scores 0 everywhere and flags ROUGE", () => {
    const r = scorePaperTokens([], ["宝宝", "发热"]);
    for (const m of PAPER_METRICS) expect(r.scores[m]).toBe(0);
    expect(r.rougeUndefined).toBe("Hypothesis is empty.");
  });

  it("identical one-token texts: BLEU-1 1, smoothed higher orders, ROUGE-2 0", () => {
    const r = scorePaperTokens(["宝宝"], ["宝宝"]);
    expect(r.scores.bleu1).toBe(1);
    // method3: p2 = 1/(2*1), p3 = 1/(4*1), p4 = 1/(8*1); BLEU-4 = exp(mean of logs)
    expect(r.scores.bleu4).toBeCloseTo(Math.exp((Math.log(1) + Math.log(0.5) + Math.log(0.25) + Math.log(0.125)) / 4), 15);
    expect(r.scores.rouge2).toBe(0);
    expect(r.scores.rouge1).toBeCloseTo(1, 7);
    expect(r.scores.distinct2).toBe(0);
  });

  it("'.' inside numbers splits pltrdy sentences", () => {
    // "38.5" becomes two sentences "38" and "5"; both sides identical, so F ~ 1
    const r = pltrdyRouge("体温 38.5 度", "体温 38.5 度");
    expect(r).not.toHaveProperty("error");
    const only = pltrdyRouge("...", "宝宝");
    expect(only).toEqual({ error: "Hypothesis is empty." });
  });

  it("BLEU with no unigram match is exactly 0 (NLTK early return)", () => {
    expect(nltkBleu([0, 0, 0, 0], 3, 3, [0.25, 0.25, 0.25, 0.25])).toBe(0);
  });

  it("distinct-n counts repeated n-grams once", () => {
    expect(distinctN(["的", "的", "的", "的"], 1)).toBe(0.25);
    expect(distinctN(["a", "b", "a", "b"], 2)).toBeCloseTo(2 / 3, 15);
    expect(distinctN([], 1)).toBe(0);
  });

  it("fsum is exactly rounded like math.fsum", () => {
    expect(fsum([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])).toBe(1.0);
    expect(fsum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50])).toBe(1e-100);
    expect(fsum([])).toBe(0);
  });
});

describe("fast path equals the straightforward implementation", () => {
  it("on every golden pair and on tokens with dots, spaces and empty strings", async () => {
    const { scorePaperTokensReference } = await import("./paper.js");
    const extra: Array<[string[], string[]]> = [
      [["体温", "38.5", "度"], ["体温", "38.5", "度", "。"]],
      [[" ", "宝宝", " "], ["宝宝"]],
      [["", "宝宝"], ["宝宝", ""]],
      [["a", "b", "a", "b", "a"], ["b", "a", "b"]],
    ];
    const cases = [...golden.pairs.map((p) => [p.hyp_tokens, p.ref_tokens] as [string[], string[]]), ...extra];
    for (const [h, r] of cases) expect(scorePaperTokens(h, r)).toEqual(scorePaperTokensReference(h, r));
  });
});

describe("bit-parallel LCS walk-back", () => {
  it("matches the obvious DP reconstruction on long, repetitive random sequences", async () => {
    const { scorePaperTokensReference } = await import("./paper.js");
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 150; k++) {
      const alpha = 2 + Math.floor(rnd() * 8);
      const mk = () => Array.from({ length: Math.floor(rnd() * 200) + 1 }, () => "词" + Math.floor(rnd() * alpha));
      const h = mk();
      const r = mk();
      if (k % 5 === 0) h.splice(Math.floor(h.length / 2), 0, "。", "3.5", " ");
      expect(scorePaperTokens(h, r), `case ${k}`).toEqual(scorePaperTokensReference(h, r));
    }
  });
});
