/**
 * Preference losses of stage 3 (DFPO) and their objective on the one trainer. Semantics as trl 0.8.6
 * and LLaMA-Factory (SEED-FACTS "DPO stage"):
 *   log π(y) = SUM of response-token log-probs (shifted, -100 masked); ipo, simpo and orpo use the
 *   MEAN over response tokens, as those trainers do;
 *   sigmoid: z = β·((πc − πr) − (refc − refr)); ℓ = −(1−ls)·logσ(z) − ls·logσ(−z)
 *   hinge:   ℓ = max(0, 1 − z)
 *   ipo:     ℓ = (h − 1/(2β))², h = (π̄c − π̄r) − (ref̄c − ref̄r)
 *   simpo:   ℓ = −logσ(β·(π̄c − π̄r) − γ)                       (reference-free)
 *   orpo:    ℓ = −π̄c − β·logσ(log odds(π̄c) − log odds(π̄r))   (reference-free; odds p/(1−p))
 *   DFPO's ftx term: + μ · (mean NLL of the chosen response), per pair, before the batch mean.
 * Rewards logged with trl's names: β·(π − ref) per chosen and rejected (β·π when reference-free).
 *
 * How the gradient reaches the model: each pair's loss and its derivatives with respect to the
 * sequence log-probs are computed here in double precision; the tape records one weighted sum of the
 * token losses whose weights are exactly those derivatives, shifted by a constant so its value is the
 * loss. The gradient is therefore exact, and every loss variant is a few lines of scalar math.
 */
import { add, IGNORE_INDEX, sum, Tensor, type Tape } from "../../engine/index.js";
import type { CausalLM, LossInput } from "../../model/index.js";
import type { LossResult, Objective, StepContext, TrainingPlan } from "../trainer/objective.js";

export type PreferenceLossType = "sigmoid" | "hinge" | "ipo" | "simpo" | "orpo";

export interface PreferenceOptions {
  loss: PreferenceLossType;
  /** β. Defaults to 0.1. */
  beta?: number;
  /** μ of the ftx term (DFPO). Defaults to 0. */
  ftx?: number;
  /** Sigmoid loss only. Defaults to 0. */
  labelSmoothing?: number;
  /** SimPO's target margin γ. Defaults to 0.5. */
  simpoGamma?: number;
}

/** Whether a loss compares against a reference model. */
export function needsReference(loss: PreferenceLossType): boolean {
  return loss === "sigmoid" || loss === "hinge" || loss === "ipo";
}

