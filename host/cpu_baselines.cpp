// CPU baselines (cpu_baselines.h), in ladder order:
//   cpu_scalar  the functors of kernels/common/ops.h in plain loops on one core: what a direct
//               port of the GPU code costs.
//   cpu_omp     OpenMP threads + SIMD. glibc's expf/tanhf are scalar calls (~5 GB/s) and its
//               vector versions need -ffast-math, which also assumes NaN and inf away; so exp
//               and tanh are written here as branch-free polynomials that GCC vectorizes in
//               `omp simd` loops, with selects for the special values. The hot loops are cloned
//               for AVX-512, AVX2 and baseline x86-64 (target_clones: the binary may run on
//               another machine, so no -march=native), and large outputs go out through
//               streaming stores, which skip reading the output's cache lines before writing.
//   cpu_memcpy  the CPU roofline: memcpy of the same bytes on the same threads.
#include "host/cpu_baselines.h"

#include <immintrin.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/common/ops.h"

// Clones of a hot function: AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline,
// picked once at load time by the CPU's features. OpenMP regions stay outside the clones: the
// outlined parallel bodies would not be cloned.
#define ACT_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

namespace actbench {

namespace {

// Below this many elements one thread is faster than waking the team (measured: sigmoid gains
// from 2^12 floats on, relu and copy from 2^13-2^14).
constexpr int64_t kParallelMin = int64_t{1} << 13;
// Outputs of at least this many floats are written with streaming stores. A normal store
// first reads the line it writes (1.5x the memory traffic) but leaves the output cached;
// streaming pays once input and output together exceed a quarter of the last-level cache
// (measured on a 260 MiB L3: from 2^24 floats on, 10-25% faster; at 2^23, 8% slower).
int64_t stream_min() {
  static const int64_t n = [] {
    const long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);  // 0 or -1 when unknown
    return (llc > 0 ? llc : long{32} << 20) / (4 * 2 * static_cast<long>(sizeof(float)));
  }();
  return n;
}

// ---- vector math: every function below vectorizes inside `#pragma omp simd` ---------------

inline uint32_t bits(float f) { return __builtin_bit_cast(uint32_t, f); }
inline float from_bits(uint32_t u) { return __builtin_bit_cast(float, u); }

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
inline ExpSplit exp_split(float x) {
  constexpr float kLog2e = 0x1.715476p+0f;
  constexpr float kLn2Hi = 0x1.63p-1f;        // 9 significant bits
  constexpr float kLn2Lo = -0x1.bd0106p-13f;  // ln 2 - kLn2Hi
  constexpr float kRound = 0x1.8p23f;         // t + kRound rounds t to an integer
  const float xc = x < -110.0f ? -110.0f : x;
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
inline float exp_nonpositive(float x) {
  const ExpSplit e = exp_split(x);
  return e.scale + e.scale * e.em1;
}

// ops.h's Sigmoid with the vector exp: exp(-|x|) never overflows, and the negative side is
// e / (1 + e), accurate down to the subnormals. One division serves both sides.
struct VecSigmoid {
  float operator()(float x) const {
    const float e = exp_nonpositive(-fabsf(x));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
  }
};

// tanh|x| = -m / (2 + m) with m = expm1(-2|x|) in [-1, 0]: no overflow, no cancellation near
// 0 (m keeps its relative precision), exactly 1 for large |x| and inf. One formula for all x
// instead of a polynomial branch: 30% fewer instructions. NaN propagates; tanh(-0) = -0.
struct VecTanh {
  float operator()(float x) const {
    const ExpSplit e = exp_split(-2.0f * fabsf(x));
    // expm1 = 2^n (e^r - 1) + (2^n - 1); 2^n - 1 is exact down to n = -24, past which m is -1
    // to float precision anyway.
    const float m = e.scale * e.em1 + (e.scale - 1.0f);
    return copysignf(m / (2.0f + m), x);
  }
};

template <Activation A>
using VecOp = std::conditional_t<A == Activation::Sigmoid, VecSigmoid,
                                 std::conditional_t<A == Activation::Tanh, VecTanh, Relu>>;

// ops.h's softmax_term with the vector exp: x - m <= 0 whenever m is the row max.
inline float vec_softmax_term(float x, float m) {
  return x == -INFINITY ? 0.0f : exp_nonpositive(x - m);
}

// One element's softmax output once its row's state is known (1 / s taken once per row).
struct VecSoftmaxOutput {
  float m, inv_s;
  float operator()(float x) const { return vec_softmax_term(x, m) * inv_s; }
};

// ---- loops --------------------------------------------------------------------------------

// y[i] = f(x[i]) for i < n: the one elementwise loop, inlined into each clone.
template <class F>
[[gnu::always_inline]] inline void apply(F f, const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// Copies n floats (a multiple of 4) from src to dst, both 16-byte aligned, with streaming
// stores. 16-byte stores exist in every clone; they fill whole lines in the write-combining
// buffers all the same (within 10% of 32-byte ones for a plain copy, measured).
[[gnu::always_inline]] inline void stream_copy(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; i += 4) _mm_stream_ps(dst + i, _mm_load_ps(src + i));
}

// y[i] = f(x[i]) over one thread's range. With `stream`, the results of each block are
// computed into an L1-resident buffer and streamed out (the compiler cannot be asked for
// streaming stores from an `omp simd` loop); the unaligned head and the tail are stored
// normally. The caller issues the fence.
template <class F>
[[gnu::always_inline]] inline void map_body(F f, const float* x, float* y, int64_t n, bool stream) {
  // 512 B: 8 cache lines per burst of streaming stores, fewer than the core's line fill
  // buffers, so the burst drains while the next block computes (2 KiB blocks ran 25% slower).
  constexpr int64_t kBlock = 128;
  if (!stream) return apply(f, x, y, n);
  const int64_t head = std::min<int64_t>(n, (-reinterpret_cast<uintptr_t>(y) & 63) / sizeof(float));
  apply(f, x, y, head);
  int64_t i = head;
  alignas(64) float block[kBlock];
  for (; i + kBlock <= n; i += kBlock) {
    apply(f, x + i, block, kBlock);
    stream_copy(y + i, block, kBlock);
  }
  apply(f, x + i, y + i, n - i);
}

template <class F>
ACT_CPU_CLONES void map_range(F f, const float* x, float* y, int64_t n, bool stream) {
  map_body(f, x, y, n, stream);
}

// Elements [lo, hi) of thread t's share of n, split at multiples of 16 floats so threads
// rarely share a cache line.
struct Range {
  int64_t lo, hi;
};
Range share(int64_t n, int t, int threads) {
  auto edge = [&](int k) { return k == threads ? n : (n * k / threads) & ~int64_t{15}; };
  return {edge(t), edge(t + 1)};
}

// y = f(x) over n elements on all threads.
template <class F>
void omp_map(F f, const float* x, float* y, int64_t n) {
  const bool stream = n >= stream_min();
#pragma omp parallel if (n >= kParallelMin)
  {
    const Range r = share(n, omp_get_thread_num(), omp_get_num_threads());
    map_range(f, x + r.lo, y + r.lo, r.hi - r.lo, stream);
    if (stream) _mm_sfence();  // streaming stores are weakly ordered: drain before the barrier
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

inline float row_max(const float* x, int64_t n) {
  return lane_reduce(n, -INFINITY, max_nan, [=](int64_t i) { return x[i]; });
}

// Sum of term(i) over i < n: float lanes within blocks of kSumBlock terms, the block sums in
// double. A single float accumulator over 2^20 terms drifts by far more than the softmax
// tolerance; this keeps every row within a few ulp.
template <class Term>
[[gnu::always_inline]] inline float row_sum(int64_t n, Term term) {
  constexpr int64_t kSumBlock = 1024;
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kSumBlock) {
    total += lane_reduce(
        std::min(kSumBlock, n - b), 0.0f, [](float u, float v) { return u + v; },
        [=](int64_t i) { return term(b + i); });
  }
  return static_cast<float>(total);
}

// The softmax state {max, sum of exp(x - max)} of a stretch of a row; {-inf, 0} (the merge
// identity) when n = 0.
ACT_CPU_CLONES SoftmaxState vec_row_state(const float* x, int64_t n) {
  const float m = row_max(x, n);
  return {m, row_sum(n, [=](int64_t i) { return vec_softmax_term(x[i], m); })};
}

// A whole row on one thread, its exp terms kept in `terms` (n floats, cache-resident) between
// the sum and the outputs: one exp per element, x read from memory once, y written once.
ACT_CPU_CLONES void vec_softmax_row(const float* x, float* y, int64_t n, float* terms,
                                    bool stream) {
  const float m = row_max(x, n);
  const float inv_s =
      1.0f / row_sum(n, [=](int64_t i) { return terms[i] = vec_softmax_term(x[i], m); });
  map_body([inv_s](float t) { return t * inv_s; }, terms, y, n, stream);
}

VecSoftmaxOutput softmax_output_of(SoftmaxState st) { return {st.m, 1.0f / st.s}; }

}  // namespace

// ---- cpu_scalar ---------------------------------------------------------------------------

template <class Op>
void cpu_scalar_elementwise(const Problem& p) {
  const Op op;
  const int64_t n = p.rows * p.cols;
  for (int64_t i = 0; i < n; ++i) p.y[i] = op(p.x[i]);
}
template void cpu_scalar_elementwise<Sigmoid>(const Problem&);
template void cpu_scalar_elementwise<Tanh>(const Problem&);
template void cpu_scalar_elementwise<Relu>(const Problem&);

// Three passes per row with ops.h's own functions: max, sum of the terms, outputs.
void cpu_scalar_softmax(const Problem& p) {
  for (int64_t r = 0; r < p.rows; ++r) {
    const float* x = p.x + r * p.cols;
    float* y = p.y + r * p.cols;
    const float m = row_max(x, p.cols);
    const SoftmaxState st{m, row_sum(p.cols, [=](int64_t i) { return softmax_term(x[i], m); })};
    for (int64_t i = 0; i < p.cols; ++i) y[i] = softmax_output(x[i], st);
  }
}

// ---- cpu_omp ------------------------------------------------------------------------------

template <Activation A>
void cpu_omp_elementwise(const Problem& p) {
  omp_map(VecOp<A>{}, p.x, p.y, p.rows * p.cols);
}
template void cpu_omp_elementwise<Activation::Sigmoid>(const Problem&);
template void cpu_omp_elementwise<Activation::Tanh>(const Problem&);
template void cpu_omp_elementwise<Activation::Relu>(const Problem&);

// Many rows: one thread per row, each row whole in one clone call (vec_softmax_row) with its
// exp terms in a per-thread buffer. Few long rows: every row is split across the threads,
// whose partial states meet through SoftmaxMergeOp; the outputs recompute exp rather than
// keep terms that would not fit in the cache.
void cpu_omp_softmax(const Problem& p) {
  const int64_t rows = p.rows, cols = p.cols;
  const bool stream = rows * cols >= stream_min();
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
        vec_softmax_row(p.x + r * cols, p.y + r * cols, cols, terms.data(), stream);
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
      const float* x = p.x + r * cols;
      const Range part = share(cols, t, team);
      partial[t] = vec_row_state(x + part.lo, part.hi - part.lo);
#pragma omp barrier
      SoftmaxState st = SoftmaxMergeOp{}.identity();
      for (int k = 0; k < team; ++k) st = SoftmaxMergeOp{}(st, partial[k]);
      map_range(softmax_output_of(st), x + part.lo, p.y + r * cols + part.lo, part.hi - part.lo,
                stream);
#pragma omp barrier  // partial[] is rewritten for the next row
    }
    if (stream) _mm_sfence();
  }
}

// ---- roofline -----------------------------------------------------------------------------

void cpu_memcpy(const Problem& p) {
  const int64_t n = p.rows * p.cols;
#pragma omp parallel if (n >= kParallelMin)
  {
    const Range r = share(n, omp_get_thread_num(), omp_get_num_threads());
    std::memcpy(p.y + r.lo, p.x + r.lo, (r.hi - r.lo) * sizeof(float));
  }
}

}  // namespace actbench
