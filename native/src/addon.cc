// N-API glue of the pedgpt native addon: unpacks JavaScript arguments and calls the C++ kernels.
//
// The exported names and argument orders are mirrored by the `NativeAddon` interface in
// src/engine/kernels/native.ts. Shapes and offsets are validated there; this layer only checks that
// each argument has the right JavaScript type, so a wrong call fails with a TypeError, not a crash.
// All functions are synchronous: they are meant for the training loop, not for an event-loop server.
#include <napi.h>

#include <mutex>
#include <string>
#include <thread>

#include "kernels.h"

namespace {

using pedgpt::AttnShape;

// The kernels share one thread pool and one OpenBLAS thread setting; JavaScript threads (worker_threads)
// that load this addon take turns through this lock instead of corrupting them.
std::mutex g_callMu;

float* F32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a Float32Array");
  }
  return v.As<Napi::Float32Array>().Data();
}

float* F32OrNull(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return F32(info, i, name);
}

int32_t* I32OrNull(const Napi::CallbackInfo& info, size_t i, const char* name);

int32_t* I32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be an Int32Array");
  }
  return v.As<Napi::Int32Array>().Data();
}

int32_t* I32OrNull(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return I32(info, i, name);
}

uint8_t* U8OrNull(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a Uint8Array or null");
  }
  return v.As<Napi::Uint8Array>().Data();
}

double Num(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t Int(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a number");
  return info[i].As<Napi::Number>().Int64Value();
}

bool Bool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

void Arity(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() != n) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + " expects " + std::to_string(n) + " arguments, got " +
                                               std::to_string(info.Length()));
  }
}

void Gemm(const Napi::CallbackInfo& info) {
  Arity(info, 16, "gemm");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::gemm(Bool(info, 0, "transA"), Bool(info, 1, "transB"), (int)Int(info, 2, "M"), (int)Int(info, 3, "N"),
               (int)Int(info, 4, "K"), (float)Num(info, 5, "alpha"), F32(info, 6, "A") + Int(info, 7, "aOffset"),
               (int)Int(info, 8, "lda"), F32(info, 9, "B") + Int(info, 10, "bOffset"), (int)Int(info, 11, "ldb"),
               (float)Num(info, 12, "beta"), F32(info, 13, "C") + Int(info, 14, "cOffset"), (int)Int(info, 15, "ldc"));
}

void GemmBatched(const Napi::CallbackInfo& info) {
  Arity(info, 20, "gemmBatched");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::gemmBatched(Bool(info, 0, "transA"), Bool(info, 1, "transB"), (int)Int(info, 2, "M"), (int)Int(info, 3, "N"),
                      (int)Int(info, 4, "K"), (float)Num(info, 5, "alpha"), F32(info, 6, "A") + Int(info, 7, "aOffset"),
                      (int)Int(info, 8, "lda"), F32(info, 9, "B") + Int(info, 10, "bOffset"), (int)Int(info, 11, "ldb"),
                      (float)Num(info, 12, "beta"), F32(info, 13, "C") + Int(info, 14, "cOffset"),
                      (int)Int(info, 15, "ldc"), (int)Int(info, 16, "batch"), Int(info, 17, "strideA"),
                      Int(info, 18, "strideB"), Int(info, 19, "strideC"));
}

void EmbeddingForward(const Napi::CallbackInfo& info) {
  Arity(info, 5, "embeddingForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::embeddingForward(F32(info, 0, "out"), F32(info, 1, "table"), I32(info, 2, "ids"), Int(info, 3, "N"),
                           Int(info, 4, "C"));
}

void EmbeddingBackward(const Napi::CallbackInfo& info) {
  Arity(info, 5, "embeddingBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::embeddingBackward(F32(info, 0, "dtable"), F32(info, 1, "dout"), I32(info, 2, "ids"), Int(info, 3, "N"),
                            Int(info, 4, "C"));
}

