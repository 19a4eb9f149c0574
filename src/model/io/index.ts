/**
 * Checkpoint I/O: the public API of src/model/io. Read weights (safetensors, PyTorch .bin, single or
 * sharded) through one `TensorReader`; write safetensors checkpoints; export GGUF for llama.cpp.
 */
export type { TensorEntry, TensorInfo, TensorReader } from "./types.js";
export type { DType, FloatDType } from "./dtype.js";
export { CheckpointFormatError, CheckpointWriteError, TensorNotFoundError } from "./errors.js";
export { openSafetensors, writeSafetensors, storedBytes, type WriteSafetensorsOptions } from "./safetensors.js";
export {
  openSafetensorsDir,
  openShardedIndex,
  writeCheckpoint,
  SAFETENSORS_INDEX,
  SAFETENSORS_SINGLE,
  type WriteCheckpointOptions,
  type WrittenCheckpoint,
} from "./sharded.js";
export { openTorchBin } from "./torchbin.js";
export { openCheckpoint, detectCheckpoint, TORCH_INDEX, TORCH_SINGLE, type CheckpointFormat } from "./checkpoint.js";
export { openGguf, writeGguf, gv, GgufValueType, GgmlType, type GgufFile, type GgufValue, type GgufTensorEntry } from "./gguf.js";
export {
  exportGguf,
  memoryTensorSource,
  ggufArchitecture,
  permuteQK,
  normalizeRows,
  type ExportGgufOptions,
  type ExportGgufReport,
  type GgufFileType,
  type TensorSource,
} from "./gguf_export.js";
export type { GgufVocabSource } from "./gguf_vocab.js";
export { exportLoraGguf, type ExportLoraOptions, type ExportLoraReport } from "./gguf_lora.js";
export { importHfModel, COPIED_FILES, type ImportOptions, type ImportReport } from "./import.js";
