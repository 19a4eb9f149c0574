/**
 * Vocabulary metadata (`tokenizer.ggml.*`) for GGUF export, in the forms llama.cpp's vocab loader
 * accepts (facts from llama-vocab.cpp and convert_hf_to_gguf.py):
 *
 * - `none`: no vocabulary, only `<arch>.vocab_size` (llama.cpp then creates dummy tokens). llama.cpp
 *   loads such a file but cannot create a context on it (its tokenizer is never initialised).
 * - `synthetic`: a byte-level `gpt2` vocabulary without merges (ids < 256 = bytes, the rest
 *   placeholders) so tiny models driven by token ids run in llama.cpp.
 * - byte-level BPE `tokenizer.json` → `gpt2`: tokens (ids without a token padded as `[PAD<i>]`,
 *   type UNUSED), token types (added special → CONTROL, added non-special → USER_DEFINED), merges as
 *   "a b" strings, and a pre-tokenizer name llama.cpp knows (`qwen2`, `llama-bpe`, `gpt-2`, …).
 * - SentencePiece `tokenizer.model` → `llama`: pieces, scores and piece types (protobuf read here;
 *   piece types map 1:1 onto GGUF token types), `add_space_prefix` from the normalizer spec.
 * Special ids come from tokenizer_config.json / config.json; `tokenizer.chat_template` from
 * tokenizer_config.json.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { CheckpointFormatError } from "./errors.js";
import { gv, type GgufValue } from "./gguf.js";
import { isFile } from "./fsutil.js";

export type GgufVocabSource =
  | { kind: "none" }
  /**
   * A generated stand-in for models trained on token ids without a real tokenizer: a byte-level BPE
   * vocabulary with no merges whose first 256 ids are the 256 bytes, the rest placeholder tokens.
   * llama.cpp needs some tokenizer to initialise a context; this one decodes ids < 256 as bytes.
   */
  | { kind: "synthetic" }
  /** A Hugging Face model directory holding tokenizer.json and/or tokenizer.model (+ tokenizer_config.json). */
  | { kind: "hf"; dir: string; /** BPE pre-tokenizer name for llama.cpp; default by architecture. */ pre?: string; arch?: string };

export const enum TokenType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointFormatError(file, `cannot parse JSON: ${(err as Error).message}`, { cause: err });
  }
}

// --- SentencePiece model protobuf (only the fields llama.cpp needs) -----------------------------

export interface SentencePiecePiece {
  piece: string;
  score: number;
  type: number;
}
export interface SentencePieceModel {
  pieces: SentencePiecePiece[];
  addDummyPrefix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
}

