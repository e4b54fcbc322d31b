// CPU baselines (cpu_baselines.h), in ladder order, for f32, f16 and bf16 elements:
//   cpu_scalar  the functors of kernels/common/ops.h in plain loops on one core: what a direct
//               port of the GPU code costs. 16-bit elements are widened and narrowed one at a
//               time with the exact software conversions of kernels/common/dtype.h.
//   cpu_omp     OpenMP threads + SIMD. glibc's expf/tanhf are scalar calls (~5 GB/s) and its
//               vector versions need -ffast-math, which also assumes NaN and inf away; so exp
//               and tanh are written here as branch-free polynomials that GCC vectorizes in
//               `omp simd` loops, with selects for the special values. The hot loops are cloned
//               for AVX-512, AVX2 and baseline x86-64 (target_clones: the binary may run on
//               another machine, so no -march=native), and large outputs go out through
//               streaming stores, which skip reading the output's cache lines before writing.
//               16-bit elements go through the same float code a block at a time: a block is
//               widened into an L1-resident float buffer, computed there, and narrowed (round
//               to nearest even) into the output. The conversions are bit-identical to
//               dtype.h's for every value (a NaN stays NaN; its payload may differ):
//                 f16   F16C's vcvtph2ps / vcvtps2ph (AVX-512: 16 a time, AVX2: 8), which are
//                       exact, subnormals included; without F16C, branch-free integer code.
//                 bf16  widening is a 16-bit shift; narrowing is integer arithmetic on every
//                       path, because AVX-512 BF16's vcvtneps2bf16, though round-to-nearest-
//                       even, treats subnormal inputs as zero and flushes subnormal results
//                       (Intel SDM; on this project's AMD EPYC build machine it turned the
//                       float 0x007fffff into 0, not the smallest normal bf16, 0x0080).
//               The conversion code path (AVX-512, AVX2 + F16C, portable) is picked once by
//               the CPU's features, as the clones are; cpu_converter names each path for
//               tests/test_dtype.cpp, which checks them all against dtype.h. The gated
//               families run the same loop with two operands, the halves of each row of x,
//               and the elementwise backward families with the saved tensor and dy; softmax
//               backward is a dot product per row (summed as softmax's sums are), then that
//               loop over y and dy.
//   cpu_memcpy  the CPU roofline: memcpy of the same bytes on the same threads.
#include "host/cpu_baselines.h"

#include <immintrin.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kernels/common/dtype.h"
#include "kernels/common/ops.h"

// Clones of a hot function: AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline,
// picked once at load time by the CPU's features. OpenMP regions stay outside the clones: the
// outlined parallel bodies would not be cloned.
#define ACT_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

