// The scalar math of every activation, shared by the CUDA kernels, the CPU baselines and the
// tests. Each numerical decision is made here once:
//
//   Sigmoid   never exponentiates a positive argument: e = exp(-|x|) is in (0, 1], so no
//             finite x overflows, and the negative side is computed as e / (1 + e) rather
//             than 1 - 1 / (1 + e), which would lose all relative precision below -17.
//   Tanh      the C library's tanhf (device: CUDA's, within 2 ulp).
//   Relu      relu(NaN) is NaN, as in PyTorch (fmaxf(x, 0) would silently return 0).
//   Gelu      x * Phi(x) = x / 2 * erfc(-x / sqrt 2): erfc keeps the negative tail's relative
//             precision, where 1 + erf(x / sqrt 2) cancels (all of it below x = -3). The
//             argument -x / sqrt 2 is carried as hi + lo and erfc(hi + lo) taken as
//             erfc(hi) - 2 / sqrt(pi) e^(-hi^2) lo: erfc's condition number 2 hi^2 would
//             otherwise turn the rounding of x / sqrt 2 alone into 6e-6 relative at x = -14.
//   GeluTanh  PyTorch's approximate='tanh': x / 2 (1 + tanh(u)), u = sqrt(2 / pi) (x +
//             0.044715 x^3), computed as x * sigmoid(2u) (1 + tanh u = 2 sigmoid(2u)), whose
//             Sigmoid never cancels: the negative tail keeps its relative precision.
//   Silu      x * sigmoid(x) with the Sigmoid above: no overflow for any finite x.
//             gelu, gelu_tanh and silu of -inf are -0, their limit (-inf * 0 would be NaN);
//             of +inf, +inf; of NaN, NaN.
//   Gated     swiglu(a, b) = silu(a) * b and geglu(a, b) = gelu(a) * b: the activation and
//             the product in f32 (16-bit inputs widened), rounded once on store. The product
//             is IEEE's, not a limit: silu(+inf) * 0 and gelu(-inf) * inf are NaN, as the
//             double reference and PyTorch's F.silu(a) * b give.
//   *Grad     the backward passes, dx = g(s, dy) with s the saved tensor (registry.h,
//             saves_input): SigmoidGrad dy * (y (1 - y)) and TanhGrad dy * ((1 - y)(1 + y)),
//             whose factors never cancel: 1 - y is exact for y in [1/2, 1] (Sterbenz), so
//             1 - y^2 keeps its relative precision as |y| nears 1 where y * y would lose it
//             all; ReluGrad selects (s <= 0 ? 0 : dy, PyTorch's threshold_backward), so NaN
//             in s passes dy through and NaN or inf in dy does not leak where s <= 0.
//             Otherwise IEEE's products: inf * 0 (dy = inf at y = 0 or 1) is NaN.
//   SoftmaxBackward dx_j = y_j (dy_j - sum_k dy_k y_k) per row: the dot product in f32 (16-bit
//             inputs widened), each output rounded once.
//   *Approx   hardware-approximate twins for the `warp_approx` variants; on the host they are
//             the precise functions, since the intrinsics only exist on the device.
//   Softmax   the online normalizer state (running max m, running sum s of exp(x - m)) and
//             its associative merge (Milakov & Gimelshein, 2018). Special values follow
//             torch.softmax: NaN anywhere or +inf anywhere makes the row NaN (exp(inf - inf)),
//             -inf entries contribute 0, and an all -inf row is NaN (0 / 0).
//
// Everything compiles with g++ (host) and nvcc (host and device).
#pragma once

#include <math.h>

#include "host_device.h"

