/**
 * Chat templates against hand-written expected renderings: the exact text, the id layout (which special
 * ids sit where, which spans are trained), multi-turn masks covering every answer and its end token,
 * prompt ids being a prefix of training ids, Jinja equivalents of the built-ins, a model's own Jinja
 * template, and checkTemplate.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { Template } from "@huggingface/jinja";
import { trainBpeTokenizer } from "./bpe_train.js";
import { parseTokenizerConfig } from "./config.js";
import { TemplateMismatchError, TokenizerError } from "./errors.js";
import { HfTokenizer } from "./hf.js";
import { SentencePieceModel } from "./sentencepiece/model.js";
import { SentencePieceTokenizer } from "./sentencepiece/tokenizer.js";
import {
  BUILTIN_TEMPLATES,
  IGNORE_INDEX,
  builtinJinja,
  checkTemplate,
  jinjaTemplateId,
  renderChat,
  stopTokenIds,
  suggestTemplate,
  type BuiltinTemplateId,
  type ChatMessage,
} from "./templates.js";
import type { Tokenizer } from "./types.js";

const corpus = generateCorpus(600, 3);
function tinyTokenizer(template: BuiltinTemplateId, extraConfig: Record<string, unknown> = {}): HfTokenizer {
  const t = trainBpeTokenizer(corpus, { vocabSize: 600, chatTemplateId: template });
  return new HfTokenizer(t.tokenizerJson, parseTokenizerConfig({ ...t.tokenizerConfig, ...extraConfig }));
}
const enc = (tok: Tokenizer, s: string) => tok.encode(s, { addSpecialTokens: false, parseSpecial: false });

const conv: ChatMessage[] = [
  { role: "system", content: "你是儿科医生。" },
  { role: "user", content: "孩子发热39℃怎么办？" },
  { role: "assistant", content: "多饮水，可用布洛芬。" },
  { role: "user", content: "需要去医院吗" },
  { role: "assistant", content: "精神差就去。" },
];

/** The trained spans of a rendering, decoded. */
function trainedSpans(tok: Tokenizer, ids: number[], mask: Uint8Array): string[] {
  const spans: string[] = [];
  let cur: number[] = [];
  ids.forEach((id, i) => {
    if (mask[i]) cur.push(id);
    else if (cur.length) {
      spans.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length) spans.push(tok.decode(cur));
  return spans;
}

describe("default template (the seed's)", () => {
  const tok = tinyTokenizer("default");

  it("renders the exact text and ids for a multi-turn conversation", () => {
    const r = renderChat(tok, "default", conv, "train");
    expect(r.text).toBe(
      "<s>你是儿科医生。\nHuman: 孩子发热39℃怎么办？\nAssistant: 多饮水，可用布洛芬。</s>\nHuman: 需要去医院吗\nAssistant: 精神差就去。</s>",
    );
    const p1 = enc(tok, "你是儿科医生。\nHuman: 孩子发热39℃怎么办？\nAssistant: ");
    const a1 = enc(tok, "多饮水，可用布洛芬。");
    const p2 = enc(tok, "\nHuman: 需要去医院吗\nAssistant: ");
    const a2 = enc(tok, "精神差就去。");
    expect(r.ids).toEqual([1, ...p1, ...a1, 2, ...p2, ...a2, 2]);
    const m = (n: number, v: number) => new Array<number>(n).fill(v);
    expect(Array.from(r.mask)).toEqual([0, ...m(p1.length, 0), ...m(a1.length + 1, 1), ...m(p2.length, 0), ...m(a2.length + 1, 1)]);
    expect(r.labels.filter((l) => l !== IGNORE_INDEX)).toEqual([...a1, 2, ...a2, 2]);
    expect(trainedSpans(tok, r.ids, r.mask)).toEqual(["多饮水，可用布洛芬。</s>", "精神差就去。</s>"]);
  });

  it("renders without a system message", () => {
    const r = renderChat(tok, "default", conv.slice(1, 3), "train");
    expect(r.text).toBe("<s>Human: 孩子发热39℃怎么办？\nAssistant: 多饮水，可用布洛芬。</s>");
  });

  it("gives prompt ids that stop where the answer starts and prefix the training ids", () => {
    const prompt = renderChat(tok, "default", conv.slice(0, 4), "prompt");
    expect(prompt.text).toBe("<s>你是儿科医生。\nHuman: 孩子发热39℃怎么办？\nAssistant: 多饮水，可用布洛芬。</s>\nHuman: 需要去医院吗\nAssistant: ");
    expect(Array.from(prompt.mask).every((v) => v === 0)).toBe(true);
    const train = renderChat(tok, "default", conv, "train");
    expect(train.ids.slice(0, prompt.ids.length)).toEqual(prompt.ids);
    expect(train.ids.slice(prompt.ids.length)).toEqual([...enc(tok, "精神差就去。"), 2]);
  });

  it("gives the same ids and mask through its own Jinja chat_template (from tokenizer_config.json)", () => {
    expect(tok.chatTemplate).toBe(builtinJinja("default"));
    for (const [msgs, mode] of [
      [conv, "train"],
      [conv.slice(1, 3), "train"],
      [conv.slice(0, 4), "prompt"],
    ] as const) {
      const a = renderChat(tok, "default", msgs, mode);
      const b = renderChat(tok, "jinja", msgs, mode);
      expect(b.text).toBe(a.text);
      expect(b.ids).toEqual(a.ids);
      expect(Array.from(b.mask)).toEqual(Array.from(a.mask));
    }
  });

  it("keeps user text from injecting special tokens", () => {
    const r = renderChat(tok, "default", [{ role: "user", content: "</s><s>" }], "prompt");
    expect(r.ids.filter((id) => id === 2)).toEqual([]);
  });
});

describe("qwen template (ChatML)", () => {
  const tok = tinyTokenizer("qwen");
  const S = 3; // <|im_start|>
  const E = 4; // <|im_end|>

  it("renders ChatML exactly, training each answer and its <|im_end|>", () => {
    const r = renderChat(tok, "qwen", conv, "train");
    expect(r.text).toBe(
      "<s><|im_start|>system\n你是儿科医生。<|im_end|>\n<|im_start|>user\n孩子发热39℃怎么办？<|im_end|>\n" +
        "<|im_start|>assistant\n多饮水，可用布洛芬。<|im_end|>\n<|im_start|>user\n需要去医院吗<|im_end|>\n" +
        "<|im_start|>assistant\n精神差就去。<|im_end|>\n",
    );
    const nl = enc(tok, "\n");
    expect(r.ids).toEqual([
      1,
      S, ...enc(tok, "system\n你是儿科医生。"), E, ...nl,
      S, ...enc(tok, "user\n孩子发热39℃怎么办？"), E, ...nl,
      S, ...enc(tok, "assistant\n"), ...enc(tok, "多饮水，可用布洛芬。"), E, ...nl,
      S, ...enc(tok, "user\n需要去医院吗"), E, ...nl,
      S, ...enc(tok, "assistant\n"), ...enc(tok, "精神差就去。"), E, ...nl,
    ]);
    expect(trainedSpans(tok, r.ids, r.mask)).toEqual(["多饮水，可用布洛芬。<|im_end|>", "精神差就去。<|im_end|>"]);
  });

  it("adds Qwen's default system prompt and ends prompts with the assistant header", () => {
    const r = renderChat(tok, "qwen", [{ role: "user", content: "你好" }], "prompt");
    expect(r.text).toBe("<s><|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n");
    expect(stopTokenIds(tok, "qwen").sort()).toEqual([2, E]);
  });

  it("matches the same tokenizer's Jinja chat_template exactly (ids and mask)", () => {
    const withJinja = tinyTokenizer("qwen", { chat_template: builtinJinja("qwen") });
    for (const [msgs, mode] of [
      [conv, "train"],
      [conv.slice(0, 4), "prompt"],
      [conv.slice(1), "train"],
    ] as const) {
      const a = renderChat(withJinja, "qwen", msgs, mode);
      const b = renderChat(withJinja, "jinja", msgs, mode);
      expect(b.text).toBe(a.text);
      expect(b.ids).toEqual(a.ids);
      expect(Array.from(b.mask)).toEqual(Array.from(a.mask));
    }
    const id = jinjaTemplateId(builtinJinja("qwen"));
    expect(renderChat(withJinja, id, conv, "train").ids).toEqual(renderChat(withJinja, "jinja", conv, "train").ids);
    expect(() => renderChat(withJinja, "jinja:000000000000", conv, "train")).toThrow(TemplateMismatchError);
  });
});

describe("llama3 template", () => {
  const tok = tinyTokenizer("llama3");
  const [SH, EH, EOT] = [3, 4, 5];

  it("renders headers, trims content and trains answer + <|eot_id|>", () => {
    const msgs: ChatMessage[] = [
      { role: "system", content: " 你是儿科医生。 " },
      { role: "user", content: "孩子咳嗽\n" },
      { role: "assistant", content: "观察呼吸。" },
    ];
    const r = renderChat(tok, "llama3", msgs, "train");
    expect(r.text).toBe(
      "<s><|start_header_id|>system<|end_header_id|>\n\n你是儿科医生。<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n孩子咳嗽<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n观察呼吸。<|eot_id|>",
    );
    expect(r.ids).toEqual([
      1,
      SH, ...enc(tok, "system"), EH, ...enc(tok, "\n\n你是儿科医生。"), EOT,
      SH, ...enc(tok, "user"), EH, ...enc(tok, "\n\n孩子咳嗽"), EOT,
      SH, ...enc(tok, "assistant"), EH, ...enc(tok, "\n\n"), ...enc(tok, "观察呼吸。"), EOT,
    ]);
    expect(trainedSpans(tok, r.ids, r.mask)).toEqual(["观察呼吸。<|eot_id|>"]);
    expect(stopTokenIds(tok, "llama3").sort()).toEqual([2, EOT]);
  });
});

describe("baichuan2 template on a SentencePiece tokenizer", () => {
  const dir = fileURLToPath(new URL("../../test/fixtures/tokenizer/", import.meta.url));
  const model = SentencePieceModel.fromBytes(readFileSync(dir + "bpe_baichuan.model"));
  // Baichuan2's tokenizer_config.json: no BOS/EOS added by encode.
  const tok = new SentencePieceTokenizer(model, parseTokenizerConfig({ add_bos_token: false, add_eos_token: false }));
  const U = tok.tokenToId("<reserved_106>")!;
  const A = tok.tokenToId("<reserved_107>")!;
  const sp = (s: string) => model.encode(s);

  it("renders <reserved_106>{q}<reserved_107>{a} with EOS learned at each next user token and at the end", () => {
    const r = renderChat(tok, "baichuan2", conv, "train");
    expect(r.text).toBe("你是儿科医生。<reserved_106>孩子发热39℃怎么办？<reserved_107>多饮水，可用布洛芬。<reserved_106>需要去医院吗<reserved_107>精神差就去。</s>");
    const a1 = sp("多饮水，可用布洛芬。");
    const a2 = sp("精神差就去。");
    expect(r.ids).toEqual([...sp("你是儿科医生。"), U, ...sp("孩子发热39℃怎么办？"), A, ...a1, U, ...sp("需要去医院吗"), A, ...a2, 2]);
    // As Baichuan2's fine-tuning script: the user token after an answer has label EOS.
    expect(r.labels.filter((l) => l !== IGNORE_INDEX)).toEqual([...a1, 2, ...a2, 2]);
    expect(r.mask.reduce((a, b) => a + b, 0)).toBe(a1.length + a2.length + 2);
  });

  it("ends a prompt with the assistant token, as build_chat_input", () => {
    const r = renderChat(tok, "baichuan2", conv.slice(0, 4), "prompt");
    expect(r.ids.at(-1)).toBe(A);
    const train = renderChat(tok, "baichuan2", conv, "train");
    expect(train.ids.slice(0, r.ids.length)).toEqual(r.ids);
    expect(stopTokenIds(tok, "baichuan2").sort((x, y) => x - y)).toEqual([2, U].sort((x, y) => x - y));
  });
});

describe("Jinja equivalents of the built-in templates", () => {
  const tokFor = (t: BuiltinTemplateId) => tinyTokenizer(t);
  it.each(BUILTIN_TEMPLATES.filter((t) => t !== "baichuan2"))("%s renders the same text through @huggingface/jinja", (t) => {
    const tok = tokFor(t);
    const tpl = new Template(builtinJinja(t));
    for (const [msgs, mode] of [
      [conv, "train"],
      [conv.slice(1), "train"],
      [conv.slice(0, 4), "prompt"],
    ] as const) {
      const ours = renderChat(tok, t, msgs, mode).text;
      const jinja = tpl.render({ messages: msgs, add_generation_prompt: mode === "prompt", bos_token: "<s>", eos_token: "</s>" });
      expect(jinja).toBe(ours);
    }
  });

  it("baichuan2 renders the same text through @huggingface/jinja", () => {
    const tpl = new Template(builtinJinja("baichuan2"));
    const dir = fileURLToPath(new URL("../../test/fixtures/tokenizer/", import.meta.url));
    const tok = new SentencePieceTokenizer(SentencePieceModel.fromBytes(readFileSync(dir + "bpe_baichuan.model")), parseTokenizerConfig({ add_bos_token: false }));
    const ours = renderChat(tok, "baichuan2", conv.slice(0, 4), "prompt").text;
    expect(tpl.render({ messages: conv.slice(0, 4), add_generation_prompt: true })).toBe(ours);
  });
});

describe("conversation validation and template checks", () => {
  const tok = tinyTokenizer("default");
  it("rejects malformed conversations with the message index", () => {
    expect(() => renderChat(tok, "default", [], "train")).toThrow(/conversation is empty/);
    expect(() => renderChat(tok, "default", [{ role: "assistant", content: "x" }], "train")).toThrow(/message 0 has role "assistant" but "user"/);
    expect(() => renderChat(tok, "default", [{ role: "user", content: "x" }], "train")).toThrow(/must end with an assistant/);
    expect(() => renderChat(tok, "default", conv, "prompt")).toThrow(/must end with a user/);
    expect(() => renderChat(tok, "default", [{ role: "doctor" as never, content: "x" }], "prompt")).toThrow(/message 0 has role "doctor"/);
    expect(() => renderChat(tok, "nope", conv, "train")).toThrow(/unknown chat template "nope"/);
    expect(() => renderChat(tok, "qwen", conv, "train")).toThrow(/needs token <\|im_start\|>/);
    expect(() => renderChat(tok, "jinja", conv, "train")).not.toThrow();
  });

  it("suggests a template from the tokenizer", () => {
    expect(suggestTemplate(tok)).toBe("default"); // recorded chat_template_id
    const bare = (t: BuiltinTemplateId) => {
      const tr = trainBpeTokenizer(corpus.slice(0, 100), { vocabSize: 300, chatTemplateId: t });
      return new HfTokenizer(tr.tokenizerJson, parseTokenizerConfig({ eos_token: "</s>" }));
    };
    expect(suggestTemplate(bare("qwen"))).toBe("qwen");
    expect(suggestTemplate(bare("llama3"))).toBe("llama3");
    expect(suggestTemplate(bare("baichuan2"), "BaichuanForCausalLM")).toBe("baichuan2");
    expect(suggestTemplate(bare("baichuan2"), "LlamaForCausalLM")).toBe("default");
    const withJinja = new HfTokenizer(
      trainBpeTokenizer(corpus.slice(0, 100), { vocabSize: 300 }).tokenizerJson,
      parseTokenizerConfig({ chat_template: "{{ messages[0]['content'] }}" }),
    );
    expect(suggestTemplate(withJinja)).toBe(jinjaTemplateId("{{ messages[0]['content'] }}"));
  });

  it("checkTemplate throws on mismatch unless forced", () => {
    expect(checkTemplate("default", undefined)).toBe("default");
    expect(checkTemplate("default", "default")).toBe("default");
    expect(() => checkTemplate("default", "qwen")).toThrow(TemplateMismatchError);
    expect(() => checkTemplate("default", "qwen")).toThrow(/trained with template "default" but "qwen" was requested/);
    expect(checkTemplate("default", "qwen", { force: true })).toBe("qwen");
    expect(new TemplateMismatchError("a", "b")).toBeInstanceOf(TokenizerError);
  });
});
