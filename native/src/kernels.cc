// C++ kernels of the pedgpt engine (see kernels.h). Matrix products go to OpenBLAS (cblas_sgemm, or
// cblas_sgemv for one to four rows), except products with quantised (q8_0 / bf16) weights, which are
// our own AVX2 dot products for a few rows and sgemm on dequantised panels for more; everything else is
// a simple loop over rows or elements, split across the addon's thread pool.
//
// Thread ownership: g_threads is the single thread count. OpenBLAS runs at g_threads when a product is
// issued from the JavaScript thread; inside a pool job (attention over heads, small batched products)
// OpenBLAS is switched to one thread for the duration so the two never oversubscribe the cores.
#include "kernels.h"

#include <cblas.h>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "pool.h"

extern "C" {
// Declared here too, so the build does not depend on which cblas.h variant is installed.
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}

namespace pedgpt {

namespace {

int g_threads = 1;
const float kNegInf = -std::numeric_limits<float>::infinity();

// RAII: OpenBLAS single-threaded while our own pool is running products in parallel.
struct BlasSingleThread {
  BlasSingleThread() {
    if (g_threads > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (g_threads > 1) openblas_set_num_threads(g_threads);
  }
};

// exp(x) for float, Cephes-style range reduction plus a degree-6 polynomial (about 1 ulp), written
// branch-free so that loops over it vectorise; libm's expf does not without -ffast-math.
inline float fastExp(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);  // NaN passes through both comparisons
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest integer (1.5 * 2^23 trick)
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return y * s;
}

// Largest element of x[0, n) (-inf when n == 0). GCC vectorises neither a max reduction nor a
// compare-and-select loop without -ffast-math, so with AVX this is two vmaxps lanes by hand. A NaN in x
// may be skipped here; it still reaches the result through the exp-sum that follows every use.
inline float rowMax(const float* x, int64_t n) {
  float r = kNegInf;
  int64_t j = 0;
#if defined(__AVX__)
  __m256 m0 = _mm256_set1_ps(kNegInf), m1 = m0;
  for (; j + 16 <= n; j += 16) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
  for (float v : lanes) r = v > r ? v : r;
#endif
  for (; j < n; j++) r = x[j] > r ? x[j] : r;
  return r;
}

inline CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

constexpr int kGemvRows = 4;

#if defined(__AVX2__) && defined(__FMA__)
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// dots[t] = a row t . b for R rows of A (stride lda) and one row b, length K. Four 8-lane accumulators per row
// of A (8-float chunk c feeds accumulator c % 4), then the K % 8 tail in order: a value does not depend on R,
// nor on how the 32-aligned part [0, K - K % 32) is cut into ranges (dotRangeF32 calls in k order).
// One row of B at a time keeps the weights a single sequential stream, which measured 5-15% faster than four
// interleaved rows once the weights come from memory (as a decode step's do).
template <int R>
struct DotF32 {
  __m256 acc[R][4];
  void init() {
    for (int t = 0; t < R; t++)
      for (int j = 0; j < 4; j++) acc[t][j] = _mm256_setzero_ps();
  }
  // k0, k1 multiples of 32
  void range(const float* a, int lda, const float* b, int k0, int k1) {
    for (int k = k0; k < k1; k += 32) {
      for (int j = 0; j < 4; j++) {
        const __m256 w = _mm256_loadu_ps(b + k + 8 * j);
        for (int t = 0; t < R; t++) acc[t][j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(a + (int64_t)t * lda + k + 8 * j), acc[t][j]);
      }
    }
  }
  void finish(float* dots, const float* a, int lda, const float* b, int K) {
    int k = K - K % 32;
    for (int j = 0; k + 8 <= K; k += 8, j++) {
      const __m256 w = _mm256_loadu_ps(b + k);
      for (int t = 0; t < R; t++) acc[t][j] = _mm256_fmadd_ps(w, _mm256_loadu_ps(a + (int64_t)t * lda + k), acc[t][j]);
    }
    for (int t = 0; t < R; t++) {
      float s = hsum8(_mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][1]), _mm256_add_ps(acc[t][2], acc[t][3])));
      for (int j = k; j < K; j++) s += a[(int64_t)t * lda + j] * b[j];
      dots[t] = s;
    }
  }
};

// Rows [n0, n1) of B against R rows of A, results to C (alpha, beta). A long K (x no longer fits in L1 beside
// the weight stream) is cut into kSpan pieces, each run over up to kGroup weight rows before the next, so x
// is read from L1 once per group instead of once per row; the per-row order of operations is unchanged.
template <int R>
void gemvRowsF32(int n0, int n1, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                 float* C, int ldc) {
  constexpr int kSpan = 2048, kGroup = 8;
  const int K32 = K - K % 32;
  float dots[R];
  auto store = [&](int n) {
    for (int t = 0; t < R; t++) {
      float* c = C + (int64_t)t * ldc + n;
      *c = beta == 0.0f ? alpha * dots[t] : alpha * dots[t] + beta * *c;
    }
  };
  if (K32 <= kSpan) {
    for (int n = n0; n < n1; n++) {
      DotF32<R> d;
      d.init();
      d.range(A, lda, B + (int64_t)n * ldb, 0, K32);
      d.finish(dots, A, lda, B + (int64_t)n * ldb, K);
      store(n);
    }
    return;
  }
  DotF32<R> g[kGroup];
  for (int g0 = n0; g0 < n1; g0 += kGroup) {
    const int rows = std::min(kGroup, n1 - g0);
    for (int r = 0; r < rows; r++) g[r].init();
    for (int k0 = 0; k0 < K32; k0 += kSpan)
      for (int r = 0; r < rows; r++) g[r].range(A, lda, B + (int64_t)(g0 + r) * ldb, k0, std::min(K32, k0 + kSpan));
    for (int r = 0; r < rows; r++) {
      g[r].finish(dots, A, lda, B + (int64_t)(g0 + r) * ldb, K);
      store(g0 + r);
    }
  }
}