namespace actbench {

namespace {

// Below this many elements one thread is faster than waking the team (measured on floats:
// sigmoid gains from 2^12 on, relu and copy from 2^13-2^14).
constexpr int64_t kParallelMin = int64_t{1} << 13;
// Outputs of at least this many elements of `bytes` bytes are written with streaming stores.
// A normal store first reads the line it writes (1.5x the memory traffic) but leaves the output
// cached; streaming pays once input and output together exceed a quarter of the last-level
// cache (measured with floats on a 260 MiB L3: from 2^24 floats on, 10-25% faster; at 2^23, 8%
// slower).
int64_t stream_min(size_t bytes) {
  static const long llc = [] {
    const long size = sysconf(_SC_LEVEL3_CACHE_SIZE);  // 0 or -1 when unknown
    return size > 0 ? size : long{32} << 20;
  }();
  return llc / (4 * 2 * static_cast<long>(bytes));
}

// ---- vector math: every function below vectorizes inside `#pragma omp simd` ---------------
//
// The functions with a body of any size are always inlined: a call left in an `omp simd` loop
// keeps it scalar, and GCC declined to inline exp_nonpositive and the larger functors into
// loops that read one array and write another. f32 sigmoid, tanh, gelu, gelu_tanh and silu ran
// so, 15 to 35 times slower than in the 16-bit types (whose blocks were computed in place).

inline uint32_t bits(float f) { return __builtin_bit_cast(uint32_t, f); }
inline float from_bits(uint32_t u) { return __builtin_bit_cast(float, u); }

// c ? a : b through bit masks, so that every operand is computed and no branch remains. A
// plain ?: lets GCC move the float arithmetic of one side into a branch, which, as it could
// trap, only AVX-512's masked operations vectorize: the AVX2 and baseline clones would run
// such loops one element at a time.
[[gnu::always_inline]] inline uint32_t pick(bool c, uint32_t a, uint32_t b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return (a & m) | (b & ~m);
}
[[gnu::always_inline]] inline float choose(bool c, float a, float b) {
  return from_bits(pick(c, bits(a), bits(b)));
}

// x <= 0 (or NaN) split as x = n ln2 + r with |r| <= ln2/2 (Cody-Waite: n * kLn2Hi is exact),
// returning 2^n and e^r - 1 apart, so that exp and expm1 are each one more step. e^r - 1 =
// r + r^2 q(r), q a degree-4 minimax fit made for this file (Lawson's iteration; relative
// error 3e-9 before rounding to float coefficients).
// 2^n is built in the exponent field as 2^(n+64) and scaled by 2^-64: exact down to the
// subnormals, 0 below 2^-149. x is clamped at -110 (-inf included), where exp rounds to 0;
// NaN fails the comparison and propagates through the arithmetic.
struct ExpSplit {
  float scale;  // 2^n
  float em1;    // e^r - 1
};
[[gnu::always_inline]] inline ExpSplit exp_split(float x) {
  constexpr float kLog2e = 0x1.715476p+0f;
  constexpr float kLn2Hi = 0x1.63p-1f;        // 9 significant bits
  constexpr float kLn2Lo = -0x1.bd0106p-13f;  // ln 2 - kLn2Hi
  constexpr float kRound = 0x1.8p23f;         // t + kRound rounds t to an integer
  const float xc = choose(x < -110.0f, -110.0f, x);
  const float shifted = xc * kLog2e + kRound;  // n in the low mantissa bits
  const float n = shifted - kRound;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  const float q =
      0x1.fffffcp-2f +
      r * (0x1.555492p-3f + r * (0x1.5558f2p-5f + r * (0x1.1239d4p-7f + r * 0x1.6a244cp-10f)));
  // (n + 127 + 64) << 23: kRound's exponent bits fall off the top in the shift.
  const float scale = from_bits((bits(shifted) << 23) + ((127u + 64u) << 23)) * 0x1p-64f;
  return {scale, r + r * r * q};
}

// exp(x) for x <= 0 or NaN: within 1 ulp over every such float (measured), subnormals included.
[[gnu::always_inline]] inline float exp_nonpositive(float x) {
  const ExpSplit e = exp_split(x);
  return e.scale + e.scale * e.em1;
}

// ops.h's Sigmoid with the vector exp: exp(-|x|) never overflows, and the negative side is
// e / (1 + e), accurate down to the subnormals. One division serves both sides.
struct VecSigmoid {
  [[gnu::always_inline]] float operator()(float x) const {
    const float e = exp_nonpositive(-fabsf(x));
    return choose(x >= 0.0f, 1.0f, e) / (1.0f + e);
  }
};

// tanh|x| = -m / (2 + m) with m = expm1(-2|x|) in [-1, 0]: no overflow, no cancellation near
// 0 (m keeps its relative precision), exactly 1 for large |x| and inf. One formula for all x
// instead of a polynomial branch: 30% fewer instructions. NaN propagates; tanh(-0) = -0.
struct VecTanh {
  [[gnu::always_inline]] float operator()(float x) const {
    const ExpSplit e = exp_split(-2.0f * fabsf(x));
    // expm1 = 2^n (e^r - 1) + (2^n - 1); 2^n - 1 is exact down to n = -24, past which m is -1
    // to float precision anyway.
    const float m = e.scale * e.em1 + (e.scale - 1.0f);
    return copysignf(m / (2.0f + m), x);
  }
};

// ops.h's Relu and max_nan (NaN kept), written with choose. `|` rather than `||`: both
// comparisons are made, and no branch is left between them.
struct VecRelu {
  [[gnu::always_inline]] float operator()(float x) const { return choose((x > 0.0f) | (x != x), x, 0.0f); }
};
[[gnu::always_inline]] inline float vec_max_nan(float a, float b) { return choose((a > b) | (a != a), a, b); }

// ops.h's Silu and GeluTanh on VecSigmoid: x * sigmoid(x) and x * sigmoid(2u); where the
// sigmoid is 0 (x = -inf, or u far below) the result is -0, as ops.h gives.
struct VecSilu {
  [[gnu::always_inline]] float operator()(float x) const {
    const float s = VecSigmoid{}(x);
    return choose(s == 0.0f, -0.0f, x * s);
  }
};

struct VecGeluTanh {
  [[gnu::always_inline]] float operator()(float x) const {
    const float s = VecSigmoid{}(2.0f * gelu_tanh_u(x));
    return choose(s == 0.0f, -0.0f, x * s);
  }
};

// ops.h's Gelu with a vector erfc. erfc(a) for a = |x| / sqrt 2 >= 0 is t e^(-a^2 + P(t)),
// t = 1 / (1 + a / 2), P the degree-9 fit of Numerical Recipes' erfcc (fractional error below
// 1.2e-7 for every a >= 0), with a^2 = hi + lo exactly (fma) and e^(-hi) e^(P - lo) taken
// apart so that the rounding of a^2 (relative 6e-8, times a^2 in the result) does not enter;
// a itself is x / sqrt 2 + its rounding, fixed as ops.h does. Then gelu(x) = x / 2 erfc(a)
// for x <= 0 and x - x / 2 erfc(a) for x > 0: erfc(a) <= 1 there, so nothing cancels.
struct VecGelu {
  [[gnu::always_inline]] float operator()(float x) const {
    const float ax = fabsf(x);
    const float a = kRsqrt2Hi * ax;
    const float a_lo = fmaf(kRsqrt2Hi, ax, -a) + kRsqrt2Lo * ax;  // |x| / sqrt 2 - a
    const float t = 1.0f / (1.0f + 0.5f * a);
    const float p =
        -1.26551223f +
        t * (1.00002368f +
             t * (0.37409196f +
                  t * (0.09678418f +
                       t * (-0.18628806f +
                            t * (0.27886807f +
                                 t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    const float a2 = a * a;
    const float a2_lo = fmaf(a, a, -a2);
    const float e_a2 = exp_nonpositive(-a2);
    const float erfc_a = t * e_a2 * exp_nonpositive(choose(p - a2_lo > 0.0f, 0.0f, p - a2_lo)) -
                         k2OverSqrtPi * e_a2 * a_lo;
    const float half = 0.5f * x * erfc_a;
    // +-inf: a = inf, t = 0, erfc_a = 0 * 0 - ... : the limits are set apart (x and -0).
    return choose(ax == INFINITY, choose(x > 0.0f, x, -0.0f), choose(x > 0.0f, x - half, half));
  }
};

template <Activation A>
using VecOp = std::conditional_t<
    A == Activation::Sigmoid, VecSigmoid,
    std::conditional_t<
        A == Activation::Tanh, VecTanh,
        std::conditional_t<A == Activation::Relu, VecRelu,
                           std::conditional_t<A == Activation::Gelu, VecGelu,
                                              std::conditional_t<A == Activation::GeluTanh, VecGeluTanh, VecSilu>>>>>;

// ops.h's Gated with the vector math of its activation: VecOp<A>(a) * b.
template <Activation A>
struct VecGated {
  [[gnu::always_inline]] float operator()(float a, float b) const { return VecOp<A>{}(a) * b; }
};

// The backward functors need no vector twins: ops.h's SigmoidGrad and TanhGrad are products,
// its ReluGrad a select between dy and 0, both already loaded (no branch, no arithmetic to
// move into one: every clone vectorizes it as it is).
template <Activation A>
using GradOp = std::conditional_t<A == Activation::Sigmoid, SigmoidGrad,
                                  std::conditional_t<A == Activation::Tanh, TanhGrad, ReluGrad>>;

// ops.h's softmax_term with the vector exp: x - m <= 0 whenever m is the row max.
[[gnu::always_inline]] inline float vec_softmax_term(float x, float m) {
  return choose(x == -INFINITY, 0.0f, exp_nonpositive(x - m));
}

// One element's softmax output once its row's state is known (1 / s taken once per row).
struct VecSoftmaxOutput {
  float m, inv_s;
  [[gnu::always_inline]] float operator()(float x) const { return vec_softmax_term(x, m) * inv_s; }
};

// One element's softmax backward output once its row's dot product is known.
struct SoftmaxBackwardOutput {
  float dot;
  [[gnu::always_inline]] float operator()(float y, float dy) const { return softmax_backward_output(y, dy, dot); }
};

// ---- element types --------------------------------------------------------------------------

template <class T>
constexpr bool kWide = std::is_same_v<T, float>;

// One element, with dtype.h's exact software conversions (cpu_scalar).
inline float to_float(float x) { return x; }
inline float to_float(__half x) { return f16_bits_to_f32(__builtin_bit_cast(uint16_t, x)); }
inline float to_float(__nv_bfloat16 x) { return bf16_bits_to_f32(__builtin_bit_cast(uint16_t, x)); }
template <class T>
T from_float(float f) {
  if constexpr (std::is_same_v<T, float>) {
    return f;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __builtin_bit_cast(__half, f32_to_f16_bits(f));
  } else {
    return __builtin_bit_cast(__nv_bfloat16, f32_to_bf16_bits(f));
  }
}

// Branch-free conversions for `omp simd` loops: the same results as dtype.h's, bit for bit
// (NaN: quiet, sign and top payload bits kept, as there). Compares are on int32 (every
// magnitude fits), which SSE2 and AVX2 have and unsigned compares they lack.

// bf16 -> f32: the bf16 bits are the upper half of the float.
[[gnu::always_inline]] inline float bf16_widen(uint16_t h) { return from_bits(uint32_t{h} << 16); }

// f32 -> bf16: round to nearest even on the 16 bits dropped (a carry into the exponent is
// right: it makes the next binade, or inf past the largest finite value), NaN made quiet.
// vcvtneps2bf16 (AVX-512 BF16) would round the same way but treats subnormal inputs as zero and
// flushes subnormal results; bf16 has float's exponent range, so those are values bf16 holds
// (as subnormals, or the smallest normal they round up to): not exact, so not used.
[[gnu::always_inline]] inline uint16_t bf16_narrow(float f) {
  const uint32_t u = bits(f);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const bool nan = static_cast<int32_t>(u & 0x7fffffffu) > 0x7f800000;
  return static_cast<uint16_t>(pick(nan, (u >> 16) | 0x40u, rounded));
}

// f16 -> f32 without F16C. Normal: the exponent rebiased by 112. Subnormal (m 2^-24): the
// mantissa placed under 2^-14's exponent is 2^-14 (1 + m / 1024), from which 2^-14 subtracts
// exactly (no denormal operand, so DAZ cannot change it). Inf and NaN: exponent 255.
[[gnu::always_inline]] inline float f16_widen_soft(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t shifted = uint32_t{h & 0x7fffu} << 13;
  const int32_t a = h & 0x7fff;
  const uint32_t subnormal = bits(from_bits(shifted + (113u << 23)) - 0x1p-14f);
  const uint32_t magnitude =
      pick(a >= 0x7c00, shifted + (224u << 23), pick(a < 0x400, subnormal, shifted + (112u << 23)));
  return from_bits(sign | magnitude);
}

// f32 -> f16 without F16C. Normal: rebias, then round to nearest even on the 13 bits dropped
// (a carry into the exponent is right); 65520 and up is inf. Below 2^-14 the result is a
// multiple of 2^-24: adding 0.5, whose ulp is 2^-24, rounds |f| to that grid to nearest even
// (the FPU's default mode, as dtype.h's nearbyint), and the bits above 0.5's are the f16 bits
// (1024, the first normal, included). A denormal f32 treated as 0 under DAZ would give 0 all
// the same.
[[gnu::always_inline]] inline uint16_t f16_narrow_soft(float f) {
  const uint32_t u = bits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  const int32_t sa = static_cast<int32_t>(a);
  const uint32_t rebased = a - (112u << 23);
  const uint32_t normal = (rebased + 0xfffu + ((rebased >> 13) & 1u)) >> 13;
  const uint32_t subnormal = bits(from_bits(a) + 0.5f) - 0x3f000000u;
  const uint32_t magnitude = pick(sa > 0x7f800000, 0x7e00u | ((a >> 13) & 0x3ffu),
                                  pick(sa >= 0x477ff000, 0x7c00u, pick(sa < 0x38800000, subnormal, normal)));
  return static_cast<uint16_t>(sign | magnitude);
}

// ---- conversion blocks: n elements of x converted into y, one function per code path --------

// Portable (SSE2 in the baseline build; also compiled into the bf16 versions for AVX2 and
// AVX-512, where the same loops vectorize wider).
[[gnu::always_inline]] inline void bf16_widen_loop(const void* x, float* y, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(x);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_widen(h[i]);
}
[[gnu::always_inline]] inline void bf16_narrow_loop(const float* x, void* y, int64_t n) {
  auto* h = static_cast<uint16_t*>(y);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) h[i] = bf16_narrow(x[i]);
}
void bf16_widen_portable(const void* x, float* y, int64_t n) { bf16_widen_loop(x, y, n); }
void bf16_narrow_portable(const float* x, void* y, int64_t n) { bf16_narrow_loop(x, y, n); }
[[gnu::target("arch=x86-64-v3")]] void bf16_widen_v3(const void* x, float* y, int64_t n) { bf16_widen_loop(x, y, n); }
[[gnu::target("arch=x86-64-v3")]] void bf16_narrow_v3(const float* x, void* y, int64_t n) { bf16_narrow_loop(x, y, n); }
[[gnu::target("arch=x86-64-v4")]] void bf16_widen_v4(const void* x, float* y, int64_t n) { bf16_widen_loop(x, y, n); }
[[gnu::target("arch=x86-64-v4")]] void bf16_narrow_v4(const float* x, void* y, int64_t n) { bf16_narrow_loop(x, y, n); }

void f16_widen_portable(const void* x, float* y, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(x);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = f16_widen_soft(h[i]);
}
void f16_narrow_portable(const float* x, void* y, int64_t n) {
  auto* h = static_cast<uint16_t*>(y);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) h[i] = f16_narrow_soft(x[i]);
}

// F16C (part of x86-64-v3): 8 at a time. The rounding immediate says round to nearest even,
// whatever MXCSR says; vcvtph2ps ignores DAZ and vcvtps2ph ignores FTZ (Intel SDM), so both
// are exact, subnormals included.
constexpr int kRoundNearestEven = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

[[gnu::target("arch=x86-64-v3")]] void f16_widen_v3(const void* x, float* y, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(x);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  }
  for (; i < n; ++i) y[i] = _cvtsh_ss(h[i]);
}
[[gnu::target("arch=x86-64-v3")]] void f16_narrow_v3(const float* x, void* y, int64_t n) {
  auto* h = static_cast<uint16_t*>(y);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRoundNearestEven));
  }
  for (; i < n; ++i) h[i] = _cvtss_sh(x[i], kRoundNearestEven);
}

// AVX-512: 16 at a time, the tail under a mask. The zero-masking forms throughout: the
// unmasked intrinsics start from an "undefined" register, which GCC 12 warns about
// (-Wmaybe-uninitialized); with a full mask they are the same instruction.
[[gnu::target("arch=x86-64-v4")]] void f16_widen_v4(const void* x, float* y, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; i += 16) {
    const auto k = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, k, _mm512_maskz_cvtph_ps(k, _mm256_maskz_loadu_epi16(k, h + i)));
  }
}
[[gnu::target("arch=x86-64-v4")]] void f16_narrow_v4(const float* x, void* y, int64_t n) {
  auto* h = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; i += 16) {
    const auto k = static_cast<__mmask16>(n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(h + i, k, _mm512_maskz_cvtps_ph(k, _mm512_maskz_loadu_ps(k, x + i), kRoundNearestEven));
  }
}

