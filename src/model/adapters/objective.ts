/**
 * Any trainer objective (next-token, SFT, DPO) trained through an adapter: the adapter's tensors are
 * what trains (named with their saved keys, so they key checkpoints and optimizer state); each loss
 * call puts the adapter in training mode with the trainer's seeded per-step RNG (dropout masks and
 * router noise are then a function of seed, step and micro-batch: a resumed run redraws exactly) or in
 * inference mode for evaluation; the balance loss is added when configured, and router entropy, mean
 * gates and top-1 usage are returned as named scalars. Every stage (pt, sft, dpo) trains adapters
 * through this one objective, on either backend's scalar names (the torch trainer logs the same).
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
    this.name = `${inner.name}+${adapter.settings.experts > 1 ? "moe_lora" : "lora"}`;
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

  memory(microBatchSize: number, sequenceLength?: number): ObjectiveMemory {
    return this.inner.memory?.(microBatchSize, sequenceLength) ?? { frozenBytes: 0, activationBytes: 0 };
  }

  recipe(): Record<string, unknown> {
    // Every setting (router noise mode and init included), so a resume with another one is refused.
    return { ...(this.inner.recipe?.() ?? {}), adapter: { ...this.adapter.settings, targetModules: this.adapter.modules.length } };
  }
}

/**
 * Over all routed modules of the micro-batch: `router/entropy` (mean gate entropy), `router/gate_<k>`
 * (mean gate weight of routed expert k) and `router/usage/e<k>` (share of tokens whose largest gate is
 * expert k). Overall only: per-layer values would put dozens of series on every metrics line.
 */
export function routerScalars(stats: readonly RouterStats[]): Record<string, number> {
  if (stats.length === 0) return {};
  const mean = (f: (s: RouterStats) => number) => stats.reduce((a, s) => a + f(s), 0) / stats.length;
  const out: Record<string, number> = { "router/entropy": mean((s) => s.entropy) };
  const K = stats[0]!.meanGate.length;
  for (let k = 0; k < K; k++) out[`router/gate_${k + 1}`] = mean((s) => s.meanGate[k]!);
  for (let k = 0; k < K; k++) out[`router/usage/e${k + 1}`] = mean((s) => s.top1[k]!);
  return out;
}
