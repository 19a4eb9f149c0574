/**
 * The autograd tape: ops record one backward closure each while a tape is active, and `backward`
 * runs them in reverse (llm.c style: every backward *adds* into gradient buffers).
 *
 * Also here: the allocation context (activations come from the active tape's arena), `noGrad`
 * inference mode, and per-layer activation checkpointing (`checkpoint`), which drops a block's
 * internals after its forward and recomputes them during backward.
 *
 * Not here: the ops themselves (ops.ts) or any math beyond accumulating gradients.
 */
import { Arena } from "./arena.js";
import { kernels } from "./backend.js";
import type { F32 } from "./kernels/kernels.js";
import { shapeSize, Tensor } from "./tensor.js";

export class AutogradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AutogradError";
  }
}

type Backward = () => void;

interface State {
  /** where records go; null: nothing is recorded */
  records: Backward[] | null;
  /** where activations come from; null: fresh allocations (garbage collected) */
  arena: Arena | null;
  /** false inside noGrad */
  grad: boolean;
  /** the tape whose scratch arena checkpointed blocks use */
  tape: Tape | null;
}

let state: State = { records: null, arena: null, grad: true, tape: null };

function withState<T>(s: State, fn: () => T): T {
  const prev = state;
  state = s;
  try {
    return fn();
  } finally {
    state = prev;
  }
}

/** True when ops should record backward closures. */
export function isRecording(): boolean {
  return state.records !== null && state.grad;
}

/** Run fn without recording anything (inference). Activations still come from the active arena. */
export function noGrad<T>(fn: () => T): T {
  return withState({ ...state, grad: false }, fn);
}

/** Buffer of n floats (unspecified contents) from the active arena, or a fresh one. */
export function allocData(n: number): F32 {
  return state.arena ? state.arena.alloc(n) : new Float32Array(n);
}

/** Buffer of n zeros from the active arena, or a fresh one. */
export function allocZeros(n: number): F32 {
  return state.arena ? state.arena.zeros(n) : new Float32Array(n);
}

/** A new activation tensor with uninitialised data (the op writes all of it). */
export function activation(shape: readonly number[], name: string): Tensor {
  return new Tensor(shape, allocData(shapeSize(shape)), { leaf: false, name });
}

/**
 * Attach an op's backward to its output. Records only when a tape is active, grad mode is on and
 * some input needs a gradient; otherwise the output is a constant and nothing is kept.
 */
export function record(out: Tensor, inputs: readonly (Tensor | null | undefined)[], backward: Backward): Tensor {
  let needed = false;
  for (const t of inputs) if (t && t.requiresGrad) needed = true;
  return recordIf(needed, out, backward);
}

/** As `record`, with the "does any input need a gradient" decision made by the caller. */
export function recordIf(needed: boolean, out: Tensor, backward: Backward): Tensor {
  if (state.records === null || !state.grad || !needed) return out;
  out.requiresGrad = true;
  state.records.push(backward);
  return out;
}

/**
 * The gradient buffer of t, created zeroed when missing: leaves get their own memory (it outlives the
 * step), views of leaves get the matching slice of their base's gradient, activations use the arena.
 */
export function gradOf(t: Tensor): F32 {
  if (t.grad) return t.grad;
  if (t.base) {
    const g = gradOf(t.base.tensor);
    t.grad = g.subarray(t.base.offset, t.base.offset + t.size);
  } else {
    t.grad = t.leaf ? new Float32Array(t.size) : allocZeros(t.size);
  }
  return t.grad;
}

/**
 * For gemm-style kernels that can either overwrite (beta = 0) or accumulate (beta = 1): when t has
 * no gradient yet and is an activation, hand out an uninitialised buffer with beta 0, saving a fill.
 */
export function gradTarget(t: Tensor): { buf: F32; beta: number } {
  if (t.grad === null && !t.leaf && t.base === null) {
    t.grad = allocData(t.size);
    return { buf: t.grad, beta: 0 };
  }
  return { buf: gradOf(t), beta: 1 };
}

/**
 * Add g into t's gradient. When t is an activation without a gradient yet and the caller no longer
 * needs g (`owned`), t simply adopts g: no copy.
 */
export function accumulateGrad(t: Tensor, g: F32, owned: boolean): void {
  if (!t.requiresGrad) return;
  if (t.grad === null && !t.leaf && t.base === null && g.length === t.size) {
    if (owned) t.grad = g;
    else (t.grad = allocData(t.size)).set(g); // one copy instead of zero-fill + add
    return;
  }
  const dst = gradOf(t);
  kernels().axpy(dst, g, 1, t.size);
}