// The best path this CPU runs, by the same feature levels as the clones' dispatch.
ConvertPath best_path() {
  static const ConvertPath path = __builtin_cpu_supports("x86-64-v4")   ? ConvertPath::X86_64_v4
                                  : __builtin_cpu_supports("x86-64-v3") ? ConvertPath::X86_64_v3
                                                                        : ConvertPath::Portable;
  return path;
}

Converter converter_for(DType t, ConvertPath path) {
  const bool f16 = t == DType::F16;
  switch (path) {
    case ConvertPath::Auto:
      return converter_for(t, best_path());
    case ConvertPath::X86_64_v4:
      if (!__builtin_cpu_supports("x86-64-v4")) return {};
      return f16 ? Converter{f16_widen_v4, f16_narrow_v4} : Converter{bf16_widen_v4, bf16_narrow_v4};
    case ConvertPath::X86_64_v3:
      if (!__builtin_cpu_supports("x86-64-v3")) return {};
      return f16 ? Converter{f16_widen_v3, f16_narrow_v3} : Converter{bf16_widen_v3, bf16_narrow_v3};
    case ConvertPath::Portable:
      return f16 ? Converter{f16_widen_portable, f16_narrow_portable}
                 : Converter{bf16_widen_portable, bf16_narrow_portable};
  }
  return {};
}

