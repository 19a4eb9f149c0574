/**
 * The contract between the one trainer and a training stage. A stage (CPT, SFT, DFPO, MoE-LoRA SFT)
 * supplies an `Objective` — which tensors train and the loss of a batch, recorded on the tape — and a
 * `DataSource` — how many items there are and how to collate some of them into a batch. The trainer
 * owns everything else: item order (a seeded shuffle per epoch), the cursor, micro-batching and
 * gradient accumulation, the optimizer, the schedule, clipping, the NaN/Inf guard, evaluation,
 * metrics, checkpoints and resume.
 *
 * Not here: the loop itself (trainer.ts), checkpoint files (checkpoint.ts), any particular loss
 * (lm.ts is the next-token objective).
 */
import type { Tensor } from "../../engine/index.js";
import type { Rng } from "../../model/index.js";

/** What the trainer tells a loss call. */
export interface StepContext {
  /** true in training steps (dropout, router noise on); false in held-out evaluation. */
  training: boolean;
  /**
   * A seeded random stream owned by the trainer, a pure function of (seed, step, micro-batch): use it for
   * dropout masks and router noise, so a resumed run draws exactly what the uninterrupted run drew.
   * In evaluation it is still seeded (step and micro-batch of the evaluation), though nothing should need it.
   */
  rng: Rng;
  /** 1-based optimizer step being computed; in evaluation, the step after which it runs (0 = before training). */
  step: number;
  /** 0-based index of the micro-batch within the step (gradient accumulation). */
  micro: number;
}

/** The loss of one (micro-)batch. */
export interface LossResult {
  /**
   * Scalar: the MEAN loss over `weight` units, recorded on the active tape (the trainer runs `loss`
   * inside `tape.run` in training and `tape.infer` in evaluation).
   */
  loss: Tensor;
  /**
   * How many units the mean is over: counted target tokens for next-token losses, pairs for
   * preference losses. Accumulation weights micro-batches by it, so k micro-batches give the same
   * gradient as one batch of all their items. Must be > 0 for a batch that trains.
   */
  weight: number;
  /** Tokens the batch processed (throughput, ETA); padding excluded where the objective knows it. */
  tokens: number;
  /**
   * Named scalars to log, each a mean over the same units as the loss (e.g. `rewards/chosen`,
   * `rewards/accuracies`, `router/entropy`); the trainer averages them over micro-batches by `weight`.
   */
  scalars?: Record<string, number>;
}

/** Memory the objective needs beyond the trainable tensors (which the trainer counts itself). */
export interface ObjectiveMemory {
  /** Bytes of parameters that do not train (a frozen base under an adapter); already allocated. */
  frozenBytes: number;
  /** Bytes of activations (forward values kept for backward, plus their gradients) of one micro-batch. */
  activationBytes: number;
}

/** What a training run will do, given to `Objective.check` before any work. */
export interface TrainingPlan {
  steps: number;
  batchSize: number;
  microBatchSize: number;
  /** Items in the training data source. */
  dataSize: number;
  /** The data sources' longest sequence (training and held-out), when they say. */
  maxSequenceLength?: number;
}

export interface Objective<Batch> {
  /** Short name written into metrics and checkpoints, e.g. "lm", "sft", "dpo-sigmoid". */
  readonly name: string;
  /**
   * The tensors that train: the whole model's parameters, or only the tensors an adapter registered.
   * Names must be unique (they key the checkpoint and the optimizer state). Weight decay applies to
   * those of rank ≥ 2 (the engine's `decayOnlyMatrices`).
   */
  trainable(): readonly Tensor[];
  /** The loss of a batch (see LossResult). Must be deterministic given the batch and `ctx.rng`. */
  loss(batch: Batch, ctx: StepContext): LossResult;
  /**
   * Extra held-out measures beyond the loss the trainer computes on `evalData` (e.g. exam accuracy),
   * run in evaluation mode at the same moments; names are logged as `eval/<name>`.
   */
  evaluate?(ctx: StepContext): Record<string, number>;
  /** Objective-specific checks before any work (e.g. sequence length vs max_position_embeddings); throw a TrainerError-derived error. */
  check?(plan: TrainingPlan): void;
  /**
   * Memory beyond the trainable tensors, for the estimate printed and checked before training.
   * `sequenceLength` is the data sources' longest sequence when they say (`DataSource.maxSequenceLength`).
   */
  memory?(microBatchSize: number, sequenceLength?: number): ObjectiveMemory;
  /**
   * What defines the objective's math (e.g. loss type, beta, label smoothing); hashed into the recipe,
   * so a resume with different settings is refused.
   */
  recipe?(): Record<string, unknown>;
}

/**
 * Training or held-out data as items the trainer can pick by index. The trainer decides the order
 * and slices it into micro-batches; the source only collates the items it is given.
 */
export interface DataSource<Batch> {
  /** Number of items (packed blocks, conversations, preference pairs). */
  readonly size: number;
  /** Collate these items (indices into [0, size)) into one batch, in this order. */
  batch(indices: readonly number[]): Batch;
  /**
   * A fingerprint of the content (e.g. a hash of the token ids), recorded in checkpoints so a resume on
   * different data is refused. Defaults to the size only.
   */
  fingerprint?(): string;
  /** Longest sequence a batch can hold, checked against the model's max_position_embeddings. */
  readonly maxSequenceLength?: number;
}