// C (M, N) = alpha A Bᵀ + beta C for a few rows of A and B stored (N, K), the nn.Linear layout of every
// decode step: weight rows split across the pool, each streamed once for all rows of A (OpenBLAS's sgemv
// streams B once per row of A). Bit-identical for any thread count, since every output is one dot product
// computed the same way whatever the split.
void gemvNT(int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
            int ldc) {
  parallelFor(N, 16, [&](int64_t b, int64_t e) {
    if (M == 1) gemvRowsF32<1>((int)b, (int)e, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (M == 2) gemvRowsF32<2>((int)b, (int)e, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else {
      // more rows of x than one tile: all tiles per weight row while it is in L1, so B is streamed once
      for (int n = (int)b; n < (int)e; n++) {
        for (int m0 = 0; m0 < M; m0 += 2) {
          const float* a = A + (int64_t)m0 * lda;
          float* c = C + (int64_t)m0 * ldc;
          if (M - m0 >= 2) gemvRowsF32<2>(n, n + 1, K, alpha, a, lda, B, ldb, beta, c, ldc);
          else gemvRowsF32<1>(n, n + 1, K, alpha, a, lda, B, ldb, beta, c, ldc);
        }
      }
    }
  });
}
#endif

// One product; C = beta*C when there is nothing to multiply (BLAS leaves K == 0 to the caller's reading).
void gemmOne(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
             int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    for (int i = 0; i < M; i++) {
      float* c = C + (int64_t)i * ldc;
      for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
    }
    return;
  }
  if (beta == 0.0f) {
    // OpenBLAS zeroes C for beta == 0, but the interface promises it regardless of the BLAS build.
    for (int i = 0; i < M; i++) std::fill(C + (int64_t)i * ldc, C + (int64_t)i * ldc + N, 0.0f);
  }
  // A single row or column is a matrix-vector product: sgemv streams the matrix once, while sgemm
  // packs all of it first (decode steps are M == 1 products against whole weight matrices).
  // OpenBLAS 0.3.21's sgemm is also slow for a few rows (measured 4096x4096 weight: M=1 gemv 1.5 ms,
  // M=2 sgemm 15 ms), so up to kGemvRows rows are done as one sgemv per row.
#if defined(__AVX2__) && defined(__FMA__)
  if (M <= kGemvRows && !transA && transB) {
    gemvNT(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  if (M <= kGemvRows) {
    for (int i = 0; i < M; i++) {
      // row i of C (1,N) = op(B)^T a_i: B stored (N,K) when transB, else (K,N);
      // a_i is row i of A, or column i (stride lda) when transA
      const float* a = transA ? A + i : A + (int64_t)i * lda;
      const int incA = transA ? lda : 1;
      float* c = C + (int64_t)i * ldc;
      if (transB) cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, a, incA, beta, c, 1);
      else cblas_sgemv(CblasRowMajor, CblasTrans, K, N, alpha, B, ldb, a, incA, beta, c, 1);
    }
    return;
  }
  if (N == 1) {
    // c (M,1), stride ldc = op(A) b: A stored (M,K), or (K,M) when transA; b a column (transB: a row)
    const int incB = transB ? 1 : ldb;
    if (transA) cblas_sgemv(CblasRowMajor, CblasTrans, K, M, alpha, A, lda, B, incB, beta, C, ldc);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, alpha, A, lda, B, incB, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, tr(transA), tr(transB), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

Pool& pool() {
  static Pool p(1);
  return p;
}

void setThreads(int n) {
  g_threads = std::max(1, n);
  pool().resize(g_threads);
  openblas_set_num_threads(g_threads);
}

int getThreads() { return g_threads; }

const char* blasConfig() { return openblas_get_config(); }

// Decode steps stream every weight once per token: with 4 KiB pages that is a TLB miss per 4 KiB, and the
// streaming kernels measured ~24% slower than on 2 MiB pages (llama.cpp's weights, a file mapping, get large
// pages from the page cache). The advice only takes effect for pages touched afterwards, so callers give it
// right after allocating, before writing the weights.
int64_t adviseHugePages(void* p, int64_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + (uintptr_t)bytes) & ~(kHuge - 1);
  if (bytes <= 0 || end <= begin) return 0;
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) != 0) return 0;
  return (int64_t)(end - begin);
#else
  (void)p;
  (void)bytes;
  return 0;
#endif
}

// ---- matrix products -----------------------------------------------------------------------------

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  gemmOne(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemmBatched(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                 int ldb, float beta, float* C, int ldc, int batch, int64_t strideA, int64_t strideB,
                 int64_t strideC) {
  // Many small products: one per pool thread, each single-threaded. Few large ones: OpenBLAS threads.
  const double work = (double)M * N * K;
  if (g_threads > 1 && batch >= g_threads && work < 256.0 * 256 * 256) {
    BlasSingleThread single;
    parallelItems(batch, [&](int64_t p, int) {
      gemmOne(transA, transB, M, N, K, alpha, A + p * strideA, lda, B + p * strideB, ldb, beta, C + p * strideC, ldc);
    });
    return;
  }
  for (int p = 0; p < batch; p++) {
    gemmOne(transA, transB, M, N, K, alpha, A + p * strideA, lda, B + p * strideB, ldb, beta, C + p * strideC, ldc);
  }
}

// ---- embedding ------------------------------------------------------------------------------------

void embeddingForward(float* out, const float* table, const int32_t* ids, int64_t N, int64_t C) {
  parallelFor(N, 64, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; n++) std::memcpy(out + n * C, table + (int64_t)ids[n] * C, C * sizeof(float));
  });
}

void embeddingBackward(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C) {
  // Split columns, not rows: repeated ids then never race.
  parallelFor(C, 64, [&](int64_t b, int64_t e) {
    for (int64_t n = 0; n < N; n++) {
      float* dst = dtable + (int64_t)ids[n] * C;
      const float* src = dout + n * C;
      for (int64_t c = b; c < e; c++) dst[c] += src[c];
    }
  });
}

// ---- RMSNorm ----------------------------------------------------------------------------------------

void rmsnormForward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps) {
  parallelFor(N, 16, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; n++) {
      const float* x = inp + n * C;
      float* y = out + n * C;
      float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
      for (int64_t c = 0; c < C; c++) ss += x[c] * x[c];
      const float r = (float)(1.0 / std::sqrt((double)ss / (double)C + (double)eps));
      rstd[n] = r;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) y[c] = x[c] * r * weight[c];
    }
  });
}

