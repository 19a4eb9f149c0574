/**
 * The kernel boundary of the engine: every heavy numeric routine the autograd ops call.
 *
 * Two implementations satisfy this interface and must agree (shared parity suite):
 *   - `reference.ts`: plain TypeScript, obvious loops; the living definition of each kernel.
 *   - `native.ts`: the N-API C++ addon (OpenBLAS sgemm + threaded element-wise loops).
 * A future GPU backend implements the same interface; model code never calls kernels directly.
 *
 * Conventions (llm.c style):
 *   - All arrays are row-major Float32Array (ids: Int32Array). Outputs come first in argument lists.
 *   - Forward kernels overwrite their outputs. Backward kernels ADD into gradient buffers
 *     (callers zero them once per step), so shared parameters accumulate naturally.
 *   - Shape glossary: B batch, T sequence, N = B*T rows, C model width, H query heads,
 *     Hkv key/value heads (H % Hkv == 0), D head dim, V vocabulary, Tq/Tk query/key lengths.
 *   - Offsets are element offsets into the arrays, so a kernel can work on a slice of a larger
 *     allocation without copying.
 */

export type F32 = Float32Array;

export interface GemmArgs {
  /** op(A) is (M,K): A is stored (M,K) with lda >= K, or (K,M) with lda >= M when transA. */
  transA: boolean;
  /** op(B) is (K,N): B is stored (K,N) with ldb >= N, or (N,K) with ldb >= K when transB. */
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  A: F32;
  aOffset?: number;
  lda: number;
  B: F32;
  bOffset?: number;
  ldb: number;
  /** C = alpha*op(A)*op(B) + beta*C; C is (M,N) with ldc >= N. beta = 0 ignores C's old content (even NaN). */
  beta: number;
  C: F32;
  cOffset?: number;
  ldc: number;
}

export interface BatchedGemmArgs extends GemmArgs {
  batch: number;
  /** element strides between consecutive matrices of the batch */
  strideA: number;
  strideB: number;
  strideC: number;
}

export interface AttentionShape {
  B: number;
  /** query positions in this call */
  Tq: number;
  /** key/value positions; Tk >= Tq. Query i (0-based in this call) sees keys j <= i + (Tk - Tq) (causal). */
  Tk: number;
  H: number;
  Hkv: number;
  D: number;
  /** score scale, usually 1/sqrt(D) */
  scale: number;
  /** ALiBi slopes (H): score[i][j] += slope[h] * (j - (i + Tk - Tq)). null: no bias. */
  alibiSlopes: F32 | null;
  /**
   * Key padding mask (B,Tk): 1 = real token, 0 = padding (never attended to). null: all real.
   * A query row with no visible key outputs zeros and gets zero gradient.
   */
  keyMask: Uint8Array | null;
  /**
   * Segment (document) id of each key position (B,Tk), or null/absent for one segment per sequence.
   * Query i has the segment of key position i + (Tk - Tq) and sees only keys of the same segment:
   * block-diagonal causal attention over documents packed into one block.
   */
  segmentIds?: Int32Array | null;
}

export interface AttentionForwardArgs extends AttentionShape {
  /** (B,Tq,H,D) */
  out: F32;
  /** (B,H,Tq) log-sum-exp of each scaled, biased, masked score row; saved for backward (-Infinity for empty rows). */
  lse: F32;
  /** (B,Tq,H,D) */
  q: F32;
  /** (B,Tk,Hkv,D) */
  k: F32;
  /** (B,Tk,Hkv,D) */
  v: F32;
}

export interface AttentionBackwardArgs extends AttentionShape {
  /** (B,Tq,H,D), added into */
  dq: F32;
  /** (B,Tk,Hkv,D), added into (query heads sharing a kv head accumulate) */
  dk: F32;
  /** (B,Tk,Hkv,D), added into */
  dv: F32;
  /** (B,Tq,H,D) */
  dout: F32;
  q: F32;
  k: F32;
  v: F32;
  /** the forward output (B,Tq,H,D) and lse (B,H,Tq) */
  out: F32;
  lse: F32;
}

