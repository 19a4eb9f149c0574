/**
 * llama.cpp as a generator backend: a GGUF (and LoRA GGUFs) loaded by `LlamaCppGenerator`, its
 * vocabulary as our `Tokenizer` (`GgufTokenizer`), and the template recorded at export. The text half
 * (templates, stop strings, context fitting) is the same `TextGenerator` our engine uses.
 */
import path from "node:path";
import { checkTemplate, jinjaTemplateId, suggestTemplate } from "../../tokenizer/templates.js";
import { answerEndIds, TextGenerator, type SamplingRequest, type TokenBackend } from "../core.js";
import { GeneratorError, type GenerationOptions } from "../generator.js";
import { LlamaCppGenerator } from "./generator.js";
import { GgufTokenizer } from "./tokenizer.js";

export interface LlamaCppTextLoadOptions {
  /** Must equal the template recorded in the GGUF (`pedgpt.template`) unless `forceTemplate`. Defaults to the recorded one. */
  template?: string;
  forceTemplate?: boolean;
  /** LoRA adapter GGUFs, each with its scale. Defaults to none. */
  lora?: { filePath: string; scale?: number }[];
  /** Tokens per sequence. Defaults to the model's trained context, at most 4096. */
  contextSize?: number;
  /** Sequences generated at the same time. Defaults to 4. */
  parallel?: number;
  /** llama.cpp threads. Defaults to 2. */
  threads?: number;
  defaults?: GenerationOptions;
}

class LlamaCppBackend implements TokenBackend {
  constructor(
    private readonly gen: LlamaCppGenerator,
    readonly tokenizer: GgufTokenizer,
    readonly parallel: number,
    private readonly stopIds: number[],
  ) {}

  get contextSize(): number {
    return this.gen.contextSize;
  }

  tokens(prompt: readonly number[], s: SamplingRequest, signal: AbortSignal): AsyncIterable<number> {
    return this.gen.generate(prompt, {
      maxTokens: s.maxTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      // The whole history, as our engine's penalty (and Hugging Face's) looks at it.
      repeatPenalty: s.repetitionPenalty,
      repeatLastN: this.gen.contextSize,
      seed: s.seed,
      stopTokens: this.stopIds,
      signal,
    });
  }

  close(): Promise<void> {
    return this.gen.dispose();
  }
}

/** Loads a GGUF file (plus LoRA GGUFs) as a Generator on llama.cpp. */
export async function loadLlamaCppGenerator(ggufPath: string, options: LlamaCppTextLoadOptions = {}): Promise<TextGenerator> {
  const parallel = options.parallel ?? 4;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 256) throw new GeneratorError(`parallel must be an integer in [1, 256], got ${parallel}`);
  const gen = await LlamaCppGenerator.load(ggufPath, {
    contextSize: options.contextSize,
    parallel,
    threads: options.threads ?? 2,
    lora: options.lora,
  });
  try {
    const tokenizer = await GgufTokenizer.open(ggufPath, gen);
    const arch = (gen.metadata.general as Record<string, unknown> | undefined)?.architecture;
    const recorded = gen.templateId ?? (gen.chatTemplate ? jinjaTemplateId(gen.chatTemplate) : null);
    const template = checkTemplate(recorded ?? suggestTemplate(tokenizer, typeof arch === "string" ? arch : undefined), options.template, {
      force: options.forceTemplate,
    });
    const stops = answerEndIds(tokenizer, template);
    const adapters = (options.lora ?? []).map((l) => path.basename(l.filePath));
    const id = [path.basename(ggufPath), ...adapters].join("+");
    return new TextGenerator(
      new LlamaCppBackend(gen, tokenizer, parallel, stops),
      { id, backend: "llama.cpp", template, contextSize: gen.contextSize, adapters, parallel },
      options.defaults,
    );
  } catch (e) {
    await gen.dispose();
    throw e;
  }
}
