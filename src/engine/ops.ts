/**
 * The op set: coarse, fused operations with a forward and a backward each, recorded on the active
 * tape (tape.ts). Every op computes through the backend kernels — the decoder's hot path (linear,
 * embedding, rmsnorm, rope, attention, swiglu, cross-entropy, add) and the narrow ops that routers,
 * preference losses and fused projections are built from (softmax, softplus, logSigmoid, sum,
 * scaleRows, column, splitColumns, rowNormalize) alike — so a new backend moves all of them at once.
 * No op loops over tensor data in JavaScript; buffers come from the tape's arena.
 *
 * Shape glossary: N rows (= B*T tokens), C width, H query heads, Hkv key/value heads, D head dim,
 * V vocabulary. Tensors are row-major; an op reads `rows × cols` where cols is the last dimension.
 *
 * Adding an op: write its forward (allocate the output with `activation`, compute through kernels),
 * then `return record(out, inputs, () => { ...add into gradOf(input)... })`. Nothing else changes.
 *
 * Not here: parameters, optimizers, model structure.
 */
import { kernels } from "./backend.js";
import type { F32 } from "./kernels/kernels.js";
import type { RopeTables } from "./kernels/tables.js";
import type { QuantizedMatrix } from "./quant.js";
import { accumulateGrad, activation, allocData, AutogradError, gradOf, gradTarget, isRecording, record, recordIf } from "./tape.js";
import { ShapeError, Tensor } from "./tensor.js";

/** The label value that cross-entropy ignores (PyTorch's default). */
export const IGNORE_INDEX = -100;

let onesCache = new Float32Array(0);
/** A read-only vector of n ones (bias gradients and broadcasts go through gemm with it). */
function ones(n: number): F32 {
  if (onesCache.length < n) onesCache = new Float32Array(Math.max(n, 2 * onesCache.length)).fill(1);
  return onesCache.subarray(0, n);
}

/** The message is a function so the hot path (a decode step runs hundreds of ops) never formats it. */
function need(cond: boolean, message: () => string): asserts cond {
  if (!cond) throw new ShapeError(message());
}

function shapeStr(t: Tensor): string {
  return `"${t.name}" [${t.shape.join(", ")}]`;
}

/**
 * Write a gradient contribution for t computed by `write(dst)` (which overwrites dst): straight into
 * a fresh gradient buffer when t has none yet, else through a temporary that is added in.
 */
function addGrad(t: Tensor, write: (dst: F32) => void): void {
  if (!t.requiresGrad) return;
  if (t.grad === null && !t.leaf && t.base === null) {
    t.grad = allocData(t.size);
    write(t.grad);
    return;
  }
  const tmp = allocData(t.size);
  write(tmp);
  kernels().axpy(gradOf(t), tmp, 1, t.size);
}

/**
 * y = x · Wᵀ + b, Hugging Face nn.Linear layout: x (..., in), W (out, in), b (out) or null.
 * Returns (..., out).
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null, name = "linear"): Tensor {
  need(w.rank === 2, () => `linear: weight ${shapeStr(w)} must be 2-D (out, in)`);
  const outF = w.shape[0]!;
  const inF = w.shape[1]!;
  need(x.cols === inF, () => `linear: input ${shapeStr(x)} has width ${x.cols}, weight ${shapeStr(w)} expects ${inF}`);
  need(b === null || b.size === outF, () => `linear: bias ${b ? shapeStr(b) : ""} must have ${outF} elements`);
  const N = x.rows;
  const k = kernels();
  const y = activation([...x.shape.slice(0, -1), outF], name);
  k.gemm({ transA: false, transB: true, M: N, N: outF, K: inF, alpha: 1, A: x.data, lda: inF, B: w.data, ldb: inF, beta: 0, C: y.data, ldc: outF });
  // Bias as a rank-1 update ones(N,1)·b(1,out): keeps the broadcast inside the kernels.
  if (b) k.gemm({ transA: false, transB: false, M: N, N: outF, K: 1, alpha: 1, A: ones(N), lda: 1, B: b.data, ldb: outF, beta: 1, C: y.data, ldc: outF });
  return record(y, [x, w, b], () => {
    const dy = y.grad;
    if (dy === null) return;
    if (x.requiresGrad) {
      const { buf, beta } = gradTarget(x);
      k.gemm({ transA: false, transB: false, M: N, N: inF, K: outF, alpha: 1, A: dy, lda: outF, B: w.data, ldb: inF, beta, C: buf, ldc: inF });
    }
    if (w.requiresGrad) {
      k.gemm({ transA: true, transB: false, M: outF, N: inF, K: N, alpha: 1, A: dy, lda: outF, B: x.data, ldb: inF, beta: 1, C: gradOf(w), ldc: inF });
    }
    if (b && b.requiresGrad) {
      k.gemm({ transA: false, transB: false, M: 1, N: outF, K: N, alpha: 1, A: ones(N), lda: N, B: dy, ldb: outF, beta: 1, C: gradOf(b), ldc: outF });
    }
  });
}

/**
 * y = x · Wᵀ + b with W held quantised (q8_0 or bf16): the inference-only twin of `linear`. Refuses to
 * run while a tape records, since a quantised weight has no gradient and x's would be wrong silently.
 */