/**
 * A tape owns the records of one forward pass and the arena its activations live in.
 *
 *   const tape = new Tape();            // once; reused every step
 *   const loss = tape.run(() => model.loss(batch));   // recycles last step's buffers, records
 *   tape.backward(loss);                // parameter .grad now holds dLoss/dParam (added into)
 *
 * Tensors made inside `run` stay valid until the next `run` (or `reset`).
 */
export class Tape {
  readonly arena = new Arena();
  /** Temporary memory for checkpointed blocks (reset after each block). */
  readonly scratch = new Arena();
  private records: Backward[] = [];

  /** Start a new step: forget records and recycle all activation buffers. */
  reset(): void {
    this.records = [];
    this.arena.reset();
    this.scratch.reset();
  }

  /** reset(), then run fn recording its ops. */
  run<T>(fn: () => T): T {
    this.reset();
    return this.record(fn);
  }

  /** Run fn recording into this tape without resetting (several forwards feeding one backward). */
  record<T>(fn: () => T): T {
    return withState({ records: this.records, arena: this.arena, grad: true, tape: this }, fn);
  }

  /** Run fn without recording but with activations in this tape's arena (fast inference, no garbage). */
  infer<T>(fn: () => T): T {
    this.reset();
    return withState({ records: null, arena: this.arena, grad: false, tape: this }, fn);
  }

  /** Number of recorded backward closures (tests, debugging). */
  get length(): number {
    return this.records.length;
  }

  /**
   * Backpropagate from `out` (a scalar unless `seed` is given, a gradient of out's shape). Gradients are
   * added into leaves' .grad; the tape's records are consumed (call `run` again for another pass).
   */
  backward(out: Tensor, seed?: F32): void {
    if (!out.requiresGrad) {
      throw new AutogradError(`backward: "${out.name}" does not depend on any tensor that requires grad (was it computed inside noGrad or outside tape.run?)`);
    }
    if (seed === undefined && out.size !== 1) {
      throw new AutogradError(`backward: "${out.name}" has ${out.size} elements; pass a seed gradient of that size for a non-scalar output`);
    }
    if (seed !== undefined && seed.length !== out.size) {
      throw new AutogradError(`backward: seed has ${seed.length} elements, "${out.name}" has ${out.size}`);
    }
    const records = this.records;
    this.records = [];
    withState({ records: null, arena: this.arena, grad: false, tape: this }, () => {
      const g = gradOf(out);
      if (seed) g.set(seed);
      else g[0] = g[0]! + 1;
      for (let i = records.length - 1; i >= 0; i--) records[i]!();
    });
  }
}

/**
 * Activation checkpointing of one block (e.g. a decoder layer): `fn(x)` runs without keeping its
 * internals; in backward it is run again (recording into a private list, in the tape's scratch
 * arena) and backpropagated at once. fn must be deterministic and read no state that changes between
 * forward and backward. Leaves fn closes over (its parameters) receive gradients as usual. Only the
 * block output (one copy) is kept in the main arena. `params` are the leaves fn reads (they decide
 * whether anything needs recording; null when unknown, e.g. adapters injected into the block). Outside a recording tape, this is just fn(x).
 */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, params: readonly Tensor[] | null): Tensor {
  const tape = state.tape;
  if (!isRecording() || tape === null) return fn(x);
  const mainArena = state.arena;
  const scratch = tape.scratch;
  const y = withState({ records: null, arena: scratch, grad: false, tape: null }, () => fn(x));
  const out = activation(y.shape, `checkpoint(${y.name})`);
  out.data.set(y.data);
  scratch.reset();
  const needed = params === null || x.requiresGrad || params.some((p) => p.requiresGrad);
  return recordIf(needed, out, () => {
    if (out.grad === null) return;
    const dOut = out.grad;
    const sub: Backward[] = [];
    // The recomputation sees a stand-in for x that shares its data but collects its own gradient.
    const xs = new Tensor(x.shape, x.data, { leaf: false, requiresGrad: x.requiresGrad, name: x.name });
    withState({ records: sub, arena: scratch, grad: true, tape: null }, () => {
      const y2 = fn(xs);
      if (!y2.requiresGrad) return;
      y2.grad = dOut;
      withState({ records: null, arena: scratch, grad: false, tape: null }, () => {
        for (let i = sub.length - 1; i >= 0; i--) sub[i]!();
      });
    });
    if (xs.grad !== null && x.requiresGrad) {
      withState({ records: null, arena: mainArena, grad: false, tape }, () => accumulateGrad(x, xs.grad!, false));
    }
    scratch.reset();
  });
}