namespace {

// Rows [b, e) of the RMSNorm backward, dweight partial into dw. A plain function, not a lambda over
// captured references: called through the pool's std::function, the lambda version ran 3-4x slower.
void rmsnormBackwardRows(float* dinp, float* dw, const float* dout, const float* inp, const float* weight,
                         const float* rstd, int64_t b, int64_t e, int64_t C) {
  for (int64_t n = b; n < e; n++) {
    const float* x = inp + n * C;
    const float* g = dout + n * C;
    float* dx = dinp + n * C;
    const float r = rstd[n];
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; c++) dot += g[c] * weight[c] * x[c];
    const float k = r * r * r * dot / (float)C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      dx[c] += r * weight[c] * g[c] - x[c] * k;
      dw[c] += g[c] * x[c] * r;
    }
  }
}

}  // namespace

void rmsnormBackward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                     const float* rstd, int64_t N, int64_t C) {
  // dweight is a sum over rows: one partial row per fixed block of rows, blocks handed out dynamically,
  // partials added in block order. The result is the same for any thread count and any timing.
  constexpr int64_t kRowsPerBlock = 64;
  const int64_t blocks = (N + kRowsPerBlock - 1) / kRowsPerBlock;
  if (blocks <= 1) {
    rmsnormBackwardRows(dinp, dweight, dout, inp, weight, rstd, 0, N, C);
    return;
  }
  std::vector<float> partial((size_t)blocks * C, 0.0f);
  parallelItems(blocks, [&](int64_t blk, int) {
    rmsnormBackwardRows(dinp, partial.data() + (size_t)blk * C, dout, inp, weight, rstd, blk * kRowsPerBlock,
                        std::min(N, (blk + 1) * kRowsPerBlock), C);
  });
  for (int64_t blk = 0; blk < blocks; blk++) {
    const float* p = partial.data() + (size_t)blk * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) dweight[c] += p[c];
  }
}

// ---- RoPE -----------------------------------------------------------------------------------------------

void ropeApply(float* x, const float* cos, const float* sin, const int32_t* positions, int64_t rows, int64_t Hx,
               int64_t D, bool inverse) {
  const int64_t half = D / 2;
  const float sign = inverse ? -1.0f : 1.0f;  // the inverse rotation is the rotation by -angle
  parallelFor(rows, 16, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* cs = cos + (int64_t)positions[r] * half;
      const float* sn = sin + (int64_t)positions[r] * half;
      for (int64_t h = 0; h < Hx; h++) {
        float* v = x + (r * Hx + h) * D;
#pragma omp simd
        for (int64_t i = 0; i < half; i++) {
          const float c = cs[i], s = sign * sn[i];
          const float x1 = v[i], x2 = v[i + half];
          v[i] = x1 * c - x2 * s;
          v[i + half] = x2 * c + x1 * s;
        }
      }
    }
  });
}

// ---- attention -------------------------------------------------------------------------------------------
//
// Per (batch, head) and per block of query rows: S = scale * Q K^T by sgemm over only the keys the block
// can see (causal), a fused masked softmax (ALiBi bias, causal limit, key padding), then O = P V by sgemm.
// Backward recomputes P from the saved lse and uses four products per block.

namespace {

constexpr int kQueryBlock = 128;

// Turns the raw scaled scores of one block (keys k0 .. kcount-1, a row of kcount - k0 each) into
// probabilities exp(s + bias - lse) (0 where not visible). When lseIn is null the lse is computed
// (forward) and written to lseOut; otherwise it is read.
void softmaxBlock(const AttnShape& s, int b, int h, int i0, int rows, int k0, int kcount, float* S,
                  const float* lseIn, float* lseOut) {
  const int off = s.Tk - s.Tq;
  const int width = kcount - k0;
  const float slope = s.slopes ? s.slopes[h] : 0.0f;
  const uint8_t* mask = s.keyMask ? s.keyMask + (int64_t)b * s.Tk + k0 : nullptr;
  const int32_t* seg = s.segmentIds ? s.segmentIds + (int64_t)b * s.Tk : nullptr;
  for (int r = 0; r < rows; r++) {
    const int last = i0 + r + off;
    const int nvis = std::min(kcount, last + 1) - k0;
    float* row = S + (int64_t)r * width;
    if (slope != 0.0f) {
#pragma omp simd
      for (int j = 0; j < nvis; j++) row[j] += slope * (float)(k0 + j - last);
    }
    if (mask) {
      // padding keys become -inf first, so the loops below are plain (vectorisable) passes
#pragma omp simd
      for (int j = 0; j < nvis; j++) row[j] = mask[j] ? row[j] : kNegInf;
    }
    if (seg) {
      // packed documents: keys of another segment are hidden exactly like padding
      const int32_t own = seg[last];
      const int32_t* keys = seg + k0;
#pragma omp simd
      for (int j = 0; j < nvis; j++) row[j] = keys[j] == own ? row[j] : kNegInf;
    }
    float l;
    if (lseIn) {
      l = lseIn[r];
    } else {
      const float mx = rowMax(row, nvis);
      if (mx == kNegInf) {
        // no visible key, unless the scores are NaN (then the NaN must reach the output)
        l = kNegInf;
        for (int j = 0; j < nvis; j++)
          if (row[j] != row[j]) l = row[j];
      } else {
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < nvis; j++) {
          const float e = fastExp(row[j] - mx);
          sum += row[j] == kNegInf ? 0.0f : e;
        }
        l = mx + std::log(sum);
      }
      lseOut[r] = l;
    }
    if (l == kNegInf) {
      std::fill(row, row + width, 0.0f);
      continue;
    }
#pragma omp simd
    for (int j = 0; j < nvis; j++) {
      const float e = fastExp(row[j] - l);
      row[j] = row[j] == kNegInf ? 0.0f : e;
    }
    std::fill(row + nvis, row + width, 0.0f);
  }
}

// First key a block of queries (key positions q0 .. q0+rows-1) can see. Packed documents are contiguous
// runs of one id, so keys before the run holding q0 belong to other documents and are skipped — the
// block then costs its documents' length, not the whole prefix. Ids that reappear earlier (not a plain
// packing) are detected and fall back to key 0, so the result never depends on that assumption.
int firstVisibleKey(const AttnShape& s, int b, int q0, int rows) {
  if (!s.segmentIds) return 0;
  const int32_t* seg = s.segmentIds + (int64_t)b * s.Tk;
  int start = q0;
  while (start > 0 && seg[start - 1] == seg[q0]) start--;
  if (start == 0) return 0;
  int32_t ids[kQueryBlock];
  int n = 0;
  for (int r = 0; r < rows; r++) {
    const int32_t id = seg[q0 + r];
    if (n == 0 || ids[n - 1] != id) ids[n++] = id;
  }
  for (int j = 0; j < start; j++) {
    for (int t = 0; t < n; t++)
      if (seg[j] == ids[t]) return 0;
  }
  return start;
}