// What cpu_omp converts with: n elements of T widened into floats, floats narrowed into T.
template <class T>
const Converter& converter() {
  static const Converter c = converter_for(Element<T>::kType, ConvertPath::Auto);
  return c;
}
template <class T>
[[gnu::always_inline]] inline void widen(const T* x, float* y, int64_t n) {
  converter<T>().widen(x, y, n);
}
template <class T>
[[gnu::always_inline]] inline void narrow(const float* x, T* y, int64_t n) {
  converter<T>().narrow(x, y, n);
}

// ---- loops --------------------------------------------------------------------------------

// y[i] = f(x[i]...) for i < n, every operand float: the one elementwise loop (one input, or a
// gated family's two), inlined into each clone.
template <class F, class... X>
[[gnu::always_inline]] inline void apply(F f, float* y, int64_t n, const X*... x) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]...);
}

// Copies `bytes` bytes (a multiple of 16) from src to dst, both 16-byte aligned, with
// streaming stores. 16-byte stores exist in every clone; they fill whole lines in the
// write-combining buffers all the same (within 10% of 32-byte ones for a plain copy, measured).
[[gnu::always_inline]] inline void stream_copy(void* dst, const void* src, int64_t bytes) {
  auto* d = static_cast<__m128i*>(dst);
  const auto* s = static_cast<const __m128i*>(src);
  for (int64_t i = 0; i < bytes / 16; ++i) _mm_stream_si128(d + i, _mm_load_si128(s + i));
}

