/**
 * The one generator interface every serving path uses (terminal chat, the HTTP API, the web page,
 * `eval generate`): a request (chat messages rendered with the model's recorded template, or a raw
 * prompt) goes in, an async stream of events comes out — a `start` event (prompt size, turns dropped
 * to fit the context), `text` events (new text and the token ids that produced it) and one `end` event
 * (finish reason, usage, the whole answer). Cancellable with an AbortSignal.
 *
 * Options are resolved per request into a fresh object (`resolveOptions`), so one request's settings
 * never leak into the next (a seed defect). Temperature 0 means greedy decoding (the seed ignored it).
 * This file holds only the contract, defaults and option validation; the shared text machinery (stop
 * strings, incremental detokenisation, context fitting) is `core.ts`, the backends are `engine/` and
 * `llamacpp/`.
 */
import { randomInt } from "node:crypto";
import type { ChatMessage } from "../tokenizer/templates.js";

export type { ChatMessage, Role } from "../tokenizer/templates.js";

/** Per-request generation settings. Every field is optional; missing ones take `DEFAULT_OPTIONS`. */
export interface GenerationOptions {
  /** Most new tokens. Defaults to 512 (the seed's max_new_tokens). */
  maxNewTokens?: number;
  /** 0 = greedy (deterministic); otherwise softmax temperature in (0, 2]. Defaults to 0.95 (the seed's). */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]; 1 = off. Defaults to 0.7 (the seed's). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 = off. Defaults to 50 (the seed's). */
  topK?: number;
  /** Hugging Face-style repetition penalty over the prompt and the answer so far; 1 = off. Defaults to 1. */
  repetitionPenalty?: number;
  /** Strings that end the answer (not included in it), also when split across tokens. At most 16. Defaults to none. */
  stop?: readonly string[];
  /** Sampling seed: the same seed, request and backend give the same answer. Defaults to a random seed per request. */
  seed?: number;
}

/** What to generate from: chat messages (rendered with the model's template) or a raw prompt (no template). */
export type GenerationInput =
  | { messages: readonly ChatMessage[]; prompt?: undefined }
  | { prompt: string; messages?: undefined };

export type GenerationRequest = GenerationInput &
  GenerationOptions & {
    /** Aborting ends the stream with finishReason "cancelled" (no error is thrown). */
    signal?: AbortSignal;
  };

/** Why the answer ended: an end-of-answer token or stop string, the token limit or context, or an abort. */
export type FinishReason = "stop" | "length" | "cancelled";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface StartEvent {
  type: "start";
  /** Tokens of the rendered prompt actually sent to the model. */
  promptTokens: number;
  /** Oldest messages dropped so the conversation fits the context (system message kept). */
  droppedMessages: number;
  /** Human-readable notices (e.g. which turns were dropped and why). */
  notices: string[];
}

export interface TextEvent {
  type: "text";
  /** New answer text; may be empty while a possible stop string or a partial character is held back. */
  text: string;
  /** The token ids generated since the previous text event. */
  tokens: number[];
}

export interface EndEvent {
  type: "end";
  finishReason: FinishReason;
  /** The stop string that ended the answer, or null (end token, limit or abort). */
  stopString: string | null;
  /** The whole answer (the concatenation of every text event), never altered. */
  text: string;
  usage: Usage;
  notices: string[];
  /** The options this request actually ran with (seed included), for reproducing it. */
  options: ResolvedOptions;
}

export type GenerationEvent = StartEvent | TextEvent | EndEvent;

export interface GeneratorInfo {
  /** The model id (as `GET /v1/models` lists it): the model directory or GGUF file name, plus adapters. */
  id: string;
  backend: "engine" | "llama.cpp";
  /** The chat template in use (the checkpoint's recorded one unless forced). */
  template: string;
  /** Tokens one sequence can hold (prompt + answer). */
  contextSize: number;
  /** Adapter names applied on top of the base model. */
  adapters: string[];
  /** Sequences generated at the same time. */
  parallel: number;
}

/** A model ready to generate. Implementations: `EngineGenerator` (our engine), `LlamaCppTextGenerator`. */
export interface Generator {
  readonly info: GeneratorInfo;
  /**
   * Generates an answer. Validates the request before any work (throws GenerationRequestError naming
   * the field); then streams a start event, text events and exactly one end event. Requests may run
   * concurrently; each has its own options, seed and cache.
   */
  generate(request: GenerationRequest): AsyncGenerator<GenerationEvent, void, void>;
  /** Stops accepting requests and frees the model (worker threads, llama.cpp context). */
  close(): Promise<void>;
}

export type ResolvedOptions = Required<Omit<GenerationOptions, "stop">> & { stop: string[] };

/** The seed's generation defaults (SEED-FACTS "Serving in the seed"): sampling on. */
export const DEFAULT_OPTIONS: Readonly<Required<Omit<GenerationOptions, "seed" | "stop">>> = Object.freeze({
  maxNewTokens: 512,
  temperature: 0.95,
  topP: 0.7,
  topK: 50,
  repetitionPenalty: 1.0,
});

export const MAX_STOP_STRINGS = 16;