thread_local std::vector<float> tlsScratch;

float* scratch(size_t n) {
  if (tlsScratch.size() < n) tlsScratch.resize(n);
  return tlsScratch.data();
}

}  // namespace

void attentionForward(const AttnShape& s, float* out, float* lse, const float* q, const float* k, const float* v) {
  const int rep = s.H / s.Hkv, off = s.Tk - s.Tq;
  const int nqb = (s.Tq + kQueryBlock - 1) / kQueryBlock;
  const int64_t qs = (int64_t)s.H * s.D, ks = (int64_t)s.Hkv * s.D;
  const int64_t items = (int64_t)s.B * s.H * nqb;
  auto work = [&](int64_t item, int) {
    const int qb = (int)(item % nqb), h = (int)((item / nqb) % s.H), b = (int)(item / ((int64_t)nqb * s.H));
    const int kh = h / rep;
    const int i0 = qb * kQueryBlock, rows = std::min(kQueryBlock, s.Tq - i0);
    const int kcount = std::min(s.Tk, i0 + rows + off);
    const int k0 = kcount == 0 ? 0 : firstVisibleKey(s, b, i0 + off, rows);
    const float* qb0 = q + ((int64_t)b * s.Tq + i0) * qs + (int64_t)h * s.D;
    const float* kb0 = k + ((int64_t)b * s.Tk + k0) * ks + (int64_t)kh * s.D;
    const float* vb0 = v + ((int64_t)b * s.Tk + k0) * ks + (int64_t)kh * s.D;
    float* ob0 = out + ((int64_t)b * s.Tq + i0) * qs + (int64_t)h * s.D;
    if (kcount == 0) {
      for (int r = 0; r < rows; r++) std::fill(ob0 + r * qs, ob0 + r * qs + s.D, 0.0f);
      for (int r = 0; r < rows; r++) lse[((int64_t)b * s.H + h) * s.Tq + i0 + r] = kNegInf;
      return;
    }
    const int width = kcount - k0;
    float* S = scratch((size_t)rows * width);
    gemmOne(false, true, rows, width, s.D, s.scale, qb0, (int)qs, kb0, (int)ks, 0.0f, S, width);
    softmaxBlock(s, b, h, i0, rows, k0, kcount, S, nullptr, lse + ((int64_t)b * s.H + h) * s.Tq + i0);
    gemmOne(false, false, rows, s.D, width, 1.0f, S, width, vb0, (int)ks, 0.0f, ob0, (int)qs);
  };
  if (g_threads > 1 && items >= g_threads) {
    BlasSingleThread single;
    parallelItems(items, work);
  } else {
    for (int64_t i = 0; i < items; i++) work(i, 0);
  }
}

void attentionBackward(const AttnShape& s, float* dq, float* dk, float* dv, const float* dout, const float* q,
                       const float* k, const float* v, const float* out, const float* lse) {
  const int rep = s.H / s.Hkv, off = s.Tk - s.Tq;
  const int nqb = (s.Tq + kQueryBlock - 1) / kQueryBlock;
  const int64_t qs = (int64_t)s.H * s.D, ks = (int64_t)s.Hkv * s.D;
  // One work item per (batch, kv head): the query heads sharing a kv head add into the same dk/dv rows.
  const int64_t items = (int64_t)s.B * s.Hkv;
  auto work = [&](int64_t item, int) {
    const int kh = (int)(item % s.Hkv), b = (int)(item / s.Hkv);
    const float* kb0 = k + (int64_t)b * s.Tk * ks + (int64_t)kh * s.D;
    const float* vb0 = v + (int64_t)b * s.Tk * ks + (int64_t)kh * s.D;
    float* dkb0 = dk + (int64_t)b * s.Tk * ks + (int64_t)kh * s.D;
    float* dvb0 = dv + (int64_t)b * s.Tk * ks + (int64_t)kh * s.D;
    for (int h = kh * rep; h < (kh + 1) * rep; h++) {
      for (int qb = 0; qb < nqb; qb++) {
        const int i0 = qb * kQueryBlock, rows = std::min(kQueryBlock, s.Tq - i0);
        const int kcount = std::min(s.Tk, i0 + rows + off);
        if (kcount == 0) continue;
        const int k0 = firstVisibleKey(s, b, i0 + off, rows), width = kcount - k0;
        const int64_t keyOff = (int64_t)k0 * ks;
        const int64_t rowOff = ((int64_t)b * s.Tq + i0) * qs + (int64_t)h * s.D;
        const float* lseb = lse + ((int64_t)b * s.H + h) * s.Tq + i0;
        float* P = scratch((size_t)2 * rows * width);
        float* dS = P + (size_t)rows * width;
        gemmOne(false, true, rows, width, s.D, s.scale, q + rowOff, (int)qs, kb0 + keyOff, (int)ks, 0.0f, P, width);
        softmaxBlock(s, b, h, i0, rows, k0, kcount, P, lseb, nullptr);
        // dP = dO V^T
        gemmOne(false, true, rows, width, s.D, 1.0f, dout + rowOff, (int)qs, vb0 + keyOff, (int)ks, 0.0f, dS, width);
        for (int r = 0; r < rows; r++) {
          const float* o = out + rowOff + r * qs;
          const float* g = dout + rowOff + r * qs;
          float Di = 0.0f;
#pragma omp simd reduction(+ : Di)
          for (int d = 0; d < s.D; d++) Di += g[d] * o[d];
          float* ds = dS + (int64_t)r * width;
          const float* p = P + (int64_t)r * width;
#pragma omp simd
          for (int j = 0; j < width; j++) ds[j] = p[j] * (ds[j] - Di) * s.scale;
        }
        // dQ += dS K ; dK += dS^T Q ; dV += P^T dO
        gemmOne(false, false, rows, s.D, width, 1.0f, dS, width, kb0 + keyOff, (int)ks, 1.0f, dq + rowOff, (int)qs);
        gemmOne(true, false, width, s.D, rows, 1.0f, dS, width, q + rowOff, (int)qs, 1.0f, dkb0 + keyOff, (int)ks);
        gemmOne(true, false, width, s.D, rows, 1.0f, P, width, dout + rowOff, (int)qs, 1.0f, dvb0 + keyOff, (int)ks);
      }
    }
  };
  if (g_threads > 1 && items >= g_threads) {
    BlasSingleThread single;
    parallelItems(items, work);
  } else {
    for (int64_t i = 0; i < items; i++) work(i, 0);
  }
}

