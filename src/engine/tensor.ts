/**
 * The engine's tensor: a shape over a row-major Float32Array, plus an optional gradient.
 *
 * A tensor is either a *leaf* (a parameter or a user input: its data and gradient live as long as
 * the tensor, never in an arena) or an *activation* made by an op during a forward pass (its data and
 * gradient come from the active tape's arena and are recycled at the next step). A tensor is not a
 * lazy graph node: ops compute eagerly and record their backward on the tape (see tape.ts).
 *
 * Views share memory: `reshape` of an activation and `slice` of a leaf are new Tensor objects over
 * `subarray`s of the same buffer, never copies.
 */
import type { F32 } from "./kernels/kernels.js";

export class ShapeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid dimension ${d} in shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

/** Where a view sits inside its base leaf, so its gradient is the matching slice of the base's gradient. */
interface ViewBase {
  tensor: Tensor;
  offset: number;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  data: F32;
  /** Gradient of the loss w.r.t. this tensor, allocated on first use in backward (leaves: on demand). */
  grad: F32 | null = null;
  requiresGrad: boolean;
  /** Leaves own their memory; activations borrow it from an arena. */
  readonly leaf: boolean;
  /** Hugging Face name for parameters; a short op name for activations (debugging). */
  name: string;
  /**
   * Bumped whenever a leaf's data changes in place (optimizer step, checkpoint load), so derived
   * caches (e.g. Baichuan's normalised lm_head in inference) know to recompute.
   */
  version = 0;
  /** Set on views of leaves (see `slice`). */
  readonly base: ViewBase | null;

  constructor(shape: readonly number[], data: F32, opts: { requiresGrad?: boolean; leaf?: boolean; name?: string; base?: ViewBase } = {}) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new ShapeError(`tensor ${opts.name ?? ""}: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${size}`);
    }
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.data = data;
    this.requiresGrad = opts.requiresGrad ?? false;
    this.leaf = opts.leaf ?? true;
    this.name = opts.name ?? "";
    this.base = opts.base ?? null;
  }

  /** A fresh leaf of zeros (owns its memory). */
  static zeros(shape: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    return new Tensor(shape, new Float32Array(shapeSize(shape)), { ...opts, leaf: true });
  }

  /** A leaf over the given data (not copied). */
  static from(data: F32 | number[], shape?: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    return new Tensor(shape ?? [arr.length], arr, { ...opts, leaf: true });
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Last dimension (the row width of the row-major layout). */
  get cols(): number {
    return this.shape[this.shape.length - 1] ?? 1;
  }

  /** Product of all but the last dimension. */
  get rows(): number {
    const c = this.cols;
    return c === 0 ? 0 : this.size / c;
  }

  /**
   * A view of a contiguous block of a leaf (e.g. the q rows of Baichuan's fused W_pack): same memory,
   * and its gradient is the same block of the leaf's gradient, so backward writes straight into it.
   */
  slice(offset: number, shape: readonly number[], name?: string): Tensor {
    if (!this.leaf) throw new ShapeError(`slice: only leaf tensors can be sliced (got activation "${this.name}")`);
    const size = shapeSize(shape);
    if (!Number.isInteger(offset) || offset < 0 || offset + size > this.size) {
      throw new ShapeError(`slice of "${this.name}": [${offset}, ${offset + size}) is outside its ${this.size} elements`);
    }
    const root = this.base ?? { tensor: this as Tensor, offset: 0 };
    return new Tensor(shape, this.data.subarray(offset, offset + size), {
      requiresGrad: this.requiresGrad,
      leaf: true,
      name: name ?? `${this.name}[${offset}:${offset + size}]`,
      base: { tensor: root.tensor, offset: root.offset + offset },
    });
  }

  /** A copy of the data as a plain array (for tests and small outputs). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** A detached leaf copy: survives the arena's next reset. */
  clone(): Tensor {
    return new Tensor(this.shape, Float32Array.from(this.data), { leaf: true, name: this.name });
  }

  /** The scalar value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): tensor "${this.name}" has ${this.size} elements, expected 1`);
    return this.data[0]!;
  }
}
