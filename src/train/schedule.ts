/**
 * Learning-rate schedule shared by every stage: linear warmup to the peak, then cosine decay to
 * `minRatio` × peak at the last step (the shape LLaMA-Factory's `cosine` scheduler uses, with an
 * optional floor).
 */

export interface ScheduleOptions {
  peak: number;
  totalSteps: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of the peak. Defaults to 0.1. */
  minRatio?: number;
}

/** Learning rate for 1-based step `step`. */
export function cosineWithWarmup(step: number, o: ScheduleOptions): number {
  const minRatio = o.minRatio ?? 0.1;
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (o.peak * step) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / span));
  return o.peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
