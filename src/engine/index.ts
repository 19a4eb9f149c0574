/**
 * Public API of the engine: tensors, the autograd tape, the op set, parameters and optimizers, and the
 * choice of kernel backend. Model code imports from here only; kernels stay behind `ops`.
 */
export { Tensor, ShapeError, shapeSize } from "./tensor.js";
export { Arena } from "./arena.js";
export { Tape, noGrad, checkpoint, isRecording, AutogradError } from "./tape.js";
export {
  IGNORE_INDEX,
  linear,
  matmul,
  embedding,
  rmsnorm,
  rope,
  attention,
  swiglu,
  crossEntropy,
  add,
  mul,
  scale,
  reshape,
  sum,
  concatRows,
  rowSlice,
  splitColumns,
  rowNormalize,
  softmax,
  softplus,
  logSigmoid,
  scaleRows,
  column,
  writeInto,
  quantizedLinear,
  type AttentionOptions,
  type HeadLayout,
} from "./ops.js";
export { QuantizedMatrix, QUANT_FORMATS, Q8_BLOCK, type QuantFormat } from "./quant.js";
export { Parameters, UnknownParameterError, type ParamSpec } from "./params.js";
export { AdamW, OptimizerError, decayOnlyMatrices, zeroGrad, gradNorm, clipGradNorm, type AdamWOptions, type AdamWState } from "./optim.js";
export { kernels, setBackend, withBackend } from "./backend.js";
export { ropeTables, alibiSlopes, type RopeTables } from "./kernels/tables.js";
export type { Kernels, F32 } from "./kernels/kernels.js";