export interface AdamWArgs {
  param: F32;
  grad: F32;
  /** first and second moment buffers, same length as param */
  m: F32;
  v: F32;
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** decoupled: param -= lr * weightDecay * param (applied before the Adam update, as torch.optim.AdamW) */
  weightDecay: number;
  /** 1-based step count, for bias correction */
  step: number;
  /** multiply grad by this first (gradient clipping / accumulation averaging); default 1 */
  gradScale?: number;
}

export interface Kernels {
  readonly name: string;

  /**
   * A memory hint, not math: back a freshly allocated buffer with 2 MiB pages where the OS allows (weights
   * that decode steps stream every token). Effective for pages not yet touched, so call it before filling
   * the buffer. Returns the bytes advised; 0 = nothing done (the reference cannot ask the OS).
   */
  adviseHugePages(buf: Float32Array | Int8Array | Uint16Array): number;

  gemm(a: GemmArgs): void;
  gemmBatched(a: BatchedGemmArgs): void;

  /** out (N,C) = table[ids[n]] ; table (V,C). Throws RangeError on an id outside [0,V). */
  embeddingForward(out: F32, table: F32, ids: Int32Array, C: number): void;
  /** dtable[ids[n]] += dout[n] */
  embeddingBackward(dtable: F32, dout: F32, ids: Int32Array, C: number): void;

  /** out = inp * rstd * weight, rstd (N) = 1/sqrt(mean(inp^2) + eps); inp, out (N,C) */
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void;
  /** dinp += ..., dweight += ... */
  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void;

  /**
   * Rotary embedding in place, Hugging Face rotate-half convention: for i < D/2,
   * x'[i] = x[i]*cos - x[i+D/2]*sin, x'[i+D/2] = x[i+D/2]*cos + x[i]*sin, angle = pos * theta^(-2i/D).
   * x (B,T,Hx,D); cos, sin (maxPos, D/2) tables; positions (B*T) absolute position of each token.
   */
  ropeForward(x: F32, cos: F32, sin: F32, positions: Int32Array, B: number, T: number, Hx: number, D: number): void;
  /** In place inverse rotation of a gradient (the transpose of ropeForward). */
  ropeBackward(dx: F32, cos: F32, sin: F32, positions: Int32Array, B: number, T: number, Hx: number, D: number): void;

  attentionForward(a: AttentionForwardArgs): void;
  attentionBackward(a: AttentionBackwardArgs): void;

