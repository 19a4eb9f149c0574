/**
 * Log-likelihood of continuations given a prompt: Σ log p(token | prefix) over the continuation's
 * tokens (and the per-token mean). Used for likelihood-based multiple-choice scoring and for the
 * reference log-probs of preference training. Sequences are right-padded and scored in batches.
 */
import { IGNORE_INDEX, Tape } from "../engine/index.js";
import type { CausalLM } from "./model.js";

export interface ContinuationScore {
  /** Σ log-prob of the continuation tokens */
  sum: number;
  /** sum / count */
  mean: number;
  /** continuation tokens scored */
  count: number;
}

export class ScoreError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ScoreError";
  }
}

/** Score each continuation after `prompt`. Defaults: 8 sequences per forward. */
export function scoreContinuations(
  model: CausalLM,
  prompt: readonly number[],
  continuations: readonly (readonly number[])[],
  opts: { batchSize?: number } = {},
): ContinuationScore[] {
  if (prompt.length === 0) throw new ScoreError("scoreContinuations: the prompt is empty (start it with BOS)");
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ScoreError(`batchSize must be an integer >= 1, got ${batchSize}`);
  const pad = model.config.padTokenId ?? 0;
  const tape = new Tape();
  const out: ContinuationScore[] = [];
  for (let start = 0; start < continuations.length; start += batchSize) {
    const group = continuations.slice(start, start + batchSize);
    const T = prompt.length + Math.max(...group.map((c) => c.length));
    if (T > model.config.maxPositions) {
      throw new ScoreError(`scoreContinuations: prompt + continuation is ${T} tokens, more than the model's context of ${model.config.maxPositions}`);
    }
    const B = group.length;
    const ids = new Int32Array(B * T).fill(pad);
    const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
    const mask = new Uint8Array(B * T);
    group.forEach((c, b) => {
      if (c.length === 0) throw new ScoreError(`scoreContinuations: continuation ${start + b} is empty`);
      const seq = [...prompt, ...c];
      seq.forEach((id, t) => {
        ids[b * T + t] = id;
        mask[b * T + t] = 1;
        if (t >= prompt.length) labels[b * T + t] = id;
      });
    });
    tape.infer(() => {
      const r = model.loss({ ids, B, T, attentionMask: mask, labels });
      for (let b = 0; b < B; b++) {
        let sum = 0;
        let count = 0;
        for (let t = 0; t < T; t++) {
          if (r.targets[b * T + t] === IGNORE_INDEX) continue;
          sum -= r.tokenLosses.data[b * T + t]!;
          count++;
        }
        out.push({ sum, mean: sum / count, count });
      }
    });
  }
  return out;
}
