/**
 * The byte-level BPE trainer and the tokenizer.json loader: a tokenizer trained here, saved as standard
 * tokenizer.json, loaded back by @huggingface/tokenizers, must give the ids that an independent
 * rank-order merge application gives, on every corpus line; it must round-trip any text.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Tokenizer as HfLib } from "@huggingface/tokenizers";
import { generateCorpus } from "../../scripts/fixtures/tokenizer_corpus.js";
import { applyMerges, saveTrainedBpe, trainBpeTokenizer, trainBpeTokenizerFromFiles } from "./bpe_train.js";
import { parseTokenizerConfig } from "./config.js";
import { HfTokenizer } from "./hf.js";
import { loadTokenizer } from "./load.js";
import { TokenizerError } from "./errors.js";

const corpus = generateCorpus(3000, 7);
const heldOut = generateCorpus(500, 99);
const trained = trainBpeTokenizer(corpus, { vocabSize: 1200 });
const tmp = mkdtempSync(join(tmpdir(), "pedgpt-bpe-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("trainBpeTokenizer", () => {
  it("reaches the requested vocabulary size with specials first", () => {
    expect(trained.vocabSize).toBe(1200);
    expect(trained.merges).toBe(1200 - 3 - 256);
    const vocab = (trained.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    expect(vocab["<pad>"]).toBe(0);
    expect(vocab["<s>"]).toBe(1);
    expect(vocab["</s>"]).toBe(2);
    expect(trained.stats.chars).toBe(corpus.reduce((n, l) => n + l.length, 0));
  });

  it("learns the same merges as a naive trainer that recounts every pair after each merge", () => {
    const small = corpus.slice(0, 300);
    const fast = trainBpeTokenizer(small, { vocabSize: 500 });
    const json = fast.tokenizerJson as { model: { merges: Array<[string, string]> } };
    const lib = new HfLib(fast.tokenizerJson, {});
    const pre = (lib as unknown as { pre_tokenizer: { _call(t: string): string[] } }).pre_tokenizer;
    const counts = new Map<string, number>();
    for (const l of small) for (const w of pre._call(l.normalize("NFC"))) counts.set(w, (counts.get(w) ?? 0) + 1);
    // Ties break on the smaller (left id, right id), with ids as the trainer assigned them.
    const vocab = (fast.tokenizerJson as { model: { vocab: Record<string, number> } }).model.vocab;
    let words = [...counts].map(([w, c]) => ({ syms: Array.from(w), c }));
    const expected: Array<[string, string]> = [];
    for (let step = 0; step < json.model.merges.length; step++) {
      const pc = new Map<string, number>();
      for (const { syms, c } of words) for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + "\u0000" + syms[i + 1];
        pc.set(k, (pc.get(k) ?? 0) + c);
      }
      let best: string | null = null;
      let bestC = 0;
      let bestKey = Infinity;
      for (const [k, c] of pc) {
        const [x, y] = k.split("\u0000") as [string, string];
        const key = vocab[x]! * 2 ** 20 + vocab[y]!;
        if (c > bestC || (c === bestC && key < bestKey)) [best, bestC, bestKey] = [k, c, key];
      }
      const [x, y] = best!.split("\u0000") as [string, string];
      expected.push([x, y]);
      words = words.map(({ syms, c }) => {
        const out: string[] = [];
        for (let i = 0; i < syms.length; ) {
          if (i + 1 < syms.length && syms[i] === x && syms[i + 1] === y) {
            out.push(x + y);
            i += 2;
          } else out.push(syms[i++]!);
        }
        return { syms: out, c };
      });
    }
    expect(json.model.merges).toEqual(expected);
  });

  it("saves a tokenizer.json that @huggingface/tokenizers encodes exactly as rank-order merges do", () => {
    saveTrainedBpe(trained, tmp);
    const json = JSON.parse(readFileSync(join(tmp, "tokenizer.json"), "utf8")) as {
      model: { vocab: Record<string, number>; merges: Array<[string, string]> };
    };
    const lib = new HfLib(json, { clean_up_tokenization_spaces: false });
    const ranks = new Map(json.model.merges.map(([a, b], i) => [a + "\u0000" + b, i]));
    const pre = (lib as unknown as { pre_tokenizer: { _call(t: string): string[] } }).pre_tokenizer;
    let mismatches = 0;
    let tokens = 0;
    for (const line of [...corpus, ...heldOut]) {
      const ours = pre._call(line.normalize("NFC")).flatMap((w) => applyMerges(w, ranks).map((t) => json.model.vocab[t]!));
      const theirs = lib.encode(line, { add_special_tokens: false }).ids;
      tokens += theirs.length;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches++;
    }
    expect(mismatches).toBe(0);
    // Compression on held-out text: merges learned something (Chinese is 3 bytes per character).
    const heldChars = heldOut.reduce((n, l) => n + l.length, 0);
    expect(tokens).toBeGreaterThan(0);
    expect(heldOut.map((l) => lib.encode(l, { add_special_tokens: false }).ids.length).reduce((a, b) => a + b)).toBeLessThan(heldChars);
  });

  it("loads back through loadTokenizer with BOS, EOS, PAD and the template id", () => {
    const tok = loadTokenizer(tmp);
    expect(tok.kind).toBe("tokenizer.json");
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([1, 2, 0]);
    expect(tok.addBos).toBe(true);
    expect(tok.addEos).toBe(false);
    expect(tok.chatTemplateId).toBe("default");
    expect(tok.chatTemplate).toContain("Human: ");
    expect(tok.vocabSize).toBe(1200);
    const ids = tok.encode("患儿3岁，发热2天");
    expect(ids[0]).toBe(1);
    expect(tok.encode("患儿3岁，发热2天", { addSpecialTokens: false })).toEqual(ids.slice(1));
  });

  it("round-trips arbitrary text, including characters never seen in training", () => {
    const tok = loadTokenizer(tmp);
    for (const s of ["", " ", "  两个空格  ", "😀 emoji 𠮷", "ＡＢＣ①②", "tab\there\nnewline", "Ibuprofen 10 mg/kg q6h", "\u00e9\u0301"]) {
      const ids = tok.encode(s, { addSpecialTokens: false });
      // NFC normalisation is part of the tokenizer, so compare with the NFC form.
      expect(tok.decode(ids)).toBe(s.normalize("NFC"));
    }
  });

  it("gives the library's ids with our faster BPE merge loop, on every line and on long unique words", () => {
    const fast = new HfTokenizer(trained.tokenizerJson, parseTokenizerConfig(trained.tokenizerConfig));
    const slow = new HfTokenizer(trained.tokenizerJson, parseTokenizerConfig(trained.tokenizerConfig), "tokenizer.json", { fastBpe: false });
    expect(fast.fastBpe).toBe(true);
    expect(slow.fastBpe).toBe(false);
    const long = corpus.slice(0, 50).join("").replace(/[，。、：；！？ ]/g, ""); // one long word under the split regex
    let bad = 0;
    for (const line of [...corpus, ...heldOut, long, "aaaaaaa", "ababab", "  \n\n  x", "😀😀😀"]) {
      if (JSON.stringify(fast.encode(line)) !== JSON.stringify(slow.encode(line))) bad++;
    }
    expect(bad).toBe(0);
  });

  it("encodes text without special tokens identically with and without special-token parsing", () => {
    const tok = loadTokenizer(tmp);
    for (const line of heldOut) {
      expect(tok.encode(line, { addSpecialTokens: false, parseSpecial: false })).toEqual(tok.encode(line, { addSpecialTokens: false }));
    }
  });

  it("treats special-token text as special only when asked", () => {
    const tok = loadTokenizer(tmp);
    expect(tok.encode("a</s>b", { addSpecialTokens: false })).toContain(2);
    expect(tok.encode("a</s>b", { addSpecialTokens: false, parseSpecial: false })).not.toContain(2);
    expect(tok.decode(tok.encode("a</s>b", { addSpecialTokens: false, parseSpecial: false }))).toBe("a</s>b");
    expect(tok.decode([1, ...tok.encode("好", { addSpecialTokens: false }), 2], { skipSpecialTokens: true })).toBe("好");
    expect(() => tok.decode([5000])).toThrow(TokenizerError);
  });

  it("adds the template's special tokens", () => {
    const q = trainBpeTokenizer(corpus.slice(0, 200), { vocabSize: 400, chatTemplateId: "qwen" });
    const tok = new HfTokenizer(q.tokenizerJson, parseTokenizerConfig(q.tokenizerConfig));
    expect(tok.tokenToId("<|im_start|>")).toBe(3);
    expect(tok.tokenToId("<|im_end|>")).toBe(4);
    expect(tok.isSpecial(4)).toBe(true);
  });

  it("trains from files and reports bad options and missing files clearly", async () => {
    const f = join(tmp, "corpus.txt");
    writeFileSync(f, corpus.slice(0, 300).join("\n"));
    const fromFile = await trainBpeTokenizerFromFiles([f], { vocabSize: 500 });
    expect(fromFile.tokenizerJson).toEqual(trainBpeTokenizer(corpus.slice(0, 300), { vocabSize: 500 }).tokenizerJson);
    await expect(trainBpeTokenizerFromFiles([join(tmp, "missing.txt")])).rejects.toThrow(/missing\.txt: cannot read corpus file/);
    expect(() => trainBpeTokenizer([], { vocabSize: 100 })).toThrow(/vocab size must be/);
  });
});

describe("loadTokenizer", () => {
  it("picks tokenizer.model when there is no tokenizer.json, with tokenizer_config.json applied", () => {
    const dir = join(tmp, "spm");
    mkdirSync(dir, { recursive: true });
    copyFileSync(fileURLToPath(new URL("../../test/fixtures/tokenizer/bpe_llama.model", import.meta.url)), join(dir, "tokenizer.model"));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ add_bos_token: false, chat_template_id: "baichuan2" }));
    const tok = loadTokenizer(dir);
    expect(tok.kind).toBe("sentencepiece");
    expect(tok.addBos).toBe(false);
    expect(tok.chatTemplateId).toBe("baichuan2");
    expect(tok.vocabSize).toBe(2000);
  });
  it("names the directory when there is no tokenizer", () => {
    const dir = join(tmp, "empty");
    mkdirSync(dir, { recursive: true });
    expect(() => loadTokenizer(dir)).toThrow(/empty: no tokenizer\.json or tokenizer\.model found/);
    expect(() => loadTokenizer(join(tmp, "nope"))).toThrow(/nope: not a directory/);
  });
  it("names the file on invalid JSON", () => {
    const dir = join(tmp, "badjson");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "tokenizer.json"), "{ not json");
    expect(() => loadTokenizer(dir)).toThrow(/badjson\/tokenizer\.json: invalid JSON/);
  });
});

describe("HfTokenizer input checks", () => {
  it("names the file when tokenizer.json is not one", () => {
    expect(() => new HfTokenizer({ foo: 1 }, undefined, "x/tokenizer.json")).toThrow(/x\/tokenizer\.json: not a tokenizer\.json/);
  });
  it("rejects a config special token that is not in the vocabulary", () => {
    expect(() => new HfTokenizer(trained.tokenizerJson, parseTokenizerConfig({ eos_token: "<|none|>" }))).toThrow(/eos_token "<\|none\|>"/);
  });
  it("rejects a malformed tokenizer_config.json field", () => {
    expect(() => parseTokenizerConfig({ add_bos_token: "yes" }, "cfg.json")).toThrow(/cfg\.json: field "add_bos_token" must be true or false/);
  });
});
