/**
 * A named set of parameters packed into few large allocations (llm.c style): each parameter tensor is
 * a view into a shared Float32Array, so loading, saving and zeroing are a handful of bulk operations.
 * Gradients are packed the same way, allocated only when training asks for them.
 *
 * Not here: how the parameters are initialised or used (model/), or the optimizer (optim.ts).
 */
import { kernels } from "./backend.js";
import type { F32 } from "./kernels/kernels.js";
import { shapeSize, Tensor } from "./tensor.js";

export interface ParamSpec {
  /** Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight" */
  name: string;
  shape: readonly number[];
}

export class UnknownParameterError extends Error {
  constructor(name: string, known: readonly string[]) {
    const hint = known.slice(0, 5).join(", ");
    super(`unknown parameter "${name}" (this model has ${known.length} parameters, e.g. ${hint})`);
    this.name = "UnknownParameterError";
  }
}

/** Largest single allocation: 2^28 floats (1 GiB); bigger models are packed into several chunks. */
const CHUNK_ELEMS = 2 ** 28;

/** Pack tensors of the given sizes into chunks; returns per-tensor views. */
function pack(sizes: readonly number[]): F32[] {
  const views: F32[] = [];
  let start = 0;
  while (start < sizes.length) {
    let end = start;
    let total = 0;
    while (end < sizes.length && (end === start || total + sizes[end]! <= CHUNK_ELEMS)) total += sizes[end++]!;
    const chunk = new Float32Array(total);
    // before anything is written: decode steps stream every weight per token, faster on large pages
    kernels().adviseHugePages(chunk);
    let off = 0;
    for (let i = start; i < end; i++) {
      views.push(chunk.subarray(off, off + sizes[i]!));
      off += sizes[i]!;
    }
    start = end;
  }
  return views;
}

export class Parameters {
  private readonly byName = new Map<string, Tensor>();
  /** In declaration order (the order checkpoints are written in). */
  readonly list: readonly Tensor[];

  constructor(specs: readonly ParamSpec[]) {
    const views = pack(specs.map((s) => shapeSize(s.shape)));
    const list: Tensor[] = [];
    specs.forEach((s, i) => {
      if (this.byName.has(s.name)) throw new RangeError(`duplicate parameter name "${s.name}"`);
      const t = new Tensor(s.shape, views[i]!, { leaf: true, requiresGrad: true, name: s.name });
      this.byName.set(s.name, t);
      list.push(t);
    });
    this.list = list;
  }

  get(name: string): Tensor {
    const t = this.byName.get(name);
    if (t === undefined) throw new UnknownParameterError(name, [...this.byName.keys()]);
    return t;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const t of this.list) n += t.size;
    return n;
  }

  /** Give every parameter that requires grad a (packed, zeroed) gradient buffer, if it has none. */
  allocGrads(): void {
    const missing = this.list.filter((t) => t.requiresGrad && t.grad === null);
    const views = pack(missing.map((t) => t.size));
    missing.forEach((t, i) => (t.grad = views[i]!));
  }

  /** Freeze or unfreeze all parameters (LoRA training freezes the base). */
  setRequiresGrad(flag: boolean): void {
    for (const t of this.list) t.requiresGrad = flag;
  }
}