export function quantizedLinear(x: Tensor, w: QuantizedMatrix, b: Tensor | null = null, name = "qlinear"): Tensor {
  if (isRecording()) throw new AutogradError(`quantizedLinear "${w.name}": quantised weights are for inference only; run inside noGrad or tape.infer`);
  need(x.cols === w.cols, () => `quantizedLinear: input ${shapeStr(x)} has width ${x.cols}, weight "${w.name}" expects ${w.cols}`);
  need(b === null || b.size === w.rows, () => `quantizedLinear: bias ${b ? shapeStr(b) : ""} must have ${w.rows} elements`);
  const N = x.rows;
  const k = kernels();
  const y = activation([...x.shape.slice(0, -1), w.rows], name);
  if (w.format === "q8_0") k.matmulQ8(y.data, x.data, w.data as Int8Array, w.scales!, N, w.rows, w.cols);
  else k.matmulBf16(y.data, x.data, w.data as Uint16Array, N, w.rows, w.cols);
  if (b) k.gemm({ transA: false, transB: false, M: N, N: w.rows, K: 1, alpha: 1, A: ones(N), lda: 1, B: b.data, ldb: w.rows, beta: 1, C: y.data, ldc: w.rows });
  return y;
}

/** Plain matrix product a (M, K) · b (K, N) → (M, N); for weights in nn.Linear layout use `linear`. */
export function matmul(a: Tensor, b: Tensor, name = "matmul"): Tensor {
  need(a.rank === 2 && b.rank === 2, () => `matmul: ${shapeStr(a)} and ${shapeStr(b)} must both be 2-D`);
  const M = a.shape[0]!;
  const K = a.shape[1]!;
  const N = b.shape[1]!;
  need(b.shape[0] === K, () => `matmul: inner dimensions differ: ${shapeStr(a)} · ${shapeStr(b)}`);
  const k = kernels();
  const y = activation([M, N], name);
  k.gemm({ transA: false, transB: false, M, N, K, alpha: 1, A: a.data, lda: K, B: b.data, ldb: N, beta: 0, C: y.data, ldc: N });
  return record(y, [a, b], () => {
    const dy = y.grad;
    if (dy === null) return;
    if (a.requiresGrad) {
      const { buf, beta } = gradTarget(a);
      k.gemm({ transA: false, transB: true, M, N: K, K: N, alpha: 1, A: dy, lda: N, B: b.data, ldb: N, beta, C: buf, ldc: K });
    }
    if (b.requiresGrad) {
      const { buf, beta } = gradTarget(b);
      k.gemm({ transA: true, transB: false, M: K, N, K: M, alpha: 1, A: a.data, lda: K, B: dy, ldb: N, beta, C: buf, ldc: N });
    }
  });
}

/** Rows of `table` (V, C) picked by ids; returns [...idsShape, C]. */
export function embedding(table: Tensor, ids: Int32Array, idsShape: readonly number[] = [ids.length], name = "embedding"): Tensor {
  need(table.rank === 2, () => `embedding: table ${shapeStr(table)} must be 2-D (vocab, width)`);
  const C = table.shape[1]!;
  const k = kernels();
  const y = activation([...idsShape, C], name);
  need(y.rows === ids.length, () => `embedding: ids shape [${idsShape.join(", ")}] does not match ${ids.length} ids`);
  k.embeddingForward(y.data, table.data, ids, C);
  return record(y, [table], () => {
    if (y.grad) k.embeddingBackward(gradOf(table), y.grad, ids, C);
  });
}