namespace actbench {

// max that propagates NaN from either side (fmaxf returns the non-NaN operand).
ACT_HD float max_nan(float a, float b) { return (a > b || a != a) ? a : b; }

struct Identity {
  ACT_HD float operator()(float x) const { return x; }
};

struct Sigmoid {
  ACT_HD float operator()(float x) const {
    const float e = expf(-fabsf(x));  // in (0, 1]: never overflows; NaN stays NaN
    const float r = 1.0f / (1.0f + e);
    return x >= 0.0f ? r : e * r;
  }
};

struct Tanh {
  ACT_HD float operator()(float x) const { return tanhf(x); }
};

struct Relu {
  ACT_HD float operator()(float x) const { return (x > 0.0f || x != x) ? x : 0.0f; }
};

// sqrt(2 / pi) (GeluTanh) and 1 / sqrt 2 split into float hi + lo parts (Gelu).
constexpr float kSqrt2OverPi = 0.797884560802865f;
constexpr float kRsqrt2Hi = 0.70710677f;
constexpr float kRsqrt2Lo = 1.2101617e-08f;  // 1 / sqrt 2 - kRsqrt2Hi
constexpr float k2OverSqrtPi = 1.1283791670955126f;

struct Gelu {
  ACT_HD float operator()(float x) const {
    if (isinf(x)) return x > 0.0f ? x : -0.0f;  // hi + lo would be inf - inf
    const float hi = -kRsqrt2Hi * x;
    const float lo = fmaf(-kRsqrt2Hi, x, -hi) - kRsqrt2Lo * x;  // -x / sqrt 2 - hi
    const float e = erfcf(hi) - k2OverSqrtPi * expf(-hi * hi) * lo;
    return 0.5f * x * e;
  }
};

// u of the tanh approximation; x^3 overflows past |x| = 2^42, where u is +-inf and the
// sigmoid 1 or 0.
ACT_HD float gelu_tanh_u(float x) { return kSqrt2OverPi * fmaf(0.044715f * x, x * x, x); }

struct GeluTanh {
  ACT_HD float operator()(float x) const {
    const float s = Sigmoid{}(2.0f * gelu_tanh_u(x));
    return s == 0.0f ? -0.0f : x * s;  // s = 0 for 2u below -104 (x below -9.6, or -inf)
  }
};

struct Silu {
  ACT_HD float operator()(float x) const { return x == -INFINITY ? -0.0f : x * Sigmoid{}(x); }
};

// The gated forms over the two halves of a row: Op(a) * b. Gated<Identity> is the multiply
// pass of the unfused pipeline (t * b, t the activation already rounded to the type).
template <class Op>
struct Gated {
  ACT_HD float operator()(float a, float b) const { return Op{}(a) * b; }
};

// ---- backward: dx = Grad(s, dy) -------------------------------------------------------------

struct SigmoidGrad {
  ACT_HD float operator()(float y, float dy) const { return dy * (y * (1.0f - y)); }
};

struct TanhGrad {
  ACT_HD float operator()(float y, float dy) const { return dy * ((1.0f - y) * (1.0f + y)); }
};

struct ReluGrad {
  ACT_HD float operator()(float s, float dy) const { return s <= 0.0f ? 0.0f : dy; }
};

// softmax_backward's output from y_j, dy_j and the row's dot product sum_k dy_k y_k.
ACT_HD float softmax_backward_output(float y, float dy, float dot) { return y * (dy - dot); }

// Approximate twins: MUFU.EX2 + approximate division for sigmoid, MUFU.TANH for tanh.
struct SigmoidApprox {
  ACT_HD float operator()(float x) const {
#if ACT_DEVICE_PASS
    // __expf(-x) overflows to +inf for x < -88.7; 1 / inf = 0 is the right limit.
    return __fdividef(1.0f, 1.0f + __expf(-x));
#else
    return Sigmoid{}(x);
#endif
  }
};

struct TanhApprox {
  ACT_HD float operator()(float x) const {
#if ACT_DEVICE_PASS
    float y;
    asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
#else
    return Tanh{}(x);
#endif
  }
};

// The tanh approximation of GELU and SiLU through SigmoidApprox (MUFU.EX2 + MUFU.RCP): the
// relative error of __expf, not tanh.approx's absolute one, so the negative tails keep their
// relative precision. GeluTanhApprox is also gelu's warp_approx: the tanh formula's own
// distance from the erf GELU (4.7e-4 at most) is then part of its error.
struct GeluTanhApprox {
  ACT_HD float operator()(float x) const {
    const float s = SigmoidApprox{}(2.0f * gelu_tanh_u(x));
    return s == 0.0f ? -0.0f : x * s;
  }
};

struct SiluApprox {
  ACT_HD float operator()(float x) const {
    const float s = SigmoidApprox{}(x);
    return s == 0.0f ? -0.0f : x * s;  // x * 0 is NaN at -inf
  }
};

// ---- reductions (operators for kernels/common/reduce.cuh and the CPU code) ----------------

struct MaxOp {
  ACT_HD float identity() const { return -INFINITY; }
  ACT_HD float operator()(float a, float b) const { return max_nan(a, b); }
};

struct SumOp {
  ACT_HD float identity() const { return 0.0f; }
  ACT_HD float operator()(float a, float b) const { return a + b; }
};

// exp(x - m) as a softmax numerator, with x = -inf contributing exactly 0 even when m is
// -inf too (a row prefix of -inf must not poison the running sum with exp(-inf + inf)).
// x = +inf = m gives exp(NaN) = NaN, as torch.softmax does.
ACT_HD float softmax_term(float x, float m) { return x == -INFINITY ? 0.0f : expf(x - m); }

// Running (max, sum of exp(x - max)) over part of a row.
struct SoftmaxState {
  float m;
  float s;
};

struct SoftmaxMergeOp {
  ACT_HD SoftmaxState identity() const { return {-INFINITY, 0.0f}; }
  // Associative and commutative up to rounding; identity() is neutral for any finite m.
  ACT_HD SoftmaxState operator()(SoftmaxState a, SoftmaxState b) const {
    const float m = max_nan(a.m, b.m);
    return {m, a.s * softmax_term(a.m, m) + b.s * softmax_term(b.m, m)};
  }
};

// Folds one element into a state: the element alone is the state {x, 1}.
ACT_HD SoftmaxState softmax_push(SoftmaxState st, float x) {
  return SoftmaxMergeOp{}(st, SoftmaxState{x, 1.0f});
}

// The final value of one element once the whole row's state is known.
ACT_HD float softmax_output(float x, SoftmaxState row) { return softmax_term(x, row.m) / row.s; }

}  // namespace actbench
