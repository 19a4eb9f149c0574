/**
 * Opening a model for serving from what a user names: a checkpoint directory runs on our engine, a
 * `.gguf` file on llama.cpp; adapters follow the same rule (adapter directories for the engine, LoRA
 * GGUF files for llama.cpp). One place for this choice, used by `pedgpt chat`, `pedgpt serve`, the
 * benchmarks and evaluation.
 */
import { existsSync, statSync } from "node:fs";
import { loadEngineGenerator } from "./engine/backend.js";
import { GeneratorError, type GenerationOptions } from "./generator.js";
import type { TextGenerator } from "./core.js";
import { loadLlamaCppGenerator } from "./llamacpp/backend.js";

export type BackendName = "auto" | "engine" | "llama.cpp";

export interface OpenGeneratorOptions {
  /** Defaults to "auto": a directory → engine, a .gguf file → llama.cpp. */
  backend?: BackendName;
  adapters?: string[];
  /** Scale of each LoRA GGUF on llama.cpp. Defaults to 1. */
  loraScale?: number;
  template?: string;
  forceTemplate?: boolean;
  contextSize?: number;
  parallel?: number;
  /** Our engine only: q8_0 or bf16 weights for inference. Defaults to f32. */
  quantize?: "q8_0" | "bf16" | null;
  /** llama.cpp threads (our engine's width is PEDGPT_THREADS). */
  threads?: number;
  defaults?: GenerationOptions;
}

export function backendFor(model: string, backend: BackendName = "auto"): "engine" | "llama.cpp" {
  if (!existsSync(model)) throw new GeneratorError(`${model}: no such model directory or GGUF file`);
  const isDir = statSync(model).isDirectory();
  const chosen = backend === "auto" ? (isDir ? "engine" : "llama.cpp") : backend;
  if (chosen === "engine" && !isDir) throw new GeneratorError(`${model}: the engine backend needs a checkpoint directory (config.json, weights, tokenizer); for a .gguf file use the llama.cpp backend`);
  if (chosen === "llama.cpp" && isDir) throw new GeneratorError(`${model}: the llama.cpp backend needs a .gguf file (pedgpt model export-gguf writes one)`);
  return chosen;
}

export async function openGenerator(model: string, o: OpenGeneratorOptions = {}): Promise<TextGenerator> {
  const which = backendFor(model, o.backend);
  for (const a of o.adapters ?? []) {
    if (!existsSync(a)) throw new GeneratorError(`${a}: no such adapter`);
    const isDir = statSync(a).isDirectory();
    if (which === "engine" && !isDir) throw new GeneratorError(`${a}: the engine backend takes adapter directories (adapter_config.json + weights), not files`);
    if (which === "llama.cpp" && isDir) throw new GeneratorError(`${a}: the llama.cpp backend takes LoRA GGUF files (pedgpt model export-lora-gguf writes one)`);
  }
  if (which === "engine") {
    return loadEngineGenerator(model, {
      template: o.template, forceTemplate: o.forceTemplate, adapters: o.adapters, contextSize: o.contextSize, parallel: o.parallel, defaults: o.defaults,
      quantize: o.quantize,
    });
  }
  if (o.quantize) throw new GeneratorError(`--quantize is for our engine; a GGUF carries its own weight type (pedgpt model export-gguf --type q8_0)`);
  return loadLlamaCppGenerator(model, {
    template: o.template,
    forceTemplate: o.forceTemplate,
    lora: (o.adapters ?? []).map((filePath) => ({ filePath, scale: o.loraScale ?? 1 })),
    contextSize: o.contextSize,
    parallel: o.parallel,
    threads: o.threads,
    defaults: o.defaults,
  });
}
