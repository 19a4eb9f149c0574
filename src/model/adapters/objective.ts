/**
 * Any trainer objective (next-token, SFT, DPO) trained through an adapter: the adapter's tensors are
 * what trains (named with their saved keys, so they key checkpoints and optimizer state); each loss
 * call puts the adapter in training mode with the trainer's seeded per-step RNG (dropout masks and
 * router noise are then a function of seed, step and micro-batch: a resumed run redraws exactly) or in
 * inference mode for evaluation; the balance loss is added when configured, and router entropy and
 * expert usage are returned as named scalars (overall and per layer).
 *
 * The base model must be frozen before the inner objective is built (`adapter.attach` does it), so the
 * inner objective allocates no base gradients. Only the trainer's types are used here.
 */
import { add, type Tensor } from "../../engine/index.js";
import type { LossResult, Objective, ObjectiveMemory, StepContext, TrainingPlan } from "../../train/trainer/objective.js";
import type { LoraAdapter, RouterStats } from "./adapter.js";
import { AdapterError } from "./errors.js";

/**
 * Tokens per row of a batch (what fixed router noise is indexed by): `T` of a next-token batch, or of the
 * `input` of a preference batch; undefined for a batch of another shape.
 */
export function batchRowLength(batch: unknown): number | undefined {
  const b = batch as { T?: unknown; input?: { T?: unknown } } | null;
  const T = b?.T ?? b?.input?.T;
  return typeof T === "number" ? T : undefined;
}

export class AdapterObjective<Batch> implements Objective<Batch> {
  readonly name: string;

  constructor(
    readonly inner: Objective<Batch>,
    readonly adapter: LoraAdapter,
  ) {
    this.name = `${inner.name}+${adapter.settings.experts > 1 ? "moe-lora" : "lora"}`;
    adapter.params.allocGrads();
  }

  trainable(): readonly Tensor[] {
    const extra = this.inner.trainable();
    if (extra.length > 0) {
      throw new AdapterError(`adapter training: ${extra.length} base parameter(s) still require gradients (e.g. "${extra[0]!.name}"); attach the adapter (which freezes the base) before building the objective`);
    }
    return this.adapter.parameters();
  }

  loss(batch: Batch, ctx: StepContext): LossResult {
    if (ctx.training) this.adapter.train(ctx.rng, { rowLength: batchRowLength(batch) });
    else this.adapter.eval();
    const r = this.inner.loss(batch, ctx);
    const scalars: Record<string, number> = { ...(r.scalars ?? {}) };
    let loss = r.loss;
    const bal = ctx.training ? this.adapter.balanceLoss() : null;
    if (bal) {
      scalars["router/balance_loss"] = bal.data[0]!;
      loss = add(loss, bal, "loss_with_balance");
    }
    Object.assign(scalars, routerScalars(this.adapter.takeRouterStats()));
    return { ...r, loss, scalars };
  }

  evaluate(ctx: StepContext): Record<string, number> {
    this.adapter.eval();
    return this.inner.evaluate?.(ctx) ?? {};
  }

  check(plan: TrainingPlan): void {
    this.inner.check?.(plan);
  }

  memory(microBatchSize: number): ObjectiveMemory {
    const m = this.inner.memory?.(microBatchSize) ?? { frozenBytes: 0, activationBytes: 0 };
    return m;
  }

  recipe(): Record<string, unknown> {
    const s = this.adapter.settings;
    return { ...(this.inner.recipe?.() ?? {}), adapter: { r: s.r, alpha: s.alpha, rsLora: s.rsLora, dropout: s.dropout, experts: s.experts, noisyGating: s.noisyGating, balanceLossCoef: s.balanceLossCoef, modules: this.adapter.modules.length } };
  }
}

/** router/entropy and router/usage/e<k> (top-1 share) overall, and the same per layer (router/l<L>/…). */
export function routerScalars(stats: readonly RouterStats[]): Record<string, number> {
  if (stats.length === 0) return {};
  const out: Record<string, number> = {};
  const groups = new Map<string, RouterStats[]>([["router", [...stats]]]);
  for (const s of stats) {
    const m = /^model\.layers\.(\d+)\./.exec(s.module);
    const key = m ? `router/l${m[1]}` : "router/other";
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, list] of groups) {
    out[`${key}/entropy`] = list.reduce((a, s) => a + s.entropy, 0) / list.length;
    const K = list[0]!.top1.length;
    for (let k = 0; k < K; k++) out[`${key}/usage/e${k + 1}`] = list.reduce((a, s) => a + s.top1[k]!, 0) / list.length;
  }
  return out;
}