// ---- SwiGLU ------------------------------------------------------------------------------------------------

void swigluForward(float* out, const float* gate, const float* up, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      const float g = gate[i];
      // g * sigmoid(g), not g / (1 + exp(-g)): GCC compiles the latter with two divisions per vector
      // (one for the clamped branch of fastExp), measured 2.3x slower
      const float sig = 1.0f / (1.0f + fastExp(-g));
      out[i] = g * sig * up[i];
    }
  });
}

void swigluBackward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      const float g = gate[i];
      const float sig = 1.0f / (1.0f + fastExp(-g));
      dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
      dup[i] += dout[i] * g * sig;
    }
  });
}

// ---- cross-entropy -----------------------------------------------------------------------------------------

void crossEntropyForward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                         int32_t ignoreIndex) {
  parallelFor(N, 2, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; n++) {
      const float* x = logits + n * V;
      const float mx = rowMax(x, V);
      // float sums over blocks, added in double: a long vocabulary row keeps a ~1e-7 relative error
      double sum = 0.0;
      for (int64_t b0 = 0; b0 < V; b0 += 1024) {
        const int64_t e0 = std::min(V, b0 + 1024);
        float part = 0.0f;
#pragma omp simd reduction(+ : part)
        for (int64_t j = b0; j < e0; j++) part += fastExp(x[j] - mx);
        sum += part;
      }
      const float l = mx + (float)std::log(sum);
      lse[n] = l;
      losses[n] = targets[n] == ignoreIndex ? 0.0f : l - x[targets[n]];
    }
  });
}

void crossEntropyBackward(float* dlogits, const float* dlosses, const float* logits, const float* lse,
                          const int32_t* targets, int64_t N, int64_t V, int32_t ignoreIndex) {
  parallelFor(N, 2, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; n++) {
      const int32_t t = targets[n];
      if (t == ignoreIndex) continue;
      const float* x = logits + n * V;
      float* dx = dlogits + n * V;
      const float g = dlosses[n], l = lse[n];
#pragma omp simd
      for (int64_t j = 0; j < V; j++) dx[j] += g * fastExp(x[j] - l);
      dx[t] -= g;
    }
  });
}

// ---- element-wise --------------------------------------------------------------------------------------------

constexpr int64_t kElemGrain = 1 << 16;

void add(float* out, const float* a, const float* b, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
#pragma omp simd
    for (int64_t i = s; i < e; i++) out[i] = a[i] + b[i];
  });
}

void mul(float* out, const float* a, const float* b, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
#pragma omp simd
    for (int64_t i = s; i < e; i++) out[i] = a[i] * b[i];
  });
}

void axpy(float* y, const float* x, float alpha, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
#pragma omp simd
    for (int64_t i = s; i < e; i++) y[i] += alpha * x[i];
  });
}

void scale(float* x, float alpha, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
#pragma omp simd
    for (int64_t i = s; i < e; i++) x[i] *= alpha;
  });
}

namespace {

// Sum of part(start, end) over fixed 64 Ki-element blocks of [0, n), blocks handed out dynamically and
// added in block order: the same result for any thread count and timing.
template <typename Part>
double blockReduce(int64_t n, const Part& part) {
  constexpr int64_t kBlock = 1 << 16;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (blocks <= 1) return blocks == 1 ? part(0, n) : 0.0;
  std::vector<double> partial(blocks, 0.0);
  parallelItems(blocks, [&](int64_t blk, int) { partial[blk] = part(blk * kBlock, std::min(n, (blk + 1) * kBlock)); });
  double sum = 0.0;
  for (double p : partial) sum += p;
  return sum;
}

}  // namespace

double sumSquares(const float* x, int64_t n) {
  // float sums over fixed 1024-element runs, added in double: vectorised and accurate
  return blockReduce(n, [&](int64_t s, int64_t e) {
    double total = 0.0;
    for (int64_t b = s; b < e; b += 1024) {
      const int64_t end = std::min(e, b + 1024);
      float f = 0.0f;
#pragma omp simd reduction(+ : f)
      for (int64_t i = b; i < end; i++) f += x[i] * x[i];
      total += f;
    }
    return total;
  });
}

// ---- AdamW (torch.optim.AdamW semantics) --------------------------------------------------------------------

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double weightDecay, int step, double gradScale) {
  const float b1 = (float)beta1, b2 = (float)beta2, gs = (float)gradScale, e = (float)eps;
  const float decay = (float)(1.0 - lr * weightDecay);
  const float stepSize = (float)(lr / (1.0 - std::pow(beta1, step)));
  const float invBc2Sqrt = (float)(1.0 / std::sqrt(1.0 - std::pow(beta2, step)));
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t end) {
#pragma omp simd
    for (int64_t i = s; i < end; i++) {
      const float g = grad[i] * gs;
      const float mi = b1 * m[i] + (1.0f - b1) * g;
      const float vi = b2 * v[i] + (1.0f - b2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - stepSize * mi / (std::sqrt(vi) * invBc2Sqrt + e);
    }
  });
}

// ---- narrow row-wise ops ------------------------------------------------------------------------------------
//
// Each row (or element) is computed by exactly one thread, so results do not depend on the thread count;
// the one reduction across rows (weightedSum) goes through blockReduce.

namespace {

// Rows per parallel chunk so that a chunk holds at least ~16 Ki elements (router rows are a few wide).
inline int64_t rowGrain(int64_t C) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, C)); }

inline float sigmoid(float x) { return 1.0f / (1.0f + fastExp(-x)); }

// log(1 + exp(-|v|)), the shared tail of softplus and log-sigmoid, branch-free so loops vectorise:
// e = exp(-|v|) in (0, 1] (exactly 0 below fastExp's range, where libm's expf underflows too), then
// log1p(e) = 2·atanh(t) with t = e / (2 + e) in [0, 1/3], an odd series to t^13 (error < 2e-8
// relative), accurate for tiny e without a cancelling 1 + e.
inline float log1pExpNegAbs(float v) {
  const float a = -std::fabs(v);
  const float e = a < -87.3f ? 0.0f : fastExp(a);
  const float t = e / (2.0f + e);
  const float t2 = t * t;
  float p = 1.0f / 13.0f;
  p = p * t2 + 1.0f / 11.0f;
  p = p * t2 + 1.0f / 9.0f;
  p = p * t2 + 1.0f / 7.0f;
  p = p * t2 + 1.0f / 5.0f;
  p = p * t2 + 1.0f / 3.0f;
  p = p * t2 + 1.0f;
  return 2.0f * t * p;
}

}  // namespace

