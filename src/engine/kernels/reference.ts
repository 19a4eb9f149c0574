/**
 * Reference kernels: plain TypeScript loops, the living definition of every kernel in kernels.ts.
 *
 * Written for clarity, not speed: each method is the obvious loop nest of its formula, with
 * dot products and reductions accumulated in double precision. The native addon must agree with
 * these (src/engine/kernels/parity.test.ts), and these agree with PyTorch 1.13 on golden fixtures
 * (reference.test.ts). Used as the fallback when the addon is not built. Not a place for tricks:
 * speed belongs in native/. Argument checking is not done here: the exported `referenceKernels` is
 * this implementation behind the shared validation layer (validate.ts).
 */
import type {
  AdamWArgs,
  AttentionBackwardArgs,
  AttentionForwardArgs,
  AttentionShape,
  BatchedGemmArgs,
  F32,
  GemmArgs,
  Kernels,
} from "./kernels.js";
import { validated } from "./validate.js";

/** C = alpha*op(A)*op(B) + beta*C for one matrix; arguments already validated. */
function gemmOne(a: GemmArgs, ao: number, bo: number, co: number): void {
  const { M, N, K, A, B, C, lda, ldb, ldc, alpha, beta, transA, transB } = a;
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    // Loop orders chosen so the innermost loop walks memory contiguously; sums are in double.
    if (transB) {
      // op(B)[k][j] = B[j][k]: each C entry is a dot product of two contiguous rows (A row unless transA)
      for (let j = 0; j < N; j++) {
        const bRow = bo + j * ldb;
        let dot = 0;
        if (transA) for (let k = 0; k < K; k++) dot += A[ao + k * lda + i]! * B[bRow + k]!;
        else for (let k = 0, aRow = ao + i * lda; k < K; k++) dot += A[aRow + k]! * B[bRow + k]!;
        acc[j] = dot;
      }
    } else {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = transA ? A[ao + k * lda + i]! : A[ao + i * lda + k]!;
        const bRow = bo + k * ldb;
        for (let j = 0; j < N; j++) acc[j]! += aik * B[bRow + j]!;
      }
    }
    const row = co + i * ldc;
    for (let j = 0; j < N; j++) {
      // beta = 0 must ignore C entirely (it may hold NaN from an uninitialised buffer).
      C[row + j] = beta === 0 ? alpha * acc[j]! : alpha * acc[j]! + beta * C[row + j]!;
    }
  }
}

/** Head-major views: index of (b, t, head, 0) in a (B, T, heads, D) array. */
function at(b: number, t: number, h: number, T: number, heads: number, D: number): number {
  return ((b * T + t) * heads + h) * D;
}

/** Scaled, ALiBi-biased, masked scores of one query row; -Infinity where not visible. */
function scoreRow(s: Float64Array, a: AttentionShape, q: F32, k: F32, b: number, i: number, h: number): void {
  const { Tq, Tk, H, Hkv, D, scale, alibiSlopes, keyMask } = a;
  const seg = a.segmentIds ?? null;
  const kh = Math.floor(h / (H / Hkv));
  const qi = at(b, i, h, Tq, H, D);
  const last = i + (Tk - Tq); // causal: the last key this query may see
  const slope = alibiSlopes ? alibiSlopes[h]! : 0;
  const qSeg = seg ? seg[b * Tk + last]! : 0;
  for (let j = 0; j < Tk; j++) {
    if (j > last || (keyMask !== null && keyMask[b * Tk + j] === 0) || (seg !== null && seg[b * Tk + j] !== qSeg)) {
      s[j] = -Infinity;
      continue;
    }
    const kj = at(b, j, kh, Tk, Hkv, D);
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qi + d]! * k[kj + d]!;
    s[j] = scale * dot + slope * (j - last);
  }
}

const bf16View = new DataView(new ArrayBuffer(4));

