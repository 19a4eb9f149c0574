/**
 * tokenizer.json loading in the layouts of Qwen2 (ChatML added tokens, no BOS, ByteLevel post-processor)
 * and Llama 3 (<|begin_of_text|> added by TemplateProcessing, digits split in threes, ignore_merges),
 * built from a tokenizer trained here so no download is needed; checks special ids, BOS/EOS detection,
 * added-token splitting and that our BPE merge loop matches the library in both layouts.
 */
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { trainBpeTokenizer } from "./bpe_train.js";
import { parseTokenizerConfig } from "./config.js";
import { HfTokenizer } from "./hf.js";
import { renderChat, stopTokenIds } from "./templates.js";

const corpus = generateCorpus(800, 11);
const base = trainBpeTokenizer(corpus, { vocabSize: 700, addBos: false }).tokenizerJson as Record<string, unknown> & {
  model: { vocab: Record<string, number>; merges: Array<[string, string]> };
  pre_tokenizer: { pretokenizers: Array<Record<string, unknown>> };
};
const addedToken = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** Re-numbers so added tokens come after the BPE vocabulary, as in Qwen2 and Llama 3. */
function withAddedTokens(names: string[]): { json: Record<string, unknown>; ids: Record<string, number> } {
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const [tok] of Object.entries(base.model.vocab).sort((a, b) => a[1] - b[1])) {
    if (tok === "<pad>" || tok === "<s>" || tok === "</s>") continue;
    vocab[tok] = next++;
  }
  const ids: Record<string, number> = {};
  const added = names.map((n) => {
    ids[n] = next;
    vocab[n] = next;
    return addedToken(next++, n);
  });
  const json = JSON.parse(JSON.stringify(base)) as typeof base;
  json.model.vocab = vocab;
  json.added_tokens = added;
  return { json, ids };
}

describe("Qwen2-style tokenizer.json", () => {
  const { json, ids } = withAddedTokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
  json.post_processor = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const cfg = parseTokenizerConfig({
    bos_token: null,
    eos_token: "<|im_end|>",
    pad_token: "<|endoftext|>",
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: Object.fromEntries(Object.entries(ids).map(([c, id]) => [String(id), { content: c, special: true }])),
  });
  const tok = new HfTokenizer(json, cfg);

  it("reads special ids from tokenizer_config.json and adds no BOS", () => {
    expect(tok.bosId).toBeNull();
    expect(tok.eosId).toBe(ids["<|im_end|>"]);
    expect(tok.padId).toBe(ids["<|endoftext|>"]);
    expect(tok.addBos).toBe(false);
    expect(tok.addEos).toBe(false);
    expect(tok.vocabSize).toBe(ids["<|im_end|>"]! + 1);
    expect(tok.fastBpe).toBe(true);
  });

  it("splits added tokens out of text and decodes them back", () => {
    const s = "<|im_start|>user\n孩子发热<|im_end|>";
    const got = tok.encode(s);
    expect(got[0]).toBe(ids["<|im_start|>"]);
    expect(got.at(-1)).toBe(ids["<|im_end|>"]);
    expect(tok.decode(got)).toBe(s);
    expect(tok.decode(got, { skipSpecialTokens: true })).toBe("user\n孩子发热");
  });

  it("renders the qwen template with the model's own ids", () => {
    const r = renderChat(tok, "qwen", [{ role: "user", content: "你好" }, { role: "assistant", content: "你好！" }], "train");
    expect(r.ids[0]).toBe(ids["<|im_start|>"]);
    expect(r.text.startsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")).toBe(true);
    expect(stopTokenIds(tok, "qwen")).toEqual([ids["<|im_end|>"]]);
  });
});

describe("Llama 3-style tokenizer.json", () => {
  const names = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
  const { json, ids } = withAddedTokens(names);
  const split = (json.pre_tokenizer as typeof base.pre_tokenizer).pretokenizers[0]!;
  split.pattern = {
    Regex:
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  };
  (json.model as Record<string, unknown>).ignore_merges = true;
  json.post_processor = {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
      { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
      { Sequence: { id: "B", type_id: 1 } },
    ],
    special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [ids["<|begin_of_text|>"]], tokens: ["<|begin_of_text|>"] } },
  };
  const cfg = parseTokenizerConfig({ bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>", clean_up_tokenization_spaces: true });
  const fast = new HfTokenizer(json, cfg);
  const slow = new HfTokenizer(json, cfg, "tokenizer.json", { fastBpe: false });

  it("detects BOS from the post-processor", () => {
    expect(fast.bosId).toBe(ids["<|begin_of_text|>"]);
    expect(fast.addBos).toBe(true);
    expect(fast.encode("12345")[0]).toBe(ids["<|begin_of_text|>"]);
    expect(fast.encode("")).toEqual([ids["<|begin_of_text|>"]]);
  });

  it("matches the library exactly with ignore_merges and the 3-digit split", () => {
    for (const line of [...corpus.slice(0, 400), "1234567 mg", "体重12345.678kg", "a<b>c"]) expect(fast.encode(line)).toEqual(slow.encode(line));
    expect(fast.decode(fast.encode("a<b>c", { addSpecialTokens: false }))).toBe("a<b>c");
  });

  it("renders the llama3 template", () => {
    const r = renderChat(fast, "llama3", [{ role: "user", content: "发热" }], "prompt");
    expect(r.text).toBe("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n发热<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    expect(r.ids[0]).toBe(ids["<|begin_of_text|>"]);
  });

  it("honours clean_up_tokenization_spaces from the config on decode", () => {
    expect(fast.decode(fast.encode("a , b .", { addSpecialTokens: false }))).toBe("a, b.");
  });
});

describe("pieces without an id", () => {
  it("are an error, not silently dropped, when the model has no unk token", () => {
    const { json } = withAddedTokens(["<|endoftext|>"]);
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    delete vocab["Z"]; // no merge uses it in this corpus; "Z" now has no id
    const merges = (json.model as { merges: Array<[string, string]> }).merges;
    expect(merges.some(([a, b]) => a.includes("Z") || b.includes("Z"))).toBe(false);
    const tok = new HfTokenizer(json, parseTokenizerConfig({}));
    expect(tok.fastBpe).toBe(true);
    expect(() => tok.encode("aZb")).toThrow(/"Z" is not in the vocabulary and the model has no unk_token/);
  });
});
