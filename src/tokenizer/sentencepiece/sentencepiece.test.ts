/**
 * Oracle parity for the SentencePiece reader: models trained by Debian's spm_train 0.1.97 and the ids and
 * decoded text of Python sentencepiece 0.1.97 for 12,000 generated Chinese pediatric lines plus edge cases
 * (fixtures from scripts/fixtures/tokenizer_fixtures.sh). Every line must match exactly.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TokenizerError } from "../errors.js";
import { parseTokenizerConfig } from "../config.js";
import { SentencePieceModel } from "./model.js";
import { parseModelProto } from "./proto.js";
import { SentencePieceTokenizer } from "./tokenizer.js";

const dir = fileURLToPath(new URL("../../../test/fixtures/tokenizer/", import.meta.url));
const jsonl = (file: string): unknown[] =>
  gunzipSync(readFileSync(dir + file))
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown);
const lines = jsonl("lines.jsonl.gz") as string[];
const meta = JSON.parse(readFileSync(dir + "meta.json", "utf8")) as { corpus_lines: number; edge_lines: number };
type Row = [number[]] | [number[], string | { sha256: string }];

describe.each(["bpe_llama", "bpe_baichuan", "unigram_nfkc", "bpe_nofallback"])("SentencePiece parity: %s", (name) => {
  const model = SentencePieceModel.fromBytes(readFileSync(dir + name + ".model"), name + ".model");
  const expected = jsonl(name + ".expected.jsonl.gz") as Row[];

  it("has the expected line count", () => {
    expect(lines.length).toBe(meta.corpus_lines + meta.edge_lines);
    expect(meta.corpus_lines).toBeGreaterThanOrEqual(10_000);
    expect(expected.length).toBe(lines.length);
  });

  it("encodes every line to the reference ids", () => {
    const bad: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const ids = model.encode(lines[i]!);
      const want = expected[i]![0];
      if (ids.length !== want.length || ids.some((v, k) => v !== want[k])) {
        bad.push(`line ${i + 1} ${JSON.stringify(lines[i])}\n  ours ${ids.join(",")}\n  ref  ${want.join(",")}`);
      }
    }
    expect(bad.slice(0, 5).join("\n")).toBe("");
    expect(bad.length).toBe(0);
  });

  it("decodes every line's ids to the reference text", () => {
    const bad: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const [ids, alt] = expected[i]!;
      const text = model.decode(ids);
      let ok: boolean;
      if (alt === undefined) ok = text === lines[i];
      else if (typeof alt === "string") ok = text === alt;
      else ok = createHash("sha256").update(text, "utf8").digest("hex").slice(0, 8) === alt.sha256;
      if (!ok) bad.push(`line ${i + 1}: ${JSON.stringify(text)}`);
    }
    expect(bad.slice(0, 5).join("\n")).toBe("");
  });
});

describe("SentencePiece model reading", () => {
  const buf = readFileSync(dir + "bpe_llama.model");

  it("reads the trainer and normalizer specs", () => {
    const p = parseModelProto(buf);
    expect(p.trainerSpec.modelType).toBe(2);
    expect(p.trainerSpec.byteFallback).toBe(true);
    expect(p.trainerSpec.splitDigits).toBe(true);
    expect(p.trainerSpec.padId).toBe(-1);
    expect(p.normalizerSpec.name).toBe("identity");
    expect(p.normalizerSpec.removeExtraWhitespaces).toBe(false);
    expect(p.pieces.length).toBe(2000);
    expect(p.pieces[0]).toEqual({ piece: "<unk>", score: 0, type: 2 });
    const nfkc = parseModelProto(readFileSync(dir + "unigram_nfkc.model"));
    expect(nfkc.normalizerSpec.name).toBe("nmt_nfkc");
    expect(nfkc.normalizerSpec.precompiledCharsmap.length).toBeGreaterThan(100_000);
  });

  it("reads the Baichuan2-style spec (no dummy prefix) and keeps reserved tokens as user-defined pieces", () => {
    const m = SentencePieceModel.fromBytes(readFileSync(dir + "bpe_baichuan.model"));
    expect(m.proto.normalizerSpec.addDummyPrefix).toBe(false);
    expect(m.normalize("  两个 空格")).toBe("▁▁两个▁空格");
    const ids = m.encode("<reserved_106>你好<reserved_107>");
    expect(ids[0]).toBe(m.pieceToId("<reserved_106>"));
    expect(ids.at(-1)).toBe(m.pieceToId("<reserved_107>"));
    expect(m.proto.pieces[ids[0]!]!.type).toBe(4);
  });

  it("rejects a truncated model with the file named", () => {
    expect(() => parseModelProto(buf.subarray(0, 5000), "cut.model")).toThrow(/cut\.model: malformed SentencePiece model/);
    expect(() => parseModelProto(new Uint8Array(0), "empty.model")).toThrow(/empty\.model: not a SentencePiece model/);
  });

  it("applies nmt_nfkc normalisation (full-width, ligatures, spaces)", () => {
    const m = SentencePieceModel.fromBytes(readFileSync(dir + "unigram_nfkc.model"));
    expect(m.normalize("  ＡＢＣ１２３　　ﬁ  x ")).toBe("▁ABC123▁fi▁x");
    expect(m.normalize("")).toBe("");
    expect(m.normalize("   ")).toBe("");
  });

  it("refuses out-of-range ids on decode", () => {
    const m = SentencePieceModel.fromBytes(buf);
    expect(() => m.decode([5, 2000])).toThrow(TokenizerError);
  });
});

describe("SentencePieceTokenizer (Llama 2 style wrapper)", () => {
  const model = SentencePieceModel.fromBytes(readFileSync(dir + "bpe_llama.model"), "bpe_llama.model");

  it("adds BOS by default and not EOS, as LlamaTokenizer", () => {
    const tok = new SentencePieceTokenizer(model);
    const plain = model.encode("发热三天");
    expect(tok.bosId).toBe(1);
    expect(tok.eosId).toBe(2);
    expect(tok.padId).toBeNull();
    expect(tok.encode("发热三天")).toEqual([1, ...plain]);
    expect(tok.encode("发热三天", { addSpecialTokens: false })).toEqual(plain);
  });

  it("follows add_bos_token / add_eos_token from tokenizer_config.json (Baichuan2 sets both false)", () => {
    const tok = new SentencePieceTokenizer(model, parseTokenizerConfig({ add_bos_token: false, add_eos_token: true }));
    expect(tok.encode("咳嗽")).toEqual([...model.encode("咳嗽"), 2]);
  });

  it("splits special-token strings out of the text unless parseSpecial is false", () => {
    const tok = new SentencePieceTokenizer(model);
    const ids = tok.encode("你好</s>谢谢", { addSpecialTokens: false });
    expect(ids).toEqual([...model.encode("你好"), 2, ...model.encode("谢谢")]);
    expect(tok.encode("你好</s>谢谢", { addSpecialTokens: false, parseSpecial: false })).toEqual(model.encode("你好</s>谢谢"));
    expect(tok.decode(ids)).toBe("你好</s>谢谢");
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe("你好谢谢");
  });

  it("keeps user-defined symbols whole (Baichuan2 reserved tokens)", () => {
    const tok = new SentencePieceTokenizer(model);
    const id = tok.tokenToId("<reserved_106>");
    expect(id).not.toBeNull();
    // The dummy-prefix "▁" comes first, then the symbol as one piece.
    const ids = tok.encode("<reserved_106>你好", { addSpecialTokens: false });
    expect(ids.slice(0, 2)).toEqual([tok.tokenToId("▁"), id]);
  });

  it('follows transformers\' "legacy": false: no prefix space after special tokens, "▁" read as a space', () => {
    const legacy = new SentencePieceTokenizer(model);
    const tok = new SentencePieceTokenizer(model, parseTokenizerConfig({ legacy: false }));
    const ids = tok.encode("你好</s>谢谢 医生", { addSpecialTokens: false });
    const eos = ids.indexOf(2);
    // The first run is as before; the run after </s> has no prefix space but keeps its inner space.
    expect(ids.slice(0, eos)).toEqual(legacy.encode("你好", { addSpecialTokens: false }));
    const after = ids.slice(eos + 1);
    expect(model.idToPiece(after[0]!).startsWith("▁")).toBe(false);
    expect(model.decode(after)).toBe("谢谢 医生");
    expect(legacy.encode("你好</s>谢谢 医生", { addSpecialTokens: false }).slice(eos + 1)).toEqual(model.encode("谢谢 医生"));
    // A run that starts with a space keeps exactly that space as "▁".
    const spaced = tok.encode("</s> 谢谢", { addSpecialTokens: false });
    expect(spaced[0]).toBe(2);
    expect(spaced.slice(1)).toEqual(model.encode("谢谢"));
    // "▁" typed in the text is a space; a text starting with a special token gets no prefix space.
    expect(tok.encode("▁你好", { addSpecialTokens: false })).toEqual(tok.encode(" 你好", { addSpecialTokens: false }));
    expect(tok.encode("</s>", { addSpecialTokens: false })).toEqual([2]);
    expect(tok.encode("你好")).toEqual(legacy.encode("你好"));
  });

  it("rejects a config token that is not in the model", () => {
    expect(() => new SentencePieceTokenizer(model, parseTokenizerConfig({ eos_token: "<|nope|>" }))).toThrow(
      /eos_token "<\|nope\|>" is not a piece/,
    );
  });
});