// At most kBlock elements of S as floats: S's own memory when S is float, else widened into
// `buf` (L1-resident).
template <class S>
[[gnu::always_inline]] inline const float* as_floats(const S* x, float* buf, int64_t n) {
  if constexpr (kWide<S>) {
    return x;
  } else {
    widen(x, buf, n);
    return buf;
  }
}

// A second operand's block buffer: a temporary per block, whose constructor leaves the floats
// as they are (value-initialization would zero them for nothing).
template <int64_t kBlock>
struct BlockBuffer {
  BlockBuffer() {}
  alignas(64) float f[kBlock];
};

// y[i] = f(x[i], more[i]...) for i < n (at most a block), y 16-bit, through the float buffer
// `wide`: x widened into it (unless S is float) and f computed there in place, any further
// operand (a gated family's b) widened into a buffer of its own, the results narrowed into y.
template <int64_t kBlock, class F, class D, class S, class... More>
[[gnu::always_inline]] inline void map_block(F f, float* wide, D* y, int64_t n, const S* x, const More*... more) {
  const float* first = as_floats(x, wide, n);
  apply(f, wide, n, first, as_floats(more, BlockBuffer<kBlock>().f, n)...);  // buffers live to the end of the call
  narrow(wide, y, n);
}

// y[i] = f(x[i]...) over one thread's range, each x of S and y of D (float or 16-bit; S = D, or
// S float for softmax's outputs). With `stream`, the results of each block are computed into
// an L1-resident buffer and streamed out (the compiler cannot be asked for streaming stores
// from an `omp simd` loop); the unaligned head and the tail are stored normally. The caller
// issues the fence.
template <class F, class D, class... S>
[[gnu::always_inline]] inline void map_body(F f, D* y, int64_t n, bool stream, const S*... x) {
  // 512 B of output per block: 8 cache lines per burst of streaming stores, fewer than the
  // core's line fill buffers, so the burst drains while the next block computes (2 KiB blocks
  // ran 25% slower with floats).
  constexpr int64_t kBlock = 512 / sizeof(D);
  const int64_t head = stream ? std::min<int64_t>(n, (-reinterpret_cast<uintptr_t>(y) & 63) / sizeof(D)) : n;
  if constexpr (kWide<D>) {
    static_assert((kWide<S> && ...), "map_body: float outputs come from float inputs");
    apply(f, y, head, x...);
    int64_t i = head;
    alignas(64) float block[kBlock];
    for (; i + kBlock <= n; i += kBlock) {
      apply(f, block, kBlock, (x + i)...);
      stream_copy(y + i, block, sizeof block);
    }
    apply(f, y + i, n - i, (x + i)...);
  } else {
    // 16-bit: every block is widened (unless S is float), computed in floats and narrowed.
    alignas(64) float wide[kBlock];
    alignas(64) D out[kBlock];
    // Without `stream` the head is all of it.
    for (int64_t i = 0; i < head; i += kBlock) {
      map_block<kBlock>(f, wide, y + i, std::min(kBlock, head - i), (x + i)...);
    }
    if (stream) {
      int64_t i = head;
      for (; i + kBlock <= n; i += kBlock) {
        map_block<kBlock>(f, wide, out, kBlock, (x + i)...);
        stream_copy(y + i, out, sizeof out);
      }
      for (; i < n; i += kBlock) map_block<kBlock>(f, wide, y + i, std::min(kBlock, n - i), (x + i)...);
    }
  }
}

template <class F, class D, class... S>
ACT_CPU_CLONES void map_range(F f, D* y, int64_t n, bool stream, const S*... x) {
  map_body(f, y, n, stream, x...);
}

// Elements [lo, hi) of thread t's share of n elements of T, split at multiples of a cache
// line so threads rarely share one.
struct Range {
  int64_t lo, hi;
};
template <class T>
Range share(int64_t n, int t, int threads) {
  constexpr int64_t kLine = 64 / sizeof(T);
  auto edge = [&](int k) { return k == threads ? n : (n * k / threads) & ~(kLine - 1); };
  return {edge(t), edge(t + 1)};
}


// body(r) for each thread's share r of n elements of T, on all threads (one below
// kParallelMin); with `stream` each thread then drains its streaming stores.
template <class T, class Body>
void omp_shares(int64_t n, bool stream, Body body) {
#pragma omp parallel if (n >= kParallelMin)
  {
    body(share<T>(n, omp_get_thread_num(), omp_get_num_threads()));
    if (stream) _mm_sfence();  // streaming stores are weakly ordered: drain before the barrier
  }
}

// y[i] = f(x[i]...) over n elements of T on all threads, every x n elements of T: an
// activation's x, or a backward family's saved tensor and dy.
template <class T, class F, class... X>
void omp_map(F f, T* y, int64_t n, const X*... x) {
  const bool stream = streams_output(n, sizeof...(X), sizeof(T));
  omp_shares<T>(n, stream, [&](Range r) { map_range(f, y + r.lo, r.hi - r.lo, stream, (x + r.lo)...); });
}

