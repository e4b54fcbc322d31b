// The registry: one row per variant. Tolerances are against the double-precision CPU
// reference (|got - ref| <= atol + rtol * |ref|); each is justified where it is not exact.
#include "registry.h"

#include <algorithm>
#include <stdexcept>

#include "common/ops.h"
#include "host/cpu_baselines.h"
#include "launchers.h"

namespace actbench {

namespace {

// Index of each family in families(); the order is the report's order.
enum FamilyIndex { kSigmoid, kTanh, kRelu, kBiasSigmoid, kBiasTanh, kBiasRelu, kSoftmax, kCopy };

constexpr Tolerance kExact{0.0, 0.0};
// expf/tanhf within a few ulp on both sides, plus the reference's own rounding to float.
// atol covers results in the subnormal range, where relative error is meaningless.
constexpr Tolerance kPrecise{1e-37, 1e-6};
// __expf's error grows with |x| (2 + 1.17|x| ulp); ~100 ulp at |x| = 88.
constexpr Tolerance kSigmoidApprox{1e-7, 2e-5};
// tanh.approx.f32: maximum relative error 2^-10.99 over the whole range.
constexpr Tolerance kTanhApprox{1e-6, 1e-3};
// Softmax: expf plus float sums over up to 2^20 columns (tree or blocked order).
constexpr Tolerance kSoftmaxTol{1e-9, 1e-5};
// oneDNN's softmax sums a row in SIMD-lane order, each lane sequentially: on AVX2 (8 lanes) a
// 2^20-column row is 2^17 terms a lane, a random walk of ~sqrt(2^17) * 2^-24 = 2.2e-5 relative
// (2.1e-5 measured on an AMD EPYC host); 1e-4 bounds it with room, and stays far below a bug.
constexpr Tolerance kOneDnnSoftmaxTol{1e-9, 1e-4};

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      {"sigmoid", Activation::Sigmoid, false, false},
      {"tanh", Activation::Tanh, false, false},
      {"relu", Activation::Relu, false, false},
      {"bias_sigmoid", Activation::Sigmoid, true, true},
      {"bias_tanh", Activation::Tanh, true, true},
      {"bias_relu", Activation::Relu, true, true},
      {"softmax", Activation::Softmax, false, true},
      {"copy", Activation::Identity, false, false},
  };
  return table;
}