/** A request the generator cannot run; `field` names the offending request field. */
export class GenerationRequestError extends Error {
  override name = "GenerationRequestError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The conversation cannot be made to fit the model's context even after dropping old turns. */
export class ContextOverflowError extends GenerationRequestError {
  override name = "ContextOverflowError";
}

/** A backend failed (model load, worker crash, closed generator). */
export class GeneratorError extends Error {
  override name = "GeneratorError";
}

function num(field: string, v: unknown, check: (x: number) => boolean, expected: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) {
    throw new GenerationRequestError(field, `expected ${expected}, got ${typeof v === "number" ? v : JSON.stringify(v)}`);
  }
  return v;
}

/**
 * The options a request runs with: its own values, validated, over the defaults, in a new object
 * (nothing is shared between requests). Throws GenerationRequestError naming the field.
 * @param defaults server- or session-wide defaults, themselves over DEFAULT_OPTIONS
 */
export function resolveOptions(o: GenerationOptions, defaults: GenerationOptions = {}): ResolvedOptions {
  const pick = <K extends keyof GenerationOptions>(k: K): GenerationOptions[K] => (o[k] !== undefined ? o[k] : defaults[k]);
  const maxNewTokens = num("maxNewTokens", pick("maxNewTokens") ?? DEFAULT_OPTIONS.maxNewTokens, (x) => Number.isInteger(x) && x >= 1, "an integer >= 1");
  const temperature = num("temperature", pick("temperature") ?? DEFAULT_OPTIONS.temperature, (x) => x >= 0 && x <= 2, "a number in [0, 2] (0 = greedy)");
  const topP = num("topP", pick("topP") ?? DEFAULT_OPTIONS.topP, (x) => x > 0 && x <= 1, "a number in (0, 1]");
  const topK = num("topK", pick("topK") ?? DEFAULT_OPTIONS.topK, (x) => Number.isInteger(x) && x >= 0, "an integer >= 0 (0 = off)");
  const repetitionPenalty = num("repetitionPenalty", pick("repetitionPenalty") ?? DEFAULT_OPTIONS.repetitionPenalty, (x) => x > 0 && x <= 10, "a number in (0, 10] (1 = off)");
  const seedIn = pick("seed");
  const seed = seedIn === undefined ? randomInt(0, 2 ** 31 - 1) : num("seed", seedIn, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, "an integer in [0, 2^32)");
  const stopIn = pick("stop") ?? [];
  if (!Array.isArray(stopIn)) throw new GenerationRequestError("stop", `expected an array of strings, got ${JSON.stringify(stopIn)}`);
  if (stopIn.length > MAX_STOP_STRINGS) throw new GenerationRequestError("stop", `at most ${MAX_STOP_STRINGS} stop strings, got ${stopIn.length}`);
  const stop = stopIn.map((s, i) => {
    if (typeof s !== "string" || s.length === 0) throw new GenerationRequestError(`stop[${i}]`, `expected a non-empty string, got ${JSON.stringify(s)}`);
    return s;
  });
  return { maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, stop };
}

/** Validates the input part of a request (messages or prompt) before any work. */
export function validateInput(r: GenerationRequest): void {
  const hasMessages = r.messages !== undefined;
  const hasPrompt = r.prompt !== undefined;
  if (hasMessages === hasPrompt) throw new GenerationRequestError("messages", "give exactly one of messages or prompt");
  if (hasPrompt) {
    if (typeof r.prompt !== "string" || r.prompt.length === 0) throw new GenerationRequestError("prompt", "expected a non-empty string");
    return;
  }
  if (!Array.isArray(r.messages) || r.messages.length === 0) throw new GenerationRequestError("messages", "expected a non-empty array of {role, content}");
  r.messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null) throw new GenerationRequestError(`messages[${i}]`, "expected an object {role, content}");
    if (m.role !== "system" && m.role !== "user" && m.role !== "assistant") {
      throw new GenerationRequestError(`messages[${i}].role`, `expected "system", "user" or "assistant", got ${JSON.stringify(m.role)}`);
    }
    if (typeof m.content !== "string") throw new GenerationRequestError(`messages[${i}].content`, `expected a string, got ${JSON.stringify(m.content)}`);
    if (m.role === "system" && i !== 0) throw new GenerationRequestError(`messages[${i}].role`, "a system message may only come first");
  });
  const offset = r.messages[0]!.role === "system" ? 1 : 0;
  for (let i = offset; i < r.messages.length; i++) {
    const want = (i - offset) % 2 === 0 ? "user" : "assistant";
    if (r.messages[i]!.role !== want) {
      throw new GenerationRequestError(`messages[${i}].role`, `expected "${want}" (user and assistant turns alternate after an optional system message), got "${r.messages[i]!.role}"`);
    }
  }
  const last = r.messages[r.messages.length - 1]!;
  if (last.role !== "user") throw new GenerationRequestError(`messages[${r.messages.length - 1}].role`, `the last message must be from the user, got "${last.role}"`);
}

/** Runs a request to the end and returns its end event (for callers that do not stream). */
export async function generateText(generator: Generator, request: GenerationRequest): Promise<EndEvent> {
  let end: EndEvent | null = null;
  for await (const ev of generator.generate(request)) if (ev.type === "end") end = ev;
  if (end === null) throw new GeneratorError("the generator ended without an end event");
  return end;
}
