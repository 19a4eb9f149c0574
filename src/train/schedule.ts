/**
 * Learning-rate schedules shared by every stage: linear warmup to the peak, then cosine decay, linear
 * decay, or a constant, ending at `minRatio` × peak at the last step (the shapes of LLaMA-Factory's
 * `cosine`, `linear` and `constant_with_warmup` schedulers, with an optional floor). A schedule is a pure
 * function of the step, so a resumed run needs only the step count to continue it.
 */

export type ScheduleKind = "cosine" | "linear" | "constant";
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ["cosine", "linear", "constant"];

export interface ScheduleOptions {
  peak: number;
  totalSteps: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of the peak (cosine and linear). Defaults to 0.1. */
  minRatio?: number;
}

export interface Schedule extends ScheduleOptions {
  kind: ScheduleKind;
}

/** Learning rate for 1-based step `step`: warmup, then cosine decay to the floor. */
export function cosineWithWarmup(step: number, o: ScheduleOptions): number {
  return learningRate(step, { ...o, kind: "cosine" });
}

/** Learning rate for 1-based step `step` under any schedule kind. */
export function learningRate(step: number, o: Schedule): number {
  const minRatio = o.minRatio ?? 0.1;
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (o.peak * step) / o.warmupSteps;
  if (o.kind === "constant") return o.peak;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / span));
  const shape = o.kind === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return o.peak * (minRatio + (1 - minRatio) * shape);
}