/** f32 → bf16 bits, round to nearest even; NaN → quiet NaN. */
function toBf16(v: number): number {
  bf16View.setFloat32(0, v, true);
  const u = bf16View.getUint32(0, true);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits → the f32 value they denote. */
function fromBf16(h: number): number {
  bf16View.setUint32(0, h << 16, true);
  return bf16View.getFloat32(0, true);
}

/** The loops themselves; they trust their arguments (see `referenceKernels` below). */
const unchecked: Kernels = {
  name: "reference",

  adviseHugePages() {
    return 0;
  },

  gemm(a) {
    gemmOne(a, a.aOffset ?? 0, a.bOffset ?? 0, a.cOffset ?? 0);
  },

  gemmBatched(a: BatchedGemmArgs) {
    for (let p = 0; p < a.batch; p++) {
      gemmOne(a, (a.aOffset ?? 0) + p * a.strideA, (a.bOffset ?? 0) + p * a.strideB, (a.cOffset ?? 0) + p * a.strideC);
    }
  },

  embeddingForward(out, table, ids, C) {
    const V = Math.floor(table.length / C);
    const N = ids.length;
    for (let n = 0; n < N; n++) {
      const src = ids[n]! * C;
      for (let c = 0; c < C; c++) out[n * C + c] = table[src + c]!;
    }
  },

  embeddingBackward(dtable, dout, ids, C) {
    const V = Math.floor(dtable.length / C);
    const N = ids.length;
    for (let n = 0; n < N; n++) {
      const dst = ids[n]! * C;
      for (let c = 0; c < C; c++) dtable[dst + c]! += dout[n * C + c]!;
    }
  },

  rmsnormForward(out, rstd, inp, weight, N, C, eps) {
    for (let n = 0; n < N; n++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += inp[n * C + c]! * inp[n * C + c]!;
      // Round rstd to f32 first, as the saved value is what backward sees.
      const r = Math.fround(1 / Math.sqrt(ss / C + eps));
      rstd[n] = r;
      for (let c = 0; c < C; c++) out[n * C + c] = inp[n * C + c]! * r * weight[c]!;
    }
  },

  rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C) {
    for (let n = 0; n < N; n++) {
      const r = rstd[n]!;
      // y_c = x_c r w_c, r = (mean x^2 + eps)^(-1/2)  =>  dx_c = r w_c g_c - x_c r^3 / C * sum_j g_j w_j x_j
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dout[n * C + c]! * weight[c]! * inp[n * C + c]!;
      const k = (r * r * r * dot) / C;
      for (let c = 0; c < C; c++) {
        const g = dout[n * C + c]!;
        const x = inp[n * C + c]!;
        dinp[n * C + c]! += r * weight[c]! * g - x * k;
        dweight[c]! += g * x * r;
      }
    }
  },

  ropeForward(x, cos, sin, positions, B, T, Hx, D) {
    const half = D / 2;
    for (let bt = 0; bt < B * T; bt++) {
      const p = positions[bt]! * half;
      for (let h = 0; h < Hx; h++) {
        const base = (bt * Hx + h) * D;
        for (let i = 0; i < half; i++) {
          const c = cos[p + i]!;
          const s = sin[p + i]!;
          const x1 = x[base + i]!;
          const x2 = x[base + i + half]!;
          x[base + i] = x1 * c - x2 * s;
          x[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  },

  ropeBackward(dx, cos, sin, positions, B, T, Hx, D) {
    const half = D / 2;
    for (let bt = 0; bt < B * T; bt++) {
      const p = positions[bt]! * half;
      for (let h = 0; h < Hx; h++) {
        const base = (bt * Hx + h) * D;
        for (let i = 0; i < half; i++) {
          const c = cos[p + i]!;
          const s = sin[p + i]!;
          const g1 = dx[base + i]!;
          const g2 = dx[base + i + half]!;
          // transpose of the 2x2 rotation [[c, -s], [s, c]]
          dx[base + i] = g1 * c + g2 * s;
          dx[base + i + half] = g2 * c - g1 * s;
        }
      }
    }
  },

  attentionForward(a: AttentionForwardArgs) {
    const { B, Tq, Tk, H, Hkv, D, out, lse, q, v } = a;
    const s = new Float64Array(Tk);
    const o = new Float64Array(D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / Hkv));
        for (let i = 0; i < Tq; i++) {
          scoreRow(s, a, q, a.k, b, i, h);
          let mx = -Infinity;
          let nan = false;
          for (let j = 0; j < Tk; j++) {
            if (s[j]! > mx) mx = s[j]!;
            if (Number.isNaN(s[j])) nan = true;
          }
          const oi = at(b, i, h, Tq, H, D);
          if (nan) {
            // a NaN score (NaN in q or k) must show in the output, not vanish into an "empty row"
            for (let d = 0; d < D; d++) out[oi + d] = NaN;
            lse[(b * H + h) * Tq + i] = NaN;
            continue;
          }
          if (mx === -Infinity) {
            // no visible key (all padding): zeros out, lse = -Infinity, zero gradient in backward
            for (let d = 0; d < D; d++) out[oi + d] = 0;
            lse[(b * H + h) * Tq + i] = -Infinity;
            continue;
          }
          let sum = 0;
          for (let j = 0; j < Tk; j++) sum += Math.exp(s[j]! - mx);
          const l = mx + Math.log(sum);
          lse[(b * H + h) * Tq + i] = l;
          o.fill(0);
          for (let j = 0; j < Tk; j++) {
            if (s[j] === -Infinity) continue;
            const p = Math.exp(s[j]! - l);
            const vj = at(b, j, kh, Tk, Hkv, D);
            for (let d = 0; d < D; d++) o[d]! += p * v[vj + d]!;
          }
          for (let d = 0; d < D; d++) out[oi + d] = o[d]!;
        }
      }
    }
  },

  attentionBackward(a: AttentionBackwardArgs) {
    const { B, Tq, Tk, H, Hkv, D, scale, q, k, v, out, lse, dout, dq, dk, dv } = a;
    const s = new Float64Array(Tk);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / Hkv));
        for (let i = 0; i < Tq; i++) {
          const l = lse[(b * H + h) * Tq + i]!;
          if (l === -Infinity) continue; // empty row: zero gradient
          scoreRow(s, a, q, k, b, i, h);
          const qi = at(b, i, h, Tq, H, D);
          // Di = sum_j P_ij dP_ij = dout_i . out_i
          let Di = 0;
          for (let d = 0; d < D; d++) Di += dout[qi + d]! * out[qi + d]!;
          for (let j = 0; j < Tk; j++) {
            if (s[j] === -Infinity) continue;
            const p = Math.exp(s[j]! - l); // probabilities recomputed from the saved lse
            const kj = at(b, j, kh, Tk, Hkv, D);
            let dp = 0;
            for (let d = 0; d < D; d++) dp += dout[qi + d]! * v[kj + d]!;
            const ds = p * (dp - Di) * scale;
            for (let d = 0; d < D; d++) {
              dv[kj + d]! += p * dout[qi + d]!;
              dq[qi + d]! += ds * k[kj + d]!;
              dk[kj + d]! += ds * q[qi + d]!;
            }
          }
        }
      }
    }
  },

  swigluForward(out, gate, up, n) {
    for (let i = 0; i < n; i++) {
      const g = gate[i]!;
      out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
    }
  },

  swigluBackward(dgate, dup, dout, gate, up, n) {
    for (let i = 0; i < n; i++) {
      const g = gate[i]!;
      const sig = 1 / (1 + Math.exp(-g));
      const silu = g * sig;
      // d silu/dg = sig * (1 + g * (1 - sig))
      dgate[i]! += dout[i]! * up[i]! * sig * (1 + g * (1 - sig));
      dup[i]! += dout[i]! * silu;
    }
  },

  crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex) {
    for (let n = 0; n < N; n++) {
      const row = n * V;
      let mx = -Infinity;
      for (let j = 0; j < V; j++) if (logits[row + j]! > mx) mx = logits[row + j]!;
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[row + j]! - mx);
      const l = mx + Math.log(sum);
      lse[n] = l;
      const t = targets[n]!;
      losses[n] = t === ignoreIndex ? 0 : l - logits[row + t]!;
    }
  },

  crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex) {
    for (let n = 0; n < N; n++) {
      const t = targets[n]!;
      if (t === ignoreIndex) continue;
      const row = n * V;
      const g = dlosses[n]!;
      const l = lse[n]!;
      for (let j = 0; j < V; j++) {
        const p = Math.exp(logits[row + j]! - l);
        dlogits[row + j]! += g * (j === t ? p - 1 : p);
      }
    }
  },

  add(out, a, b, n) {
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  },

  mul(out, a, b, n) {
    for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
  },

  axpy(y, x, alpha, n) {
    for (let i = 0; i < n; i++) y[i]! += alpha * x[i]!;
  },

  scale(x, alpha, n) {
    for (let i = 0; i < n; i++) x[i]! *= alpha;
  },

  sumSquares(x, n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i]! * x[i]!;
    return s;
  },

  adamw(a: AdamWArgs) {
    const { param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step } = a;
    const gs = a.gradScale ?? 1;
    // torch.optim.AdamW (single-tensor path): decay, moments, then
    // param -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2sqrt = Math.sqrt(1 - Math.pow(beta2, step));
    const stepSize = lr / bc1;
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < n; i++) {
      const g = grad[i]! * gs;
      // m and v are stored as f32 before use, as torch's in-place updates do
      m[i] = beta1 * m[i]! + (1 - beta1) * g;
      v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
      const p = Math.fround(param[i]! * decay);
      param[i] = p - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2sqrt + eps);
    }
  },

  softmaxForward(out, inp, N, C) {
    for (let r = 0; r < N; r++) {
      const o = r * C;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, inp[o + c]!);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(inp[o + c]! - mx);
      for (let c = 0; c < C; c++) out[o + c] = Math.exp(inp[o + c]! - mx) / s;
    }
  },

  softmaxBackward(dinp, dout, out, N, C) {
    for (let r = 0; r < N; r++) {
      const o = r * C;
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dout[o + c]! * out[o + c]!;
      for (let c = 0; c < C; c++) dinp[o + c]! += out[o + c]! * (dout[o + c]! - dot);
    }
  },

  softplusForward(out, inp, n) {
    for (let i = 0; i < n; i++) {
      const v = inp[i]!;
      out[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    }
  },

  softplusBackward(dinp, dout, inp, n) {
    for (let i = 0; i < n; i++) dinp[i]! += dout[i]! / (1 + Math.exp(-inp[i]!));
  },

  logSigmoidForward(out, inp, n) {
    for (let i = 0; i < n; i++) {
      const v = inp[i]!;
      out[i] = Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v)));
    }
  },

  logSigmoidBackward(dinp, dout, inp, n) {
    // d/dx log σ(x) = σ(-x)
    for (let i = 0; i < n; i++) dinp[i]! += dout[i]! / (1 + Math.exp(inp[i]!));
  },

  weightedSum(x, weights, n) {
    let s = 0;
    if (weights) for (let i = 0; i < n; i++) s += weights[i]! * x[i]!;
    else for (let i = 0; i < n; i++) s += x[i]!;
    return s;
  },

  weightedSumBackward(dinp, weights, g, n) {
    if (weights) for (let i = 0; i < n; i++) dinp[i]! += g * weights[i]!;
    else for (let i = 0; i < n; i++) dinp[i]! += g;
  },

  scaleRowsForward(out, inp, s, N, C) {
    for (let r = 0; r < N; r++) for (let c = 0; c < C; c++) out[r * C + c] = inp[r * C + c]! * s[r]!;
  },

  scaleRowsBackward(dinp, ds, dout, inp, s, N, C) {
    for (let r = 0; r < N; r++) {
      let dot = 0;
      for (let c = 0; c < C; c++) {
        if (dinp) dinp[r * C + c]! += dout[r * C + c]! * s[r]!;
        dot += dout[r * C + c]! * inp[r * C + c]!;
      }
      if (ds) ds[r]! += dot;
    }
  },

  copyBlock(dst, dOffset, ldd, src, sOffset, lds, rows, cols, accumulate) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = src[sOffset + r * lds + c]!;
        if (accumulate) dst[dOffset + r * ldd + c]! += v;
        else dst[dOffset + r * ldd + c] = v;
      }
    }
  },

  rowNormalizeForward(out, norms, inp, R, C, eps) {
    for (let r = 0; r < R; r++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += inp[r * C + c]! * inp[r * C + c]!;
      // the saved f32 norm is what both the division and backward use
      const n = Math.fround(Math.max(Math.sqrt(ss), eps));
      norms[r] = n;
      for (let c = 0; c < C; c++) out[r * C + c] = inp[r * C + c]! / n;
    }
  },

  rowNormalizeBackward(dinp, dout, out, norms, R, C, eps) {
    const floor = Math.fround(eps);
    for (let r = 0; r < R; r++) {
      const n = norms[r]!;
      if (n <= floor) {
        // below the floor the map is inp/eps: linear, no projection
        for (let c = 0; c < C; c++) dinp[r * C + c]! += dout[r * C + c]! / n;
        continue;
      }
      let dot = 0;
      for (let c = 0; c < C; c++) dot += out[r * C + c]! * dout[r * C + c]!;
      for (let c = 0; c < C; c++) dinp[r * C + c]! += (dout[r * C + c]! - out[r * C + c]! * dot) / n;
    }
  },

  quantizeQ8(q, scales, w, rows, cols) {
    const blocks = (rows * cols) / 32;
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[b * 32 + j]!));
      // every step in f32, as the native kernel computes it, so both give the same integers
      const d = Math.fround(amax / 127);
      const id = d === 0 ? 0 : Math.fround(1 / d);
      scales[b] = d;
      for (let j = 0; j < 32; j++) {
        const v = Math.fround(w[b * 32 + j]! * id);
        q[b * 32 + j] = Math.sign(v) * Math.round(Math.abs(v)); // round half away from zero (C roundf)
      }
    }
  },

  quantizeBf16(out, w, n) {
    for (let i = 0; i < n; i++) out[i] = toBf16(w[i]!);
  },

  quantizeActivationsQ8(q, scales, x, rows, cols) {
    const blocks = (rows * cols) / 32;
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      let finite = true;
      for (let j = 0; j < 32; j++) {
        const a = Math.abs(x[b * 32 + j]!);
        if (!(a <= 3.4028234663852886e38)) finite = false;
        else if (a > amax) amax = a;
      }
      if (!finite) {
        scales[b] = NaN;
        q.fill(0, b * 32, b * 32 + 32);
        continue;
      }
      // every step in f32, as ggml's x86 code computes it, so both give the same integers
      const id = amax === 0 ? 0 : Math.fround(127 / amax);
      scales[b] = Math.fround(amax / 127);
      for (let j = 0; j < 32; j++) {
        const v = Math.fround(x[b * 32 + j]! * id);
        let r = Math.round(v); // ties toward +inf; a tie at an odd integer goes back to the even one
        if (r - v === 0.5 && (r & 1) !== 0) r -= 1;
        q[b * 32 + j] = r;
      }
    }
  },

  matmulQ8(y, x, q, scales, M, N, K) {
    const nb = K / 32;
    const qx = new Int8Array(M * K);
    const dx = new Float32Array(M * nb);
    unchecked.quantizeActivationsQ8(qx, dx, x, M, K);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let dot = 0;
        for (let b = 0; b < nb; b++) {
          let s = 0;
          for (let j = 0; j < 32; j++) s += q[n * K + b * 32 + j]! * qx[m * K + b * 32 + j]!;
          dot += Math.fround(scales[n * nb + b]! * dx[m * nb + b]!) * s;
        }
        y[m * N + n] = dot;
      }
    }
  },

  matmulBf16(y, x, w, M, N, K) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += x[m * K + k]! * fromBf16(w[n * K + k]!);
        y[m * N + n] = dot;
      }
    }
  },
};

/** The reference kernels, every call argument-checked first. */
export const referenceKernels: Kernels = validated(unchecked);
