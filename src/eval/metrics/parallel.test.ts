import { describe, expect, it } from "vitest";
import { scorePairsParallel } from "./parallel.js";
import { JiebaSegmenter } from "./jieba/segmenter.js";
import { scorePaperTokens } from "./paper.js";

describe("scorePairsParallel", () => {
  it("returns the single-threaded scores in input order", async () => {
    const pairs = [
      { hyp: "宝宝发热38.5℃，多喝水。", ref: "宝宝发热，建议多喝水，注意休息。" },
      { hyp: "", ref: "及时就医。" },
      { hyp: "孩子咳嗽三天了，可以雾化。", ref: "孩子咳嗽三天，建议雾化治疗。" },
      { hyp: "B超正常", ref: "B超未见异常" },
      { hyp: "...", ref: "。" },
    ];
    const got = await scorePairsParallel(pairs, { threads: 2 });
    const seg = JiebaSegmenter.default();
    const want = pairs.map((p) => {
      const h = seg.cut(p.hyp);
      const r = seg.cut(p.ref);
      return { ...scorePaperTokens(h, r), hypTokens: h.length, refTokens: r.length };
    });
    expect(got).toEqual(want);
  });
});
