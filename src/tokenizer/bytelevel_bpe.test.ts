/**
 * Parity of the whole-encode fast path for byte-level BPE (bytelevel_bpe.ts) with @huggingface/tokenizers,
 * the oracle: every line of the generated fixture corpus (test/fixtures/tokenizer/lines.jsonl.gz) and a set
 * of edge cases, for four tokenizer.json layouts built here from one trained vocabulary (our trainer's own
 * file, Qwen2-style, Llama 3-style, GPT-2-style), with and without special tokens and added-token parsing.
 * Also checks that files the fast path cannot take are detected and left to the library.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { trainBpeTokenizer } from "./bpe_train.js";
import { parseTokenizerConfig, type TokenizerConfig } from "./config.js";
import { HfTokenizer } from "./hf.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "../../test/fixtures/tokenizer");
const lines = gunzipSync(readFileSync(join(fixtures, "lines.jsonl.gz")))
  .toString("utf8")
  .split("\n")
  .filter((l) => l !== "")
  .map((l) => JSON.parse(l) as string);

type Json = Record<string, unknown> & { model: { vocab: Record<string, number>; merges: Array<[string, string]> } };
const trained = trainBpeTokenizer(generateCorpus(1500, 5), { vocabSize: 1500, chatTemplateId: "qwen" });
const base = trained.tokenizerJson as Json;
const clone = (j: unknown): Json => JSON.parse(JSON.stringify(j)) as Json;
const addedToken = (id: number, content: string, special = true) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };

/** The trained vocabulary re-numbered with added tokens after it, as in Qwen2 and Llama 3. */
function withAdded(names: string[]): { json: Json; ids: Record<string, number> } {
  const json = clone(base);
  const vocab: Record<string, number> = {};
  let next = 0;
  for (const [tok] of Object.entries(base.model.vocab).sort((a, b) => a[1] - b[1])) {
    if ((base.added_tokens as Array<{ content: string }>).some((t) => t.content === tok)) continue;
    vocab[tok] = next++;
  }
  const ids: Record<string, number> = {};
  json.added_tokens = names.map((n) => {
    ids[n] = next;
    vocab[n] = next;
    return addedToken(next++, n);
  });
  json.model.vocab = vocab;
  return { json, ids };
}

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function qwen2(): Json {
  const { json } = withAdded(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
  json.post_processor = { ...byteLevel };
  return json;
}

function llama3(): Json {
  const { json, ids } = withAdded(["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
  json.normalizer = null;
  (json.pre_tokenizer as { pretokenizers: Array<Record<string, unknown>> }).pretokenizers[0]!.pattern = { Regex: LLAMA3_SPLIT };
  (json.model as Record<string, unknown>).ignore_merges = true;
  const bos = { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } };
  // As in Meta's file: ByteLevel then TemplateProcessing, in a Sequence.
  json.post_processor = {
    type: "Sequence",
    processors: [
      { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: "TemplateProcessing",
        single: [bos, { Sequence: { id: "A", type_id: 0 } }],
        pair: [bos, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [ids["<|begin_of_text|>"]], tokens: ["<|begin_of_text|>"] } },
      },
    ],
  };
  return json;
}

function gpt2(): Json {
  const { json } = withAdded(["<|endoftext|>"]);
  json.normalizer = null;
  json.pre_tokenizer = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  json.post_processor = { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true };
  return json;
}

const EDGE = [
  "",
  " ",
  "a",
  "你",
  "😀",
  "👨‍👩‍👧‍👦 家庭 🇨🇳 flag",
  "e\u0301 cafe\u0301 \u1100\u1161\u11a8 Å", // combining marks and Hangul jamo (NFC composes them)
  "line one\r\nline two\r\n\r\nthree\n\n\n",
  "12345678901234567890 体重12345.678kg 0.000001",
  "     五个空格     then\t\ttabs \u00a0nbsp\u3000全角空格   ",
  "<|im_start|>user\n孩子发热<|im_end|>\n<|im_start|>assistant\n",
  "<|im_start|><|im_end|><|im_start|<|im_end|>>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n发热<|eot_id|>",
  "text<|endoftext|>more<|endoftext|>",
  "I'm sure it's THE child's fever; they'LL see, we'VE",
  "ＡＢＣ①②③ ｆｕｌｌ－ｗｉｄｔｈ　１２３",
  "\ud800 lone \udc00 surrogates \ud83d",
  "𠮷野家 𪚥 rare ideographs",
  "!!!???...,,,;;; ——…… 《》【】",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "\u0000\u0001\u007f control",
  "孩子".repeat(400), // one long piece under the split regex
  lines.slice(0, 40).join("").replace(/[，。、：；！？\s\p{P}\d]/gu, ""), // long unique word
];

function tokenizers(): Array<[string, Json, TokenizerConfig]> {
  return [
    ["trained", base, parseTokenizerConfig(trained.tokenizerConfig)],
    ["qwen2", qwen2(), parseTokenizerConfig({ eos_token: "<|im_end|>", pad_token: "<|endoftext|>" })],
    ["llama3", llama3(), parseTokenizerConfig({ bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" })],
    ["gpt2", gpt2(), parseTokenizerConfig({ eos_token: "<|endoftext|>" })],
  ];
}

describe("byte-level BPE fast encode", () => {
  for (const [name, json, cfg] of tokenizers()) {
    it(`${name}: identical ids to @huggingface/tokenizers on every fixture line and edge case`, () => {
      const fast = new HfTokenizer(json, cfg, `${name}/tokenizer.json`);
      expect(fast.fastEncodeUnsupported).toBeNull();
      expect(fast.fastEncode).toBe(true);
      expect(fast.addBos).toBe(name === "trained" || name === "llama3");
      // The oracle: the library itself, unmodified, with the same options our wrapper passes it.
      const lib = new HfLibTokenizer(json, { clean_up_tokenization_spaces: false });
      const bad: string[] = [];
      for (const line of [...lines, ...EDGE]) {
        if (line === "") continue; // the library refuses empty input; our empty-text handling is tested below
        const want = lib.encode(line, { add_special_tokens: true }).ids;
        const got = fast.encode(line);
        if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(line);
      }
      expect(bad.slice(0, 3)).toEqual([]);
      expect(bad.length).toBe(0);
    });

    it(`${name}: matches the library pipeline without added-token parsing and without special tokens`, () => {
      const fast = new HfTokenizer(json, cfg);
      const slow = new HfTokenizer(json, cfg, "tokenizer.json", { fastBpe: false });
      expect(slow.fastEncode).toBe(false);
      for (const line of [...lines.slice(0, 1500), ...EDGE]) {
        for (const opts of [{ parseSpecial: false }, { addSpecialTokens: false }, { parseSpecial: false, addSpecialTokens: false }]) {
          expect(fast.encode(line, opts), `${JSON.stringify(line)} ${JSON.stringify(opts)}`).toEqual(slow.encode(line, opts));
        }
      }
    });
  }

  it("gives the same ids whether a piece comes from the cache or is merged afresh", () => {
    const cfg = parseTokenizerConfig(trained.tokenizerConfig);
    const cached = new HfTokenizer(base, cfg);
    const uncached = new HfTokenizer(base, cfg, "tokenizer.json", { pieceCache: false });
    const sample = [...lines.slice(0, 2000), ...EDGE];
    const want = sample.map((l) => uncached.encode(l));
    expect(sample.map((l) => cached.encode(l))).toEqual(want); // filling the cache
    expect(sample.map((l) => cached.encode(l))).toEqual(want); // served from it
  });
});

describe("files the fast path does not take", () => {
  const cases: Array<[string, (j: Json) => void, RegExp]> = [
    ["NFKC normaliser", (j) => (j.normalizer = { type: "NFKC" }), /normalizer NFKC/],
    ["lstrip added token", (j) => ((j.added_tokens as Array<Record<string, unknown>>)[3]!.lstrip = true), /lstrip/],
    ["BPE dropout", (j) => ((j.model as Record<string, unknown>).dropout = 0.1), /dropout/],
    ["byte fallback", (j) => ((j.model as Record<string, unknown>).byte_fallback = true), /byte_fallback/],
    ["ByteLevel with a prefix space", (j) => (j.pre_tokenizer = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true }), /add_prefix_space/],
    ["Whitespace pre-tokenizer", (j) => (j.pre_tokenizer = { type: "Whitespace" }), /pre-tokenizer Whitespace/],
  ];
  for (const [what, edit, reason] of cases) {
    it(`${what}: detected, and the library's pipeline gives the ids`, () => {
      const json = clone(base);
      edit(json);
      const cfg = parseTokenizerConfig(trained.tokenizerConfig);
      const tok = new HfTokenizer(json, cfg);
      expect(tok.fastEncode).toBe(false);
      expect(tok.fastEncodeUnsupported).toMatch(reason);
      // These stay in the library's pipeline with only its merge loop replaced (fast_bpe.ts), except dropout.
      expect(tok.fastBpe).toBe(what !== "BPE dropout");
      if (what === "BPE dropout") return; // random by design: nothing to compare
      const slow = new HfTokenizer(json, cfg, "tokenizer.json", { fastBpe: false });
      // Without ByteLevel, non-ASCII characters are not in this byte-level vocabulary: compare ASCII text there.
      const sample = what.startsWith("Whitespace") ? ["Ibuprofen 10 mg/kg q6h", "it's a test, OK?"] : [...lines.slice(0, 200), ...EDGE.slice(0, 12)];
      for (const line of sample) expect(tok.encode(line)).toEqual(slow.encode(line));
    });
  }
});
