/**
 * Public API of the model module: Llama-family models from a Hugging Face config.json, their
 * checkpoints on disk, presets, sampling and `model info`.
 *
 *   const model = await loadModel("path/to/model");          // config.json + *.safetensors
 *   const tape = new Tape();
 *   const out = tape.run(() => model.loss({ ids, B, T, attentionMask, labels }));
 *   tape.backward(out.loss);                                  // gradients in p.grad
 *   optimizer.step(); await saveModel(model, "out/dir");
 *
 * Checkpoint file formats are in ./io (re-exported there, not here).
 */
export { CausalLM, ModelInputError, type ModelInput, type LossInput, type LossOutput, type ForwardOptions } from "./model.js";
export { KVCache, decoderParamSpecs, composeLinearHooks, type LinearHook, type StackedLinearHook } from "./layers.js";
export { ModelConfigError, type ModelConfig, type ArchitectureName } from "./config.js";
export { parseConfig, SUPPORTED_ARCHITECTURES } from "./architectures.js";
export { baichuanPositionRule } from "./baichuan.js";
export { loadModel, saveModel, loadWeights, readModelConfig, CONFIG_FILE, type SaveModelOptions } from "./checkpoint.js";
export { presetConfig, presetNames, presetDescription, UnknownPresetError } from "./presets.js";
export { initParameters, Rng } from "./init.js";
export { generate, generateBatch, sampleToken, GenerateError, type GenerateOptions, type GenerateBatchOptions, type GenerateResult, type SamplingOptions } from "./generate.js";
export { modelInfo, formatModelInfo, type ModelInfo } from "./info.js";
export { scoreContinuations, ScoreError, type ContinuationScore } from "./score.js";
export { quantizeForInference, QuantizedWeightsStaleError, QuantizeConflictError, ReleasedWeightsError, type QuantizedInference } from "./quantize.js";
