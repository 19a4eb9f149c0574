/**
 * Public API of the training module: the one trainer (objective and data-source interface, schedules,
 * checkpoints and resume, memory estimate), next-token training as its first objective, packing and
 * the quick-start job. The four stage recipes (CPT, SFT, DFPO, MoE-LoRA SFT) plug objectives into it.
 */
export { packDocuments, splitBlocks, type PackedBlocks } from "./packing.js";
export { cosineWithWarmup, learningRate, SCHEDULE_KINDS, type ScheduleOptions, type Schedule, type ScheduleKind } from "./schedule.js";
export { Progress, formatDuration, type ProgressOptions } from "./progress.js";
export {
  trainLanguageModel, evaluateLoss, LanguageModelObjective, packedBlocksSource, TrainingError,
  type LmTrainOptions, type LmTrainResult, type StepMetrics,
} from "./lm.js";
export { runQuickstart, DEFAULT_STEPS, DEFAULT_BATCH, type QuickstartOptions, type QuickstartReport } from "./quickstart.js";
export type { Objective, DataSource, StepContext, LossResult, ObjectiveMemory, TrainingPlan } from "./trainer/objective.js";
export { TrainingOptionsError, InsufficientMemoryError, CheckpointCorruptError, RecipeMismatchError, RunConflictError, TrainingStoppedError } from "./trainer/errors.js";
export { train, recipeHash, recipeDifferences, type TrainOptions, type TrainResult } from "./trainer/trainer.js";
export { loadCheckpoint, listCheckpoints, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type TrainingState, type LoadedCheckpoint } from "./trainer/checkpoint.js";
export { causalLMActivationBytes, estimateMemory, describeMemory, formatBytes, type MemoryEstimate } from "./trainer/memory.js";
export { streamRng, streamSeed, ItemOrder, type OrderState } from "./trainer/streams.js";
export { MetricsLog, readMetrics, type MetricsLine } from "./trainer/metrics.js";