/** Minimal protobuf reader over a byte array; errors name the file. */
class Pb {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
    readonly end = buf.byteLength,
  ) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CheckpointFormatError(this.file, `truncated protobuf varint at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw new CheckpointFormatError(this.file, `malformed protobuf varint at byte ${this.pos}`);
  }
  /** Returns [field, wireType] or null at the end. */
  tag(): [number, number] | null {
    if (this.pos >= this.end) return null;
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new CheckpointFormatError(this.file, `truncated protobuf field (${n} bytes) at byte ${this.pos}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  sub(): Pb {
    const n = this.varint();
    if (this.pos + n > this.end) throw new CheckpointFormatError(this.file, `truncated protobuf message (${n} bytes) at byte ${this.pos}`);
    const p = new Pb(this.buf, this.file, this.pos + n);
    p.pos = this.pos;
    this.pos += n;
    return p;
  }
  f32(): number {
    if (this.pos + 4 > this.end) throw new CheckpointFormatError(this.file, `truncated protobuf float at byte ${this.pos}`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  skip(wire: number): void {
    switch (wire) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; return;
      case 2: this.bytes(); return;
      case 5: this.pos += 4; return;
      default: throw new CheckpointFormatError(this.file, `unsupported protobuf wire type ${wire} at byte ${this.pos}`);
    }
  }
}

/** Reads the pieces and special ids of a SentencePiece `tokenizer.model`. */
export async function readSentencePieceModel(file: string): Promise<SentencePieceModel> {
  const buf = new Uint8Array(await fs.readFile(file));
  const pb = new Pb(buf, file);
  const model: SentencePieceModel = { pieces: [], addDummyPrefix: true, unkId: 0, bosId: 1, eosId: 2, padId: -1 };
  const dec = new TextDecoder("utf-8", { fatal: true });
  for (let t = pb.tag(); t; t = pb.tag()) {
    const [fieldNo, wire] = t;
    if (fieldNo === 1 && wire === 2) {
      const m = pb.sub();
      const piece: SentencePiecePiece = { piece: "", score: 0, type: TokenType.NORMAL };
      for (let u = m.tag(); u; u = m.tag()) {
        if (u[0] === 1 && u[1] === 2) piece.piece = dec.decode(m.bytes());
        else if (u[0] === 2 && u[1] === 5) piece.score = m.f32();
        else if (u[0] === 3 && u[1] === 0) piece.type = m.varint();
        else m.skip(u[1]);
      }
      model.pieces.push(piece);
    } else if (fieldNo === 2 && wire === 2) {
      const m = pb.sub();
      for (let u = m.tag(); u; u = m.tag()) {
        if (u[1] === 0 && u[0] >= 40 && u[0] <= 43) {
          // int32 ids: negative values arrive as 10-byte varints ≥ 2^63.
          const raw = m.varint();
          const v = raw >= 2 ** 31 ? -1 : raw;
          if (u[0] === 40) model.unkId = v;
          else if (u[0] === 41) model.bosId = v;
          else if (u[0] === 42) model.eosId = v;
          else model.padId = v;
        } else m.skip(u[1]);
      }
    } else if (fieldNo === 3 && wire === 2) {
      const m = pb.sub();
      for (let u = m.tag(); u; u = m.tag()) {
        if (u[0] === 3 && u[1] === 0) model.addDummyPrefix = m.varint() !== 0;
        else m.skip(u[1]);
      }
    } else pb.skip(wire);
  }
  if (model.pieces.length === 0) throw new CheckpointFormatError(file, "no pieces found; expected a SentencePiece ModelProto");
  return model;
}

// --- metadata builders ------------------------------------------------------------------------

function specialIds(tokCfg: Record<string, unknown>, modelCfg: Record<string, unknown>, tokenToId: (t: string) => number | undefined): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const kind of ["bos", "eos", "unk", "pad"] as const) {
    let id: number | undefined;
    const tok = tokCfg[`${kind}_token`];
    const text = typeof tok === "string" ? tok : typeof tok === "object" && tok !== null ? ((tok as { content?: unknown }).content as string | undefined) : undefined;
    if (typeof text === "string") id = tokenToId(text);
    if (id === undefined && typeof modelCfg[`${kind}_token_id`] === "number") id = modelCfg[`${kind}_token_id`] as number;
    if (id !== undefined) ids[kind] = id;
  }
  return ids;
}

/** GPT-2's byte → printable-character table (byte-level BPE tokens spell bytes with these). */
export function byteLevelAlphabet(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const set = new Set(printable);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(set.has(b) ? b : 256 + extra++);
  return out;
}

function defaultPre(arch: string | undefined): string {
  if (arch === "qwen2") return "qwen2";
  if (arch === "llama") return "llama-bpe";
  return "default";
}

