/**
 * Random streams and item order owned by the trainer. Every stream is a pure function of
 * (seed, purpose, a, b) — e.g. (seed, STEP, step, micro-batch) — so a resumed run needs no generator
 * state beyond the seed and the step to draw exactly what the uninterrupted run drew. The order of
 * the items is a seeded shuffle per epoch; its state (epoch, cursor, permutation) is saved in
 * checkpoints as it is, and checked against a recomputation on resume.
 *
 * Not here: the generator itself (model/init.ts's xoshiro128** Rng, the one the model's init uses).
 */
import { Rng } from "../../model/index.js";

export const STREAM = { order: 1, step: 2, eval: 3 } as const;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed for stream (purpose, a, b) of run seed `seed`. */
export function streamSeed(seed: number, purpose: number, a: number, b: number): number {
  let h = fmix32(seed >>> 0);
  for (const x of [purpose, a, b]) h = fmix32((h ^ Math.imul(x >>> 0, 0x9e3779b1)) >>> 0);
  return h;
}

export function streamRng(seed: number, purpose: number, a: number, b: number): Rng {
  return new Rng(streamSeed(seed, purpose, a, b));
}

/** Saved form of the item order. */
export interface OrderState {
  epoch: number;
  /** Next position in `order`. */
  cursor: number;
  /** The current epoch's permutation of [0, size). */
  order: number[];
}

/** Fisher–Yates over [0, size) with the epoch's own stream (identity when not shuffling). */
export function epochOrder(size: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  if (!shuffle) return order;
  const rng = streamRng(seed, STREAM.order, epoch, 0);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Hands out item indices batch by batch, crossing epochs without dropping or repeating items. */
export class ItemOrder {
  private epoch: number;
  private cursor: number;
  private order: number[];

  constructor(
    readonly size: number,
    private readonly seed: number,
    private readonly shuffle: boolean,
    state?: OrderState,
  ) {
    if (state) {
      this.epoch = state.epoch;
      this.cursor = state.cursor;
      this.order = [...state.order];
    } else {
      this.epoch = 0;
      this.cursor = 0;
      this.order = epochOrder(size, seed, 0, shuffle);
    }
  }

  /** Whether a saved state is this order's own (same permutation for its epoch, cursor in range). */
  static matches(size: number, seed: number, shuffle: boolean, s: OrderState): string | null {
    if (!Number.isInteger(s.epoch) || s.epoch < 0) return `epoch ${s.epoch} is not an integer >= 0`;
    if (!Number.isInteger(s.cursor) || s.cursor < 0 || s.cursor > size) return `cursor ${s.cursor} is outside [0, ${size}]`;
    if (!Array.isArray(s.order) || s.order.length !== size) return `the saved order has ${Array.isArray(s.order) ? s.order.length : "no"} items, the data has ${size}`;
    const expected = epochOrder(size, seed, s.epoch, shuffle);
    for (let i = 0; i < size; i++) if (s.order[i] !== expected[i]) return `the saved order of epoch ${s.epoch} differs at position ${i} from the seed's`;
    return null;
  }

  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.cursor >= this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = epochOrder(this.size, this.seed, this.epoch, this.shuffle);
      }
      out.push(this.order[this.cursor++]!);
    }
    return out;
  }

  /** Items handed out so far, in epochs (e.g. 2.5 = half-way through the third epoch). */
  get epochs(): number {
    return this.epoch + this.cursor / Math.max(1, this.size);
  }

  state(): OrderState {
    return { epoch: this.epoch, cursor: this.cursor, order: [...this.order] };
  }
}
