/**
 * Public API of the training module. Today: packing, the learning-rate schedule, next-token training
 * and the quick-start job; the four stage recipes (CPT, SFT, DFPO, MoE-LoRA SFT) build on these.
 */
export { packDocuments, splitBlocks, type PackedBlocks } from "./packing.js";
export { cosineWithWarmup, type ScheduleOptions } from "./schedule.js";
export { Progress, formatDuration, type ProgressOptions } from "./progress.js";
export { trainLanguageModel, evaluateLoss, TrainingError, type LmTrainOptions, type LmTrainResult, type StepMetrics } from "./lm.js";
export { runQuickstart, DEFAULT_STEPS, DEFAULT_BATCH, type QuickstartOptions, type QuickstartReport } from "./quickstart.js";
export type { Objective, DataSource, StepContext, LossResult, ObjectiveMemory, TrainingPlan } from "./trainer/objective.js";
export { TrainingOptionsError, InsufficientMemoryError, CheckpointCorruptError, RecipeMismatchError, RunConflictError } from "./trainer/errors.js";
