/**
 * Token generation with llama.cpp (through node-llama-cpp, CPU build) for serving large quantized
 * GGUF models: a loaded model with optional LoRA adapters (each with its scale), a pool of context
 * sequences so concurrent requests do not block each other, and `generate`, an async stream of token
 * ids with greedy / temperature / top-k / top-p / min-p sampling, repetition penalty, stop tokens
 * and cancellation. All evaluation runs on llama.cpp's own threads, never on the event loop.
 *
 * Works in token ids; text, chat templates and stop strings belong to the serving layer above.
 */
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { cpuLlama } from "./oracle.js";

export interface LlamaCppLoadOptions {
  /** Evaluation threads per context. Defaults to 2. */
  threads?: number;
  /** Context size per sequence, in tokens (prompt + generated). Defaults to the model's trained context, at most 4096. */
  contextSize?: number;
  /** Sequences that can generate at the same time. Defaults to 1. */
  parallel?: number;
  /** LoRA adapter GGUFs with their scales (llama.cpp applies scale · alpha / r). */
  lora?: { filePath: string; scale?: number }[];
}

export interface LlamaCppGenerateOptions {
  /** Most tokens to generate. */
  maxTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  /** Multiplicative repetition penalty (> 1 discourages repeats). Defaults to none. */
  repeatPenalty?: number;
  /** How many recent tokens the repetition penalty looks at. Defaults to 64. */
  repeatLastN?: number;
  /** Sampling seed, for reproducible sampling. */
  seed?: number;
  /** Token ids that end generation (not yielded), besides the model's end-of-generation tokens. */
  stopTokens?: readonly number[];
  signal?: AbortSignal;
}

export class GenerationError extends Error {
  override readonly name = "GenerationError";
}

export class LlamaCppGenerator {
  private readonly free: LlamaContextSequence[];
  private readonly waiting: ((s: LlamaContextSequence) => void)[] = [];
  private disposed = false;

  private constructor(
    readonly path: string,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
  ) {
    this.free = sequences;
  }

  static async load(ggufPath: string, options: LlamaCppLoadOptions = {}): Promise<LlamaCppGenerator> {
    const llama = await cpuLlama();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
    } catch (err) {
      throw new GenerationError(`${ggufPath}: llama.cpp could not load the model: ${(err as Error).message}`, { cause: err });
    }
    const parallel = options.parallel ?? 1;
    if (!Number.isInteger(parallel) || parallel < 1) throw new GenerationError(`parallel must be an integer >= 1, got ${parallel}`);
    try {
      const context = await model.createContext({
        contextSize: options.contextSize ?? Math.min(model.trainContextSize, 4096),
        sequences: parallel,
        threads: options.threads ?? 2,
        ...(options.lora && options.lora.length > 0 ? { lora: { adapters: options.lora } } : {}),
      });
      const sequences = Array.from({ length: parallel }, () => context.getSequence());
      return new LlamaCppGenerator(ggufPath, model, context, sequences);
    } catch (err) {
      await model.dispose();
      throw new GenerationError(`${ggufPath}: llama.cpp could not create a context: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Tokens one sequence can hold (prompt + generated). */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** GGUF metadata as llama.cpp read it, nested by dotted key (`general.architecture` → general.architecture). */
  get metadata(): Record<string, unknown> {
    return this.model.fileInfo.metadata as unknown as Record<string, unknown>;
  }

  /** The chat template id recorded at export (`pedgpt.template`), to check against the template in use. */
  get templateId(): string | null {
    const v = (this.metadata.pedgpt as Record<string, unknown> | undefined)?.template;
    return typeof v === "string" ? v : null;
  }

  /** The Jinja chat template embedded from tokenizer_config.json (`tokenizer.chat_template`), if any. */
  get chatTemplate(): string | null {
    const v = (this.metadata.tokenizer as Record<string, unknown> | undefined)?.chat_template;
    return typeof v === "string" ? v : null;
  }

  /** Whether llama.cpp treats `token` as end of generation (EOS, EOT, …). */
  isEndToken(token: number): boolean {
    return this.model.isEogToken(token as Token);
  }

  tokenize(text: string, special = false): number[] {
    return this.model.tokenize(text, special).map(Number);
  }

  detokenize(ids: readonly number[], special = false): string {
    return this.model.detokenize(ids as Token[], special);
  }

  private acquire(): Promise<LlamaContextSequence> {
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(s: LlamaContextSequence): void {
    const next = this.waiting.shift();
    if (next) next(s);
    else this.free.push(s);
  }

  /**
   * Generates after `prompt` (token ids), yielding each new token id. Ends at `maxTokens`, an
   * end-of-generation or stop token, or when `signal` aborts. Waits for a free sequence when all
   * `parallel` sequences are busy.
   */
  async *generate(prompt: readonly number[], options: LlamaCppGenerateOptions): AsyncGenerator<number, void, void> {
    if (this.disposed) throw new GenerationError(`${this.path}: generate after dispose()`);
    if (prompt.length === 0) throw new GenerationError("prompt must hold at least one token");
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 0) throw new GenerationError(`maxTokens must be an integer >= 0, got ${options.maxTokens}`);
    if (prompt.length + options.maxTokens > this.contextSize) {
      throw new GenerationError(`prompt (${prompt.length}) + maxTokens (${options.maxTokens}) exceed the context size ${this.contextSize}`);
    }
    if (options.maxTokens === 0) return;
    const seq = await this.acquire();
    const history: number[] = [...prompt];
    const stop = new Set(options.stopTokens ?? []);
    const lastN = options.repeatLastN ?? 64;
    try {
      await seq.clearHistory();
      const iter = seq.evaluate(prompt as Token[], {
        temperature: options.temperature ?? 0,
        topK: options.topK,
        topP: options.topP,
        minP: options.minP,
        seed: options.seed,
        ...(options.repeatPenalty && options.repeatPenalty !== 1
          ? { repeatPenalty: { punishTokens: () => history.slice(-lastN) as Token[], penalty: options.repeatPenalty } }
          : {}),
      });
      let produced = 0;
      for await (const token of iter) {
        if (options.signal?.aborted) break;
        const t = Number(token);
        if (stop.has(t)) break;
        history.push(t);
        yield t;
        if (++produced >= options.maxTokens) break;
      }
    } finally {
      this.release(seq);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
  }
}
