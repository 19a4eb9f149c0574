/**
 * The text half of every generator, shared by both backends: renders chat messages with the model's
 * template, drops the oldest turns when a conversation does not fit the context (and says so), turns
 * the backend's token ids into text incrementally (never splitting a UTF-8 character), matches stop
 * strings even when they are split across tokens, and reports finish reason and usage.
 *
 * A backend only has to be a `TokenBackend`: a tokenizer plus a stream of token ids for a prompt.
 * Nothing here runs a kernel; sampling happens in the backend (a worker thread or llama.cpp's threads).
 */
import { renderChat, stopTokenIds, type ChatMessage } from "../tokenizer/templates.js";
import type { Tokenizer } from "../tokenizer/types.js";
import {
  ContextOverflowError,
  GeneratorError,
  resolveOptions,
  validateInput,
  type EndEvent,
  type FinishReason,
  type GenerationEvent,
  type GenerationOptions,
  type GenerationRequest,
  type Generator,
  type GeneratorInfo,
  type ResolvedOptions,
} from "./generator.js";

/**
 * End-of-text markers that end an answer whatever the template, when the tokenizer has them as special
 * tokens: the names llama.cpp treats as end of generation, so both backends stop at the same places
 * (a chat model that emits <|endoftext|> has finished, though the template ends turns with <|im_end|>).
 */
const END_OF_TEXT = ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<|end_of_text|>"];

