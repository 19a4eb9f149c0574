/**
 * Tokenizer for Hugging Face `tokenizer.json` files (byte-level BPE as in Qwen2 and Llama 3, and any other
 * model @huggingface/tokenizers supports), read from local files only. Special ids come from
 * tokenizer_config.json; whether encode adds BOS/EOS is measured from the tokenizer's own post-processor.
 * This wrapper adds id-range checks, an encode path that does not parse special tokens, empty-input
 * handling and two speed-ups with identical ids: for byte-level BPE files (Qwen2, Llama 3, our trainer's) the
 * whole encode runs in bytelevel_bpe.ts; for other BPE files only the merge loop is replaced (fast_bpe.ts).
 * Decoding and everything else is the library's.
 */
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors.js";
import { accelerateBpe } from "./fast_bpe.js";
import { ByteLevelBpeEncoder } from "./bytelevel_bpe.js";
import { emptyConfig, readJson, readTokenizerConfig, type TokenizerConfig } from "./config.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "./types.js";

interface LibInternals {
  normalizer: { _call(text: string): string } | null;
  pre_tokenizer: { _call(text: string, options?: unknown): string[] } | null;
  model: { _call(tokens: string[]): string[]; tokens_to_ids: Map<string, number>; vocab: string[]; unk_token_id?: number };
}

export class HfTokenizer implements Tokenizer {
  readonly kind = "tokenizer.json" as const;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly unkId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | null;
  readonly chatTemplateId: string | null;
  private readonly lib: HfLibTokenizer;
  private readonly special = new Set<number>();
  /** Ids the post-processor puts before/after the text when special tokens are added. */
  private readonly prefix: number[];
  private readonly suffix: number[];

  /** Whether a faster BPE path (bytelevel_bpe.ts or fast_bpe.ts) is in use. */
  readonly fastBpe: boolean;
  /** Whether encode runs entirely in bytelevel_bpe.ts (else in the library's pipeline). */
  readonly fastEncode: boolean;
  /** Why the whole-encode fast path is not used for this file (null when it is, or when not asked for). */
  readonly fastEncodeUnsupported: string | null;
  private readonly fast: ByteLevelBpeEncoder | null;
  /** The parsed tokenizer.json (vocabulary, merges, …), e.g. for GGUF export. Treat as read-only. */
  readonly tokenizerJson: Readonly<Record<string, unknown>>;