const std::vector<Variant>& variants() {
  static const std::vector<Variant> table = [] {
    const std::vector<Family>& f = families();
    const Device G = Device::Gpu, C = Device::Cpu;
    std::vector<Variant> v = {
        // ---- sigmoid -------------------------------------------------------------------
        {&f[kSigmoid], "naive", 0, G, elementwise_naive<Sigmoid>, kPrecise,
         "one thread per element, scalar loads"},
        {&f[kSigmoid], "warp", 1, G, elementwise_warp<Sigmoid>, kPrecise,
         "16-byte coalesced vectors, grid-stride over SMs, several loads in flight, scalar head/tail"},
        {&f[kSigmoid], "warp_approx", 2, G, elementwise_warp<SigmoidApprox>, kSigmoidApprox,
         "warp with __expf and approximate division"},
        {&f[kSigmoid], "thrust", kLibraryStep, G, elementwise_thrust<Sigmoid>, kPrecise,
         "thrust::transform with the same functor"},
        {&f[kSigmoid], "cpu_scalar", kCpuStep, C, cpu_scalar_elementwise<Sigmoid>, kPrecise,
         "plain loop, one core"},
        {&f[kSigmoid], "cpu_omp", kCpuStep + 1, C, cpu_omp_elementwise<Activation::Sigmoid>, kPrecise,
         "OpenMP threads + SIMD, vectorized exp"},
        // ---- tanh ----------------------------------------------------------------------
        {&f[kTanh], "naive", 0, G, elementwise_naive<Tanh>, kPrecise,
         "one thread per element, scalar loads"},
        {&f[kTanh], "warp", 1, G, elementwise_warp<Tanh>, kPrecise,
         "16-byte coalesced vectors, grid-stride over SMs, several loads in flight, scalar head/tail"},
        {&f[kTanh], "warp_approx", 2, G, elementwise_warp<TanhApprox>, kTanhApprox,
         "warp with tanh.approx.f32"},
        {&f[kTanh], "thrust", kLibraryStep, G, elementwise_thrust<Tanh>, kPrecise,
         "thrust::transform with the same functor"},
        {&f[kTanh], "cpu_scalar", kCpuStep, C, cpu_scalar_elementwise<Tanh>, kPrecise,
         "plain loop, one core"},
        {&f[kTanh], "cpu_omp", kCpuStep + 1, C, cpu_omp_elementwise<Activation::Tanh>, kPrecise,
         "OpenMP threads + SIMD, vectorized tanh"},
        // ---- relu (no warp_approx: there is no transcendental to approximate) ----------
        {&f[kRelu], "naive", 0, G, elementwise_naive<Relu>, kExact,
         "one thread per element, scalar loads"},
        {&f[kRelu], "warp", 1, G, elementwise_warp<Relu>, kExact,
         "16-byte coalesced vectors, grid-stride over SMs, several loads in flight, scalar head/tail"},
        {&f[kRelu], "thrust", kLibraryStep, G, elementwise_thrust<Relu>, kExact,
         "thrust::transform with the same functor"},
        {&f[kRelu], "cpu_scalar", kCpuStep, C, cpu_scalar_elementwise<Relu>, kExact,
         "plain loop, one core"},
        {&f[kRelu], "cpu_omp", kCpuStep + 1, C, cpu_omp_elementwise<Activation::Relu>, kExact,
         "OpenMP threads + SIMD"},
        // ---- bias + activation: what fusion saves --------------------------------------
        {&f[kBiasSigmoid], "unfused", 0, G, bias_unfused<Sigmoid>, kPrecise,
         "bias-add kernel then activation kernel: x read twice, y written twice"},
        {&f[kBiasSigmoid], "fused", 1, G, bias_fused<Sigmoid>, kPrecise,
         "one kernel, one thread per element: one read, one write"},
        {&f[kBiasSigmoid], "fused_warp", 2, G, bias_fused_warp<Sigmoid>, kPrecise,
         "fused and vectorized: 16-byte loads and stores, bias from L1"},
        {&f[kBiasTanh], "unfused", 0, G, bias_unfused<Tanh>, kPrecise,
         "bias-add kernel then activation kernel: x read twice, y written twice"},
        {&f[kBiasTanh], "fused", 1, G, bias_fused<Tanh>, kPrecise,
         "one kernel, one thread per element: one read, one write"},
        {&f[kBiasTanh], "fused_warp", 2, G, bias_fused_warp<Tanh>, kPrecise,
         "fused and vectorized: 16-byte loads and stores, bias from L1"},
        {&f[kBiasRelu], "unfused", 0, G, bias_unfused<Relu>, kExact,
         "bias-add kernel then activation kernel: x read twice, y written twice"},
        {&f[kBiasRelu], "fused", 1, G, bias_fused<Relu>, kExact,
         "one kernel, one thread per element: one read, one write"},
        {&f[kBiasRelu], "fused_warp", 2, G, bias_fused_warp<Relu>, kExact,
         "fused and vectorized: 16-byte loads and stores, bias from L1"},
        // ---- softmax -------------------------------------------------------------------
        {&f[kSoftmax], "naive", 0, G, softmax_naive, kSoftmaxTol,
         "three kernels (max, sum, normalize), one thread per row", softmax_naive_workspace},
        {&f[kSoftmax], "fused", 1, G, softmax_fused, kSoftmaxTol,
         "one kernel, one block per row, shared-memory tree reductions"},
        {&f[kSoftmax], "warp", 2, G, softmax_warp, kSoftmaxTol,
         "one warp per row held in registers, shuffle reductions, one read and one write",
         nullptr, kSoftmaxWarpMaxCols},
        {&f[kSoftmax], "block", 3, G, softmax_block, kSoftmaxTol,
         "one block per row kept on chip, shuffle + shared-memory reductions",
         nullptr, kSoftmaxBlockMaxCols},
        {&f[kSoftmax], "online", 4, G, softmax_online, kSoftmaxTol,
         "single-pass (max, sum) online normalizer, long rows split across blocks",
         softmax_online_workspace},
        {&f[kSoftmax], "auto", 5, G, softmax_auto, kSoftmaxTol,
         "picks warp, block or online by shape", softmax_auto_workspace},
        {&f[kSoftmax], "cub", kLibraryStep, G, softmax_cub, kSoftmaxTol,
         "cub::BlockReduce, one block per row"},
        {&f[kSoftmax], "cpu_scalar", kCpuStep, C, cpu_scalar_softmax, kSoftmaxTol,
         "plain loop, one core"},
        {&f[kSoftmax], "cpu_omp", kCpuStep + 1, C, cpu_omp_softmax, kSoftmaxTol,
         "OpenMP threads over rows + SIMD, vectorized exp"},
        // ---- the roofline --------------------------------------------------------------
        {&f[kCopy], "cuda_memcpy", 0, G, copy_cuda_memcpy, kExact,
         "cudaMemcpyAsync device to device of the same bytes"},
        {&f[kCopy], "cpu_memcpy", kCpuStep, C, cpu_memcpy, kExact,
         "memcpy of the same bytes, OpenMP threads"},
    };
#if ACTBENCH_HAVE_CUDNN
    const std::vector<Variant> cudnn = {
        {&f[kSigmoid], "cudnn", kLibraryStep + 1, G, cudnn_activation<Activation::Sigmoid>, kPrecise,
         "cudnnActivationForward (SIGMOID)"},
        {&f[kTanh], "cudnn", kLibraryStep + 1, G, cudnn_activation<Activation::Tanh>, kPrecise,
         "cudnnActivationForward (TANH)"},
        {&f[kRelu], "cudnn", kLibraryStep + 1, G, cudnn_activation<Activation::Relu>, kExact,
         "cudnnActivationForward (RELU)"},
        {&f[kSoftmax], "cudnn", kLibraryStep + 1, G, cudnn_softmax, kSoftmaxTol,
         "cudnnSoftmaxForward (ACCURATE, INSTANCE)"},
    };
    v.insert(v.end(), cudnn.begin(), cudnn.end());
#endif
#if ACTBENCH_HAVE_ONEDNN
    const std::vector<Variant> onednn = {
        {&f[kSigmoid], "cpu_onednn", kCpuStep + 2, C, cpu_onednn_elementwise<Activation::Sigmoid>, kPrecise,
         "oneDNN eltwise_logistic"},
        {&f[kTanh], "cpu_onednn", kCpuStep + 2, C, cpu_onednn_elementwise<Activation::Tanh>, kPrecise,
         "oneDNN eltwise_tanh"},
        {&f[kRelu], "cpu_onednn", kCpuStep + 2, C, cpu_onednn_elementwise<Activation::Relu>, kExact,
         "oneDNN eltwise_relu", nullptr, 0, "oneDNN's relu maps NaN to 0"},
        {&f[kSoftmax], "cpu_onednn", kCpuStep + 2, C, cpu_onednn_softmax, kOneDnnSoftmaxTol,
         "oneDNN softmax (accurate), over the last axis", nullptr, 0,
         "oneDNN's softmax puts NaN only where the row holds NaN or +inf, 0 elsewhere"},
    };
    v.insert(v.end(), onednn.begin(), onednn.end());
#endif
    // Group by family (table order), then by ladder step: --list and the report read it so.
    std::stable_sort(v.begin(), v.end(), [&f](const Variant& a, const Variant& b) {
      const auto fa = a.family - f.data(), fb = b.family - f.data();
      return fa != fb ? fa < fb : a.step < b.step;
    });
    return v;
  }();
  return table;
}

const Family& family_named(const std::string& name) {
  for (const Family& f : families()) {
    if (name == f.name) return f;
  }
  throw std::invalid_argument("no family named '" + name + "'");
}

const Variant* find_variant(const std::string& id) {
  for (const Variant& v : variants()) {
    if (v.id() == id) return &v;
  }
  return nullptr;
}

}  // namespace actbench
