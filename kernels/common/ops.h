// The scalar math of every activation, shared by the CUDA kernels, the CPU baselines and the
// tests. Each numerical decision is made here once:
//
//   Sigmoid   never exponentiates a positive argument: e = exp(-|x|) is in (0, 1], so no
//             finite x overflows, and the negative side is computed as e / (1 + e) rather
//             than 1 - 1 / (1 + e), which would lose all relative precision below -17.
//   Tanh      the C library's tanhf (device: CUDA's, within 2 ulp).
//   Relu      relu(NaN) is NaN, as in PyTorch (fmaxf(x, 0) would silently return 0).
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