  /**
   * @param options.fastBpe encode byte-level BPE files with bytelevel_bpe.ts, or else replace the library's BPE
   *   merge loop with ours (same results, tested). Defaults to true; false gives the library alone.
   * @param options.pieceCache cache pre-token -> ids in the byte-level fast path. Defaults to true; false only
   *   to measure the merge loop itself.
   */
  constructor(
    tokenizerJson: unknown,
    readonly config: TokenizerConfig = emptyConfig(),
    readonly file = "tokenizer.json",
    options: { fastBpe?: boolean; pieceCache?: boolean } = {},
  ) {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null || !("model" in tokenizerJson)) {
      throw new TokenizerError(`${file}: not a tokenizer.json (no "model" object)`);
    }
    validateTokenizerJson(tokenizerJson as Record<string, unknown>, file);
    // The library requires added_tokens; older files may omit it. (A shallow copy: the caller's object stays as is.)
    const json = { ...(tokenizerJson as Record<string, unknown>) };
    if (json.added_tokens === undefined) json.added_tokens = [];
    this.tokenizerJson = json;
    // Unless the config says otherwise, do not "clean up" spaces on decode: it changes text (e.g. " ." -> ".")
    // and breaks round trips; Qwen2 and Llama 3 configs set it to false too.
    const libConfig = { ...config.raw, clean_up_tokenization_spaces: config.cleanUpTokenizationSpaces ?? false };
    try {
      this.lib = new HfLibTokenizer(json, libConfig);
    } catch (e) {
      throw new TokenizerError(`${file}: @huggingface/tokenizers cannot load it: ${(e as Error).message}`, { cause: e });
    }
    const wantFast = options.fastBpe ?? true;
    const fast = wantFast ? ByteLevelBpeEncoder.create(json, this.lib) : null;
    this.fast = fast instanceof ByteLevelBpeEncoder ? fast : null;
    if (this.fast !== null && options.pieceCache === false) this.fast.maxCachedPiece = 0;
    this.fastEncode = this.fast !== null;
    this.fastEncodeUnsupported = typeof fast === "string" ? fast : null;
    // The merge-loop replacement serves files the whole-encode path cannot take (and the probe below).
    this.fastBpe = this.fastEncode || (wantFast && accelerateBpe((this.lib as unknown as LibInternals).model));
    const added = this.lib.get_added_tokens_decoder();
    for (const [id, tok] of added) if (tok.special) this.special.add(id);
    const vocab = (this.lib as unknown as LibInternals).model.vocab;
    let maxId = vocab.length - 1;
    for (const id of added.keys()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const idOf = (tok: string | null, field: string): number | null => {
      if (tok === null) return null;
      const id = this.tokenToId(tok);
      if (id === null) throw new TokenizerError(`${file}: ${field} "${tok}" from tokenizer_config.json is not in the vocabulary`);
      return id;
    };
    this.bosId = idOf(config.bosToken, "bos_token");
    this.eosId = idOf(config.eosToken, "eos_token");
    this.padId = idOf(config.padToken, "pad_token");
    const unk = (this.lib as unknown as LibInternals).model.unk_token_id;
    this.unkId = config.unkToken !== null ? idOf(config.unkToken, "unk_token") : unk ?? null;
    for (const id of [this.bosId, this.eosId, this.padId]) if (id !== null) this.special.add(id);
    // Measure what the post-processor adds around a text (with a probe text the vocabulary can encode).
    let probe: [number[], number[]] | null = null;
    for (const p of ["a", "0", " ", "\u4f60", "."]) {
      try {
        probe = [this.lib.encode(p, { add_special_tokens: false }).ids, this.lib.encode(p, { add_special_tokens: true }).ids];
        if (probe[0].length > 0) break;
      } catch {
        probe = null;
      }
    }
    if (probe === null) throw new TokenizerError(`${file}: cannot encode any probe text ("a", "0", " ", "你", ".")`);
    const [plain, withSpecial] = probe;
    const at = indexOfSub(withSpecial, plain);
    if (at < 0) throw new TokenizerError(`${file}: the post-processor changes the text tokens; not supported`);
    this.prefix = withSpecial.slice(0, at);
    this.suffix = withSpecial.slice(at + plain.length);
    this.addBos = this.bosId !== null && this.prefix.includes(this.bosId);
    this.addEos = this.eosId !== null && this.suffix.includes(this.eosId);
    this.chatTemplate = config.chatTemplate;
    this.chatTemplateId = config.chatTemplateId;
  }

  /** Loads tokenizer.json (and tokenizer_config.json beside it when present). */
  static fromFiles(tokenizerJsonPath: string, configPath?: string, options: { fastBpe?: boolean; pieceCache?: boolean } = {}): HfTokenizer {
    const json = readJson(tokenizerJsonPath);
    const cfg = configPath ? readTokenizerConfig(configPath) : emptyConfig();
    return new HfTokenizer(json, cfg, tokenizerJsonPath, options);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecialTokens ?? true;
    if (this.fast !== null) {
      if (text === "") return addSpecial ? [...this.prefix, ...this.suffix] : [];
      const ids = this.fast.encode(text, options.parseSpecial ?? true);
      return addSpecial ? [...this.prefix, ...ids, ...this.suffix] : ids;
    }
    if (options.parseSpecial ?? true) {
      if (text === "") return addSpecial ? [...this.prefix, ...this.suffix] : [];
      return this.lib.encode(text, { add_special_tokens: addSpecial }).ids;
    }
    // Same pipeline as the library's encode, minus the added-token splitting.
    const lib = this.lib as unknown as LibInternals;
    let t = text;
    if (lib.normalizer) t = lib.normalizer._call(t);
    const ids: number[] = [];
    if (t !== "") {
      const words = lib.pre_tokenizer ? lib.pre_tokenizer._call(t, { section_index: 0 }) : [t];
      for (const tok of lib.model._call(words)) {
        const id = lib.model.tokens_to_ids.get(tok) ?? lib.model.unk_token_id;
        if (id === undefined) throw new TokenizerError(`${this.file}: token "${tok}" has no id and the model has no unk token`);
        ids.push(id);
      }
    }
    return addSpecial ? [...this.prefix, ...ids, ...this.suffix] : ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.idToToken(id) === null) {
        throw new TokenizerError(`${this.file}: cannot decode token id ${id}: not in the vocabulary (size ${this.vocabSize})`);
      }
    }
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.special.has(id)) : [...ids];
    if (kept.length === 0) return "";
    return this.lib.decode(kept, { skip_special_tokens: false });
  }

  tokenToId(token: string): number | null {
    return this.lib.token_to_id(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.lib.id_to_token(id) ?? null;
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }
}