/** Builds the `tokenizer.ggml.*` metadata for `source`, padded to `vocabSize` tokens. */
export async function ggufVocabMetadata(source: GgufVocabSource, vocabSize: number): Promise<[string, GgufValue][]> {
  if (source.kind === "none") return [["tokenizer.ggml.model", gv.str("none")]];
  if (source.kind === "synthetic") {
    const bytes = byteLevelAlphabet();
    const tokens = Array.from({ length: vocabSize }, (_, i) => (i < 256 ? bytes[i]! : `<|t${i}|>`));
    return [
      ["tokenizer.ggml.model", gv.str("gpt2")],
      ["tokenizer.ggml.pre", gv.str("default")],
      ["tokenizer.ggml.tokens", gv.strs(tokens)],
      ["tokenizer.ggml.token_type", gv.i32s(tokens.map((_, i) => (i < 256 ? TokenType.NORMAL : TokenType.USER_DEFINED)))],
      ["tokenizer.ggml.merges", gv.strs([])],
      ["tokenizer.ggml.bos_token_id", gv.u32(0)],
      ["tokenizer.ggml.eos_token_id", gv.u32(0)],
      ["tokenizer.ggml.add_bos_token", gv.bool(false)],
    ];
  }
  const dir = source.dir;
  const tokCfgFile = path.join(dir, "tokenizer_config.json");
  const tokCfg = (await isFile(tokCfgFile)) ? await readJson(tokCfgFile) : {};
  const cfgFile = path.join(dir, "config.json");
  const modelCfg = (await isFile(cfgFile)) ? await readJson(cfgFile) : {};
  const meta: [string, GgufValue][] = [];
  const tjFile = path.join(dir, "tokenizer.json");
  const spFile = path.join(dir, "tokenizer.model");
  const tj = (await isFile(tjFile)) ? await readJson(tjFile) : undefined;
  const tjModel = tj?.model as Record<string, unknown> | undefined;
  const byteLevel = JSON.stringify(tj?.pre_tokenizer ?? null).includes('"ByteLevel"') || JSON.stringify(tj?.decoder ?? null).includes('"ByteLevel"');
  if (tjModel?.type === "BPE" && byteLevel) {
    const vocab = tjModel.vocab as Record<string, number>;
    const tokens: string[] = new Array(vocabSize);
    const types: number[] = new Array(vocabSize).fill(TokenType.NORMAL);
    for (const [tok, id] of Object.entries(vocab)) {
      if (id >= vocabSize) throw new CheckpointFormatError(tjFile, `token "${tok}" has id ${id} ≥ config vocab_size ${vocabSize}`);
      tokens[id] = tok;
    }
    for (const a of (tj!.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? []) {
      if (a.id >= vocabSize) throw new CheckpointFormatError(tjFile, `added token "${a.content}" has id ${a.id} ≥ config vocab_size ${vocabSize}`);
      tokens[a.id] = a.content;
      types[a.id] = a.special ? TokenType.CONTROL : TokenType.USER_DEFINED;
    }
    for (let i = 0; i < vocabSize; i++) {
      if (tokens[i] === undefined) {
        tokens[i] = `[PAD${i}]`;
        types[i] = TokenType.UNUSED;
      }
    }
    const merges = ((tjModel.merges as (string | [string, string])[] | undefined) ?? []).map((m) => (Array.isArray(m) ? `${m[0]} ${m[1]}` : m));
    const pre = source.pre ?? defaultPre(source.arch);
    const index = new Map(tokens.map((t, i) => [t, i] as const));
    meta.push(
      ["tokenizer.ggml.model", gv.str("gpt2")],
      ["tokenizer.ggml.pre", gv.str(pre)],
      ["tokenizer.ggml.tokens", gv.strs(tokens)],
      ["tokenizer.ggml.token_type", gv.i32s(types)],
      ["tokenizer.ggml.merges", gv.strs(merges)],
    );
    const ids = specialIds(tokCfg, modelCfg, (t) => index.get(t));
    for (const [k, v] of Object.entries(ids)) meta.push([`tokenizer.ggml.${k === "unk" ? "unknown" : k === "pad" ? "padding" : k}_token_id`, gv.u32(v)]);
    meta.push(["tokenizer.ggml.add_bos_token", gv.bool(tokCfg.add_bos_token === true)]);
  } else if (await isFile(spFile)) {
    const sp = await readSentencePieceModel(spFile);
    if (sp.pieces.length > vocabSize) throw new CheckpointFormatError(spFile, `${sp.pieces.length} pieces but config vocab_size is ${vocabSize}`);
    const tokens = sp.pieces.map((p) => p.piece);
    const scores = sp.pieces.map((p) => p.score);
    const types = sp.pieces.map((p) => p.type);
    for (let i = tokens.length; i < vocabSize; i++) {
      tokens.push(`[PAD${i}]`);
      scores.push(-1000);
      types.push(TokenType.UNUSED);
    }
    const index = new Map(tokens.map((t, i) => [t, i] as const));
    meta.push(
      ["tokenizer.ggml.model", gv.str("llama")],
      ["tokenizer.ggml.pre", gv.str("default")],
      ["tokenizer.ggml.tokens", gv.strs(tokens)],
      ["tokenizer.ggml.scores", gv.f32s(scores)],
      ["tokenizer.ggml.token_type", gv.i32s(types)],
      ["tokenizer.ggml.add_space_prefix", gv.bool(sp.addDummyPrefix)],
    );
    const ids = { unk: sp.unkId, bos: sp.bosId, eos: sp.eosId, pad: sp.padId, ...specialIds(tokCfg, modelCfg, (t) => index.get(t)) };
    for (const [k, v] of Object.entries(ids)) {
      if (v >= 0) meta.push([`tokenizer.ggml.${k === "unk" ? "unknown" : k === "pad" ? "padding" : k}_token_id`, gv.u32(v)]);
    }
    meta.push(["tokenizer.ggml.add_bos_token", gv.bool(tokCfg.add_bos_token !== false)]);
  } else {
    throw new CheckpointFormatError(
      dir,
      `no vocabulary llama.cpp can use: expected a byte-level BPE tokenizer.json or a SentencePiece tokenizer.model (export with vocab "none" to write token ids only)`,
    );
  }
  if (typeof tokCfg.chat_template === "string") meta.push(["tokenizer.chat_template", gv.str(tokCfg.chat_template)]);
  return meta;
}