void RmsnormForward(const Napi::CallbackInfo& info) {
  Arity(info, 7, "rmsnormForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::rmsnormForward(F32(info, 0, "out"), F32(info, 1, "rstd"), F32(info, 2, "inp"), F32(info, 3, "weight"),
                         Int(info, 4, "N"), Int(info, 5, "C"), (float)Num(info, 6, "eps"));
}

void RmsnormBackward(const Napi::CallbackInfo& info) {
  Arity(info, 8, "rmsnormBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::rmsnormBackward(F32(info, 0, "dinp"), F32(info, 1, "dweight"), F32(info, 2, "dout"), F32(info, 3, "inp"),
                          F32(info, 4, "weight"), F32(info, 5, "rstd"), Int(info, 6, "N"), Int(info, 7, "C"));
}

void Rope(const Napi::CallbackInfo& info, bool inverse) {
  Arity(info, 7, inverse ? "ropeBackward" : "ropeForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::ropeApply(F32(info, 0, "x"), F32(info, 1, "cos"), F32(info, 2, "sin"), I32(info, 3, "positions"),
                    Int(info, 4, "rows"), Int(info, 5, "Hx"), Int(info, 6, "D"), inverse);
}

AttnShape Shape(const Napi::CallbackInfo& info, size_t i) {
  AttnShape s;
  s.B = (int)Int(info, i, "B");
  s.Tq = (int)Int(info, i + 1, "Tq");
  s.Tk = (int)Int(info, i + 2, "Tk");
  s.H = (int)Int(info, i + 3, "H");
  s.Hkv = (int)Int(info, i + 4, "Hkv");
  s.D = (int)Int(info, i + 5, "D");
  s.scale = (float)Num(info, i + 6, "scale");
  s.slopes = F32OrNull(info, i + 7, "alibiSlopes");
  s.keyMask = U8OrNull(info, i + 8, "keyMask");
  s.segmentIds = I32OrNull(info, i + 9, "segmentIds");
  return s;
}

void AttentionForward(const Napi::CallbackInfo& info) {
  Arity(info, 15, "attentionForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::attentionForward(Shape(info, 5), F32(info, 0, "out"), F32(info, 1, "lse"), F32(info, 2, "q"),
                           F32(info, 3, "k"), F32(info, 4, "v"));
}

void AttentionBackward(const Napi::CallbackInfo& info) {
  Arity(info, 19, "attentionBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::attentionBackward(Shape(info, 9), F32(info, 0, "dq"), F32(info, 1, "dk"), F32(info, 2, "dv"),
                            F32(info, 3, "dout"), F32(info, 4, "q"), F32(info, 5, "k"), F32(info, 6, "v"),
                            F32(info, 7, "out"), F32(info, 8, "lse"));
}

void SwigluForward(const Napi::CallbackInfo& info) {
  Arity(info, 4, "swigluForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::swigluForward(F32(info, 0, "out"), F32(info, 1, "gate"), F32(info, 2, "up"), Int(info, 3, "n"));
}

void SwigluBackward(const Napi::CallbackInfo& info) {
  Arity(info, 6, "swigluBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::swigluBackward(F32(info, 0, "dgate"), F32(info, 1, "dup"), F32(info, 2, "dout"), F32(info, 3, "gate"),
                         F32(info, 4, "up"), Int(info, 5, "n"));
}

void CrossEntropyForward(const Napi::CallbackInfo& info) {
  Arity(info, 7, "crossEntropyForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::crossEntropyForward(F32(info, 0, "losses"), F32(info, 1, "lse"), F32(info, 2, "logits"),
                              I32(info, 3, "targets"), Int(info, 4, "N"), Int(info, 5, "V"),
                              (int32_t)Int(info, 6, "ignoreIndex"));
}

void CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Arity(info, 8, "crossEntropyBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::crossEntropyBackward(F32(info, 0, "dlogits"), F32(info, 1, "dlosses"), F32(info, 2, "logits"),
                               F32(info, 3, "lse"), I32(info, 4, "targets"), Int(info, 5, "N"), Int(info, 6, "V"),
                               (int32_t)Int(info, 7, "ignoreIndex"));
}

