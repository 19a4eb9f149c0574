/**
 * llama.cpp as a logits oracle, through node-llama-cpp (CPU prebuilt binary only, never building
 * from source). Loads a GGUF file and returns the full next-token logits after every position of a
 * token sequence, so any exported model can be checked against an implementation that shares no
 * code with ours. This is not the serving backend (generation, sampling, chat); it only evaluates.
 */
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";

export interface LlamaCppOracleOptions {
  /** Evaluation threads. Defaults to 1 (CI machines have 2 shared cores). */
  threads?: number;
  /** Context size in tokens; sequences longer than this are refused. Defaults to 256. */
  contextSize?: number;
  /**
   * KV cache element type. llama.cpp's default F16 rounds keys/values (≈1e-3 relative); an oracle
   * wants F32. Defaults to "F32".
   */
  kvCacheType?: "F32" | "F16";
  /** LoRA adapter GGUFs applied in this context, each with its scale (llama.cpp: scale·alpha/r). */
  lora?: { filePath: string; scale?: number }[];
}

let llamaPromise: Promise<Llama> | undefined;
/** One shared CPU Llama instance per process (loading the binary costs seconds). */
export function cpuLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn });
  return llamaPromise;
}

export class LlamaCppLogits {
  private constructor(
    readonly path: string,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    readonly contextSize: number,
  ) {}

  /** Loads `ggufPath` into llama.cpp (throws llama.cpp's load error, prefixed with the file). */
  static async open(ggufPath: string, options: LlamaCppOracleOptions = {}): Promise<LlamaCppLogits> {
    const llama = await cpuLlama();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
    } catch (err) {
      throw new Error(`${ggufPath}: llama.cpp could not load the model: ${(err as Error).message}`, { cause: err });
    }
    const contextSize = options.contextSize ?? 256;
    try {
      const kv = options.kvCacheType ?? "F32";
      const context = await model.createContext({
        contextSize,
        threads: options.threads ?? 1,
        sequences: 1,
        // Flash attention on CPU accumulates in F16; plain attention keeps the oracle in F32.
        flashAttention: false,
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
        ...(options.lora && options.lora.length > 0 ? { lora: { adapters: options.lora } } : {}),
      });
      return new LlamaCppLogits(ggufPath, model, context, context.getSequence(), context.contextSize);
    } catch (err) {
      await model.dispose();
      throw new Error(`${ggufPath}: llama.cpp could not create a context: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Logits after each position: result[i] are the next-token logits having seen tokens[0..i].
   * Each call starts from an empty context.
   */
  async logits(tokens: readonly number[]): Promise<Float32Array[]> {
    if (tokens.length === 0) throw new RangeError("logits: need at least one token");
    if (tokens.length > this.contextSize) throw new RangeError(`logits: ${tokens.length} tokens exceed the context size ${this.contextSize}`);
    const seq = this.sequence;
    await seq.clearHistory();
    {
      const input = tokens.map((t) => [t as Token, { generateNext: { logits: true } }] as [Token, { generateNext: { logits: true } }]);
      const out = await seq.controlledEvaluate(input);
      const result: Float32Array[] = [];
      for (let i = 0; i < tokens.length; i++) {
        const map = out[i]?.next.logits;
        if (!map) throw new Error(`${this.path}: llama.cpp returned no logits for position ${i}`);
        const row = new Float32Array(map.size).fill(NaN);
        for (const [tok, v] of map) {
          if (tok >= row.length) throw new Error(`${this.path}: logit for token ${tok} outside the ${row.length}-token vocabulary`);
          row[tok] = v;
        }
        result.push(row);
      }
      return result;
    }
  }

  /** llama.cpp's tokenization of `text` (no BOS added); `special` parses control-token text. */
  tokenize(text: string, special = false): number[] {
    return this.model.tokenize(text, special).map(Number);
  }

  /** The GGUF metadata as llama.cpp read it (vocabulary, special ids, chat template, …). */
  get metadata(): Record<string, unknown> {
    return this.model.fileInfo.metadata as unknown as Record<string, unknown>;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