function indexOfSub(hay: number[], needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The tokenizer models the library implements; any other `model.type` would silently fall back to another. */
export const SUPPORTED_MODEL_TYPES = ["BPE", "WordPiece", "Unigram"] as const;

/**
 * Checks the parts of a tokenizer.json the library does not: a known `model.type`; a vocabulary of
 * unique non-negative integer ids; every BPE merge's parts and result in the vocabulary (otherwise
 * text silently encodes to the unknown token); the unk token present; added and post-processor
 * special tokens consistent with the vocabulary. Throws TokenizerError naming the file and the field.
 */
export function validateTokenizerJson(json: Record<string, unknown>, file: string): void {
  const fail = (field: string, msg: string): never => {
    throw new TokenizerError(`${file}: ${field}: ${msg}`);
  };
  const model = json.model;
  if (typeof model !== "object" || model === null || Array.isArray(model)) fail("model", "expected an object");
  const m = model as Record<string, unknown>;
  if (m.type !== undefined && !(SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(m.type)) {
    fail("model.type", `${JSON.stringify(m.type)} is not supported (expected ${SUPPORTED_MODEL_TYPES.join(", ")})`);
  }
  // Token → id of model.vocab, and id → token of everything seen (for duplicate ids). A plain array is
  // indexed by id: tokenizer files have dense ids, and this runs on every load of a 150k vocabulary.
  const tokenOfId: (string | undefined)[] = [];
  const claim = (tok: string, id: unknown, where: string): void => {
    if (!Number.isInteger(id) || (id as number) < 0) fail(where, `id of ${JSON.stringify(tok)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    if ((id as number) > 1 << 28) fail(where, `id ${String(id)} of ${JSON.stringify(tok)} is implausibly large`);
    const other = tokenOfId[id as number];
    if (other !== undefined && other !== tok) fail(where, `id ${String(id)} is given to both ${JSON.stringify(other)} and ${JSON.stringify(tok)}`);
    tokenOfId[id as number] = tok;
  };
  let idOf: (tok: string) => number | undefined;
  if (Array.isArray(m.vocab)) {
    // Unigram: [piece, score] pairs, the id is the position.
    const pieces = new Map<string, number>();
    m.vocab.forEach((entry, i) => {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") fail(`model.vocab[${i}]`, "expected [piece, score]");
      const piece = (entry as [string])[0];
      if (!pieces.has(piece)) pieces.set(piece, i);
      tokenOfId[i] = piece;
    });
    idOf = (tok) => pieces.get(tok);
    if (m.unk_id !== undefined && m.unk_id !== null && !(Number.isInteger(m.unk_id) && (m.unk_id as number) >= 0 && (m.unk_id as number) < m.vocab.length)) {
      fail("model.unk_id", `${JSON.stringify(m.unk_id)} is not an index of model.vocab (${m.vocab.length} pieces)`);
    }
  } else if (typeof m.vocab === "object" && m.vocab !== null) {
    const vocab = m.vocab as Record<string, unknown>;
    for (const tok in vocab) if (Object.hasOwn(vocab, tok)) claim(tok, vocab[tok], "model.vocab");
    idOf = (tok) => (Object.hasOwn(vocab, tok) ? (vocab[tok] as number) : undefined);
  } else {
    return fail("model.vocab", "missing (expected an object of token → id, or for Unigram a list of [piece, score])");
  }
  const inVocab = (tok: string): boolean => idOf(tok) !== undefined;
  if (typeof m.unk_token === "string" && !inVocab(m.unk_token)) fail("model.unk_token", `${JSON.stringify(m.unk_token)} is not in model.vocab`);
  if (m.merges !== undefined) {
    if (!Array.isArray(m.merges)) fail("model.merges", "expected a list");
    const prefix = typeof m.continuing_subword_prefix === "string" ? m.continuing_subword_prefix : "";
    const bad: string[] = [];
    let badCount = 0;
    const merges = m.merges as unknown[];
    for (let i = 0; i < merges.length; i++) {
      const merge = merges[i];
      let a: unknown;
      let b: unknown;
      if (typeof merge === "string") {
        const sp = merge.indexOf(" ");
        if (sp < 0 || merge.indexOf(" ", sp + 1) >= 0) fail(`model.merges[${i}]`, `expected two tokens, got ${JSON.stringify(merge)}`);
        a = merge.slice(0, sp);
        b = merge.slice(sp + 1);
      } else if (Array.isArray(merge) && merge.length === 2) {
        [a, b] = merge as unknown[];
      } else {
        fail(`model.merges[${i}]`, `expected "a b" or ["a", "b"], got ${JSON.stringify(merge)}`);
      }
      if (typeof a !== "string" || typeof b !== "string") return fail(`model.merges[${i}]`, `expected two tokens, got ${JSON.stringify(merge)}`);
      const result = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
      if (inVocab(a) && inVocab(b) && inVocab(result)) continue;
      badCount++;
      if (bad.length < 3) {
        const missing = [...new Set([a, b, result].filter((t) => !inVocab(t)))];
        bad.push(`[${i}] ${JSON.stringify(merge)} (${missing.map((t) => JSON.stringify(t)).join(", ")} not in model.vocab)`);
      }
    }
    if (badCount > 0) fail("model.merges", `${badCount} merge(s) use or make tokens outside the vocabulary, e.g. ${bad.join("; ")}; the file is truncated or its vocabulary and merges do not belong together`);
  }
  const added = new Map<string, number>();
  if (json.added_tokens !== undefined) {
    if (!Array.isArray(json.added_tokens)) fail("added_tokens", "expected a list");
    (json.added_tokens as unknown[]).forEach((t, i) => {
      const at = t as { id?: unknown; content?: unknown };
      if (typeof at !== "object" || at === null || typeof at.content !== "string") fail(`added_tokens[${i}]`, "expected {id, content, …}");
      const vocabId = idOf(at.content as string);
      if (vocabId !== undefined && vocabId !== at.id) fail(`added_tokens[${i}]`, `${JSON.stringify(at.content)} has id ${String(at.id)} but id ${vocabId} in model.vocab`);
      claim(at.content as string, at.id, `added_tokens[${i}]`);
      added.set(at.content as string, at.id as number);
    });
  }
  const pp = json.post_processor as { type?: unknown; special_tokens?: unknown } | null | undefined;
  if (pp && pp.type === "TemplateProcessing" && typeof pp.special_tokens === "object" && pp.special_tokens !== null) {
    for (const [name, spec] of Object.entries(pp.special_tokens as Record<string, { ids?: unknown; tokens?: unknown }>)) {
      const sIds = Array.isArray(spec.ids) ? spec.ids : [];
      const sToks = Array.isArray(spec.tokens) ? spec.tokens : [];
      sToks.forEach((tok, k) => {
        const id = added.get(tok as string) ?? idOf(tok as string);
        if (id === undefined) fail(`post_processor.special_tokens.${name}`, `${JSON.stringify(tok)} is neither in model.vocab nor in added_tokens`);
        if (sIds[k] !== id) fail(`post_processor.special_tokens.${name}`, `${JSON.stringify(tok)} is given id ${JSON.stringify(sIds[k])}, but its id is ${id}`);
      });
    }
  }
}