void Add(const Napi::CallbackInfo& info) {
  Arity(info, 4, "add");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::add(F32(info, 0, "out"), F32(info, 1, "a"), F32(info, 2, "b"), Int(info, 3, "n"));
}

void Mul(const Napi::CallbackInfo& info) {
  Arity(info, 4, "mul");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::mul(F32(info, 0, "out"), F32(info, 1, "a"), F32(info, 2, "b"), Int(info, 3, "n"));
}

void Axpy(const Napi::CallbackInfo& info) {
  Arity(info, 4, "axpy");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::axpy(F32(info, 0, "y"), F32(info, 1, "x"), (float)Num(info, 2, "alpha"), Int(info, 3, "n"));
}

void Scale(const Napi::CallbackInfo& info) {
  Arity(info, 3, "scale");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::scale(F32(info, 0, "x"), (float)Num(info, 1, "alpha"), Int(info, 2, "n"));
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Arity(info, 2, "sumSquares");
  std::lock_guard<std::mutex> lock(g_callMu);
  return Napi::Number::New(info.Env(), pedgpt::sumSquares(F32(info, 0, "x"), Int(info, 1, "n")));
}

void AdamW(const Napi::CallbackInfo& info) {
  Arity(info, 12, "adamw");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::adamw(F32(info, 0, "param"), F32(info, 1, "grad"), F32(info, 2, "m"), F32(info, 3, "v"), Int(info, 4, "n"),
                Num(info, 5, "lr"), Num(info, 6, "beta1"), Num(info, 7, "beta2"), Num(info, 8, "eps"),
                Num(info, 9, "weightDecay"), (int)Int(info, 10, "step"), Num(info, 11, "gradScale"));
}

void SoftmaxForward(const Napi::CallbackInfo& info) {
  Arity(info, 4, "softmaxForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::softmaxForward(F32(info, 0, "out"), F32(info, 1, "inp"), Int(info, 2, "N"), Int(info, 3, "C"));
}

void SoftmaxBackward(const Napi::CallbackInfo& info) {
  Arity(info, 5, "softmaxBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::softmaxBackward(F32(info, 0, "dinp"), F32(info, 1, "dout"), F32(info, 2, "out"), Int(info, 3, "N"),
                          Int(info, 4, "C"));
}

// softplus and log-sigmoid share one calling convention: (out, inp, n) and (dinp, dout, inp, n).
template <void (*Fwd)(float*, const float*, int64_t)>
void ElemForward(const Napi::CallbackInfo& info) {
  Arity(info, 3, "elementwise forward");
  std::lock_guard<std::mutex> lock(g_callMu);
  Fwd(F32(info, 0, "out"), F32(info, 1, "inp"), Int(info, 2, "n"));
}

template <void (*Bwd)(float*, const float*, const float*, int64_t)>
void ElemBackward(const Napi::CallbackInfo& info) {
  Arity(info, 4, "elementwise backward");
  std::lock_guard<std::mutex> lock(g_callMu);
  Bwd(F32(info, 0, "dinp"), F32(info, 1, "dout"), F32(info, 2, "inp"), Int(info, 3, "n"));
}

Napi::Value WeightedSum(const Napi::CallbackInfo& info) {
  Arity(info, 3, "weightedSum");
  std::lock_guard<std::mutex> lock(g_callMu);
  return Napi::Number::New(info.Env(), pedgpt::weightedSum(F32(info, 0, "x"), F32OrNull(info, 1, "weights"),
                                                           Int(info, 2, "n")));
}

void WeightedSumBackward(const Napi::CallbackInfo& info) {
  Arity(info, 4, "weightedSumBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::weightedSumBackward(F32(info, 0, "dinp"), F32OrNull(info, 1, "weights"), (float)Num(info, 2, "g"),
                              Int(info, 3, "n"));
}

void ScaleRowsForward(const Napi::CallbackInfo& info) {
  Arity(info, 5, "scaleRowsForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::scaleRowsForward(F32(info, 0, "out"), F32(info, 1, "inp"), F32(info, 2, "s"), Int(info, 3, "N"),
                           Int(info, 4, "C"));
}

void ScaleRowsBackward(const Napi::CallbackInfo& info) {
  Arity(info, 7, "scaleRowsBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::scaleRowsBackward(F32OrNull(info, 0, "dinp"), F32OrNull(info, 1, "ds"), F32(info, 2, "dout"),
                            F32(info, 3, "inp"), F32(info, 4, "s"), Int(info, 5, "N"), Int(info, 6, "C"));
}

void CopyBlock(const Napi::CallbackInfo& info) {
  Arity(info, 9, "copyBlock");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::copyBlock(F32(info, 0, "dst") + Int(info, 1, "dOffset"), Int(info, 2, "ldd"),
                    F32(info, 3, "src") + Int(info, 4, "sOffset"), Int(info, 5, "lds"), Int(info, 6, "rows"),
                    Int(info, 7, "cols"), Bool(info, 8, "accumulate"));
}

void RowNormalizeForward(const Napi::CallbackInfo& info) {
  Arity(info, 6, "rowNormalizeForward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::rowNormalizeForward(F32(info, 0, "out"), F32(info, 1, "norms"), F32(info, 2, "inp"), Int(info, 3, "R"),
                              Int(info, 4, "C"), (float)Num(info, 5, "eps"));
}

void RowNormalizeBackward(const Napi::CallbackInfo& info) {
  Arity(info, 7, "rowNormalizeBackward");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::rowNormalizeBackward(F32(info, 0, "dinp"), F32(info, 1, "dout"), F32(info, 2, "out"), F32(info, 3, "norms"),
                               Int(info, 4, "R"), Int(info, 5, "C"), (float)Num(info, 6, "eps"));
}

int8_t* I8(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int8_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be an Int8Array");
  }
  return v.As<Napi::Int8Array>().Data();
}

