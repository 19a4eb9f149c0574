/**
 * Next-token training of a causal LM: the first objective on the one trainer (trainer/trainer.ts),
 * and the data source of packed blocks. Continued pre-training (stage 1) and the quick start use it
 * as is; SFT reuses the objective with masked labels (a batch is the model's own LossInput).
 *
 * Not here: the loop, the optimizer, checkpoints (the trainer owns them), packing (packing.ts).
 */
import { createHash } from "node:crypto";
import { Tape, type Tensor } from "../engine/index.js";
import type { CausalLM, LossInput } from "../model/index.js";
import type { PackedBlocks } from "./packing.js";
import { TrainingError, TrainingOptionsError } from "./trainer/errors.js";
import { causalLMActivationBytes } from "./trainer/memory.js";
import type { DataSource, LossResult, Objective, StepContext, TrainingPlan } from "./trainer/objective.js";
import { train, type StepMetrics, type TrainOptions, type TrainResult } from "./trainer/trainer.js";

export { TrainingError };

/**
 * Mean next-token loss over every counted target of a batch (transformers' causal-LM loss). Trains
 * every parameter of the model that requires grad; weight = counted targets, so accumulation gives
 * the mean over all targets of the batch.
 */
export class LanguageModelObjective implements Objective<LossInput> {
  readonly name = "lm";

  constructor(readonly model: CausalLM) {
    // Packed gradient buffers (one allocation) before the trainer would allocate them one by one.
    model.params.allocGrads();
  }

  trainable(): readonly Tensor[] {
    return this.model.parameters().filter((p) => p.requiresGrad);
  }

  loss(batch: LossInput, _ctx: StepContext): LossResult {
    const out = this.model.loss(batch);
    let tokens = batch.B * batch.T;
    if (batch.attentionMask) {
      tokens = 0;
      for (let i = 0; i < batch.attentionMask.length; i++) tokens += batch.attentionMask[i]!;
    }
    return { loss: out.loss, weight: out.count, tokens };
  }

  check(plan: TrainingPlan): void {
    const max = this.model.config.maxPositions;
    if (plan.maxSequenceLength !== undefined && plan.maxSequenceLength > max) {
      throw new TrainingOptionsError("sequence length", `${plan.maxSequenceLength} tokens is longer than the model's max_position_embeddings (${max})`);
    }
  }

  /** Without a sequence length from the data, the estimate assumes max_position_embeddings. */
  memory(microBatchSize: number, sequenceLength?: number): { frozenBytes: number; activationBytes: number } {
    const seqLen = sequenceLength ?? this.model.config.maxPositions;
    const frozen = this.model.parameters().filter((p) => !p.requiresGrad).reduce((n, p) => n + p.size, 0);
    return {
      frozenBytes: 4 * frozen,
      activationBytes: causalLMActivationBytes(this.model.config, microBatchSize, seqLen, { checkpointing: this.model.gradientCheckpointing }),
    };
  }

  recipe(): Record<string, unknown> {
    const c = this.model.config;
    return { architecture: c.architecture, vocabSize: c.vocabSize, hiddenSize: c.hiddenSize, layers: c.numLayers, gradientCheckpointing: this.model.gradientCheckpointing };
  }
}

/** Packed blocks as a data source: an item is a block; labels are the ids (every position counts). */
export function packedBlocksSource(data: PackedBlocks): DataSource<LossInput> {
  const T = data.blockSize;
  let fingerprint: string | null = null;
  return {
    size: data.numBlocks,
    maxSequenceLength: T,
    batch(indices: readonly number[]): LossInput {
      const B = indices.length;
      const ids = new Int32Array(B * T);
      indices.forEach((blk, b) => {
        if (!(Number.isInteger(blk) && blk >= 0 && blk < data.numBlocks)) throw new RangeError(`block ${blk} is outside [0, ${data.numBlocks})`);
        ids.set(data.ids.subarray(blk * T, (blk + 1) * T), b * T);
      });
      return { ids, B, T, labels: ids };
    },
    fingerprint(): string {
      fingerprint ??= `blocks ${data.numBlocks}×${T} sha256 ${createHash("sha256").update(new Uint8Array(data.ids.buffer, data.ids.byteOffset, data.ids.byteLength)).digest("hex").slice(0, 16)}`;
      return fingerprint;
    },
  };
}

export interface LmTrainOptions extends Omit<TrainOptions<LossInput>, "evalData" | "lr"> {
  /** Peak learning rate. Defaults to 3e-3 (tiny models). */
  lr?: number;
  /** Held-out blocks: their mean loss is measured before training, every `evalEvery` steps and at the end. */
  validation?: PackedBlocks;
}

export type LmTrainResult = TrainResult;
export type { StepMetrics };

/** Mean next-token loss over packed blocks, without recording gradients. */
export function evaluateLoss(model: CausalLM, data: PackedBlocks, batchSize: number, tape = new Tape()): number {
  const T = data.blockSize;
  let total = 0;
  let count = 0;
  for (let start = 0; start < data.numBlocks; start += batchSize) {
    const B = Math.min(batchSize, data.numBlocks - start);
    const ids = data.ids.subarray(start * T, (start + B) * T);
    const out = tape.infer(() => model.loss({ ids, B, T, labels: ids }));
    total += out.loss.data[0]! * out.count;
    count += out.count;
  }
  return count > 0 ? total / count : NaN;
}

/** Next-token training of `model` on packed blocks with the one trainer. */
export async function trainLanguageModel(model: CausalLM, data: PackedBlocks, o: LmTrainOptions): Promise<LmTrainResult> {
  if (data.numBlocks < 1) {
    throw new TrainingOptionsError("data", `no training block: ${data.totalTokens} tokens are fewer than one block of ${data.blockSize}`);
  }
  const { validation, ...rest } = o;
  const evalData = validation && validation.numBlocks > 0 ? packedBlocksSource(validation) : undefined;
  return train(new LanguageModelObjective(model), packedBlocksSource(data), {
    ...rest,
    lr: o.lr ?? 3e-3,
    ...(evalData ? { evalData } : {}),
  });
}