/** RMSNorm over the last dimension: y = x / sqrt(mean(x²) + eps) * w. */
export function rmsnorm(x: Tensor, w: Tensor, eps: number, name = "rmsnorm"): Tensor {
  const C = x.cols;
  need(w.size === C, () => `rmsnorm: weight ${shapeStr(w)} must have ${C} elements for input ${shapeStr(x)}`);
  const N = x.rows;
  const k = kernels();
  const y = activation(x.shape, name);
  const rstd = allocData(N);
  k.rmsnormForward(y.data, rstd, x.data, w.data, N, C, eps);
  return record(y, [x, w], () => {
    if (y.grad === null) return;
    // The kernel adds into both; a weight that needs no gradient still needs a scratch target.
    const dw = w.requiresGrad ? gradOf(w) : allocData(C).fill(0);
    const dx = x.requiresGrad ? gradOf(x) : allocData(x.size).fill(0);
    k.rmsnormBackward(dx, dw, y.grad, x.data, w.data, rstd, N, C);
  });
}

/** Geometry of a (B, T, heads, D) activation for rope/attention. */
export interface HeadLayout {
  B: number;
  T: number;
  heads: number;
  D: number;
}

/**
 * Rotary position embedding, Hugging Face rotate-half convention, IN PLACE: the result shares x's
 * memory and x must not be read afterwards (it is always a fresh projection in our models).
 * positions (B*T) are absolute positions, each < tables.maxPos.
 */
export function rope(x: Tensor, tables: RopeTables, positions: Int32Array, l: HeadLayout, name = "rope"): Tensor {
  const { B, T, heads, D } = l;
  need(x.size === B * T * heads * D, () => `rope: ${shapeStr(x)} is not (B=${B}, T=${T}, heads=${heads}, D=${D})`);
  need(tables.D === D, () => `rope: tables are for head dim ${tables.D}, got ${D}`);
  need(positions.length === B * T, () => `rope: ${positions.length} positions for ${B * T} tokens`);
  const k = kernels();
  k.ropeForward(x.data, tables.cos, tables.sin, positions, B, T, heads, D);
  const y = new Tensor(x.shape, x.data, { leaf: false, name });
  return record(y, [x], () => {
    const g = y.grad;
    if (g === null) return;
    // y's gradient is complete here (all its consumers come later on the tape), so rotate it in place.
    k.ropeBackward(g, tables.cos, tables.sin, positions, B, T, heads, D);
    accumulateGrad(x, g, true);
  });
}

export interface AttentionOptions {
  B: number;
  /** query positions in this call */
  Tq: number;
  /** key positions (>= Tq; the extra ones are the cached past) */
  Tk: number;
  H: number;
  Hkv: number;
  D: number;
  /** score scale; defaults to 1/sqrt(D) */
  scale?: number;
  /** ALiBi slopes (H), or null */
  alibiSlopes?: F32 | null;
  /** (B, Tk) 1 = real token, 0 = padding; null = all real */
  keyMask?: Uint8Array | null;
  /**
   * (B, Tk) segment (document) id per key position; a query sees only earlier keys of its own
   * segment (documents packed into one block). null = one segment per sequence.
   */
  segmentIds?: Int32Array | null;
}

/**
 * Causal multi-head attention with grouped-query heads: q (B,Tq,H,D), k and v (B,Tk,Hkv,D) →
 * (B,Tq,H·D). Query i sees keys j <= i + Tk - Tq that are not padding.
 */
export function attention(q: Tensor, kT: Tensor, v: Tensor, o: AttentionOptions, name = "attention"): Tensor {
  const { B, Tq, Tk, H, Hkv, D } = o;
  need(q.size === B * Tq * H * D, () => `attention: q ${shapeStr(q)} is not (B=${B}, Tq=${Tq}, H=${H}, D=${D})`);
  need(kT.size === B * Tk * Hkv * D, () => `attention: k ${shapeStr(kT)} is not (B=${B}, Tk=${Tk}, Hkv=${Hkv}, D=${D})`);
  need(v.size === B * Tk * Hkv * D, () => `attention: v ${shapeStr(v)} is not (B=${B}, Tk=${Tk}, Hkv=${Hkv}, D=${D})`);
  const shape = {
    B, Tq, Tk, H, Hkv, D,
    scale: o.scale ?? 1 / Math.sqrt(D),
    alibiSlopes: o.alibiSlopes ?? null,
    keyMask: o.keyMask ?? null,
    segmentIds: o.segmentIds ?? null,
  };
  const k = kernels();
  const out = activation([B, Tq, H * D], name);
  const lse = allocData(B * H * Tq);
  k.attentionForward({ ...shape, out: out.data, lse, q: q.data, k: kT.data, v: v.data });
  return record(out, [q, kT, v], () => {
    if (out.grad === null) return;
    const dq = q.requiresGrad ? gradOf(q) : allocData(q.size).fill(0);
    const dk = kT.requiresGrad ? gradOf(kT) : allocData(kT.size).fill(0);
    const dv = v.requiresGrad ? gradOf(v) : allocData(v.size).fill(0);
    k.attentionBackward({ ...shape, dq, dk, dv, dout: out.grad, q: q.data, k: kT.data, v: v.data, out: out.data, lse });
  });
}

