/**
 * Data preparation against hand-built expectations: pt packing (EOS per document, no BOS, remainder
 * dropped, per-document segments), SFT labels token by token for every built-in template and a Jinja
 * one (multi-turn, efficient EOS), the seed's truncation rule, packing without labels crossing
 * examples, and preference pairs (shared prompt, history masked, truncation counted).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../../scripts/fixtures/tokenizer_corpus.js";
import {
  HfTokenizer,
  SentencePieceModel,
  SentencePieceTokenizer,
  builtinJinja,
  parseTokenizerConfig,
  trainBpeTokenizer,
  type ChatMessage,
  type Tokenizer,
} from "../../tokenizer/index.js";
import { encodePair, encodeSupervised, inferMaxLen, packPretrain, packSupervised } from "./prepare.js";

const I = -100;
const corpus = generateCorpus(600, 3);
function bpe(template: string, extra: Record<string, unknown> = {}): HfTokenizer {
  const t = trainBpeTokenizer(corpus, { vocabSize: 600, chatTemplateId: template });
  return new HfTokenizer(t.tokenizerJson, parseTokenizerConfig({ ...t.tokenizerConfig, ...extra }));
}
const enc = (tok: Tokenizer, s: string) => tok.encode(s, { addSpecialTokens: false, parseSpecial: false });
const ign = (n: number) => new Array<number>(n).fill(I);

const conv: ChatMessage[] = [
  { role: "user", content: "孩子发热39℃怎么办？" },
  { role: "assistant", content: "多饮水，可用布洛芬。" },
  { role: "user", content: "需要去医院吗" },
  { role: "assistant", content: "精神差就去。" },
];
const SYSTEM = "你是儿科医生。";

describe("inferMaxLen (the seed's budget rule)", () => {
  it("splits the budget by share, target at least 1, source what the target leaves", () => {
    expect(inferMaxLen(30, 10, 20)).toEqual([15, 5]); // int(20·10/40) = 5; source 20 − 5
    expect(inferMaxLen(3, 4, 20)).toEqual([16, 11]); // target fits whole: source may use the rest
    expect(inferMaxLen(100, 0, 8)).toEqual([8, 1]);
    expect(inferMaxLen(1000, 1, 10)).toEqual([9, 1]); // int(10/1001) = 0 → reserved 1
  });
});

describe("pt packing", () => {
  const docs = [[5, 6, 7], [8, 9], [10, 11, 12, 13], [14]];
  it("adds EOS per document, no BOS, cuts blocks and drops the remainder (counted)", () => {
    const p = packPretrain(docs, { blockSize: 4, eosId: 2 });
    // stream: 5 6 7 2 | 8 9 2 10 | 11 12 13 2 | 14 2 (dropped)
    expect(p.rows.map((r) => r.ids)).toEqual([[5, 6, 7, 2], [8, 9, 2, 10], [11, 12, 13, 2]]);
    expect(p.rows.map((r) => r.labels)).toEqual([[5, 6, 7, 2], [8, 9, 2, 10], [11, 12, 13, 2]]);
    expect(p.rows[0]!.segments).toBeUndefined();
    expect([p.documents, p.totalTokens, p.droppedTokens]).toEqual([4, 14, 2]);
  });
  it("with perDocument: segments restart per block and no document start is a target", () => {
    const p = packPretrain(docs, { blockSize: 4, eosId: 2, perDocument: true });
    expect(p.rows.map((r) => r.segments)).toEqual([[1, 1, 1, 1], [1, 1, 1, 2], [1, 1, 1, 1]]);
    expect(p.rows[1]!.labels).toEqual([8, 9, 2, I]);
    expect(p.rows[2]!.labels).toEqual([11, 12, 13, 2]);
  });
  it("rejects a block size below 2", () => {
    expect(() => packPretrain(docs, { blockSize: 1, eosId: 2 })).toThrow(/cutoff_len/);
  });
});

describe("SFT labels, token by token", () => {
  it("default: every answer and its EOS learned, prompts and the turn separator masked", () => {
    const tok = bpe("default");
    const e = encodeSupervised(tok, "default", { system: SYSTEM, messages: conv }, 1024);
    const p1 = enc(tok, `${SYSTEM}\nHuman: 孩子发热39℃怎么办？\nAssistant: `);
    const a1 = enc(tok, "多饮水，可用布洛芬。");
    const p2 = enc(tok, "\nHuman: 需要去医院吗\nAssistant: ");
    const a2 = enc(tok, "精神差就去。");
    expect(e.ids).toEqual([1, ...p1, ...a1, 2, ...p2, ...a2, 2]);
    expect(e.labels).toEqual([I, ...ign(p1.length), ...a1, 2, ...ign(p2.length), ...a2, 2]);
    expect(e.truncated).toBe(false);
  });

  it("qwen: answer + <|im_end|> learned, the newline after it masked", () => {
    const tok = bpe("qwen");
    const [S, E] = [3, 4];
    const e = encodeSupervised(tok, "qwen", { messages: conv }, 1024);
    const nl = enc(tok, "\n");
    const sys = [S, ...enc(tok, "system\nYou are a helpful assistant."), E, ...nl];
    const u1 = [S, ...enc(tok, "user\n孩子发热39℃怎么办？"), E, ...nl, S, ...enc(tok, "assistant\n")];
    const a1 = [...enc(tok, "多饮水，可用布洛芬。"), E];
    const u2 = [...nl, S, ...enc(tok, "user\n需要去医院吗"), E, ...nl, S, ...enc(tok, "assistant\n")];
    const a2 = [...enc(tok, "精神差就去。"), E];
    expect(e.ids).toEqual([1, ...sys, ...u1, ...a1, ...u2, ...a2, ...nl]);
    expect(e.labels).toEqual([I, ...ign(sys.length + u1.length), ...a1, ...ign(u2.length), ...a2, ...ign(nl.length)]);
  });

  it("llama3: answer + <|eot_id|> learned", () => {
    const tok = bpe("llama3");
    const [SH, EH, EOT] = [3, 4, 5];
    const e = encodeSupervised(tok, "llama3", { messages: conv.slice(0, 2) }, 1024);
    const prompt = [1, SH, ...enc(tok, "user"), EH, ...enc(tok, "\n\n孩子发热39℃怎么办？"), EOT, SH, ...enc(tok, "assistant"), EH, ...enc(tok, "\n\n")];
    const a1 = [...enc(tok, "多饮水，可用布洛芬。"), EOT];
    expect(e.ids).toEqual([...prompt, ...a1]);
    expect(e.labels).toEqual([...ign(prompt.length), ...a1]);
  });

  it("a Jinja chat_template gives the same labels as the built-in it equals", () => {
    const tok = bpe("qwen", { chat_template: builtinJinja("qwen") });
    const a = encodeSupervised(tok, "qwen", { system: SYSTEM, messages: conv }, 1024);
    const b = encodeSupervised(tok, "jinja", { system: SYSTEM, messages: conv }, 1024);
    expect(b.ids).toEqual(a.ids);
    expect(b.labels).toEqual(a.labels);
  });

  describe("baichuan2 (efficient EOS) on a SentencePiece tokenizer", () => {
    const dir = fileURLToPath(new URL("../../../test/fixtures/tokenizer/", import.meta.url));
    const model = SentencePieceModel.fromBytes(readFileSync(dir + "bpe_baichuan.model"));
    const tok = new SentencePieceTokenizer(model, parseTokenizerConfig({ add_bos_token: false, add_eos_token: false }));
    const U = tok.tokenToId("<reserved_106>")!;
    const A = tok.tokenToId("<reserved_107>")!;
    const sp = (s: string) => model.encode(s);
    const q1 = sp("孩子发热39℃怎么办？");
    const a1 = sp("多饮水，可用布洛芬。");
    const q2 = sp("需要去医院吗");
    const a2 = sp("精神差就去。");

    it("learns EOS at the next user token and once at the end", () => {
      const e = encodeSupervised(tok, "baichuan2", { messages: conv }, 1024);
      expect(e.ids).toEqual([U, ...q1, A, ...a1, U, ...q2, A, ...a2, 2]);
      expect(e.labels).toEqual([I, ...ign(q1.length), I, ...a1, 2, ...ign(q2.length), I, ...a2, 2]);
    });

    it("truncates turn by turn with one slot kept for the final EOS", () => {
      const L = 12;
      const e = encodeSupervised(tok, "baichuan2", { messages: conv }, L);
      // Turn 1 under budget L − 1 (the reserved EOS): the seed's rule, heads kept.
      const src = 1 + q1.length + 1;
      const [ms, mt] = inferMaxLen(src, a1.length, L - 1);
      const sl = Math.min(src, ms);
      const tl = Math.min(a1.length, mt);
      const src1 = [U, ...q1, A].slice(0, sl);
      const tgt1 = a1.slice(0, tl);
      expect(e.ids.slice(0, sl + tl)).toEqual([...src1, ...tgt1]);
      expect(e.ids.at(-1)).toBe(2);
      expect(e.ids.length).toBeLessThanOrEqual(L);
      expect(e.truncated).toBe(true);
    });
  });

  it("the seed's truncation rule, turn by turn (default template)", () => {
    const tok = bpe("default");
    const full = encodeSupervised(tok, "default", { messages: conv }, 1024);
    const p1 = [1, ...enc(tok, "Human: 孩子发热39℃怎么办？\nAssistant: ")];
    const a1 = [...enc(tok, "多饮水，可用布洛芬。"), 2];
    const p2 = enc(tok, "\nHuman: 需要去医院吗\nAssistant: ");
    const a2 = [...enc(tok, "精神差就去。"), 2];
    expect(full.ids).toEqual([...p1, ...a1, ...p2, ...a2]);
    const L = p1.length + a1.length + 4; // turn 1 whole, 4 tokens for turn 2
    const e = encodeSupervised(tok, "default", { messages: conv }, L);
    const [ms, mt] = inferMaxLen(p2.length, a2.length, 4);
    const sl = Math.min(p2.length, ms);
    const tl = Math.min(a2.length, mt);
    expect(e.ids).toEqual([...p1, ...a1, ...p2.slice(0, sl), ...a2.slice(0, tl)]);
    expect(e.labels).toEqual([...ign(p1.length), ...a1, ...ign(sl), ...a2.slice(0, tl)]);
    expect(e.ids.length).toBeLessThanOrEqual(L);
    expect(e.truncated).toBe(true);
    // A budget spent by turn 1 drops turn 2 (counted).
    const cut = encodeSupervised(tok, "default", { messages: conv }, p1.length + a1.length);
    expect(cut.ids).toEqual([...p1, ...a1]);
    expect(cut.droppedTurns).toBe(1);
  });
});

describe("SFT packing", () => {
  it("packs in order without exceeding cutoff_len; no label crosses an example", () => {
    const ex = [
      { ids: [1, 10, 11, 12], labels: [I, I, 11, 12] },
      { ids: [1, 20, 21], labels: [I, 20, 21] },
      { ids: [1, 30, 31, 32, 33], labels: [I, I, I, 32, 33] },
      { ids: [7, 40], labels: [7, 40] },
    ];
    const rows = packSupervised(ex, 8);
    expect(rows.map((r) => r.ids)).toEqual([[1, 10, 11, 12, 1, 20, 21], [1, 30, 31, 32, 33, 7, 40]]);
    expect(rows.map((r) => r.segments)).toEqual([[1, 1, 1, 1, 2, 2, 2], [1, 1, 1, 1, 1, 2, 2]]);
    // The first token of every example is never a target (it would be predicted across the boundary).
    expect(rows[1]!.labels).toEqual([I, I, I, 32, 33, I, 40]);
    for (const r of rows) {
      for (let t = 1; t < r.ids.length; t++) if (r.segments![t] !== r.segments![t - 1]) expect(r.labels[t]).toBe(I);
    }
    expect(() => packSupervised([{ ids: [1, 2, 3], labels: [I, 2, 3] }], 2)).toThrow(/exceeds cutoff_len/);
  });
});

describe("preference pairs", () => {
  const tok = bpe("default");
  const pair = { prompt: conv.slice(0, 3), chosen: "精神差就去医院。", rejected: "不用去。" };

  it("shares the prompt, masks the history and learns only the final answer", () => {
    const e = encodePair(tok, "default", pair, 1024);
    const prompt = [1, ...enc(tok, "Human: 孩子发热39℃怎么办？\nAssistant: "), ...enc(tok, "多饮水，可用布洛芬。"), 2, ...enc(tok, "\nHuman: 需要去医院吗\nAssistant: ")];
    const c = [...enc(tok, "精神差就去医院。"), 2];
    const r = [...enc(tok, "不用去。"), 2];
    expect(e.chosen.ids).toEqual([...prompt, ...c]);
    expect(e.chosen.labels).toEqual([...ign(prompt.length), ...c]);
    expect(e.rejected.ids).toEqual([...prompt, ...r]);
    expect(e.rejected.labels).toEqual([...ign(prompt.length), ...r]);
    expect(e.promptTruncated).toBe(false);
  });

  it("truncates an over-long prompt with the seed's rule and says so", () => {
    const full = encodePair(tok, "default", pair, 1024);
    const promptLen = full.chosen.labels.findIndex((l) => l !== I);
    const L = 12;
    const e = encodePair(tok, "default", pair, L);
    const respMax = Math.max(full.chosen.ids.length, full.rejected.ids.length) - promptLen;
    const [ms, mt] = inferMaxLen(promptLen, respMax, L);
    expect(e.chosen.ids).toEqual([...full.chosen.ids.slice(0, Math.min(ms, promptLen)), ...full.chosen.ids.slice(promptLen, promptLen + mt)]);
    expect(e.chosen.ids.length).toBeLessThanOrEqual(L);
    expect(e.promptTruncated).toBe(true);
  });
});