void softmaxForward(float* out, const float* inp, int64_t N, int64_t C) {
  parallelFor(N, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* x = inp + r * C;
      float* y = out + r * C;
      const float mx = rowMax(x, C);
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < C; c++) {
        const float v = fastExp(x[c] - mx);
        y[c] = v;
        sum += v;
      }
      const float inv = 1.0f / sum;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) y[c] *= inv;
    }
  });
}

void softmaxBackward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C) {
  parallelFor(N, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* g = dout + r * C;
      const float* y = out + r * C;
      float* dx = dinp + r * C;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (int64_t c = 0; c < C; c++) dot += g[c] * y[c];
#pragma omp simd
      for (int64_t c = 0; c < C; c++) dx[c] += y[c] * (g[c] - dot);
    }
  });
}

void softplusForward(float* out, const float* inp, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      const float v = inp[i];
      out[i] = (v > 0.0f ? v : 0.0f) + log1pExpNegAbs(v);  // not std::max: its reference blocks vectorisation
    }
  });
}

void softplusBackward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) dinp[i] += dout[i] * sigmoid(inp[i]);
  });
}

void logSigmoidForward(float* out, const float* inp, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) {
      const float v = inp[i];
      out[i] = (v < 0.0f ? v : 0.0f) - log1pExpNegAbs(v);
    }
  });
}

void logSigmoidBackward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallelFor(n, 1 << 14, [&](int64_t b, int64_t e) {
#pragma omp simd
    for (int64_t i = b; i < e; i++) dinp[i] += dout[i] * sigmoid(-inp[i]);
  });
}

double weightedSum(const float* x, const float* weights, int64_t n) {
  return blockReduce(n, [&](int64_t s, int64_t e) {
    double total = 0.0;
    if (weights) {
#pragma omp simd reduction(+ : total)
      for (int64_t i = s; i < e; i++) total += (double)weights[i] * x[i];
    } else {
#pragma omp simd reduction(+ : total)
      for (int64_t i = s; i < e; i++) total += (double)x[i];
    }
    return total;
  });
}

void weightedSumBackward(float* dinp, const float* weights, float g, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
    if (weights) {
#pragma omp simd
      for (int64_t i = s; i < e; i++) dinp[i] += g * weights[i];
    } else {
#pragma omp simd
      for (int64_t i = s; i < e; i++) dinp[i] += g;
    }
  });
}

void scaleRowsForward(float* out, const float* inp, const float* s, int64_t N, int64_t C) {
  parallelFor(N, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float f = s[r];
      const float* x = inp + r * C;
      float* y = out + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) y[c] = x[c] * f;
    }
  });
}

void scaleRowsBackward(float* dinp, float* ds, const float* dout, const float* inp, const float* s, int64_t N,
                       int64_t C) {
  parallelFor(N, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* g = dout + r * C;
      if (dinp) {
        const float f = s[r];
        float* dx = dinp + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) dx[c] += g[c] * f;
      }
      if (ds) {
        const float* x = inp + r * C;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t c = 0; c < C; c++) dot += g[c] * x[c];
        ds[r] += dot;
      }
    }
  });
}

void copyBlock(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols, bool accumulate) {
  if (!accumulate && ldd == cols && lds == cols) {
    std::memcpy(dst, src, (size_t)(rows * cols) * sizeof(float));
    return;
  }
  parallelFor(rows, rowGrain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      float* d = dst + r * ldd;
      const float* x = src + r * lds;
      if (accumulate) {
#pragma omp simd
        for (int64_t c = 0; c < cols; c++) d[c] += x[c];
      } else if (cols == 1) {
        d[0] = x[0];
      } else {
        std::memcpy(d, x, (size_t)cols * sizeof(float));
      }
    }
  });
}

void rowNormalizeForward(float* out, float* norms, const float* inp, int64_t R, int64_t C, float eps) {
  parallelFor(R, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* x = inp + r * C;
      float* y = out + r * C;
      double ss = 0.0;
#pragma omp simd reduction(+ : ss)
      for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
      const float n = (float)std::max(std::sqrt(ss), (double)eps);
      norms[r] = n;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) y[c] = x[c] / n;
    }
  });
}

void rowNormalizeBackward(float* dinp, const float* dout, const float* out, const float* norms, int64_t R, int64_t C,
                          float eps) {
  parallelFor(R, rowGrain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const float* g = dout + r * C;
      const float* y = out + r * C;
      float* dx = dinp + r * C;
      const float n = norms[r];
      if (n <= eps) {
#pragma omp simd
        for (int64_t c = 0; c < C; c++) dx[c] += g[c] / n;
        continue;
      }
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t c = 0; c < C; c++) dot += (double)y[c] * g[c];
      const float d = (float)dot;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) dx[c] += (g[c] - y[c] * d) / n;
    }
  });
}

// ---- weight-only quantised inference ---------------------------------------------------------------------
//
// Decode steps are matrix-vector products that stream every weight once, so their speed is the memory
// bandwidth: int8 weights move a quarter of the bytes of f32, bf16 half. A few rows of x (M <= kQuantRows)
// are multiplied straight from the quantised rows, each weight row converted once for all of them; more
// rows (a prompt) go through sgemm on f32 panels of the weight dequantised per thread.
//
// q8_0 products quantise the activation rows to q8_0 first, as llama.cpp does (quantizeActivationsQ8), so a
// decode product is int8 x int8: per block of 32, |w| times sign-adjusted x in maddubs/madd, one f32 scale
// product (dw * dx) per block. Prompts use the same quantised activations, dequantised for sgemm, so the two
// paths differ by f32 rounding only.