/** silu(gate) * up, elementwise. */
export function swiglu(gate: Tensor, up: Tensor, name = "swiglu"): Tensor {
  need(gate.size === up.size, () => `swiglu: gate ${shapeStr(gate)} and up ${shapeStr(up)} differ in size`);
  const k = kernels();
  const y = activation(gate.shape, name);
  k.swigluForward(y.data, gate.data, up.data, y.size);
  return record(y, [gate, up], () => {
    if (y.grad === null) return;
    const dg = gate.requiresGrad ? gradOf(gate) : allocData(gate.size).fill(0);
    const du = up.requiresGrad ? gradOf(up) : allocData(up.size).fill(0);
    k.swigluBackward(dg, du, y.grad, gate.data, up.data, y.size);
  });
}

/**
 * Per-row softmax cross-entropy of logits (..., V) against targets (one per row): returns the
 * per-row losses (rows), 0 for rows whose target is `ignoreIndex`. -loss is the token log-prob.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, ignoreIndex = IGNORE_INDEX, name = "cross_entropy"): Tensor {
  const V = logits.cols;
  const N = logits.rows;
  need(targets.length === N, () => `crossEntropy: ${targets.length} targets for ${N} rows of ${shapeStr(logits)}`);
  const k = kernels();
  const losses = activation([N], name);
  const lse = allocData(N);
  k.crossEntropyForward(losses.data, lse, logits.data, targets, N, V, ignoreIndex);
  return record(losses, [logits], () => {
    if (losses.grad) k.crossEntropyBackward(gradOf(logits), losses.grad, logits.data, lse, targets, N, V, ignoreIndex);
  });
}

/** a + b, same shapes. */
export function add(a: Tensor, b: Tensor, name = "add"): Tensor {
  need(a.size === b.size, () => `add: ${shapeStr(a)} and ${shapeStr(b)} differ in size`);
  const y = activation(a.shape, name);
  kernels().add(y.data, a.data, b.data, y.size);
  return record(y, [a, b], () => {
    const g = y.grad;
    if (g === null) return;
    // The first input may adopt y's gradient buffer outright; the second gets a copy/accumulate.
    accumulateGrad(a, g, true);
    accumulateGrad(b, g, false);
  });
}

/** a * b elementwise, same shapes. */
export function mul(a: Tensor, b: Tensor, name = "mul"): Tensor {
  need(a.size === b.size, () => `mul: ${shapeStr(a)} and ${shapeStr(b)} differ in size`);
  const k = kernels();
  const y = activation(a.shape, name);
  k.mul(y.data, a.data, b.data, y.size);
  return record(y, [a, b], () => {
    const g = y.grad;
    if (g === null) return;
    addGrad(a, (dst) => k.mul(dst, g, b.data, y.size));
    addGrad(b, (dst) => k.mul(dst, g, a.data, y.size));
  });
}

/** x * alpha. */
export function scale(x: Tensor, alpha: number, name = "scale"): Tensor {
  const k = kernels();
  const y = activation(x.shape, name);
  y.data.set(x.data);
  k.scale(y.data, alpha, y.size);
  return record(y, [x], () => {
    const g = y.grad;
    if (g === null) return;
    addGrad(x, (dst) => {
      dst.set(g);
      k.scale(dst, alpha, x.size);
    });
  });
}

