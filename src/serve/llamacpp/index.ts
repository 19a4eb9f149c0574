/**
 * llama.cpp through node-llama-cpp: public API of src/serve/llamacpp. `LlamaCppGenerator` serves
 * GGUF models (with LoRA adapters) as a token-id stream; `LlamaCppLogits` is the logits oracle used
 * for parity checks of exported models and adapters.
 */
export { LlamaCppLogits, cpuLlama, type LlamaCppOracleOptions } from "./oracle.js";
export { LlamaCppGenerator, GenerationError, type LlamaCppLoadOptions, type LlamaCppGenerateOptions } from "./generator.js";