// Outputs [r.lo, r.hi) of a gated family's rows of `cols`: y[e] = f(a, b), a and b the
// elements of the output's row and column in x's two halves (rows of 2 cols). The share is
// walked row by row inside one clone call, each stretch of a row one map_body.
template <class F, class T>
ACT_CPU_CLONES void gated_range(F f, const T* x, T* y, int64_t cols, Range r, bool stream) {
  for (int64_t e = r.lo; e < r.hi;) {
    const int64_t row = e / cols, c = e - row * cols;
    const int64_t len = std::min(r.hi - e, cols - c);
    const T* a = x + 2 * cols * row + c;
    map_body(f, y + e, len, stream, a, a + cols);
    e += len;
  }
}

// ---- softmax ------------------------------------------------------------------------------

// op over value(i) for i < n, op being max_nan or +: kLanes independent accumulators (one
// vector), the tail folded into the first, then a tree across the lanes. All but the tail
// vectorizes without -ffast-math; GCC's own `omp simd reduction` ends in a serial scalar loop
// over the lanes (a third of the time on 32-float rows), and a max reduction would not
// promise ops.h's NaN propagation.
template <class Op, class Value>
[[gnu::always_inline]] inline float lane_reduce(int64_t n, float init, Op op, Value value) {
  constexpr int kLanes = 16;
  float lane[kLanes];
  for (float& v : lane) v = init;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) lane[l] = op(lane[l], value(i + l));
  }
  for (; i < n; ++i) lane[0] = op(lane[0], value(i));
#pragma GCC unroll 4  // constant widths 8, 4, 2, 1: each step is one vector op
  for (int w = kLanes / 2; w > 0; w /= 2) {
#pragma omp simd
    for (int l = 0; l < w; ++l) lane[l] = op(lane[l], lane[l + w]);
  }
  return lane[0];
}

// The row max; 16-bit elements (cpu_scalar) widened one at a time.
template <class T>
[[gnu::always_inline]] inline float row_max(const T* x, int64_t n) {
  return lane_reduce(n, -INFINITY, vec_max_nan, [=](int64_t i) { return to_float(x[i]); });
}

// Sum of term(i) over i < n: float lanes within blocks of kSumBlock terms, the block sums in
// double. A single float accumulator over 2^20 terms drifts by far more than the softmax
// tolerance; this keeps every row within a few ulp.
constexpr int64_t kSumBlock = 1024;
template <class Term>
[[gnu::always_inline]] inline float row_sum(int64_t n, Term term) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kSumBlock) {
    total += lane_reduce(
        std::min(kSumBlock, n - b), 0.0f, [](float u, float v) { return u + v; },
        [=](int64_t i) { return term(b + i); });
  }
  return static_cast<float>(total);
}

// The softmax state {max, sum of exp(x - max)} of a stretch of a row; {-inf, 0} (the merge
// identity) when n = 0. 16-bit: the same sums, each block of kSumBlock widened first (twice:
// once for the max, once for the sum; the stretch is too long to keep).
template <class T>
ACT_CPU_CLONES SoftmaxState vec_row_state(const T* x, int64_t n) {
  if constexpr (kWide<T>) {
    const float m = row_max(x, n);
    return {m, row_sum(n, [=](int64_t i) { return vec_softmax_term(x[i], m); })};
  } else {
    alignas(64) float wide[kSumBlock];
    float m = -INFINITY;
    for (int64_t b = 0; b < n; b += kSumBlock) {
      const int64_t len = std::min(kSumBlock, n - b);
      widen(x + b, wide, len);
      m = vec_max_nan(m, row_max(wide, len));
    }
    double total = 0.0;
    for (int64_t b = 0; b < n; b += kSumBlock) {
      const int64_t len = std::min(kSumBlock, n - b);
      widen(x + b, wide, len);
      total += lane_reduce(
          len, 0.0f, [](float u, float v) { return u + v; },
          [&](int64_t i) { return vec_softmax_term(wide[i], m); });
    }
    return {m, static_cast<float>(total)};
  }
}

// A whole row on one thread, its exp terms kept in `terms` (n floats, cache-resident) between
// the sum and the outputs: one exp per element, x read from memory once, y written once.
// 16-bit: the row is widened into `terms` first and its terms replace it.
template <class T>
ACT_CPU_CLONES void vec_softmax_row(const T* x, T* y, int64_t n, float* terms, bool stream) {
  const float* wide;
  if constexpr (kWide<T>) {
    wide = x;
  } else {
    widen(x, terms, n);
    wide = terms;
  }
  const float m = row_max(wide, n);
  const float inv_s =
      1.0f / row_sum(n, [=](int64_t i) { return terms[i] = vec_softmax_term(wide[i], m); });
  map_body([inv_s](float t) { return t * inv_s; }, y, n, stream, static_cast<const float*>(terms));
}

VecSoftmaxOutput softmax_output_of(SoftmaxState st) { return {st.m, 1.0f / st.s}; }

// ---- softmax backward ---------------------------------------------------------------------

// sum_k y_k dy_k over n elements, in row_sum's order (float lanes, blocks of kSumBlock added in
// double); 16-bit elements widened a block at a time (their products are exact in f32).
template <class T>
[[gnu::always_inline]] inline float dot_body(const T* y, const T* dy, int64_t n) {
  if constexpr (kWide<T>) {
    return row_sum(n, [=](int64_t i) { return dy[i] * y[i]; });
  } else {
    alignas(64) float wy[kSumBlock], wdy[kSumBlock];
    double total = 0.0;
    for (int64_t b = 0; b < n; b += kSumBlock) {
      const int64_t len = std::min(kSumBlock, n - b);
      widen(y + b, wy, len);
      widen(dy + b, wdy, len);
      total += lane_reduce(
          len, 0.0f, [](float u, float v) { return u + v; }, [&](int64_t i) { return wdy[i] * wy[i]; });
    }
    return static_cast<float>(total);
  }
}

template <class T>
ACT_CPU_CLONES float vec_dot(const T* y, const T* dy, int64_t n) {
  return dot_body(y, dy, n);
}

