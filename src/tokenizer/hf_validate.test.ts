/**
 * tokenizer.json files are validated before use: a vocabulary that does not cover its merges, an
 * unknown model type, and special tokens at odds with the vocabulary are refused naming the field
 * (they used to encode text silently to the unknown token).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "./load.js";
import { validateTokenizerJson } from "./hf.js";
import { tempDir } from "../../test/helpers/tempdir.js";
import { cli } from "../../test/helpers/cli.js";

const FX = fileURLToPath(new URL("../../test/fixtures/io/hf_llama_bin/", import.meta.url));
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function variant(name: string, edit: (j: Json) => void): string {
  const d = join(tempDir("tok-validate-"), name);
  mkdirSync(d);
  const j = JSON.parse(readFileSync(join(FX, "tokenizer.json"), "utf8")) as Json;
  edit(j);
  writeFileSync(join(d, "tokenizer.json"), JSON.stringify(j));
  copyFileSync(join(FX, "tokenizer_config.json"), join(d, "tokenizer_config.json"));
  return d;
}

describe("tokenizer.json validation", () => {
  it("the committed fixture is valid and encodes Chinese to real tokens", () => {
    const t = loadTokenizer(FX);
    expect(t.encode("小儿发热", { addSpecialTokens: false }).length).toBeGreaterThan(0);
  });

  it("a vocabulary that does not cover its merges is refused (the CLI no longer encodes 小儿发热 to one id)", async () => {
    const d = variant("merges", (j) => {
      const [a, b] = (j.model.merges[1] as string).split(" ");
      delete j.model.vocab[a! + b!];
    });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer\.json: model\.merges: 2 merge\(s\) use or make tokens outside the vocabulary, e\.g\. \[1\] "åĦ ¿" \("åĦ¿" not in model\.vocab\)/);
    const r = await cli("tokenizer", "encode", "-t", d, "小儿发热");
    expect(r.rc).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/pedgpt: .*tokenizer\.json: model\.merges: 2 merge\(s\)/);
  });

  it("an unknown model.type is refused instead of being treated as BPE", () => {
    const d = variant("type", (j) => (j.model.type = "WordLevelX"));
    expect(() => loadTokenizer(d)).toThrow(/model\.type: "WordLevelX" is not supported \(expected BPE, WordPiece, Unigram\)/);
  });

  it("special tokens must agree with the vocabulary", () => {
    expect(() => loadTokenizer(variant("added", (j) => (j.added_tokens[0].id = 5)))).toThrow(/added_tokens\[0\]: id 5 is given to both/);
    expect(() => loadTokenizer(variant("unk", (j) => (j.model.unk_token = "<unk>")))).toThrow(/model\.unk_token: "<unk>" is not in model\.vocab/);
    expect(() => loadTokenizer(variant("ids", (j) => (j.model.vocab["x"] = -1)))).toThrow(/model\.vocab: id of "x" must be a non-negative integer, got -1/);
    expect(() =>
      validateTokenizerJson(
        { model: { type: "BPE", vocab: { a: 0, "<s>": 1 }, merges: [] }, post_processor: { type: "TemplateProcessing", special_tokens: { "<s>": { id: "<s>", ids: [7], tokens: ["<s>"] } } } },
        "t.json",
      ),
    ).toThrow('t.json: post_processor.special_tokens.<s>: "<s>" is given id 7, but its id is 1');
  });
});