namespace {

constexpr int64_t kQuantRows = 8;   // largest M done as direct dot products
constexpr int64_t kQuantTile = 4;   // rows of x sharing one conversion of a weight chunk
constexpr int64_t kPanelRows = 64;  // weight rows dequantised per sgemm panel

inline float bf16ToF32(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

#if defined(__AVX2__) && defined(__FMA__)
inline __m256 loadBf16(const uint16_t* w) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
#endif

// One block of 32 activations quantised as ggml's x86 quantize_row_q8_0 does it: d = amax/127,
// q = round-half-even(x * (127/amax)). The scale stays f32 (ggml keeps it in f16). A block holding a NaN or an
// infinity gets d = NaN and q = 0, so every output it feeds is NaN instead of finite garbage.
inline float quantizeBlockQ8(int8_t* q, const float* x) {
#if defined(__AVX2__)
  const __m256 signBit = _mm256_set1_ps(-0.0f), big = _mm256_set1_ps(std::numeric_limits<float>::max());
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  for (int i = 0; i < 4; i++) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    const __m256 a = _mm256_andnot_ps(signBit, v[i]);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, big, _CMP_NLE_UQ));  // +inf, or NaN (unordered)
    amax = _mm256_max_ps(amax, a);
  }
  if (_mm256_movemask_ps(bad) != 0) {
    std::memset(q, 0, 32);
    return std::numeric_limits<float>::quiet_NaN();
  }
  __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(amax, 1), _mm256_castps256_ps128(amax));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float mx = _mm_cvtss_f32(m4);
  const __m256 mul = _mm256_set1_ps(mx != 0.0f ? 127.0f / mx : 0.0f);
  __m256i i[4];
  for (int k = 0; k < 4; k++) i[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  // int32 -> int16 -> int8 packs work per 128-bit lane; the permute puts the 32 values back in order
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  return mx / 127.0f;
#else
  float mx = 0.0f;
  for (int j = 0; j < 32; j++) {
    const float a = std::fabs(x[j]);
    if (!(a <= std::numeric_limits<float>::max())) {
      std::memset(q, 0, 32);
      return std::numeric_limits<float>::quiet_NaN();
    }
    mx = a > mx ? a : mx;
  }
  const float id = mx != 0.0f ? 127.0f / mx : 0.0f;
  for (int j = 0; j < 32; j++) q[j] = (int8_t)std::nearbyint(x[j] * id);  // default rounding: half to even
  return mx / 127.0f;
#endif
}

// One block's contribution for R rows of x: acc[t][j] += (d * dx[t]) * (w . qx[t]) over the block's 32 values.
// |x| <= 127 and |w| <= 127, so the pair sums of maddubs cannot saturate and the lane sums are exact; w * x is
// computed as |x| * (w with x's sign).
#if defined(__AVX2__) && defined(__FMA__)
template <int R>
inline void blockQ8(__m256 (&acc)[R][4], int j, __m256i w, const int8_t* qx, const uint8_t* ax, const float* dx,
                    int64_t K, int64_t nb, int64_t b, float d) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int t = 0; t < R; t++) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + t * K + b * 32));
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ax + t * K + b * 32));
    const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(a, _mm256_sign_epi8(w, x)), ones));
    acc[t][j] = _mm256_fmadd_ps(_mm256_set1_ps(d * dx[t * nb + b]), p, acc[t][j]);
  }
}
#endif

// y[t*ldy] = qx[t] . W row, for t < R quantised rows of x (stride K, scales dx stride K/32, |qx| in ax) and one
// q8_0 weight row with its block scales. One weight row at a time keeps the weights a single sequential stream
// (measured ~15% faster than interleaving four rows once the weights come from memory); four accumulators
// (block b feeds accumulator b % 4) keep the FMA chains short. Each row of x has its own four, so a result
// does not depend on how many rows share the call.
template <int R>
void dotQ8(float* y, int64_t ldy, const int8_t* qx, const uint8_t* ax, const float* dx, int64_t K, const int8_t* q,
           const float* d) {
  const int64_t nb = K / 32;
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc[R][4];
  for (int t = 0; t < R; t++)
    for (int j = 0; j < 4; j++) acc[t][j] = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    for (int j = 0; j < 4; j++) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + (b + j) * 32));
      blockQ8<R>(acc, j, w, qx, ax, dx, K, nb, b + j, d[b + j]);
    }
  }
  for (int j = 0; b < nb; b++, j++) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
    blockQ8<R>(acc, j, w, qx, ax, dx, K, nb, b, d[b]);
  }
  for (int t = 0; t < R; t++) y[t * ldy] = hsum8(_mm256_add_ps(_mm256_add_ps(acc[t][0], acc[t][1]), _mm256_add_ps(acc[t][2], acc[t][3])));
#else
  (void)ax;
  for (int t = 0; t < R; t++) {
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
      int32_t s = 0;
      for (int j = 0; j < 32; j++) s += (int32_t)q[b * 32 + j] * qx[t * K + b * 32 + j];
      acc += d[b] * dx[t * nb + b] * (float)s;
    }
    y[t * ldy] = acc;
  }
#endif
}

template <int R>
void dotBf16(float* out, const float* x, int64_t K, const uint16_t* w) {
  int64_t k = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // Independent accumulator chains per row of x (4 for one or two rows, 2 for more, within the 16
  // vector registers): one chain would wait on FMA latency and stream at a fraction of the bandwidth.
  constexpr int C = R <= 2 ? 4 : 2;
  __m256 acc[R][C];
  for (int t = 0; t < R; t++)
    for (int c = 0; c < C; c++) acc[t][c] = _mm256_setzero_ps();
  for (; k + 32 <= K; k += 32) {
    const __m256 w0 = loadBf16(w + k), w1 = loadBf16(w + k + 8), w2 = loadBf16(w + k + 16), w3 = loadBf16(w + k + 24);
    for (int t = 0; t < R; t++) {
      const float* xk = x + t * K + k;
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xk), acc[t][0]);
      acc[t][1 % C] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xk + 8), acc[t][1 % C]);
      acc[t][2 % C] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xk + 16), acc[t][2 % C]);
      acc[t][3 % C] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xk + 24), acc[t][3 % C]);
    }
  }
  for (; k + 8 <= K; k += 8) {
    const __m256 w0 = loadBf16(w + k);
    for (int t = 0; t < R; t++) acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * K + k), acc[t][0]);
  }
  for (int t = 0; t < R; t++) {
    __m256 sum = acc[t][0];
    for (int c = 1; c < C; c++) sum = _mm256_add_ps(sum, acc[t][c]);
    out[t] = hsum8(sum);
  }
#else
  for (int t = 0; t < R; t++) out[t] = 0.0f;
#endif
  for (int t = 0; t < R; t++) {
    float tail = 0.0f;
    for (int64_t j = k; j < K; j++) tail += bf16ToF32(w[j]) * x[t * K + j];
    out[t] += tail;
  }
}

