/**
 * Optimisation over parameter tensors: AdamW (torch.optim.AdamW semantics: decoupled weight decay
 * applied before the Adam update, bias-corrected moments), global-norm gradient clipping
 * (torch.nn.utils.clip_grad_norm_) and zeroing gradients. The update itself is one kernel call per
 * tensor (kernels.adamw). Learning-rate schedules belong to the trainer, which passes `lr` per step.
 */
import { kernels } from "./backend.js";
import type { F32 } from "./kernels/kernels.js";
import type { Tensor } from "./tensor.js";

export interface AdamWOptions {
  /** Defaults to 1e-3. */
  lr?: number;
  /** Defaults to 0.9. */
  beta1?: number;
  /** Defaults to 0.999. */
  beta2?: number;
  /** Defaults to 1e-8. */
  eps?: number;
  /** Decoupled weight decay. Defaults to 0.01 (as torch). */
  weightDecay?: number;
  /** Which tensors get weight decay. Defaults to all. */
  decay?: (t: Tensor) => boolean;
}

/** The optimizer's resumable state: step count and both moments per parameter name. */
export interface AdamWState {
  step: number;
  m: Map<string, F32>;
  v: Map<string, F32>;
}

export class OptimizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptimizerError";
  }
}

export class AdamW {
  readonly params: readonly Tensor[];
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly decays: boolean[];
  private readonly m: F32[];
  private readonly v: F32[];
  private t = 0;

  constructor(params: readonly Tensor[], opts: AdamWOptions = {}) {
    const names = new Set<string>();
    for (const p of params) {
      if (!p.leaf) throw new OptimizerError(`AdamW: "${p.name}" is an activation, not a parameter`);
      if (names.has(p.name)) throw new OptimizerError(`AdamW: parameter name "${p.name}" appears twice (names key the optimizer state)`);
      names.add(p.name);
    }
    this.params = [...params];
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    for (const [k, val] of [["lr", this.lr], ["eps", this.eps], ["weightDecay", this.weightDecay]] as const) {
      if (!(val >= 0) || !Number.isFinite(val)) throw new OptimizerError(`AdamW: ${k} must be a finite number >= 0, got ${val}`);
    }
    for (const [k, val] of [["beta1", this.beta1], ["beta2", this.beta2]] as const) {
      if (!(val >= 0 && val < 1)) throw new OptimizerError(`AdamW: ${k} must be in [0, 1), got ${val}`);
    }
    const decay = opts.decay ?? (() => true);
    this.decays = this.params.map((p) => decay(p));
    // Moments in one allocation each.
    const total = this.params.reduce((n, p) => n + p.size, 0);
    const mAll = new Float32Array(total);
    const vAll = new Float32Array(total);
    this.m = [];
    this.v = [];
    let off = 0;
    for (const p of this.params) {
      this.m.push(mAll.subarray(off, off + p.size));
      this.v.push(vAll.subarray(off, off + p.size));
      off += p.size;
    }
  }

  /** Number of steps taken. */
  get stepCount(): number {
    return this.t;
  }

  /**
   * One update of every parameter that has a gradient. `lr` overrides the learning rate for this step
   * (schedules); `gradScale` multiplies gradients first (e.g. 1/accumulation steps). Bumps each
   * updated tensor's version.
   */
  step(opts: { lr?: number; gradScale?: number } = {}): void {
    const lr = opts.lr ?? this.lr;
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new OptimizerError(`AdamW.step: lr must be a finite number >= 0, got ${lr}`);
    this.t++;
    const k = kernels();
    this.params.forEach((p, i) => {
      if (p.grad === null || !p.requiresGrad) return;
      k.adamw({
        param: p.data, grad: p.grad, m: this.m[i]!, v: this.v[i]!, n: p.size,
        lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
        weightDecay: this.decays[i]! ? this.weightDecay : 0,
        step: this.t, gradScale: opts.gradScale ?? 1,
      });
      p.version++;
    });
  }

  /** A snapshot of the state (copies) for checkpoints. */
  state(): AdamWState {
    const m = new Map<string, F32>();
    const v = new Map<string, F32>();
    this.params.forEach((p, i) => {
      m.set(p.name, Float32Array.from(this.m[i]!));
      v.set(p.name, Float32Array.from(this.v[i]!));
    });
    return { step: this.t, m, v };
  }

  /** Restore a snapshot; every parameter must be present with the right size. */
  loadState(s: AdamWState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new OptimizerError(`AdamW.loadState: step must be an integer >= 0, got ${s.step}`);
    this.params.forEach((p, i) => {
      for (const [which, src, dst] of [["m", s.m, this.m[i]!], ["v", s.v, this.v[i]!]] as const) {
        const a = src.get(p.name);
        if (a === undefined) throw new OptimizerError(`AdamW.loadState: no "${which}" state for parameter "${p.name}"`);
        if (a.length !== p.size) throw new OptimizerError(`AdamW.loadState: "${which}" of "${p.name}" has ${a.length} values, expected ${p.size}`);
        dst.set(a);
      }
    });
    this.t = s.step;
  }
}

/**
 * The usual weight-decay split (transformers' Trainer): decay matrices, not biases or norm weights.
 * Pass as `decay` to AdamW.
 */
export function decayOnlyMatrices(t: Tensor): boolean {
  return t.rank >= 2;
}

/** Set every gradient to zero (keeps the buffers). */
export function zeroGrad(params: readonly Tensor[]): void {
  for (const p of params) if (p.grad) p.grad.fill(0);
}

/** The L2 norm over all gradients together (double-precision accumulation). */
export function gradNorm(params: readonly Tensor[]): number {
  const k = kernels();
  let s = 0;
  for (const p of params) if (p.grad) s += k.sumSquares(p.grad, p.size);
  return Math.sqrt(s);
}

/**
 * Scale all gradients so their global L2 norm is at most maxNorm (torch's clip_grad_norm_: factor
 * maxNorm / (norm + 1e-6), capped at 1). Returns the norm before clipping; a non-finite norm is
 * returned as is and nothing is scaled (the trainer decides what to do with a NaN step).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new OptimizerError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = gradNorm(params);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    const k = kernels();
    for (const p of params) if (p.grad) k.scale(p.grad, coef, p.size);
  }
  return norm;
}