  /** out = silu(gate) * up, n elements */
  swigluForward(out: F32, gate: F32, up: F32, n: number): void;
  /** dgate += ..., dup += ... */
  swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, n: number): void;

  /**
   * Per-row softmax cross-entropy: losses[n] = lse[n] - logits[n, targets[n]] (so -losses[n] is the
   * token log-prob); rows whose target equals ignoreIndex get loss 0 (lse still written).
   * Throws RangeError on a target outside [0,V) that is not ignoreIndex.
   */
  crossEntropyForward(losses: F32, lse: F32, logits: F32, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;
  /** dlogits[n] += dlosses[n] * (softmax(logits[n]) - onehot(targets[n])); ignored rows add nothing. */
  crossEntropyBackward(dlogits: F32, dlosses: F32, logits: F32, lse: F32, targets: Int32Array, N: number, V: number, ignoreIndex: number): void;

  /** out = a + b */
  add(out: F32, a: F32, b: F32, n: number): void;
  /** out = a * b */
  mul(out: F32, a: F32, b: F32, n: number): void;
  /** y += alpha * x */
  axpy(y: F32, x: F32, alpha: number, n: number): void;
  /** x *= alpha */
  scale(x: F32, alpha: number, n: number): void;
  /** sum of squares in double precision (gradient norms) */
  sumSquares(x: F32, n: number): number;

  adamw(a: AdamWArgs): void;

  // ---- narrow row-wise ops (routers, preference losses, fused-projection splits, NormHead) ----------

  /** out (N,C) = softmax of each row of inp (N,C). */
  softmaxForward(out: F32, inp: F32, N: number, C: number): void;
  /** dinp += out ⊙ (dout - Σ_c dout·out), row by row; out is the forward result. */
  softmaxBackward(dinp: F32, dout: F32, out: F32, N: number, C: number): void;

  /** out = log(1 + exp(inp)), n elements, without overflow. */
  softplusForward(out: F32, inp: F32, n: number): void;
  /** dinp += dout · σ(inp) */
  softplusBackward(dinp: F32, dout: F32, inp: F32, n: number): void;

  /** out = log σ(inp), n elements, without overflow. */
  logSigmoidForward(out: F32, inp: F32, n: number): void;
  /** dinp += dout · σ(-inp) */
  logSigmoidBackward(dinp: F32, dout: F32, inp: F32, n: number): void;

  /**
   * Σ_i w_i · x_i over n elements (weights null: all ones), accumulated in double. The native result
   * is the same for any thread count.
   */
  weightedSum(x: F32, weights: F32 | null, n: number): number;
  /** dinp += g · w (weights null: dinp += g) */
  weightedSumBackward(dinp: F32, weights: F32 | null, g: number, n: number): void;

  /** out[r, :] = s[r] · inp[r, :], inp and out (N,C), s (N). */
  scaleRowsForward(out: F32, inp: F32, s: F32, N: number, C: number): void;
  /** dinp[r, :] += s[r] · dout[r, :] and ds[r] += dout[r, :] · inp[r, :]; either target may be null (not needed). */
  scaleRowsBackward(dinp: F32 | null, ds: F32 | null, dout: F32, inp: F32, s: F32, N: number, C: number): void;

  /**
   * Strided block copy, rows × cols: dst[dOffset + r·ldd + c] = src[sOffset + r·lds + c] (accumulate:
   * +=). Column picks, column splits and their gradients; the two blocks must not overlap.
   */
  copyBlock(dst: F32, dOffset: number, ldd: number, src: F32, sOffset: number, lds: number, rows: number, cols: number, accumulate: boolean): void;

  /**
   * Each row of inp (R,C) divided by its L2 norm floored at eps (torch.nn.functional.normalize);
   * norms (R) = f32(max(‖row‖, eps)), saved for backward.
   */
  rowNormalizeForward(out: F32, norms: F32, inp: F32, R: number, C: number, eps: number): void;
  /**
   * dinp += (dout - out·(out·dout)) / norm per row; a row whose norm was floored (norms[r] <= f32(eps))
   * is the linear map inp/eps and gets dout / eps.
   */
  rowNormalizeBackward(dinp: F32, dout: F32, out: F32, norms: F32, R: number, C: number, eps: number): void;

  // ---- weight-only quantised inference (forward only) -------------------------------------------------

  /**
   * q8_0: each row of w (rows, cols), cols a multiple of 32, in blocks of 32 values: scale d = amax/127
   * (f32; llama.cpp's q8_0 keeps it in f16), q = round-half-away(w/d) in [-127, 127]; d = 0 for an
   * all-zero block. q (rows·cols) int8, scales (rows·cols/32).
   */
  quantizeQ8(q: Int8Array, scales: F32, w: F32, rows: number, cols: number): void;
  /** bf16: the upper 16 bits of each f32 after round-to-nearest-even (NaN stays a quiet NaN). */
  quantizeBf16(out: Uint16Array, w: F32, n: number): void;
  /**
   * Activation rows to q8_0 as llama.cpp's CPU backend quantises them before a q8_0 product (ggml's x86
   * `quantize_row_q8_0`): per block of 32, amax = max |x|, id = f32(127/amax) (0 when amax is 0),
   * q = round-half-to-even(f32(x·id)), d = f32(amax/127) kept in f32 (ggml rounds it to f16). A block with a
   * NaN or an infinity gets d = NaN and q = 0. x (rows, cols), cols a multiple of 32.
   */
  quantizeActivationsQ8(q: Int8Array, scales: F32, x: F32, rows: number, cols: number): void;
  /**
   * y (M,N) = x (M,K) · Wᵀ with W (N,K) held as q8_0 (q, scales); overwrites y. x is quantised by
   * `quantizeActivationsQ8` first (as llama.cpp does), so y[m,n] = Σ_blocks f32(dw·dx) · Σ_32 qw·qx: exact
   * integer block sums, the error being the activations' q8_0 rounding.
   */
  matmulQ8(y: F32, x: F32, q: Int8Array, scales: F32, M: number, N: number, K: number): void;
  /** y (M,N) = x (M,K) · Wᵀ with W (N,K) held as bf16; overwrites y. */
  matmulBf16(y: F32, x: F32, w: Uint16Array, M: number, N: number, K: number): void;
}
