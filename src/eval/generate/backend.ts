/**
 * Where `eval generate` gets answers from: the serving `Generator` of either backend — our engine
 * (a worker thread that decodes concurrent requests together, so `batchSize` requests in flight are
 * one batch) or llama.cpp over a GGUF. Answers use the chat template recorded with the model.
 * A third backend answers from any OpenAI-compatible endpoint through the project's client (a hosted
 * baseline, another server), so its answers sit in the same tables.
 * A conversation the generator rejects (too long for the context, a bad request) gets an error
 * outcome so the caller records a gap; a failing backend throws.
 *
 * Also loads a checkpoint in this process for exam scoring by option likelihood (the serving
 * generator streams text and does not score continuations).
 */
import path from "node:path";
import { loadModel } from "../../model/index.js";
import { readModelConfig } from "../../model/checkpoint.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { checkTemplate, suggestTemplate, type ChatMessage } from "../../tokenizer/templates.js";
import { GenerationRequestError, generateText, type Generator, type ResolvedOptions } from "../../serve/generator.js";
import { loadEngineGenerator, recordedTemplate } from "../../serve/engine/backend.js";
import { loadLlamaCppGenerator } from "../../serve/llamacpp/backend.js";
import { EngineLikelihoodScorer } from "../exam/likelihood.js";
import { LlmMalformedReplyError, LlmRequestError, type LlmClient } from "../../llm/client.js";

export type AnswerOutcome =
  | { ok: true; text: string; finishReason: "stop" | "length" | "cancelled"; promptTokens?: number; completionTokens?: number; notices: string[] }
  | { ok: false; error: string };

export interface BackendInfo {
  /** The model's name (directory or file name, plus adapters; the remote name for an endpoint). */
  id: string;
  backend: "engine" | "llama.cpp" | "openai";
  /** "remote" for an endpoint, which applies its own template. */
  template: string;
  /** 0 when unknown (an endpoint). */
  contextSize: number;
  /** Requests generated at the same time. */
  parallel: number;
}

export interface AnswerBackend {
  readonly info: BackendInfo;
  /** Answers one conversation with `seed` as its sampling seed. */
  answer(conversation: readonly ChatMessage[], settings: ResolvedOptions, seed: number): Promise<AnswerOutcome>;
  close(): Promise<void>;
}

/** Answers through a serving generator, one request per conversation. */
export class GeneratorBackend implements AnswerBackend {
  readonly info: BackendInfo;
  constructor(private readonly generator: Generator) {
    const g = generator.info;
    this.info = { id: g.id, backend: g.backend, template: g.template, contextSize: g.contextSize, parallel: g.parallel };
  }

  async answer(conversation: readonly ChatMessage[], s: ResolvedOptions, seed: number): Promise<AnswerOutcome> {
    try {
      const end = await generateText(this.generator, { messages: conversation, ...s, stop: [...s.stop], seed });
      return { ok: true, text: end.text, finishReason: end.finishReason, promptTokens: end.usage.promptTokens, completionTokens: end.usage.completionTokens, notices: end.notices };
    } catch (e) {
      if (!(e instanceof GenerationRequestError)) throw e;
      return { ok: false, error: e.message };
    }
  }

  async close(): Promise<void> {
    await this.generator.close();
  }
}

/** Answers from an OpenAI-compatible endpoint (the endpoint applies its own chat template). */
export class EndpointBackend implements AnswerBackend {
  readonly info: BackendInfo;
  constructor(private readonly client: LlmClient) {
    this.info = { id: client.model, backend: "openai", template: "remote", contextSize: 0, parallel: client.concurrency };
  }

  async answer(conversation: readonly ChatMessage[], s: ResolvedOptions, seed: number): Promise<AnswerOutcome> {
    if (s.topK !== 0 || s.repetitionPenalty !== 1 || s.stop.length > 0) {
      throw new GenerationRequestError(s.topK !== 0 ? "topK" : s.repetitionPenalty !== 1 ? "repetitionPenalty" : "stop", "not sent to an OpenAI-compatible endpoint by this client; leave it at its default");
    }
    try {
      const r = await this.client.chat([...conversation], { temperature: s.temperature, maxTokens: s.maxNewTokens, seed, ...(s.topP !== 1 ? { topP: s.topP } : {}) });
      return { ok: true, text: r.content, finishReason: "stop", notices: [] }; // the client does not pass token counts on
    } catch (e) {
      // A reply that stays empty or a prompt refused as too long is this item's; anything else
      // (retries exhausted, a wrong key) is the endpoint's and stops the run, to be resumed.
      if (e instanceof LlmMalformedReplyError) return { ok: false, error: e.message };
      if (e instanceof LlmRequestError && e.status === 400 && /context|too long|maximum/i.test(e.body ?? "")) return { ok: false, error: e.message };
      throw e;
    }
  }

  async close(): Promise<void> {}
}

export interface LoadBackendOptions {
  /** "engine": a checkpoint directory; "llama.cpp": a GGUF file. */
  backend: "engine" | "llama.cpp";
  /** Requests in flight (the engine decodes them as one batch). */
  parallel: number;
  template?: string;
  forceTemplate?: boolean;
  contextSize?: number;
  /** llama.cpp threads. */
  threads?: number;
}

export async function loadAnswerBackend(modelPath: string, o: LoadBackendOptions): Promise<GeneratorBackend> {
  const common = { parallel: o.parallel, ...(o.template !== undefined ? { template: o.template } : {}), ...(o.forceTemplate ? { forceTemplate: true } : {}), ...(o.contextSize !== undefined ? { contextSize: o.contextSize } : {}) };
  const g = o.backend === "engine" ? await loadEngineGenerator(modelPath, common) : await loadLlamaCppGenerator(modelPath, { ...common, ...(o.threads !== undefined ? { threads: o.threads } : {}) });
  return new GeneratorBackend(g);
}

/** A checkpoint loaded in this process for likelihood scoring, with the template generation uses. */
export async function loadLikelihoodScorer(dir: string, o: { template?: string; forceTemplate?: boolean; batchSize?: number } = {}): Promise<{ scorer: EngineLikelihoodScorer; template: string; id: string }> {
  const config = await readModelConfig(dir);
  const tokenizer = loadTokenizer(dir);
  const recorded = await recordedTemplate(dir, tokenizer);
  const template = checkTemplate(recorded ?? suggestTemplate(tokenizer, config.architecture), o.template, { force: o.forceTemplate ?? false });
  const model = await loadModel(dir);
  return { scorer: new EngineLikelihoodScorer(model, tokenizer, template, o.batchSize ?? 8), template, id: path.basename(path.resolve(dir)) };
}