/** Whether a loss uses per-token mean log-probs instead of sums. */
export function usesMeanLogps(loss: PreferenceLossType): boolean {
  return loss === "ipo" || loss === "simpo" || loss === "orpo";
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** One pair's inputs: log-probs of the chosen and rejected responses and their token counts. */
export interface PairLogps {
  /** policy: sum of response-token log-probs */
  chosen: number;
  rejected: number;
  /** reference: sum of response-token log-probs (ignored by reference-free losses) */
  refChosen: number;
  refRejected: number;
  chosenTokens: number;
  rejectedTokens: number;
}

export interface PairLoss {
  loss: number;
  /** ∂loss/∂(policy SUM log-prob) of the chosen and the rejected response */
  dChosen: number;
  dRejected: number;
  rewardChosen: number;
  rewardRejected: number;
}

/** The loss of one pair and its derivatives with respect to the policy's sequence log-probs. */
export function pairLoss(p: PairLogps, o: PreferenceOptions): PairLoss {
  const beta = o.beta ?? 0.1;
  const ls = o.labelSmoothing ?? 0;
  const mean = usesMeanLogps(o.loss);
  const nc = mean ? p.chosenTokens : 1;
  const nr = mean ? p.rejectedTokens : 1;
  if (mean && (nc <= 0 || nr <= 0)) throw new RangeError("a response without counted tokens has no mean log-prob");
  const pc = p.chosen / nc;
  const pr = p.rejected / nr;
  const rc = p.refChosen / nc;
  const rr = p.refRejected / nr;
  let loss: number;
  // derivatives with respect to pc and pr (the possibly averaged log-probs)
  let gc: number;
  let gr: number;
  switch (o.loss) {
    case "sigmoid": {
      const z = beta * (pc - pr - (rc - rr));
      loss = (1 - ls) * softplus(-z) + ls * softplus(z);
      const dz = -(1 - ls) * sigmoid(-z) + ls * sigmoid(z);
      gc = beta * dz;
      gr = -beta * dz;
      break;
    }
    case "hinge": {
      const z = beta * (pc - pr - (rc - rr));
      loss = Math.max(0, 1 - z);
      const dz = 1 - z > 0 ? -1 : 0;
      gc = beta * dz;
      gr = -beta * dz;
      break;
    }
    case "ipo": {
      const h = pc - pr - (rc - rr) - 1 / (2 * beta);
      loss = h * h;
      gc = 2 * h;
      gr = -2 * h;
      break;
    }
    case "simpo": {
      const z = beta * (pc - pr) - (o.simpoGamma ?? 0.5);
      loss = softplus(-z);
      const dz = -sigmoid(-z);
      gc = beta * dz;
      gr = -beta * dz;
      break;
    }
    case "orpo": {
      // log odds(a) = a − log(1 − e^a) for a log-probability a < 0; d/da = 1 / (1 − e^a).
      const logOdds = (a: number) => a - Math.log(-Math.expm1(a));
      const dLogOdds = (a: number) => -1 / Math.expm1(a);
      const z = logOdds(pc) - logOdds(pr);
      loss = -pc + beta * softplus(-z);
      const dz = -beta * sigmoid(-z);
      gc = -1 + dz * dLogOdds(pc);
      gr = -dz * dLogOdds(pr);
      break;
    }
  }
  const ftx = o.ftx ?? 0;
  if (ftx > 0) {
    // μ · mean NLL of the chosen response = −μ · sum / count, whatever the loss's own averaging.
    if (p.chosenTokens <= 0) throw new RangeError("the ftx term needs counted chosen tokens");
    loss += (-ftx * p.chosen) / p.chosenTokens;
  }
  const ref = needsReference(o.loss);
  return {
    loss,
    dChosen: gc / nc + (ftx > 0 ? -ftx / p.chosenTokens : 0),
    dRejected: gr / nr,
    rewardChosen: beta * (ref ? pc - rc : pc),
    rewardRejected: beta * (ref ? pr - rr : pr),
  };
}

/**
 * A batch of K pairs: rows 0..K−1 are prompt + chosen, rows K..2K−1 prompt + rejected (the seed's
 * order). Reference log-probs per row (sums) come with the batch when the loss needs them.
 */
export interface PairBatch {
  input: LossInput;
  pairs: number;
  /** (2K) reference SUM log-probs per row, chosen rows first; null for reference-free losses */
  refLogps: Float64Array | null;
  /** pair indices in the data source (for caches and reports) */
  indices: number[];
}

/** Per-row sums of target log-probs and counted targets, from the model's per-token losses. */
export function rowLogps(tokenLosses: Float32Array, targets: Int32Array, B: number, T: number): { logps: Float64Array; counts: Int32Array } {
  const logps = new Float64Array(B);
  const counts = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (targets[b * T + t] !== IGNORE_INDEX) {
        s -= tokenLosses[b * T + t]!;
        n++;
      }
    }
    logps[b] = s;
    counts[b] = n;
  }
  return { logps, counts };
}

/** Reference SUM log-probs of every row of a batch, without recording gradients. */
export function sequenceLogps(model: CausalLM, input: LossInput, tape: Tape): Float64Array {
  const out = tape.infer(() => model.loss(input));
  return rowLogps(out.tokenLosses.data, out.targets, input.B, input.T).logps;
}

/** The DPO-family objective over a policy model (full or with an adapter attached). */
export class PreferenceObjective implements Objective<PairBatch> {
  readonly name: string;

