/**
 * Our engine as a generator backend: the model lives in a worker thread (`worker.ts`), which batches
 * concurrent sequences into one decode step; this side holds the tokenizer and template, sends token
 * ids, and turns the worker's messages into one async stream per request. Cancelling (abort, a stop
 * string, a client leaving) frees the sequence's row in the worker at its next step.
 */
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { readModelConfig } from "../../model/checkpoint.js";
import { openCheckpoint } from "../../model/io/checkpoint.js";
import { loadTokenizer } from "../../tokenizer/load.js";
import { checkTemplate, suggestTemplate } from "../../tokenizer/templates.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import { startWorker } from "../../util/worker.js";
import { answerEndIds, TextGenerator, type SamplingRequest, type TokenBackend } from "../core.js";
import { GeneratorError, type GenerationOptions } from "../generator.js";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.js";

export interface EngineLoadOptions {
  /** Chat template to use; must equal the checkpoint's recorded one unless `forceTemplate`. Defaults to the recorded one. */
  template?: string;
  forceTemplate?: boolean;
  /** Adapter directories (LoRA / MoE-LoRA) applied on the base model. Defaults to none. */
  adapters?: string[];
  /** Tokens per sequence (prompt + answer). Defaults to the model's context, at most 2048. */
  contextSize?: number;
  /** Sequences decoded together in one step. Defaults to 4. */
  parallel?: number;
  /** Hold the linear weights as q8_0 or bf16 for faster decoding. Defaults to f32. */
  quantize?: "q8_0" | "bf16" | null;
  /** Session defaults under each request's options. */
  defaults?: GenerationOptions;
}

/** The chat template recorded with a checkpoint (safetensors metadata, else tokenizer_config.json), or null. */
export async function recordedTemplate(dir: string, tokenizer: Tokenizer): Promise<string | null> {
  const reader = await openCheckpoint(dir);
  try {
    return reader.metadata.template ?? tokenizer.chatTemplateId ?? null;
  } finally {
    await reader.close();
  }
}

interface Channel {
  queue: number[];
  done: boolean;
  error: Error | null;
  wake: (() => void) | null;
}

export class EngineBackend implements TokenBackend {
  private readonly channels = new Map<number, Channel>();
  private nextId = 1;
  private fatal: Error | null = null;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly tokenizer: Tokenizer,
    readonly contextSize: number,
    readonly parallel: number,
  ) {
    worker.on("message", (m: FromWorker) => this.onMessage(m));
    worker.on("error", (e) => this.fail(new GeneratorError(`engine worker crashed: ${e.message}`)));
    worker.on("exit", (code) => {
      if (!this.closed) this.fail(new GeneratorError(`engine worker exited (code ${code})`));
    });
  }

  static async start(modelDir: string, tokenizer: Tokenizer, init: Omit<WorkerInit, "modelDir">): Promise<EngineBackend> {
    const worker = startWorker(import.meta.url, "./worker", { workerData: { ...init, modelDir } satisfies WorkerInit });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.kind === "ready") resolve();
        else if (m.kind === "fatal") reject(new GeneratorError(`${modelDir}: the engine worker could not load the model: ${m.message}`));
        else return;
        worker.off("message", onMsg);
      };
      worker.on("message", onMsg);
      worker.once("error", (e) => reject(new GeneratorError(`${modelDir}: the engine worker failed: ${e.message}`)));
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    return new EngineBackend(worker, tokenizer, init.contextSize, init.slots);
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.kind === "fatal") return this.fail(new GeneratorError(`engine worker: ${m.message}`));
    if (m.kind === "ready") return;
    const ch = this.channels.get(m.id);
    if (!ch) return;
    if (m.kind === "error") {
      ch.error = new GeneratorError(m.message);
      ch.done = true;
    } else {
      ch.queue.push(...m.tokens);
      if (m.done) ch.done = true;
    }
    ch.wake?.();
  }

  private fail(e: Error): void {
    this.fatal ??= e;
    for (const ch of this.channels.values()) {
      ch.error ??= e;
      ch.done = true;
      ch.wake?.();
    }
  }

  async *tokens(prompt: readonly number[], sampling: SamplingRequest, signal: AbortSignal): AsyncGenerator<number, void, void> {
    if (this.fatal) throw this.fatal;
    if (this.closed) throw new GeneratorError("the engine backend is closed");
    const id = this.nextId++;
    const ch: Channel = { queue: [], done: false, error: null, wake: null };
    this.channels.set(id, ch);
    const onAbort = () => ch.wake?.();
    signal.addEventListener("abort", onAbort);
    let finished = false;
    try {
      this.send({ kind: "start", id, prompt: [...prompt], sampling: { ...sampling } });
      for (;;) {
        while (ch.queue.length > 0) {
          if (signal.aborted) return;
          yield ch.queue.shift()!;
        }
        if (ch.error) throw ch.error;
        if (ch.done) {
          finished = true;
          return;
        }
        if (signal.aborted) return;
        await new Promise<void>((r) => (ch.wake = r));
        ch.wake = null;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.channels.delete(id);
      if (!finished && !this.closed && !this.fatal) this.send({ kind: "cancel", id });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new GeneratorError("the engine backend was closed"));
    await this.worker.terminate();
  }
}

/** Loads a checkpoint directory (config.json, weights, tokenizer) as a Generator on our engine. */
export async function loadEngineGenerator(modelDir: string, options: EngineLoadOptions = {}): Promise<TextGenerator> {
  const config = await readModelConfig(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  const recorded = await recordedTemplate(modelDir, tokenizer);
  const template = checkTemplate(recorded ?? suggestTemplate(tokenizer, config.architecture), options.template, { force: options.forceTemplate });
  const contextSize = options.contextSize ?? Math.min(config.maxPositions, 2048);
  if (!Number.isInteger(contextSize) || contextSize < 2 || contextSize > config.maxPositions) {
    throw new GeneratorError(`contextSize must be an integer in [2, ${config.maxPositions}] (the model's max_position_embeddings), got ${contextSize}`);
  }
  const parallel = options.parallel ?? 4;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 256) throw new GeneratorError(`parallel must be an integer in [1, 256], got ${parallel}`);
  const adapters = options.adapters ?? [];
  const backend = await EngineBackend.start(modelDir, tokenizer, {
    adapterDirs: adapters.map((a) => path.resolve(a)),
    quantize: options.quantize ?? null,
    slots: parallel,
    contextSize,
    endTokenIds: answerEndIds(tokenizer, template, config.eosTokenIds),
  });
  const id = [path.basename(path.resolve(modelDir)), ...adapters.map((a) => path.basename(path.resolve(a)))].join("+");
  return new TextGenerator(
    backend,
    { id, backend: "engine", template, contextSize, adapters: adapters.map((a) => path.basename(path.resolve(a))), parallel },
    options.defaults,
  );
}