/** The same data under another shape (no copy). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, d) => a * d, 1);
  need(size === x.size, () => `reshape: cannot view ${shapeStr(x)} as [${shape.join(", ")}]`);
  if (x.leaf) return x.slice(0, shape, x.name);
  const y = new Tensor(shape, x.data, { leaf: false, name: x.name });
  return record(y, [x], () => {
    if (y.grad) accumulateGrad(x, y.grad, true);
  });
}

/**
 * Σ_i w_i · x_i over all elements, as a one-element tensor (w omitted: all ones). With w = mask/count
 * this is the masked mean; DPO sums token log-probs with it. One value per element: meant for
 * per-token vectors, not for wide activations.
 */
export function sum(x: Tensor, weights: F32 | null = null, name = "sum"): Tensor {
  need(weights === null || weights.length === x.size, () => `sum: ${weights?.length} weights for ${shapeStr(x)}`);
  const k = kernels();
  const y = activation([1], name);
  y.data[0] = k.weightedSum(x.data, weights, x.size);
  return record(y, [x], () => {
    if (y.grad === null || !x.requiresGrad) return;
    k.weightedSumBackward(gradOf(x), weights, y.grad[0]!, x.size);
  });
}

/** Rows of x concatenated (all with the same width): used to join per-sequence results. */
export function concatRows(parts: readonly Tensor[], name = "concat"): Tensor {
  need(parts.length > 0, () => "concatRows: nothing to concatenate");
  const C = parts[0]!.cols;
  let rows = 0;
  for (const p of parts) {
    need(p.cols === C, () => `concatRows: ${shapeStr(p)} has width ${p.cols}, expected ${C}`);
    rows += p.rows;
  }
  const y = activation([rows, C], name);
  let off = 0;
  for (const p of parts) {
    y.data.set(p.data, off);
    off += p.size;
  }
  return record(y, parts, () => {
    const g = y.grad;
    if (g === null) return;
    let o = 0;
    for (const p of parts) {
      const slice = g.subarray(o, o + p.size);
      if (p.requiresGrad) accumulateGrad(p, slice, false);
      o += p.size;
    }
  });
}

/**
 * Split the columns of x (N, a+b+…) into contiguous tensors (N, a), (N, b), … (Baichuan's fused
 * q/k/v output). One row copy per part, no per-element JavaScript.
 */
export function splitColumns(x: Tensor, widths: readonly number[], names: readonly string[] = []): Tensor[] {
  const N = x.rows;
  const W = x.cols;
  const total = widths.reduce((a, w) => a + w, 0);
  need(total === W, () => `splitColumns: widths [${widths.join(", ")}] sum to ${total}, ${shapeStr(x)} has ${W} columns`);
  const k = kernels();
  const parts = widths.map((w, i) => activation([N, w], names[i] ?? `${x.name}.part${i}`));
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const w = widths[i]!;
    if (w > 0) k.copyBlock(parts[i]!.data, 0, w, x.data, off, W, N, w, false);
    off += w;
  }
  if (!(isRecording() && x.requiresGrad)) return parts;
  for (const p of parts) p.requiresGrad = true;
  // One backward for all parts: it runs after every consumer of every part (they come later on the tape).
  recordIf(true, parts[0]!, () => {
    // a fresh activation gradient is fully covered by the parts' columns: copy instead of zero + add
    const fresh = x.grad === null && !x.leaf && x.base === null && parts.every((p) => p.grad !== null);
    const g = fresh ? (x.grad = allocData(x.size)) : gradOf(x);
    let o = 0;
    for (let i = 0; i < parts.length; i++) {
      const w = widths[i]!;
      const pg = parts[i]!.grad;
      if (pg !== null && w > 0) k.copyBlock(g, o, W, pg, 0, w, N, w, !fresh);
      o += w;
    }
  });
  return parts;
}

/** A contiguous block of rows of x (rows [start, start+count)), sharing memory. */
export function rowSlice(x: Tensor, start: number, count: number, name = "rows"): Tensor {
  const C = x.cols;
  need(start >= 0 && count >= 0 && start + count <= x.rows, () => `rowSlice: rows [${start}, ${start + count}) outside ${shapeStr(x)}`);
  if (x.leaf) return x.slice(start * C, [count, C], name);
  const y = new Tensor([count, C], x.data.subarray(start * C, (start + count) * C), { leaf: false, name });
  return record(y, [x], () => {
    const g = y.grad;
    if (g === null) return;
    const dst = gradOf(x).subarray(start * C, (start + count) * C);
    kernels().axpy(dst, g, 1, g.length);
  });
}

/**
 * Each row of w (R, C) divided by its L2 norm (floored at 1e-12, as torch.nn.functional.normalize):
 * Baichuan2's NormHead. The gradient flows through the normalisation.
 */