  constructor(
    readonly model: CausalLM,
    readonly options: PreferenceOptions,
    private readonly trainableTensors: readonly Tensor[] = model.parameters().filter((p) => p.requiresGrad),
  ) {
    this.name = `dpo-${options.loss}`;
    const beta = options.beta ?? 0.1;
    if (!(beta > 0)) throw new RangeError(`pref_beta must be > 0, got ${beta}`);
    const ls = options.labelSmoothing ?? 0;
    if (ls !== 0 && options.loss !== "sigmoid") throw new RangeError(`label smoothing applies to the sigmoid loss only (pref_loss is ${options.loss})`);
  }

  trainable(): readonly Tensor[] {
    return this.trainableTensors;
  }

  loss(batch: PairBatch, _ctx: StepContext): LossResult {
    const { input, pairs: K } = batch;
    const { B, T } = input;
    if (B !== 2 * K) throw new RangeError(`a batch of ${K} pairs needs ${2 * K} rows, has ${B}`);
    const ref = needsReference(this.options.loss);
    if (ref && (batch.refLogps === null || batch.refLogps.length !== B)) throw new RangeError(`pref_loss ${this.options.loss} needs reference log-probs for all ${B} rows`);
    const out = this.model.loss(input);
    const { logps, counts } = rowLogps(out.tokenLosses.data, out.targets, B, T);
    const rowWeight = new Float64Array(B);
    let total = 0;
    const s = { rc: 0, rr: 0, acc: 0, lc: 0, lr: 0 };
    for (let k = 0; k < K; k++) {
      const r = pairLoss(
        {
          chosen: logps[k]!, rejected: logps[K + k]!,
          refChosen: ref ? batch.refLogps![k]! : 0, refRejected: ref ? batch.refLogps![K + k]! : 0,
          chosenTokens: counts[k]!, rejectedTokens: counts[K + k]!,
        },
        this.options,
      );
      total += r.loss;
      rowWeight[k] = r.dChosen / K;
      rowWeight[K + k] = r.dRejected / K;
      s.rc += r.rewardChosen;
      s.rr += r.rewardRejected;
      s.acc += r.rewardChosen > r.rewardRejected ? 1 : 0;
      s.lc += logps[k]!;
      s.lr += logps[K + k]!;
    }
    const lossValue = total / K;
    // token loss = −log-prob, so ∂L/∂tokenLoss = −∂L/∂logp of its row.
    const w = new Float32Array(B * T);
    let weighted = 0;
    for (let i = 0; i < B * T; i++) {
      if (out.targets[i] !== IGNORE_INDEX) {
        w[i] = -rowWeight[Math.floor(i / T)]!;
        weighted += w[i]! * out.tokenLosses.data[i]!;
      }
    }
    const surrogate = sum(out.tokenLosses, w, "preference_loss");
    const loss = add(surrogate, Tensor.from([lossValue - weighted], [1]), "preference_loss");
    let tokens = B * T;
    if (input.attentionMask) tokens = input.attentionMask.reduce((a, v) => a + v, 0);
    return {
      loss,
      weight: K,
      tokens,
      scalars: {
        "rewards/chosen": s.rc / K,
        "rewards/rejected": s.rr / K,
        "rewards/accuracies": s.acc / K,
        "rewards/margins": (s.rc - s.rr) / K,
        "logps/chosen": s.lc / K,
        "logps/rejected": s.lr / K,
        "loss/exact": lossValue,
      },
    };
  }

  check(plan: TrainingPlan): void {
    const max = this.model.config.maxPositions;
    const longest = (plan as TrainingPlan & { maxSequenceLength?: number }).maxSequenceLength;
    if (longest !== undefined && longest > max) {
      throw new RangeError(`sequence length ${longest} is longer than the model's max_position_embeddings (${max})`);
    }
  }

  recipe(): Record<string, unknown> {
    return { loss: this.options.loss, beta: this.options.beta ?? 0.1, ftx: this.options.ftx ?? 0, labelSmoothing: this.options.labelSmoothing ?? 0, simpoGamma: this.options.simpoGamma ?? 0.5 };
  }
}