uint16_t* U16(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    throw Napi::TypeError::New(info.Env(), std::string("argument ") + name + " must be a Uint16Array");
  }
  return v.As<Napi::Uint16Array>().Data();
}

void QuantizeQ8(const Napi::CallbackInfo& info) {
  Arity(info, 5, "quantizeQ8");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::quantizeQ8(I8(info, 0, "q"), F32(info, 1, "scales"), F32(info, 2, "w"), Int(info, 3, "rows"),
                     Int(info, 4, "cols"));
}

void QuantizeBf16(const Napi::CallbackInfo& info) {
  Arity(info, 3, "quantizeBf16");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::quantizeBf16(U16(info, 0, "out"), F32(info, 1, "w"), Int(info, 2, "n"));
}

void QuantizeActivationsQ8(const Napi::CallbackInfo& info) {
  Arity(info, 5, "quantizeActivationsQ8");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::quantizeActivationsQ8(I8(info, 0, "q"), F32(info, 1, "scales"), F32(info, 2, "x"), Int(info, 3, "rows"),
                                Int(info, 4, "cols"));
}

void MatmulQ8(const Napi::CallbackInfo& info) {
  Arity(info, 7, "matmulQ8");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::matmulQ8(F32(info, 0, "y"), F32(info, 1, "x"), I8(info, 2, "q"), F32(info, 3, "scales"), Int(info, 4, "M"),
                   Int(info, 5, "N"), Int(info, 6, "K"));
}

void MatmulBf16(const Napi::CallbackInfo& info) {
  Arity(info, 6, "matmulBf16");
  std::lock_guard<std::mutex> lock(g_callMu);
  pedgpt::matmulBf16(F32(info, 0, "y"), F32(info, 1, "x"), U16(info, 2, "w"), Int(info, 3, "M"), Int(info, 4, "N"),
                     Int(info, 5, "K"));
}

Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Arity(info, 1, "adviseHugePages");
  Napi::Value v = info[0];
  if (!v.IsTypedArray()) throw Napi::TypeError::New(info.Env(), "argument buf must be a typed array");
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  uint8_t* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  return Napi::Number::New(info.Env(), (double)pedgpt::adviseHugePages(base, (int64_t)t.ByteLength()));
}

