/**
 * Reader for SentencePiece's `tokenizer.model`: a protobuf (proto2) `ModelProto` message as defined in
 * sentencepiece_model.proto (pieces with score and type, TrainerSpec, NormalizerSpec, denormalizer).
 * A small hand-written wire-format decoder for exactly the fields the encoder needs; unknown fields
 * (extensions, self-test data, training-only options) are skipped. It does not write models.
 */
import { TokenizerError } from "../errors.js";

/** ModelProto.SentencePiece.Type values. */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePiece {
  piece: string;
  /** float32 score, exactly as stored. */
  score: number;
  type: PieceTypeValue;
}

/** The TrainerSpec fields that matter at encode/decode time (training-only fields are not kept). */
export interface TrainerSpec {
  /** 1 unigram, 2 bpe, 3 word, 4 char. */
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  splitDigits: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  unkSurface: string;
}

export interface NormalizerSpec {
  name: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface ModelProto {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  /** Present only when the model carries a denormalizer with a charsmap. */
  denormalizerSpec: NormalizerSpec | null;
}

export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A cursor over protobuf wire data; `where` names the message for error messages. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
    readonly where: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new TokenizerError(`${this.file}: malformed SentencePiece model in ${this.where} at byte ${this.pos}: ${what}`);
  }

  /** Reads a varint as [low 32 bits, high 32 bits] (unsigned). */
  varint(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    this.fail("varint longer than 10 bytes");
  }

  /** int32 fields: negative values are sign-extended to 64 bits on the wire; the low word is the value. */
  int32(): number {
    return this.varint()[0] | 0;
  }

  uint(): number {
    const [lo, hi] = this.varint();
    return hi * 2 ** 32 + lo;
  }

  bool(): boolean {
    const [lo, hi] = this.varint();
    return lo !== 0 || hi !== 0;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bytes(): Uint8Array {
    const len = this.uint();
    if (this.pos + len > this.end) this.fail(`length-delimited field of ${len} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(field: string): string {
    const b = this.bytes();
    try {
      return utf8.decode(b);
    } catch {
      this.fail(`field ${field} is not valid UTF-8`);
    }
  }

  sub(where: string): Reader {
    const len = this.uint();
    if (this.pos + len > this.end) this.fail(`sub-message ${where} of ${len} bytes runs past the end`);
    const r = new Reader(this.buf, this.file, `${this.where}.${where}`, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) this.fail("truncated fixed-width field");
  }

  /** Iterates (field number, wire type) tags until the end of this message. */
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const tag = this.uint();
      const field = Math.floor(tag / 8);
      if (field === 0) this.fail("field number 0");
      yield [field, tag & 7];
    }
  }

  expect(wireType: number, actual: number, field: string): void {
    if (wireType !== actual) this.fail(`field ${field} has wire type ${actual}, expected ${wireType}`);
  }
}

function readPiece(r: Reader, index: number): SentencePiece {
  const p: SentencePiece = { piece: "", score: 0, type: PieceType.NORMAL };
  let hasPiece = false;
  for (const [field, wt] of r.fields()) {
    if (field === 1) {
      r.expect(2, wt, "piece");
      p.piece = r.string("piece");
      hasPiece = true;
    } else if (field === 2) {
      r.expect(5, wt, "score");
      p.score = r.float();
    } else if (field === 3) {
      r.expect(0, wt, "type");
      const t = r.int32();
      if (t < 1 || t > 6) r.fail(`piece ${index} has unknown type ${t} (expected 1..6)`);
      p.type = t as PieceTypeValue;
    } else r.skip(wt);
  }
  if (!hasPiece || p.piece === "") r.fail(`piece ${index} is empty`);
  return p;
}

function readTrainerSpec(r: Reader): TrainerSpec {
  // Defaults from sentencepiece_model.proto.
  const t: TrainerSpec = {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    splitDigits: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: "<unk>",
    bosPiece: "<s>",
    eosPiece: "</s>",
    padPiece: "<pad>",
    unkSurface: " \u2047 ",
  };
  for (const [field, wt] of r.fields()) {
    switch (field) {
      case 3:
        r.expect(0, wt, "model_type");
        t.modelType = r.int32();
        break;
      case 4:
        r.expect(0, wt, "vocab_size");
        t.vocabSize = r.int32();
        break;
      case 35:
        r.expect(0, wt, "byte_fallback");
        t.byteFallback = r.bool();
        break;
      case 24:
        r.expect(0, wt, "treat_whitespace_as_suffix");
        t.treatWhitespaceAsSuffix = r.bool();
        break;
      case 25:
        r.expect(0, wt, "split_digits");
        t.splitDigits = r.bool();
        break;
      case 40:
        r.expect(0, wt, "unk_id");
        t.unkId = r.int32();
        break;
      case 41:
        r.expect(0, wt, "bos_id");
        t.bosId = r.int32();
        break;
      case 42:
        r.expect(0, wt, "eos_id");
        t.eosId = r.int32();
        break;
      case 43:
        r.expect(0, wt, "pad_id");
        t.padId = r.int32();
        break;
      case 44:
        r.expect(2, wt, "unk_surface");
        t.unkSurface = r.string("unk_surface");
        break;
      case 45:
        r.expect(2, wt, "unk_piece");
        t.unkPiece = r.string("unk_piece");
        break;
      case 46:
        r.expect(2, wt, "bos_piece");
        t.bosPiece = r.string("bos_piece");
        break;
      case 47:
        r.expect(2, wt, "eos_piece");
        t.eosPiece = r.string("eos_piece");
        break;
      case 48:
        r.expect(2, wt, "pad_piece");
        t.padPiece = r.string("pad_piece");
        break;
      default:
        r.skip(wt);
    }
  }
  return t;
}

function readNormalizerSpec(r: Reader): NormalizerSpec {
  const n: NormalizerSpec = {
    name: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  for (const [field, wt] of r.fields()) {
    switch (field) {
      case 1:
        r.expect(2, wt, "name");
        n.name = r.string("name");
        break;
      case 2:
        r.expect(2, wt, "precompiled_charsmap");
        n.precompiledCharsmap = r.bytes();
        break;
      case 3:
        r.expect(0, wt, "add_dummy_prefix");
        n.addDummyPrefix = r.bool();
        break;
      case 4:
        r.expect(0, wt, "remove_extra_whitespaces");
        n.removeExtraWhitespaces = r.bool();
        break;
      case 5:
        r.expect(0, wt, "escape_whitespaces");
        n.escapeWhitespaces = r.bool();
        break;
      default:
        r.skip(wt);
    }
  }
  return n;
}

/** Parses a serialized ModelProto. `file` is used only in error messages. */
export function parseModelProto(buf: Uint8Array, file = "tokenizer.model"): ModelProto {
  const r = new Reader(buf, file, "ModelProto");
  const pieces: SentencePiece[] = [];
  let trainerSpec: TrainerSpec | null = null;
  let normalizerSpec: NormalizerSpec | null = null;
  let denormalizerSpec: NormalizerSpec | null = null;
  for (const [field, wt] of r.fields()) {
    if (field === 1) {
      r.expect(2, wt, "pieces");
      pieces.push(readPiece(r.sub(`pieces[${pieces.length}]`), pieces.length));
    } else if (field === 2) {
      r.expect(2, wt, "trainer_spec");
      trainerSpec = readTrainerSpec(r.sub("trainer_spec"));
    } else if (field === 3) {
      r.expect(2, wt, "normalizer_spec");
      normalizerSpec = readNormalizerSpec(r.sub("normalizer_spec"));
    } else if (field === 5) {
      r.expect(2, wt, "denormalizer_spec");
      denormalizerSpec = readNormalizerSpec(r.sub("denormalizer_spec"));
    } else r.skip(wt);
  }
  if (pieces.length === 0) {
    throw new TokenizerError(`${file}: not a SentencePiece model (no pieces found in ModelProto field 1)`);
  }
  if (trainerSpec === null) trainerSpec = readTrainerSpec(new Reader(new Uint8Array(0), file, "trainer_spec"));
  if (normalizerSpec === null) normalizerSpec = readNormalizerSpec(new Reader(new Uint8Array(0), file, "normalizer_spec"));
  if (denormalizerSpec !== null && denormalizerSpec.precompiledCharsmap.length === 0) denormalizerSpec = null;
  return { pieces, trainerSpec, normalizerSpec, denormalizerSpec };
}
