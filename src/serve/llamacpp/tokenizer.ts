/**
 * The vocabulary of a GGUF file as the project's `Tokenizer`, so chat templates render for llama.cpp
 * exactly as for our engine: token strings, types and special ids come from the GGUF metadata (read by
 * our own reader), while encoding and decoding are llama.cpp's, so ids are what llama.cpp expects.
 */
import { openGguf } from "../../model/io/gguf.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "../../tokenizer/types.js";
import type { LlamaCppGenerator } from "./generator.js";

// llama.cpp token types (llama.h: LLAMA_TOKEN_TYPE_*)
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;

export class GgufTokenizer implements Tokenizer {
  readonly kind: "tokenizer.json" | "sentencepiece";
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | null;
  readonly chatTemplateId: string | null;
  private readonly ids: Map<string, number>;

  private constructor(
    private readonly gen: LlamaCppGenerator,
    private readonly tokens: string[],
    private readonly types: number[],
    meta: Map<string, unknown>,
  ) {
    const num = (k: string): number | null => {
      const v = meta.get(k);
      return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null;
    };
    const str = (k: string): string | null => {
      const v = meta.get(k);
      return typeof v === "string" ? v : null;
    };
    // "gpt2" is byte-level BPE (from tokenizer.json); "llama" is SentencePiece.
    this.kind = str("tokenizer.ggml.model") === "llama" ? "sentencepiece" : "tokenizer.json";
    this.vocabSize = tokens.length;
    this.bosId = num("tokenizer.ggml.bos_token_id");
    this.eosId = num("tokenizer.ggml.eos_token_id");
    this.padId = num("tokenizer.ggml.padding_token_id");
    this.unkId = num("tokenizer.ggml.unknown_token_id");
    this.addBos = meta.get("tokenizer.ggml.add_bos_token") === true;
    this.addEos = meta.get("tokenizer.ggml.add_eos_token") === true;
    this.chatTemplate = str("tokenizer.chat_template");
    this.chatTemplateId = str("pedgpt.template");
    this.ids = new Map();
    tokens.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
    });
  }

  static async open(file: string, gen: LlamaCppGenerator): Promise<GgufTokenizer> {
    const g = await openGguf(file);
    try {
      const meta = new Map<string, unknown>();
      for (const [k, v] of g.metadata) meta.set(k, v.value);
      const tokens = meta.get("tokenizer.ggml.tokens");
      if (!Array.isArray(tokens)) throw new Error(`${file}: no tokenizer.ggml.tokens array in the GGUF metadata`);
      const types = meta.get("tokenizer.ggml.token_type");
      return new GgufTokenizer(gen, tokens as string[], Array.isArray(types) ? (types as number[]) : [], meta);
    } finally {
      await g.close();
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.gen.tokenize(text, options.parseSpecial ?? true);
    if (options.addSpecialTokens ?? true) {
      if (this.addBos && this.bosId !== null) ids.unshift(this.bosId);
      if (this.addEos && this.eosId !== null) ids.push(this.eosId);
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const keep = options.skipSpecialTokens ? ids.filter((i) => !this.isSpecial(i)) : ids;
    return this.gen.detokenize(keep, !options.skipSpecialTokens);
  }

  tokenToId(token: string): number | null {
    return this.ids.get(token) ?? null;
  }

  /** null for padding ids that have no token (type UNUSED), as the Hugging Face tokenizer has none. */
  idToToken(id: number): string | null {
    if (this.types[id] === UNUSED) return null;
    return this.tokens[id] ?? null;
  }

  isSpecial(id: number): boolean {
    const t = this.types[id];
    return t === CONTROL || t === USER_DEFINED;
  }
}