export function rowNormalize(w: Tensor, name = "row_normalize"): Tensor {
  need(w.rank === 2, () => `rowNormalize: ${shapeStr(w)} must be 2-D`);
  const R = w.shape[0]!;
  const C = w.shape[1]!;
  const eps = 1e-12;
  const k = kernels();
  const y = activation(w.shape, name);
  const norms = allocData(R);
  k.rowNormalizeForward(y.data, norms, w.data, R, C, eps);
  return record(y, [w], () => {
    if (y.grad === null || !w.requiresGrad) return;
    k.rowNormalizeBackward(gradOf(w), y.grad, y.data, norms, R, C, eps);
  });
}

/**
 * Row-wise softmax over the last dimension (routers over a few experts; not for vocabulary-wide
 * rows, where crossEntropy is the fused path).
 */
export function softmax(x: Tensor, name = "softmax"): Tensor {
  const C = x.cols;
  const N = x.rows;
  const k = kernels();
  const y = activation(x.shape, name);
  k.softmaxForward(y.data, x.data, N, C);
  return record(y, [x], () => {
    if (y.grad === null || !x.requiresGrad) return;
    k.softmaxBackward(gradOf(x), y.grad, y.data, N, C);
  });
}

/** log(1 + exp(x)) elementwise, computed without overflow. */
export function softplus(x: Tensor, name = "softplus"): Tensor {
  const k = kernels();
  const y = activation(x.shape, name);
  k.softplusForward(y.data, x.data, x.size);
  return record(y, [x], () => {
    if (y.grad === null || !x.requiresGrad) return;
    k.softplusBackward(gradOf(x), y.grad, x.data, x.size);
  });
}

/** log σ(x) elementwise (the DPO sigmoid loss is -logSigmoid(β·margin)), without overflow. */
export function logSigmoid(x: Tensor, name = "log_sigmoid"): Tensor {
  const k = kernels();
  const y = activation(x.shape, name);
  k.logSigmoidForward(y.data, x.data, x.size);
  return record(y, [x], () => {
    if (y.grad === null || !x.requiresGrad) return;
    k.logSigmoidBackward(gradOf(x), y.grad, x.data, x.size);
  });
}

/** y[n, :] = s[n] · x[n, :] — per-token gate weights times an expert's output. s has one value per row. */
export function scaleRows(x: Tensor, s: Tensor, name = "scale_rows"): Tensor {
  const C = x.cols;
  const N = x.rows;
  need(s.size === N, () => `scaleRows: ${shapeStr(s)} must have one value per row of ${shapeStr(x)} (${N})`);
  const k = kernels();
  const y = activation(x.shape, name);
  k.scaleRowsForward(y.data, x.data, s.data, N, C);
  return record(y, [x, s], () => {
    if (y.grad === null) return;
    const dx = x.requiresGrad ? gradOf(x) : null;
    const ds = s.requiresGrad ? gradOf(s) : null;
    if (dx || ds) k.scaleRowsBackward(dx, ds, y.grad, x.data, s.data, N, C);
  });
}

/** Column j of x (N, C) as an (N) tensor — e.g. one expert's gate weight per token. */
export function column(x: Tensor, j: number, name = "column"): Tensor {
  const C = x.cols;
  const N = x.rows;
  need(Number.isInteger(j) && j >= 0 && j < C, () => `column: index ${j} outside the ${C} columns of ${shapeStr(x)}`);
  const k = kernels();
  const y = activation([N], name);
  k.copyBlock(y.data, 0, 1, x.data, j, C, N, 1, false);
  return record(y, [x], () => {
    if (y.grad === null || !x.requiresGrad) return;
    k.copyBlock(gradOf(x), j, C, y.grad, 0, 1, N, 1, true);
  });
}

/**
 * Copy src's data into dst at element offset `at` (KV-cache writes). Inference only: it mutates a
 * buffer that a recorded graph could be reading, so it refuses to run while recording.
 */
export function writeInto(dst: Tensor, at: number, src: Tensor): void {
  if (isRecording()) throw new ShapeError("writeInto: only allowed inside noGrad/inference (it overwrites memory in place)");
  need(at >= 0 && at + src.size <= dst.size, () => `writeInto: ${src.size} elements at ${at} do not fit in ${shapeStr(dst)}`);
  dst.data.set(src.data, at);
}
