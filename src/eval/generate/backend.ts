/**
 * Where `eval generate` gets answers from: an `AnswerBackend` answers a batch of conversations with
 * one set of generation settings. Two implementations:
 *
 * - `EngineBatchBackend`: a checkpoint on our engine, a whole batch decoded at once with
 *   `generateBatch` (left-padded, shared KV cache), which is what makes batched evaluation faster
 *   than one request at a time.
 * - `GeneratorBackend`: any serving `Generator` (engine or llama.cpp), one request per conversation,
 *   up to the generator's `parallel` at a time.
 *
 * Answers use the chat template recorded with the model. A conversation that cannot be answered
 * (too long for the context, a rejected request) gets an error outcome so the caller records a gap;
 * a failing backend throws.
 */
import { loadModel, generateBatch, type CausalLM } from "../../model/index.js";
import { modelInfo } from "../../model/info.js";
import { loadTokenizer, type Tokenizer } from "../../tokenizer/index.js";
import { checkTemplate, renderChat, stopTokenIds, type ChatMessage } from "../../tokenizer/templates.js";
import { EngineLikelihoodScorer } from "../exam/likelihood.js";
import { GenerationRequestError, generateText, type Generator, type ResolvedOptions } from "../../serve/generator.js";

export type AnswerOutcome =
  | { ok: true; text: string; finishReason: "stop" | "length" | "cancelled"; promptTokens: number; completionTokens: number }
  | { ok: false; error: string };

export interface BackendInfo {
  /** The model's name (directory or file name). */
  id: string;
  backend: "engine" | "llama.cpp";
  template: string;
  contextSize: number;
}

export interface AnswerBackend {
  readonly info: BackendInfo;
  /**
   * One outcome per conversation, in order. `seeds[i]` is the sampling seed of conversation i (so an
   * answer does not depend on which batch it fell into).
   */
  answer(conversations: readonly (readonly ChatMessage[])[], settings: ResolvedOptions, seeds: readonly number[]): Promise<AnswerOutcome[]>;
  close(): Promise<void>;
}

/** Cuts the text at the first stop string; returns whether one was found. */
function applyStops(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}

export class EngineBatchBackend implements AnswerBackend {
  private constructor(
    readonly info: BackendInfo,
    private readonly model: CausalLM,
    private readonly tokenizer: Tokenizer,
  ) {}

  /** Loads a checkpoint directory (weights, config, tokenizer, recorded template). */
  static async load(dir: string, opts: { template?: string; forceTemplate?: boolean } = {}): Promise<EngineBatchBackend> {
    const info = await modelInfo(dir);
    const template = checkTemplate(info.template ?? "default", opts.template, { force: opts.forceTemplate ?? false });
    const model = await loadModel(dir);
    const tokenizer = loadTokenizer(dir);
    const id = dir.replace(/[\\/]+$/, "").replace(/^.*[\\/]/, "");
    return new EngineBatchBackend({ id, backend: "engine", template, contextSize: model.config.maxPositions }, model, tokenizer);
  }

  /** Wraps an already loaded model and tokenizer (tests, benchmarks). */
  static fromModel(model: CausalLM, tokenizer: Tokenizer, template: string, id: string): EngineBatchBackend {
    return new EngineBatchBackend({ id, backend: "engine", template, contextSize: model.config.maxPositions }, model, tokenizer);
  }

  async answer(conversations: readonly (readonly ChatMessage[])[], s: ResolvedOptions, seeds: readonly number[]): Promise<AnswerOutcome[]> {
    if (s.repetitionPenalty !== 1) throw new GenerationRequestError("repetitionPenalty", `the batched engine backend applies no repetition penalty; use 1 (got ${s.repetitionPenalty}) or a generator backend`);
    if (seeds.length !== conversations.length) throw new RangeError(`answer: ${conversations.length} conversations but ${seeds.length} seeds`);
    const ctx = this.info.contextSize;
    const out: AnswerOutcome[] = new Array(conversations.length);
    const prompts: number[][] = [];
    const where: number[] = [];
    conversations.forEach((conv, i) => {
      let ids: number[];
      try {
        ids = renderChat(this.tokenizer, this.info.template, conv, "prompt").ids;
      } catch (e) {
        out[i] = { ok: false, error: `cannot render the conversation with template ${this.info.template}: ${(e as Error).message}` };
        return;
      }
      if (ids.length >= ctx) {
        out[i] = { ok: false, error: `the prompt has ${ids.length} tokens; the model's context holds ${ctx} (prompt + answer)` };
        return;
      }
      prompts.push(ids);
      where.push(i);
    });
    // generateBatch seeds sequence b with seed + b; consecutive seeds are kept together so that one
    // call serves them, otherwise each conversation is decoded on its own.
    const stops = stopTokenIds(this.tokenizer, this.info.template);
    const runs: number[][] = [];
    for (let k = 0; k < where.length; k++) {
      const last = runs[runs.length - 1];
      if (last && seeds[where[k]!] === seeds[where[last[last.length - 1]!]!]! + 1) last.push(k);
      else runs.push([k]);
    }
    for (const run of runs) {
      const batch = run.map((k) => prompts[k]!);
      const results = generateBatch(this.model, batch, { maxNewTokens: s.maxNewTokens, temperature: s.temperature, topK: s.topK, topP: s.topP, seed: seeds[where[run[0]!]!]!, eosTokenIds: stops });
      results.forEach((r, j) => {
        const k = run[j]!;
        const tokens = r.finishReason === "eos" ? r.tokens.slice(0, -1) : r.tokens;
        const cut = applyStops(this.tokenizer.decode(tokens, { skipSpecialTokens: true }), s.stop);
        out[where[k]!] = { ok: true, text: cut.text, finishReason: r.finishReason === "eos" || cut.stopped ? "stop" : "length", promptTokens: prompts[k]!.length, completionTokens: r.tokens.length };
      });
    }
    return out;
  }

  /** Exam options scored by likelihood with the same model, tokenizer and template. */
  likelihoodScorer(batchSize = 8): EngineLikelihoodScorer {
    return new EngineLikelihoodScorer(this.model, this.tokenizer, this.info.template, batchSize);
  }

  async close(): Promise<void> {}
}

/** Answers through a serving generator, one request per conversation. */
export class GeneratorBackend implements AnswerBackend {
  readonly info: BackendInfo;
  constructor(private readonly generator: Generator) {
    const g = generator.info;
    this.info = { id: g.id, backend: g.backend, template: g.template, contextSize: g.contextSize };
  }

  async answer(conversations: readonly (readonly ChatMessage[])[], s: ResolvedOptions, seeds: readonly number[]): Promise<AnswerOutcome[]> {
    const out: AnswerOutcome[] = new Array(conversations.length);
    let next = 0;
    const lane = async () => {
      for (;;) {
        const i = next++;
        if (i >= conversations.length) return;
        try {
          const end = await generateText(this.generator, { messages: conversations[i]!, ...s, stop: [...s.stop], seed: seeds[i]! });
          out[i] = { ok: true, text: end.text, finishReason: end.finishReason, promptTokens: end.usage.promptTokens, completionTokens: end.usage.completionTokens };
        } catch (e) {
          if (!(e instanceof GenerationRequestError)) throw e;
          out[i] = { ok: false, error: e.message };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.generator.info.parallel, conversations.length)) }, lane));
    return out;
  }

  async close(): Promise<void> {
    await this.generator.close();
  }
}