void SetThreads(const Napi::CallbackInfo& info) {
  Arity(info, 1, "setThreads");
  std::lock_guard<std::mutex> lock(g_callMu);
  const int64_t n = Int(info, 0, "n");
  if (n < 1 || n > 1024) throw Napi::RangeError::New(info.Env(), "setThreads: n must be in [1, 1024]");
  pedgpt::setThreads((int)n);
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_callMu);
  return Napi::Number::New(info.Env(), pedgpt::getThreads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", Napi::String::New(info.Env(), pedgpt::blasConfig()));
#if defined(__AVX512F__)
  const char* simd = "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
  const char* simd = "avx2+fma";
#elif defined(__AVX2__)
  const char* simd = "avx2";
#else
  const char* simd = "baseline (sse2)";
#endif
  o.Set("simd", Napi::String::New(info.Env(), simd));
  o.Set("threads", Napi::Number::New(info.Env(), pedgpt::getThreads()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Default thread count: the number of cores (one owner; the JavaScript side may change it).
  const unsigned hw = std::thread::hardware_concurrency();
  pedgpt::setThreads(hw > 0 ? (int)hw : 1);
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("gemmBatched", Napi::Function::New(env, GemmBatched));
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  exports.Set("rmsnormForward", Napi::Function::New(env, RmsnormForward));
  exports.Set("rmsnormBackward", Napi::Function::New(env, RmsnormBackward));
  exports.Set("ropeForward", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { Rope(i, false); }));
  exports.Set("ropeBackward", Napi::Function::New(env, [](const Napi::CallbackInfo& i) { Rope(i, true); }));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("swigluForward", Napi::Function::New(env, SwigluForward));
  exports.Set("swigluBackward", Napi::Function::New(env, SwigluBackward));
  exports.Set("crossEntropyForward", Napi::Function::New(env, CrossEntropyForward));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("mul", Napi::Function::New(env, Mul));
  exports.Set("axpy", Napi::Function::New(env, Axpy));
  exports.Set("scale", Napi::Function::New(env, Scale));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("softmaxForward", Napi::Function::New(env, SoftmaxForward));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("softplusForward", Napi::Function::New(env, ElemForward<pedgpt::softplusForward>));
  exports.Set("softplusBackward", Napi::Function::New(env, ElemBackward<pedgpt::softplusBackward>));
  exports.Set("logSigmoidForward", Napi::Function::New(env, ElemForward<pedgpt::logSigmoidForward>));
  exports.Set("logSigmoidBackward", Napi::Function::New(env, ElemBackward<pedgpt::logSigmoidBackward>));
  exports.Set("weightedSum", Napi::Function::New(env, WeightedSum));
  exports.Set("weightedSumBackward", Napi::Function::New(env, WeightedSumBackward));
  exports.Set("scaleRowsForward", Napi::Function::New(env, ScaleRowsForward));
  exports.Set("scaleRowsBackward", Napi::Function::New(env, ScaleRowsBackward));
  exports.Set("copyBlock", Napi::Function::New(env, CopyBlock));
  exports.Set("rowNormalizeForward", Napi::Function::New(env, RowNormalizeForward));
  exports.Set("rowNormalizeBackward", Napi::Function::New(env, RowNormalizeBackward));
  exports.Set("quantizeQ8", Napi::Function::New(env, QuantizeQ8));
  exports.Set("quantizeBf16", Napi::Function::New(env, QuantizeBf16));
  exports.Set("quantizeActivationsQ8", Napi::Function::New(env, QuantizeActivationsQ8));
  exports.Set("matmulQ8", Napi::Function::New(env, MatmulQ8));
  exports.Set("matmulBf16", Napi::Function::New(env, MatmulBf16));
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(pedgpt_native, Init)