// A whole row on one thread: its dot product, then dx from y and dy read again (from the cache,
// for rows that fit it).
template <class T>
ACT_CPU_CLONES void vec_softmax_backward_row(const T* y, const T* dy, T* dx, int64_t n, bool stream) {
  map_body(SoftmaxBackwardOutput{dot_body(y, dy, n)}, dx, n, stream, y, dy);
}

}  // namespace

// What it moves, (inputs + 1) n elements, exceeds a quarter of the last-level cache (stream_min
// counts the 2 n elements of a map with one input).
int64_t streamed_output_min(int inputs, size_t bytes) {
  return (2 * stream_min(bytes) + inputs) / (inputs + 1);
}

bool streams_output(int64_t n, int inputs, size_t bytes) { return n >= streamed_output_min(inputs, bytes); }

// ---- cpu_scalar ---------------------------------------------------------------------------

template <class T, class Op>
void cpu_scalar_elementwise(const Problem& p) {
  const Op op;
  const T* x = static_cast<const T*>(p.x);
  T* y = static_cast<T*>(p.y);
  const int64_t n = p.rows * p.cols;
  for (int64_t i = 0; i < n; ++i) y[i] = from_float<T>(op(to_float(x[i])));
}

// Row by row: output (r, c) from x's row r, a at column c and b at cols + c.
template <class T, class Op>
void cpu_scalar_gated(const Problem& p) {
  const Gated<Op> op;
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* a = static_cast<const T*>(p.x) + 2 * p.cols * r;
    T* y = static_cast<T*>(p.y) + p.cols * r;
    for (int64_t c = 0; c < p.cols; ++c) y[c] = from_float<T>(op(to_float(a[c]), to_float(a[p.cols + c])));
  }
}

// Three passes per row with ops.h's own functions: max, sum of the terms, outputs.
template <class T>
void cpu_scalar_softmax(const Problem& p) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* x = static_cast<const T*>(p.x) + r * p.cols;
    T* y = static_cast<T*>(p.y) + r * p.cols;
    const float m = row_max(x, p.cols);
    const SoftmaxState st{m, row_sum(p.cols, [=](int64_t i) { return softmax_term(to_float(x[i]), m); })};
    for (int64_t i = 0; i < p.cols; ++i) y[i] = from_float<T>(softmax_output(to_float(x[i]), st));
  }
}

// dx = Grad(s, dy), s the saved tensor.
template <class T, class Grad>
void cpu_scalar_backward(const Problem& p) {
  const Grad grad;
  const T* s = static_cast<const T*>(p.x);
  const T* dy = static_cast<const T*>(p.dy);
  T* dx = static_cast<T*>(p.y);
  const int64_t n = p.rows * p.cols;
  for (int64_t i = 0; i < n; ++i) dx[i] = from_float<T>(grad(to_float(s[i]), to_float(dy[i])));
}

// Two passes per row: the dot product sum_k dy_k y_k (summed as cpu_scalar_softmax sums), then
// the outputs.
template <class T>
void cpu_scalar_softmax_backward(const Problem& p) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* y = static_cast<const T*>(p.x) + r * p.cols;
    const T* dy = static_cast<const T*>(p.dy) + r * p.cols;
    T* dx = static_cast<T*>(p.y) + r * p.cols;
    const float dot = row_sum(p.cols, [=](int64_t i) { return to_float(dy[i]) * to_float(y[i]); });
    for (int64_t i = 0; i < p.cols; ++i) {
      dx[i] = from_float<T>(softmax_backward_output(to_float(y[i]), to_float(dy[i]), dot));
    }
  }
}

// ---- cpu_omp ------------------------------------------------------------------------------

template <class T, Activation A>
void cpu_omp_elementwise(const Problem& p) {
  static_assert(A != Activation::Softmax && A != Activation::Identity,
                "cpu_omp_elementwise: an elementwise activation");
  omp_map(VecOp<A>{}, static_cast<T*>(p.y), p.rows * p.cols, static_cast<const T*>(p.x));
}

template <class T, Activation A>
void cpu_omp_backward(const Problem& p) {
  static_assert(A == Activation::Sigmoid || A == Activation::Tanh || A == Activation::Relu,
                "cpu_omp_backward: sigmoid, tanh or relu");
  omp_map(GradOp<A>{}, static_cast<T*>(p.y), p.rows * p.cols, static_cast<const T*>(p.x),
          static_cast<const T*>(p.dy));
}

// The outputs split across the threads as omp_map splits them (omp_shares), each share walked
// row by row (gated_range): a long row is shared by threads, short rows are many to a thread.
template <class T, Activation A>
void cpu_omp_gated(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  const bool stream = streams_output(n, 2, sizeof(T));  // reads a and b
  omp_shares<T>(n, stream, [&](Range r) {
    gated_range(VecGated<A>{}, static_cast<const T*>(p.x), static_cast<T*>(p.y), p.cols, r, stream);
  });
}

