// C++ kernels of the pedgpt engine: the fast implementations of src/engine/kernels/kernels.ts.
//
// Plain functions over raw float pointers, outputs first, backward kernels adding into gradients,
// exactly as the TypeScript reference documents them. Arguments are validated on the TypeScript side
// before they reach this layer; nothing here checks bounds. N-API glue lives in addon.cc.
#pragma once

#include <cstdint>

namespace pedgpt {

void setThreads(int n);
// Asks the OS to back [p, p + bytes) with 2 MiB pages where possible (Linux MADV_HUGEPAGE on the 2 MiB-aligned
// interior); returns the bytes advised, 0 when none (too small, not Linux, or refused).
int64_t adviseHugePages(void* p, int64_t bytes);
int getThreads();
const char* blasConfig();

void gemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc);
void gemmBatched(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                 int ldb, float beta, float* C, int ldc, int batch, int64_t strideA, int64_t strideB, int64_t strideC);

void embeddingForward(float* out, const float* table, const int32_t* ids, int64_t N, int64_t C);
void embeddingBackward(float* dtable, const float* dout, const int32_t* ids, int64_t N, int64_t C);

void rmsnormForward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C, float eps);
void rmsnormBackward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                     const float* rstd, int64_t N, int64_t C);

void ropeApply(float* x, const float* cos, const float* sin, const int32_t* positions, int64_t rows, int64_t Hx,
               int64_t D, bool inverse);

struct AttnShape {
  int B, Tq, Tk, H, Hkv, D;
  float scale;
  const float* slopes;          // (H) or null
  const uint8_t* keyMask;       // (B, Tk) or null
  const int32_t* segmentIds;    // (B, Tk) or null: a query sees only keys of its own segment
};
void attentionForward(const AttnShape& s, float* out, float* lse, const float* q, const float* k, const float* v);
void attentionBackward(const AttnShape& s, float* dq, float* dk, float* dv, const float* dout, const float* q,
                       const float* k, const float* v, const float* out, const float* lse);

void swigluForward(float* out, const float* gate, const float* up, int64_t n);
void swigluBackward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

void crossEntropyForward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                         int32_t ignoreIndex);
void crossEntropyBackward(float* dlogits, const float* dlosses, const float* logits, const float* lse,
                          const int32_t* targets, int64_t N, int64_t V, int32_t ignoreIndex);

void add(float* out, const float* a, const float* b, int64_t n);
void mul(float* out, const float* a, const float* b, int64_t n);
void axpy(float* y, const float* x, float alpha, int64_t n);
void scale(float* x, float alpha, int64_t n);
double sumSquares(const float* x, int64_t n);

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, double lr, double beta1, double beta2,
           double eps, double weightDecay, int step, double gradScale);

// Narrow row-wise ops (routers, preference losses, column splits, NormHead).
void softmaxForward(float* out, const float* inp, int64_t N, int64_t C);
void softmaxBackward(float* dinp, const float* dout, const float* out, int64_t N, int64_t C);
void softplusForward(float* out, const float* inp, int64_t n);
void softplusBackward(float* dinp, const float* dout, const float* inp, int64_t n);
void logSigmoidForward(float* out, const float* inp, int64_t n);
void logSigmoidBackward(float* dinp, const float* dout, const float* inp, int64_t n);
double weightedSum(const float* x, const float* weights, int64_t n);
void weightedSumBackward(float* dinp, const float* weights, float g, int64_t n);
void scaleRowsForward(float* out, const float* inp, const float* s, int64_t N, int64_t C);
void scaleRowsBackward(float* dinp, float* ds, const float* dout, const float* inp, const float* s, int64_t N, int64_t C);
void copyBlock(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols, bool accumulate);
void rowNormalizeForward(float* out, float* norms, const float* inp, int64_t R, int64_t C, float eps);
void rowNormalizeBackward(float* dinp, const float* dout, const float* out, const float* norms, int64_t R, int64_t C,
                          float eps);

// Weight-only quantised inference: q8_0 (int8, one f32 scale per 32 values) and bf16 weights (N, K).
void quantizeQ8(int8_t* q, float* scales, const float* w, int64_t rows, int64_t cols);
void quantizeBf16(uint16_t* out, const float* w, int64_t n);
// Activation rows to q8_0 with ggml's x86 rounding (half to even, scale amax/127 kept in f32); matmulQ8
// multiplies these by the q8_0 weight (int8 x int8 per block).
void quantizeActivationsQ8(int8_t* q, float* scales, const float* x, int64_t rows, int64_t cols);
void matmulQ8(float* y, const float* x, const int8_t* q, const float* scales, int64_t M, int64_t N, int64_t K);
void matmulBf16(float* y, const float* x, const uint16_t* w, int64_t M, int64_t N, int64_t K);

}  // namespace pedgpt
