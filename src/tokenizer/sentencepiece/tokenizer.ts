/**
 * The Tokenizer for SentencePiece `tokenizer.model` files (Llama 2, Baichuan2), behaving like their Hugging
 * Face slow tokenizers in "legacy" mode: special-token strings in the text are split out first, every other
 * segment goes through plain SentencePiece encoding (with its dummy-prefix space), and BOS/EOS are added as
 * tokenizer_config.json says (add_bos_token defaults to true, add_eos_token to false, as LlamaTokenizer).
 * `"legacy": false` switches to transformers' non-legacy handling of spaces around special tokens.
 */
import { readFileSync } from "node:fs";
import { TokenizerError } from "../errors.js";
import { emptyConfig, type TokenizerConfig } from "../config.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "../types.js";
import { SentencePieceModel } from "./model.js";
import { PieceType } from "./proto.js";

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind = "sentencepiece" as const;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | null;
  readonly chatTemplateId: string | null;
  /** Special strings recognised in text: control pieces, <unk>, added tokens. */
  private readonly specialText = new Map<string, number>();
  private readonly specialRe: RegExp | null;
  /** Added tokens with ids past the SentencePiece vocabulary. */
  private readonly extra = new Map<number, string>();
  private readonly special = new Set<number>();
  /** Set when tokenizer_config.json has "legacy": false (see encodeSegment). */
  private readonly nonLegacy: { model: SentencePieceModel; unkText: string; unkLength: number } | null = null;

  constructor(
    readonly model: SentencePieceModel,
    readonly config: TokenizerConfig = emptyConfig(),
  ) {
    const file = model.file;
    const t = model.proto.trainerSpec;
    let maxId = model.vocabSize - 1;
    for (const a of config.addedTokens) {
      if (a.id < model.vocabSize) {
        if (model.idToPiece(a.id) !== a.content) {
          throw new TokenizerError(
            `tokenizer_config.json: added token ${a.id} "${a.content}" differs from piece "${model.idToPiece(a.id)}" in ${file}`,
          );
        }
      } else this.extra.set(a.id, a.content);
      maxId = Math.max(maxId, a.id);
      this.specialText.set(a.content, a.id);
      if (a.special) this.special.add(a.id);
    }
    this.vocabSize = maxId + 1;
    model.proto.pieces.forEach((p, i) => {
      if (p.type === PieceType.CONTROL || p.type === PieceType.UNKNOWN) {
        this.specialText.set(p.piece, i);
        this.special.add(i);
      }
    });
    const idOf = (tok: string | null, fromSpec: number, field: string): number | null => {
      if (tok === null) return fromSpec >= 0 && fromSpec < model.vocabSize ? fromSpec : null;
      const id = this.tokenToId(tok);
      if (id === null) throw new TokenizerError(`tokenizer_config.json: ${field} "${tok}" is not a piece of ${file}`);
      return id;
    };
    this.bosId = idOf(config.bosToken, t.bosId, "bos_token");
    this.eosId = idOf(config.eosToken, t.eosId, "eos_token");
    this.padId = idOf(config.padToken, t.padId, "pad_token");
    this.unkId = idOf(config.unkToken, model.unkId, "unk_token");
    for (const id of [this.bosId, this.eosId, this.padId]) if (id !== null) this.special.add(id);
    this.addBos = (config.addBosToken ?? true) && this.bosId !== null;
    this.addEos = (config.addEosToken ?? false) && this.eosId !== null;
    this.chatTemplate = config.chatTemplate;
    this.chatTemplateId = config.chatTemplateId;
    if (config.raw.legacy === false && model.proto.normalizerSpec.addDummyPrefix) {
      // transformers loads the model with add_dummy_prefix off in this mode.
      const proto = { ...model.proto, normalizerSpec: { ...model.proto.normalizerSpec, addDummyPrefix: false } };
      const noPrefix = new SentencePieceModel(proto, model.file);
      const unkText = config.unkToken ?? model.idToPiece(model.unkId);
      this.nonLegacy = { model: noPrefix, unkText, unkLength: noPrefix.encode(unkText).length };
    }
    const alts = [...this.specialText.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialRe = alts.length ? new RegExp(alts.join("|"), "g") : null;
  }

  static fromFile(modelPath: string, config: TokenizerConfig = emptyConfig()): SentencePieceTokenizer {
    let buf: Buffer;
    try {
      buf = readFileSync(modelPath);
    } catch (e) {
      throw new TokenizerError(`${modelPath}: cannot read: ${(e as Error).message}`, { cause: e });
    }
    return new SentencePieceTokenizer(SentencePieceModel.fromBytes(buf, modelPath), config);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if ((options.addSpecialTokens ?? true) && this.addBos) ids.push(this.bosId!);
    if ((options.parseSpecial ?? true) && this.specialRe) {
      let last = 0;
      for (const m of text.matchAll(this.specialRe)) {
        if (m.index > last) ids.push(...this.encodeSegment(text.slice(last, m.index), last === 0));
        ids.push(this.specialText.get(m[0])!);
        last = m.index + m[0].length;
      }
      if (last < text.length) ids.push(...this.encodeSegment(text.slice(last), last === 0));
    } else ids.push(...this.encodeSegment(text, true));
    if ((options.addSpecialTokens ?? true) && this.addEos) ids.push(this.eosId!);
    return ids;
  }

  /**
   * One run of text between special tokens. Legacy mode (the default, as LlamaTokenizer): plain SentencePiece,
   * so every run gets the dummy-prefix space. With `"legacy": false` in tokenizer_config.json (Llama 2 HF
   * configs): "▁" in the text is a space, only the start of the whole text gets the prefix space, and a run
   * that begins with a space keeps it as its own "▁" (encoded after the unk text and cut, as transformers does).
   */
  private encodeSegment(seg: string, atStart: boolean): number[] {
    if (!this.nonLegacy) return this.model.encode(seg);
    let s = seg.replaceAll("\u2581", " ");
    if (atStart) s = "\u2581" + s;
    if (!(s.startsWith("\u2581") || s.startsWith(" "))) return this.nonLegacy.model.encode(s);
    return this.nonLegacy.model.encode(this.nonLegacy.unkText + s).slice(this.nonLegacy.unkLength);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    // Runs of ordinary pieces are decoded by SentencePiece; special tokens are written as their text
    // (or dropped with skipSpecialTokens), as the Hugging Face slow tokenizer does.
    let out = "";
    let run: number[] = [];
    const flush = () => {
      if (run.length) out += this.model.decode(run);
      run = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.idToToken(id) === null) {
        throw new TokenizerError(`${this.model.file}: cannot decode token id ${id}: not in the vocabulary (size ${this.vocabSize})`);
      }
      if (this.special.has(id) || this.extra.has(id)) {
        flush();
        if (!(options.skipSpecialTokens && this.special.has(id))) out += this.idToToken(id)!;
      } else run.push(id);
    }
    flush();
    return out;
  }

  tokenToId(token: string): number | null {
    return this.specialText.get(token) ?? this.model.lookup(token);
  }

  idToToken(id: number): string | null {
    if (this.extra.has(id)) return this.extra.get(id)!;
    return id >= 0 && id < this.model.vocabSize ? this.model.idToPiece(id) : null;
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
