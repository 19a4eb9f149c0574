/**
 * EngineLikelihoodScorer against an independent computation: each option's log-probability summed
 * from log-softmax of the logits of one plain forward pass over prompt + option (no batching, no
 * padding, no loss path), and the exam answer it implies.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Tape } from "../../engine/index.js";
import { loadModel, type CausalLM } from "../../model/index.js";
import { loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import { renderChat } from "../../tokenizer/templates.js";
import { EngineLikelihoodScorer, likelihoodAnswer } from "./likelihood.js";
import { parseExamRecord } from "./schema.js";
import { buildPrompt } from "./prompt.js";
import { makeServeModel } from "../../../test/helpers/serve_model.js";
import { tempDir } from "../../../test/helpers/tempdir.js";

let model: CausalLM;
let tok: Tokenizer;

beforeAll(async () => {
  const m = await makeServeModel(tempDir("pedgpt-likelihood-"));
  model = await loadModel(m.dir);
  tok = loadTokenizer(m.dir);
});

/** Σ log p(option tokens) from one forward pass over the whole sequence, in float64. */
function oracle(promptIds: number[], option: number[]): number {
  const seq = [...promptIds, ...option];
  const V = model.config.vocabSize;
  const logits = new Tape().infer(() => Float64Array.from(model.forward({ ids: Int32Array.from(seq), B: 1, T: seq.length }).data));
  let sum = 0;
  for (let k = 0; k < option.length; k++) {
    const t = promptIds.length + k - 1; // the position that predicts option token k
    const row = logits.subarray(t * V, (t + 1) * V);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    sum += row[option[k]!]! - lse;
  }
  return sum;
}

describe("EngineLikelihoodScorer", () => {
  it("matches log-softmax of a plain forward pass, with the chat template and without", async () => {
    const prompt = "以下是儿科学单项选择题。\n新生儿生理性黄疸一般何时消退？\nA. 3天内\nB. 2周内\n答案：";
    const options = ["A", "B", "2周内", "对"];
    for (const template of ["qwen", null] as const) {
      const ids = template ? renderChat(tok, template, [{ role: "user", content: prompt }], "prompt").ids : [...(tok.bosId !== null ? [tok.bosId] : []), ...tok.encode(prompt, { addSpecialTokens: false })];
      const got = await new EngineLikelihoodScorer(model, tok, template, 3).scoreOptions(prompt, options);
      const want = options.map((o) => oracle(ids, tok.encode(o, { addSpecialTokens: false })));
      got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 3));
    }
  });

  it("answers an exam item with the most likely option", async () => {
    const item = parseExamRecord({ id: "q", qtype: "multiple_choice", question: "足月儿生理性黄疸消退时间", options: { A: "3天内", B: "2周内", C: "1个月后" }, answer: "B" }, "t:1")!;
    const scorer = new EngineLikelihoodScorer(model, tok, "qwen");
    const r = await likelihoodAnswer(item, scorer);
    const lp = await scorer.scoreOptions(buildPrompt(item), ["A", "B", "C"]);
    expect(r.answer).toBe(["A", "B", "C"][lp.indexOf(Math.max(...lp))]);
    expect(Object.values(r.scores).reduce((a, s) => a + s.prob, 0)).toBeCloseTo(1, 6);
    await expect(scorer.scoreOptions("题", [""])).rejects.toThrow(/option 0 \(""\) encodes to no tokens/);
  });
});