// y (M, N) for M <= kQuantRows: rows of W handed out in chunks, each row converted once per tile of x rows.
template <typename RowDot>
void quantSmallM(float* y, int64_t M, int64_t N, const RowDot& rowDot) {
  parallelFor(N, 16, [&](int64_t b, int64_t e) {
    float out[kQuantTile];
    for (int64_t n = b; n < e; n++) {
      for (int64_t m0 = 0; m0 < M; m0 += kQuantTile) {
        const int64_t r = std::min(kQuantTile, M - m0);
        rowDot(out, m0, r, n);
        for (int64_t t = 0; t < r; t++) y[(m0 + t) * N + n] = out[t];
      }
    }
  });
}

// y (M, N) for larger M: sgemm against f32 panels of W, dequantised per thread into scratch.
template <typename Dequant>
void quantPanels(float* y, const float* x, int64_t M, int64_t N, int64_t K, const Dequant& dequant) {
  const int64_t panels = (N + kPanelRows - 1) / kPanelRows;
  auto work = [&](int64_t p, int) {
    const int64_t n0 = p * kPanelRows, rows = std::min(kPanelRows, N - n0);
    float* panel = scratch((size_t)(rows * K));
    dequant(panel, n0, rows);
    gemmOne(false, true, (int)M, (int)rows, (int)K, 1.0f, x, (int)K, panel, (int)K, 0.0f, y + n0, (int)N);
  };
  if (g_threads > 1 && panels > 1) {
    BlasSingleThread single;
    parallelItems(panels, work);
  } else {
    for (int64_t p = 0; p < panels; p++) work(p, 0);
  }
}

}  // namespace

void quantizeQ8(int8_t* q, float* scales, const float* w, int64_t rows, int64_t cols) {
  const int64_t blocks = rows * cols / 32;
  parallelFor(blocks, 256, [&](int64_t b0, int64_t e0) {
    for (int64_t b = b0; b < e0; b++) {
      const float* v = w + b * 32;
      float amax = 0.0f;
      for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(v[j]));
      const float d = amax / 127.0f;
      const float id = d == 0.0f ? 0.0f : 1.0f / d;
      scales[b] = d;
      for (int j = 0; j < 32; j++) q[b * 32 + j] = (int8_t)std::roundf(v[j] * id);
    }
  });
}

void quantizeBf16(uint16_t* out, const float* w, int64_t n) {
  parallelFor(n, kElemGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) {
      uint32_t u;
      std::memcpy(&u, w + i, sizeof u);
      if ((u & 0x7fffffffu) > 0x7f800000u) out[i] = (uint16_t)((u >> 16) | 0x40);  // NaN stays a (quiet) NaN
      else out[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);           // round to nearest even
    }
  });
}

void quantizeActivationsQ8(int8_t* q, float* scales, const float* x, int64_t rows, int64_t cols) {
  const int64_t blocks = rows * cols / 32;
  parallelFor(blocks, 1024, [&](int64_t b0, int64_t e0) {
    for (int64_t b = b0; b < e0; b++) scales[b] = quantizeBlockQ8(q + b * 32, x + b * 32);
  });
}

void matmulQ8(float* y, const float* x, const int8_t* q, const float* scales, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  // the activations' q8_0 copy: per calling thread, reused across calls (a decode step makes dozens)
  static thread_local std::vector<int8_t> qxBuf;
  static thread_local std::vector<float> dxBuf;
  if (qxBuf.size() < (size_t)(M * K)) qxBuf.resize((size_t)(M * K));
  if (dxBuf.size() < (size_t)(M * K / 32)) dxBuf.resize((size_t)(M * K / 32));
  int8_t* qx = qxBuf.data();
  float* dx = dxBuf.data();
  quantizeActivationsQ8(qx, dx, x, M, K);
  const int64_t nb = K / 32;
  if (M <= kQuantRows) {
    static thread_local std::vector<uint8_t> axBuf;
    if (axBuf.size() < (size_t)(M * K)) axBuf.resize((size_t)(M * K));
    uint8_t* ax = axBuf.data();
    for (int64_t i = 0; i < M * K; i++) ax[i] = (uint8_t)(qx[i] < 0 ? -qx[i] : qx[i]);  // |q| <= 127
    // weight rows split across the pool; rows of x two at a time (eight accumulators)
    parallelFor(N, 16, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; n++) {
        for (int64_t m0 = 0; m0 < M; m0 += 2) {
          float* out = y + m0 * N + n;
          if (M - m0 >= 2) dotQ8<2>(out, N, qx + m0 * K, ax + m0 * K, dx + m0 * nb, K, q + n * K, scales + n * nb);
          else dotQ8<1>(out, N, qx + m0 * K, ax + m0 * K, dx + m0 * nb, K, q + n * K, scales + n * nb);
        }
      }
    });
    return;
  }
  // a prompt: the quantised activations back in f32 (each value dx * qx) for sgemm
  std::vector<float> xq((size_t)(M * K));
  parallelFor(M * nb, 1024, [&](int64_t b0, int64_t e0) {
    for (int64_t b = b0; b < e0; b++)
      for (int j = 0; j < 32; j++) xq[b * 32 + j] = dx[b] * (float)qx[b * 32 + j];
  });
  quantPanels(y, xq.data(), M, N, K, [&](float* panel, int64_t n0, int64_t rows) {
    for (int64_t i = 0; i < rows * K; i++) panel[i] = (float)q[n0 * K + i] * scales[(n0 * K + i) >> 5];
  });
}

void matmulBf16(float* y, const float* x, const uint16_t* w, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  if (M <= kQuantRows) {
    quantSmallM(y, M, N, [&](float* out, int64_t m0, int64_t r, int64_t n) {
      const uint16_t* row = w + n * K;
      const float* xr = x + m0 * K;
      switch (r) {
        case 1: dotBf16<1>(out, xr, K, row); break;
        case 2: dotBf16<2>(out, xr, K, row); break;
        case 3: dotBf16<3>(out, xr, K, row); break;
        default: dotBf16<4>(out, xr, K, row); break;
      }
    });
    return;
  }
  quantPanels(y, x, M, N, K, [&](float* panel, int64_t n0, int64_t rows) {
    for (int64_t i = 0; i < rows * K; i++) panel[i] = bf16ToF32(w[n0 * K + i]);
  });
}

}  // namespace pedgpt
