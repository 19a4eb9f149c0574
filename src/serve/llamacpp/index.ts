/**
 * llama.cpp through node-llama-cpp: public API of src/serve/llamacpp (currently the logits oracle
 * used for parity checks of exported GGUF models and LoRA adapters).
 */
export { LlamaCppLogits, cpuLlama, type LlamaCppOracleOptions } from "./oracle.js";