/** Token ids that end an answer: the template's (EOS, end-of-turn) plus special end-of-text markers. */
export function answerEndIds(tokenizer: Tokenizer, template: string, extra: readonly number[] = []): number[] {
  const ids = new Set([...stopTokenIds(tokenizer, template), ...extra]);
  for (const name of END_OF_TEXT) {
    const id = tokenizer.tokenToId(name);
    if (id !== null && tokenizer.isSpecial(id)) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** What a backend samples with, per request (a fresh object each time). */
export interface SamplingRequest {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
}

export interface TokenBackend {
  readonly tokenizer: Tokenizer;
  /** Tokens one sequence can hold (prompt + answer). */
  readonly contextSize: number;
  /** Sequences generated at the same time. */
  readonly parallel: number;
  /**
   * New token ids after `prompt`. Ends (without yielding it) at an end-of-answer token, after
   * `maxTokens` tokens, or soon after `signal` aborts. Breaking out of the loop must free the sequence.
   */
  tokens(prompt: readonly number[], sampling: SamplingRequest, signal: AbortSignal): AsyncIterable<number>;
  close(): Promise<void>;
}

/**
 * Incremental detokenisation: text is decoded over a short window of ids, and a delta is released only
 * when it does not end in a partial character (U+FFFD), so multi-byte Chinese characters split across
 * byte-level tokens come out whole.
 */
export class IncrementalDecoder {
  private ids: number[] = [];
  private prefix = 0;
  private read = 0;

  constructor(private readonly decode: (ids: readonly number[]) => string) {}

  /** Adds one token and returns the new text it completes (possibly ""). */
  push(id: number): string {
    this.ids.push(id);
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const now = this.decode(this.ids.slice(this.prefix));
    if (now.length > before.length && !now.endsWith("\uFFFD")) {
      const delta = now.slice(before.length);
      this.prefix = this.read;
      this.read = this.ids.length;
      return delta;
    }
    return "";
  }

  /** Whatever is still held back at the end (a trailing partial character decodes as U+FFFD). */
  flush(): string {
    const before = this.decode(this.ids.slice(this.prefix, this.read));
    const now = this.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return now.slice(before.length);
  }
}

/**
 * Stop strings over a growing text: `push` returns the text safe to release — everything except a
 * suffix that could still become a stop string — and reports the first stop string found.
 */
export class StopMatcher {
  private text = "";
  private released = 0;
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  push(delta: string): { text: string; stop: string | null } {
    this.text += delta;
    if (this.stops.length === 0) return this.release(this.text.length, null);
    // A stop string may start inside text already released only if it began in the held-back tail.
    const from = Math.max(0, this.released - this.longest + 1);
    let at = -1;
    let which: string | null = null;
    for (const s of this.stops) {
      const i = this.text.indexOf(s, from);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (which !== null) return this.release(at, which);
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, this.text.length); k > hold; k--) {
        if (this.text.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return this.release(this.text.length - hold, null);
  }

  /** The held-back tail, released at the end when no stop string completed. */
  flush(): string {
    return this.release(this.text.length, null).text;
  }

  private release(upTo: number, stop: string | null): { text: string; stop: string | null } {
    const out = this.text.slice(this.released, Math.max(upTo, this.released));
    this.released = Math.max(upTo, this.released);
    return { text: out, stop };
  }
}

/**
 * Prompt ids for a request: messages rendered with the template, dropping the oldest user/assistant
 * pairs (the system message is kept) until the prompt leaves room to answer; or a raw prompt encoded as
 * the tokenizer's configuration says (BOS), without parsing control tokens in it.
 */
export function fitPrompt(
  tokenizer: Tokenizer,
  template: string,
  request: GenerationRequest,
  contextSize: number,
  maxNewTokens: number,
): { ids: number[]; droppedMessages: number; notices: string[] } {
  // Room kept for the answer: all of max_new_tokens when it is small, else a quarter of the context.
  const room = Math.max(1, Math.min(maxNewTokens, Math.floor(contextSize / 4)));
  if (request.prompt !== undefined) {
    const ids = tokenizer.encode(request.prompt, { addSpecialTokens: true, parseSpecial: false });
    if (ids.length + room > contextSize) {
      throw new ContextOverflowError("prompt", `${ids.length} tokens leave no room to answer in the ${contextSize}-token context (${room} kept for the answer)`);
    }
    return { ids, droppedMessages: 0, notices: [] };
  }
  const all = request.messages! as readonly ChatMessage[];
  const system = all[0]!.role === "system" ? [all[0]!] : [];
  let turns = all.slice(system.length);
  let dropped = 0;
  for (;;) {
    const ids = renderChat(tokenizer, template, [...system, ...turns], "prompt").ids;
    if (ids.length + room <= contextSize) {
      const notices =
        dropped > 0 ? [`dropped the ${dropped} oldest message${dropped > 1 ? "s" : ""} so the conversation fits the ${contextSize}-token context`] : [];
      return { ids, droppedMessages: dropped, notices };
    }
    if (turns.length <= 1) {
      throw new ContextOverflowError(
        `messages[${all.length - 1}].content`,
        `the last message needs ${ids.length} tokens with the template, which leaves no room to answer in the ${contextSize}-token context (${room} kept for the answer)`,
      );
    }
    turns = turns.slice(2);
    dropped += 2;
  }
}

/** A Generator over any TokenBackend: the text machinery above plus the event stream of the contract. */
export class TextGenerator implements Generator {
  private closed = false;

  constructor(
    readonly backend: TokenBackend,
    readonly info: GeneratorInfo,
    /** Session-wide defaults under each request's own options (the CLI's flags). */
    private readonly defaults: GenerationOptions = {},
  ) {}

  async *generate(request: GenerationRequest): AsyncGenerator<GenerationEvent, void, void> {
    if (this.closed) throw new GeneratorError(`${this.info.id}: generate after close()`);
    validateInput(request);
    const options: ResolvedOptions = resolveOptions(request, this.defaults);
    const tok = this.backend.tokenizer;
    const { ids, droppedMessages, notices } = fitPrompt(tok, this.info.template, request, this.backend.contextSize, options.maxNewTokens);
    yield { type: "start", promptTokens: ids.length, droppedMessages, notices };

    const maxTokens = Math.min(options.maxNewTokens, this.backend.contextSize - ids.length);
    const inner = new AbortController();
    const outer = request.signal;
    const onAbort = () => inner.abort();
    if (outer?.aborted) inner.abort();
    outer?.addEventListener("abort", onAbort, { once: true });
    // Ids without a token (a model's vocabulary padded past its tokenizer's) decode to nothing.
    const decoder = new IncrementalDecoder((x) => tok.decode(x.filter((id) => tok.idToToken(id) !== null), { skipSpecialTokens: true }));
    const stops = new StopMatcher(options.stop);
    let text = "";
    let produced = 0;
    let stopString: string | null = null;
    try {
      const sampling: SamplingRequest = {
        maxTokens,
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        repetitionPenalty: options.repetitionPenalty,
        seed: options.seed,
      };
      if (!inner.signal.aborted) {
        for await (const id of this.backend.tokens(ids, sampling, inner.signal)) {
          produced++;
          const r = stops.push(decoder.push(id));
          text += r.text;
          yield { type: "text", text: r.text, tokens: [id] };
          if (r.stop !== null) {
            stopString = r.stop;
            break;
          }
          if (inner.signal.aborted) break;
        }
      }
      if (stopString === null) {
        const r = stops.push(decoder.flush());
        let tail = r.text;
        if (r.stop !== null) stopString = r.stop;
        else tail += stops.flush();
        if (tail !== "") {
          text += tail;
          yield { type: "text", text: tail, tokens: [] };
        }
      }
    } finally {
      outer?.removeEventListener("abort", onAbort);
    }
    let finishReason: FinishReason;
    if (stopString !== null) finishReason = "stop";
    else if (outer?.aborted) finishReason = "cancelled";
    else if (produced >= maxTokens) finishReason = "length";
    else finishReason = "stop";
    const end: EndEvent = {
      type: "end",
      finishReason,
      stopString,
      text,
      usage: { promptTokens: ids.length, completionTokens: produced, totalTokens: ids.length + produced },
      notices,
      options,
    };
    yield end;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }
}
