/**
 * Trainer for a byte-level BPE tokenizer (Qwen2 / GPT-2 style) for tiny models trained from scratch.
 * Text is NFC-normalised and pre-tokenised by @huggingface/tokenizers itself (Qwen2's split regex, then the
 * byte-to-unicode mapping), so training sees exactly the words the saved tokenizer will see; merges are
 * learned greedily by pair frequency (ties: smallest pair of ids) until the vocabulary size is reached.
 * Output: a standard `tokenizer.json` (special tokens <pad>, <s>, </s> plus those the chat template needs;
 * 256 byte symbols; merges) and a
 * `tokenizer_config.json` with bos/eos/pad, add_bos_token, the chat template id and its Jinja source.
 * Not a SentencePiece trainer (spm_train does that) and not tuned for corpora beyond a few hundred MB.
 */
import { accessSync, constants, createReadStream, mkdirSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors.js";
import { builtinJinja, isBuiltinTemplate, type BuiltinTemplateId } from "./templates.js";

/** Qwen2's pre-tokenizer pattern: letters runs, single digits, punctuation runs, newlines, spaces. */
export const SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const SPECIAL_TOKENS = ["<pad>", "<s>", "</s>"] as const;

/** Extra special tokens each built-in chat template needs, added after <pad> <s> </s>. */
export const TEMPLATE_TOKENS: Record<BuiltinTemplateId, string[]> = {
  default: [],
  baichuan2: ["<reserved_106>", "<reserved_107>"],
  qwen: ["<|im_start|>", "<|im_end|>"],
  llama3: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
};

export interface BpeTrainOptions {
  /** Final vocabulary size including the 3 special tokens and 256 bytes. Defaults to 4000. */
  vocabSize?: number;
  /** Pairs seen fewer times than this are never merged. Defaults to 2. */
  minFrequency?: number;
  /** Chat template id written to tokenizer_config.json. Defaults to "default". */
  chatTemplateId?: string;
  /** Add <s> when encoding with special tokens (Llama-style). Defaults to true. */
  addBos?: boolean;
}

export interface TrainedBpe {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Number of merges learned. */
  merges: number;
  vocabSize: number;
  stats: { chars: number; words: number; uniqueWords: number; seconds: number; charsPerSecond: number };
}

/** GPT-2's reversible byte -> printable character map used by the ByteLevel pre-tokenizer. */
export function bytesToUnicode(): string[] {
  const map: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return map;
}

function skeleton(
  specials: readonly string[],
  vocab: Record<string, number>,
  merges: Array<[string, string]>,
  addBos: boolean,
): Record<string, unknown> {
  const added = specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const bosId = specials.indexOf("<s>");
  const postProcessor = addBos
    ? {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "<s>", type_id: 1 } },
          { Sequence: { id: "B", type_id: 1 } },
        ],
        special_tokens: { "<s>": { id: "<s>", ids: [bosId], tokens: ["<s>"] } },
      }
    : null;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [{ type: "Split", pattern: { Regex: SPLIT_PATTERN }, behavior: "Isolated", invert: false }, byteLevel],
    },
    post_processor: postProcessor,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Max-heap of (count, pair key); stale entries are re-checked against the live counts on pop. */
class CountHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];
  get length(): number {
    return this.keys.length;
  }
  private better(i: number, j: number): boolean {
    return this.counts[i]! > this.counts[j]! || (this.counts[i] === this.counts[j] && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    this.swap(0, this.keys.length - 1);
    this.counts.pop();
    this.keys.pop();
    const n = this.keys.length;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let m = i;
      if (l < n && this.better(l, m)) m = l;
      if (l + 1 < n && this.better(l + 1, m)) m = l + 1;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

const KEY = 1 << 20; // pair key = a * KEY + b; ids stay below 2^20

/** Incremental trainer: feed text with add(), then finish(). */
export class BpeTrainer {
  private readonly pre: { _call(text: string, options?: unknown): string[] };
  private readonly norm: { _call(text: string): string };
  private readonly wordCounts = new Map<string, number>();
  private chars = 0;
  private words = 0;
  private readonly started = performance.now();
  private readonly vocabSize: number;
  private readonly minFrequency: number;
  private readonly specials: string[];

  constructor(private readonly options: BpeTrainOptions = {}) {
    this.vocabSize = options.vocabSize ?? 4000;
    this.minFrequency = options.minFrequency ?? 2;
    const base = SPECIAL_TOKENS.length + 256;
    if (!Number.isInteger(this.vocabSize) || this.vocabSize < base || this.vocabSize >= KEY) {
      throw new TokenizerError(`vocab size must be an integer in [${base}, ${KEY}), got ${options.vocabSize}`);
    }
    if (!Number.isInteger(this.minFrequency) || this.minFrequency < 1) {
      throw new TokenizerError(`min frequency must be a positive integer, got ${options.minFrequency}`);
    }
    const chatTemplateId = options.chatTemplateId ?? "default";
    if (!isBuiltinTemplate(chatTemplateId)) throw new TokenizerError(`unknown chat template id "${chatTemplateId}"`);
    this.specials = [...SPECIAL_TOKENS, ...TEMPLATE_TOKENS[chatTemplateId]];
    if (this.vocabSize < this.specials.length + 256) {
      throw new TokenizerError(`vocab size must be at least ${this.specials.length + 256} for template ${chatTemplateId}, got ${this.vocabSize}`);
    }
    // Use the library's own normalizer and pre-tokenizer so training and encoding split text identically.
    const lib = new HfLibTokenizer(skeleton([], {}, [], false), {});
    const internals = lib as unknown as { normalizer: BpeTrainer["norm"]; pre_tokenizer: BpeTrainer["pre"] };
    this.norm = internals.normalizer;
    this.pre = internals.pre_tokenizer;
  }

  /** Adds one document or line of text. */
  add(text: string): void {
    if (text === "") return;
    this.chars += text.length;
    for (const w of this.pre._call(this.norm._call(text), { section_index: 0 })) {
      this.words++;
      this.wordCounts.set(w, (this.wordCounts.get(w) ?? 0) + 1);
    }
  }

  finish(): TrainedBpe {
    const byteChars = bytesToUnicode();
    const vocabList: string[] = [...this.specials, ...byteChars];
    const idOf = new Map<string, number>(vocabList.map((t, i) => [t, i]));
    // All distinct words laid out in one array of symbols, linked within each word; removed symbols are -1.
    // occ[pair] lists positions where the pair may start (entries go stale and are re-checked on use).
    let total = 0;
    for (const w of this.wordCounts.keys()) total += w.length; // byte-level chars are all in the BMP
    const sym = new Int32Array(total);
    const next = new Int32Array(total);
    const prev = new Int32Array(total);
    const weight = new Int32Array(total);
    let pos = 0;
    for (const [w, c] of this.wordCounts) {
      const start = pos;
      for (const ch of w) {
        const id = idOf.get(ch);
        if (id === undefined) throw new TokenizerError(`internal: pre-tokenizer produced a non-byte character U+${ch.codePointAt(0)!.toString(16)}`);
        sym[pos] = id;
        prev[pos] = pos === start ? -1 : pos - 1;
        next[pos] = pos + 1;
        weight[pos] = c;
        pos++;
      }
      if (pos > start) next[pos - 1] = -1;
    }
    const pairCount = new Map<number, number>();
    const occ = new Map<number, number[]>();
    const touched = new Set<number>();
    const bump = (k: number, delta: number, at: number) => {
      pairCount.set(k, (pairCount.get(k) ?? 0) + delta);
      if (delta > 0) {
        let list = occ.get(k);
        if (!list) occ.set(k, (list = []));
        list.push(at);
        touched.add(k);
      }
    };
    for (let p = 0; p < total; p++) if (next[p]! >= 0) bump(sym[p]! * KEY + sym[next[p]!]!, weight[p]!, p);
    const heap = new CountHeap();
    for (const [k, c] of pairCount) heap.push(c, k);
    touched.clear();
    const merges: Array<[string, string]> = [];
    while (vocabList.length < this.vocabSize && heap.length > 0) {
      const [c, key] = heap.pop();
      const live = pairCount.get(key) ?? 0;
      if (live !== c) {
        if (live > 0) heap.push(live, key);
        continue;
      }
      if (c < this.minFrequency) break;
      const a = Math.floor(key / KEY);
      const b = key % KEY;
      const merged = vocabList[a]! + vocabList[b]!;
      let z = idOf.get(merged);
      if (z === undefined) {
        z = vocabList.length;
        vocabList.push(merged);
        idOf.set(merged, z);
      }
      merges.push([vocabList[a]!, vocabList[b]!]);
      // Left to right within each word (positions ascending), so runs like "a a a" merge as "(a a) a".
      const positions = Int32Array.from(occ.get(key) ?? []).sort();
      for (const p of positions) {
        if (sym[p] !== a) continue;
        const q = next[p]!;
        if (q < 0 || sym[q] !== b) continue;
        const w = weight[p]!;
        const pp = prev[p]!;
        const r = next[q]!;
        if (pp >= 0) {
          bump(sym[pp]! * KEY + a, -w, pp);
          bump(sym[pp]! * KEY + z, w, pp);
        }
        if (r >= 0) {
          bump(b * KEY + sym[r]!, -w, q);
          bump(z * KEY + sym[r]!, w, p);
          prev[r] = p;
        }
        sym[p] = z;
        next[p] = r;
        sym[q] = -1;
      }
      pairCount.delete(key);
      occ.delete(key);
      for (const k of touched) {
        const cnt = pairCount.get(k) ?? 0;
        if (cnt > 0 && k !== key) heap.push(cnt, k);
      }
      touched.clear();
    }
    const vocab: Record<string, number> = {};
    vocabList.forEach((t, i) => (vocab[t] = i));
    const addBos = this.options.addBos ?? true;
    const tokenizerJson = skeleton(this.specials, vocab, merges, addBos);
    const chatTemplateId = this.options.chatTemplateId ?? "default";
    const tokenizerConfig: Record<string, unknown> = {
      tokenizer_class: "PreTrainedTokenizerFast",
      bos_token: "<s>",
      eos_token: "</s>",
      pad_token: "<pad>",
      unk_token: null,
      add_bos_token: addBos,
      add_eos_token: false,
      clean_up_tokenization_spaces: false,
      added_tokens_decoder: Object.fromEntries(
        this.specials.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
      ),
      chat_template_id: chatTemplateId,
      chat_template: isBuiltinTemplate(chatTemplateId) ? builtinJinja(chatTemplateId) : undefined,
    };
    const seconds = (performance.now() - this.started) / 1000;
    return {
      tokenizerJson,
      tokenizerConfig,
      merges: merges.length,
      vocabSize: vocabList.length,
      stats: {
        chars: this.chars,
        words: this.words,
        uniqueWords: this.wordCounts.size,
        seconds,
        charsPerSecond: seconds > 0 ? this.chars / seconds : 0,
      },
    };
  }
}

/** Trains on in-memory texts. */
export function trainBpeTokenizer(texts: Iterable<string>, options: BpeTrainOptions = {}): TrainedBpe {
  const t = new BpeTrainer(options);
  for (const s of texts) t.add(s);
  return t.finish();
}

/** Trains on text files, one document per line (streamed; lines are not held in memory). */
export async function trainBpeTokenizerFromFiles(files: readonly string[], options: BpeTrainOptions = {}): Promise<TrainedBpe> {
  if (files.length === 0) throw new TokenizerError("no corpus files given");
  const t = new BpeTrainer(options);
  for (const f of files) {
    try {
      accessSync(f, constants.R_OK);
    } catch (e) {
      throw new TokenizerError(`${f}: cannot read corpus file: ${(e as Error).message}`, { cause: e });
    }
    const stream = createReadStream(f, { encoding: "utf8" });
    const done = new Promise<void>((resolve, reject) => stream.on("error", (e) => reject(new TokenizerError(`${f}: cannot read: ${e.message}`, { cause: e }))).on("close", () => resolve()));
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const line of rl) t.add(line);
    await done;
  }
  return t.finish();
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed). */
export function saveTrainedBpe(trained: TrainedBpe, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(trained.tokenizerJson, null, 1) + "\n");
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(trained.tokenizerConfig, null, 2) + "\n");
}

/**
 * Applies merges by rank to one pre-tokenised word (lowest rank first, leftmost on ties): an independent
 * reference for checking that a saved tokenizer.json encodes as training segmented.
 */
export function applyMerges(word: string, ranks: ReadonlyMap<string, number>): string[] {
  const syms = Array.from(word);
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(syms[i]! + "\u0000" + syms[i + 1]!);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return syms;
    syms.splice(best, 2, syms[best]! + syms[best + 1]!);
  }
}