// Many rows: one thread per row, each row whole in one clone call (vec_softmax_row) with its
// exp terms in a per-thread buffer. Few long rows: every row is split across the threads,
// whose partial states meet through SoftmaxMergeOp; the outputs recompute exp rather than
// keep terms that would not fit in the cache.
template <class T>
void cpu_omp_softmax(const Problem& p) {
  const T* const x_all = static_cast<const T*>(p.x);
  T* const y_all = static_cast<T*>(p.y);
  const int64_t rows = p.rows, cols = p.cols;
  const bool stream = streams_output(rows * cols, 1, sizeof(T));
  const bool parallel = rows * cols >= kParallelMin;
  const int threads = omp_get_max_threads();
  if (!parallel || rows >= 4 * threads) {
#pragma omp parallel if (parallel)
    {
      // Kept from call to call: no allocation or page faults inside a timed call.
      static thread_local std::vector<float> terms;
      if (static_cast<int64_t>(terms.size()) < cols) terms.resize(cols);
#pragma omp for schedule(static) nowait
      for (int64_t r = 0; r < rows; ++r) {
        vec_softmax_row(x_all + r * cols, y_all + r * cols, cols, terms.data(), stream);
      }
      if (stream) _mm_sfence();
    }
    return;
  }
  std::vector<SoftmaxState> partial(threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    for (int64_t r = 0; r < rows; ++r) {
      const T* x = x_all + r * cols;
      const Range part = share<T>(cols, t, team);
      partial[t] = vec_row_state(x + part.lo, part.hi - part.lo);
#pragma omp barrier
      SoftmaxState st = SoftmaxMergeOp{}.identity();
      for (int k = 0; k < team; ++k) st = SoftmaxMergeOp{}(st, partial[k]);
      map_range(softmax_output_of(st), y_all + r * cols + part.lo, part.hi - part.lo, stream, x + part.lo);
#pragma omp barrier  // partial[] is rewritten for the next row
    }
    if (stream) _mm_sfence();
  }
}

// As cpu_omp_softmax splits its work: many rows, one thread per row (vec_softmax_backward_row);
// few long rows, every row split across the threads, whose partial dot products are added in
// thread order (the same sum whichever thread finishes first) before each writes its share.
template <class T>
void cpu_omp_softmax_backward(const Problem& p) {
  const T* const y_all = static_cast<const T*>(p.x);
  const T* const dy_all = static_cast<const T*>(p.dy);
  T* const dx_all = static_cast<T*>(p.y);
  const int64_t rows = p.rows, cols = p.cols;
  const bool stream = streams_output(rows * cols, 2, sizeof(T));
  const bool parallel = rows * cols >= kParallelMin;
  const int threads = omp_get_max_threads();
  if (!parallel || rows >= 4 * threads) {
#pragma omp parallel if (parallel)
    {
#pragma omp for schedule(static) nowait
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = r * cols;
        vec_softmax_backward_row(y_all + at, dy_all + at, dx_all + at, cols, stream);
      }
      if (stream) _mm_sfence();
    }
    return;
  }
  std::vector<float> partial(threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    const Range part = share<T>(cols, t, team);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t at = r * cols + part.lo;
      partial[t] = vec_dot(y_all + at, dy_all + at, part.hi - part.lo);
#pragma omp barrier
      double dot = 0.0;
      for (int k = 0; k < team; ++k) dot += partial[k];
      map_range(SoftmaxBackwardOutput{static_cast<float>(dot)}, dx_all + at, part.hi - part.lo, stream,
                y_all + at, dy_all + at);
#pragma omp barrier  // partial[] is rewritten for the next row
    }
    if (stream) _mm_sfence();
  }
}

// ---- roofline -----------------------------------------------------------------------------

template <class T>
void cpu_memcpy(const Problem& p) {
  const int64_t n = p.rows * p.cols;
  const auto* x = static_cast<const unsigned char*>(p.x);
  auto* y = static_cast<unsigned char*>(p.y);
  omp_shares<T>(n, false, [&](Range r) {
    std::memcpy(y + r.lo * sizeof(T), x + r.lo * sizeof(T), static_cast<size_t>(r.hi - r.lo) * sizeof(T));
  });
}

// ---- conversions, for their test ----------------------------------------------------------

Converter cpu_converter(DType t, ConvertPath path) {
  if (t == DType::F32) throw std::invalid_argument("cpu_converter: f16 or bf16, not f32");
  return converter_for(t, path);
}

// ---- the instances the registry names ---------------------------------------------------------

// Every baseline above for every element type, with the functors the registry uses. The
// explicitly instantiated table is emitted with the functions it points to (as in
// kernels/elementwise.cu); registry.cu sees only the declarations.
template <class T>
struct CpuBaselines {
  static const Launcher kAll[];
};
template <class T>
const Launcher CpuBaselines<T>::kAll[] = {
    cpu_scalar_elementwise<T, Sigmoid>, cpu_scalar_elementwise<T, Tanh>, cpu_scalar_elementwise<T, Relu>,
    cpu_scalar_elementwise<T, Gelu>, cpu_scalar_elementwise<T, GeluTanh>, cpu_scalar_elementwise<T, Silu>,
    cpu_scalar_softmax<T>,
    cpu_omp_elementwise<T, Activation::Sigmoid>, cpu_omp_elementwise<T, Activation::Tanh>,
    cpu_omp_elementwise<T, Activation::Relu>, cpu_omp_elementwise<T, Activation::Gelu>,
    cpu_omp_elementwise<T, Activation::GeluTanh>, cpu_omp_elementwise<T, Activation::Silu>,
    cpu_omp_softmax<T>,
    cpu_scalar_gated<T, Silu>, cpu_scalar_gated<T, Gelu>,
    cpu_omp_gated<T, Activation::Silu>, cpu_omp_gated<T, Activation::Gelu>,
    cpu_scalar_backward<T, SigmoidGrad>, cpu_scalar_backward<T, TanhGrad>, cpu_scalar_backward<T, ReluGrad>,
    cpu_scalar_softmax_backward<T>,
    cpu_omp_backward<T, Activation::Sigmoid>, cpu_omp_backward<T, Activation::Tanh>,
    cpu_omp_backward<T, Activation::Relu>, cpu_omp_softmax_backward<T>,
    cpu_memcpy<T>,
};
template struct CpuBaselines<float>;
template struct CpuBaselines<__half>;
template struct CpuBaselines<__nv_bfloat16>;

}  // namespace actbench
