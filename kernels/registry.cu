// The registry: one row per strategy, crossed with the element types it has a launcher for
// (one Variant per row and type). Tolerances are against the CPU reference, computed in
// double from the exact inputs and rounded once to the output type (|got - ref| <= atol +
// rtol * |ref|); each is justified where it is not exact. In the 16-bit types a precise
// strategy computes in f32 and rounds once, so it is within 1 ulp of the correctly rounded
// result: the f32 error (a few f32 ulps) can only move a value across a rounding boundary.
#include "registry.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "common/ops.h"
#include "host/cpu_baselines.h"
#include "launchers.h"

namespace actbench {

namespace {

// Index of each family in families(); the order is the report's order.
enum FamilyIndex {
  kSigmoid, kTanh, kRelu, kGelu, kGeluTanh, kSilu,
  kBiasSigmoid, kBiasTanh, kBiasRelu, kBiasGelu, kBiasSilu,
  kSwiglu, kGeglu,
  kSoftmax,
  kSigmoidBackward, kTanhBackward, kReluBackward,
  kBiasSigmoidBackward, kBiasTanhBackward, kBiasReluBackward,
  kSoftmaxBackward,
  kCopy
};

// Bit-exact in every type: ReLU and the copy.
constexpr Accuracy kExact{{0.0, 0.0}};
// f32: expf/tanhf within a few ulp on both sides, plus the reference's own rounding to float;
// atol covers results in the subnormal range, where relative error is meaningless. 16-bit:
// within 1 ulp of the correctly rounded result.
constexpr Accuracy kPrecise{{1e-37, 1e-6}, 1.0};
// bias_*/unfused in a 16-bit type rounds x + b to the type between its two kernels (as two
// framework ops would): half an ulp of z = x + b, which the activation turns into at most
// |z f'(z)| half-epsilons: 0.22 (sigmoid: max |z| sigma'(z)) and 0.45 (tanh: max |z| sech^2 z)
// absolute, |f(z)| + 0.21 (gelu: z^2 phi(z) <= 0.21) and |f(z)| + 0.44 (silu: z^2 sigma (1 -
// sigma) <= 0.44), far more relatively where the output is small (the negative tails): one
// epsilon absolute on top of the 1 ulp. f32 rounds the sum to f32, as the reference does.
constexpr Accuracy kUnfused{{1e-37, 1e-6}, 1.0, 1.0};
// swiglu and geglu take kPrecise wherever act(a) * b is computed in f32 and rounded once
// (fused, fused_warp, cpu_*): act(a)'s few f32 ulps and the product's half ulp stay within its
// 1e-6 (8 ulps) in f32, and within 1 ulp once rounded to a 16-bit type. These bounds, like
// unfused's below, take b as make_case draws it, |b| < 4: below f32's normal range act(a) is
// accurate only absolutely (to ~2^-149), an error that a b of 2^100 would make a normal
// result's.
// Their unfused pipeline in a 16-bit type rounds t = act(a) to the type between its two
// kernels (as two framework ops would): t is off by half an ulp relative (e/2, e the type's
// epsilon), or by half the smallest subnormal s absolute where t is subnormal, which the
// product carries into t * b as e/2 |y| relative, or below 4 * s/2 = 2s absolute (t * b itself
// is exact in f32: two 16-bit significands fit its 24 bits). y's rounding and the reference's
// add half an ulp each: 1.5 ulps relative, 2 in whole epsilons. Where the results are
// subnormal, t * b and the exact product differ by less than 2s, so their roundings to the
// same grid of s differ by at most 2s: 2 smallest subnormals absolute. f32: t is the f32
// activation itself (nothing is rounded between the kernels): kPrecise's f32 bound.
constexpr Accuracy kGatedUnfused{{1e-37, 1e-6}, 2.0};
// How the gated unfused pipeline departs from the fused product on special values.
constexpr const char* kGatedUnfusedDeparture =
    "unfused rounds act(a) to the type first: in f16 and bf16, where it underflows to 0 there, "
    "b = +-inf gives NaN, not the reference's +-inf, and its bound takes |b| < 4";
// f32: __expf's error grows with |x| (2 + 1.17|x| ulp); ~100 ulp at |x| = 88. 16-bit (packed,
// 0.5 + 0.5 tanh(x / 2) in the type, common/packed.cuh): the packed tanh's absolute error
// halved plus three roundings in the type; small outputs cancel, so the bound is absolute
// there. Not yet measured on a GPU.
constexpr Accuracy kSigmoidApprox{{1e-7, 2e-5}, 2.0, 2.0};
// gelu_tanh and silu through SigmoidApprox (x * s): sigmoid_approx's relative error, __expf's
// at |2u| or |x| up to ~104 (past it s is 0 or 1 and exact): as sigmoid's in f32; 16-bit
// (widened, no packed path): 2 ulps.
constexpr Accuracy kSiluApprox{{1e-7, 2e-5}, 2.0};
// gelu's warp_approx is the tanh formula: 4.7e-4 from the erf GELU at most (x near +-2.2,
// computed here in double over [-20, 20) in steps of 1e-4), so 5e-4 absolute; relative
// error is large in the negative tail, where the two formulas part. 16-bit: one epsilon
// absolute (f16's is 9.8e-4) and 2 ulps.
constexpr Accuracy kGeluApprox{{5e-4, 2e-5}, 2.0, 1.0};
// f32: tanh.approx.f32's maximum relative error is 2^-10.99 over the whole range. 16-bit
// (tanh.approx.f16x2 / .bf16x2 on the elements themselves): bounded by 2 ulps relative and 1
// epsilon absolute. Not yet measured on a GPU.
constexpr Accuracy kTanhApprox{{1e-6, 1e-3}, 2.0, 1.0};
// oneDNN in bf16 returns 0 for values below float's smallest normal, 2^-126 (sigmoid(-88.5) =
// 3.7e-39 and relu(1e-39) came out 0 on this project's AVX-512 BF16 build machine): its bf16
// variants take an absolute floor of 1e-37 (the f32 precise atol). Its f32 relu stays exact.
constexpr double kOneDnnFlushFloor = 1e-37;
constexpr Accuracy kOneDnnPrecise{{1e-37, 1e-6}, 1.0, 0.0, kOneDnnFlushFloor};
constexpr Accuracy kOneDnnExact{{0.0, 0.0}, 0.0, 0.0, kOneDnnFlushFloor};
// oneDNN's gelu_erf and gelu_tanh compute x / 2 (1 + erf or tanh), which cancels in the
// negative tail (4.8e-7 absolute at worst in f32, 1.5e-5 in bf16, measured here on
// |x| < 14), and its swish flushes exp(x) below 2^-126 (silu(-88.7) = -2.7e-37 comes out -0):
// 1e-6 absolute in f32, 2e-5 in the 16-bit types.
constexpr Accuracy kOneDnnTail{{1e-6, 1e-6}, 1.0, 0.0, 2e-5};
// gelu_tanh's sigmoid(2u) turns the rounding of u (a few f32 ulps) into |2u| times as much
// relative error in the negative tail (3e-6 at 2u = -42, measured here), where the output is
// small: 1e-7 absolute covers it (the error peaks near x = -1.5, output -0.1, at ~1e-8).
constexpr Accuracy kGeluTanhPrecise{{1e-7, 1e-6}, 1.0};
// Softmax, f32: expf plus float sums over up to 2^20 columns (tree or blocked order). 16-bit:
// the f32 result (1e-5 relative at worst) rounded once: 1 ulp.
constexpr Accuracy kSoftmaxTol{{1e-9, 1e-5}, 1.0};
// oneDNN's softmax sums a row in SIMD-lane order, each lane sequentially: on AVX2 (8 lanes) a
// 2^20-column row is 2^17 terms a lane, a random walk of ~sqrt(2^17) * 2^-24 = 2.2e-5 relative
// (2.1e-5 measured on an AMD EPYC host); 1e-4 bounds it with room, and stays far below a bug.
// bf16 (its epsilon, 2^-7, dwarfs that): 1 ulp, and the flush floor above.
constexpr Accuracy kOneDnnSoftmaxTol{{1e-9, 1e-4}, 1.0, 0.0, kOneDnnFlushFloor};
// Softmax backward, dx_j = y_j (dy_j - dot): the f32 dot product's error (any order, tree or
// blocked or compensated) is not in this tolerance: the reference adds each element's
// summation bound, |y_j| times the f32 bound on the dot (host/reference.h, Expected::bound),
// which compare() applies. What is left is exact inputs (values of the type, widened exactly),
// one rounding of dy_j - dot and one of the product in f32 (2^-24 relative each, well inside
// 1e-6), atol for outputs in the subnormal range (y_j itself may be subnormal), where
// relative error is meaningless. 16-bit: that f32 result rounded once: 1 ulp.
constexpr Accuracy kSoftmaxBackwardTol{{1e-37, 1e-6}, 1.0};
// oneDNN's softmax backward, measured here: f32 within a tenth of kSoftmaxBackwardTol with the
// summation bound (rows of 5 to 2^20 columns); bf16 within 1 ulp, but results below 2^-126
// flushed to 0 (8.4e-39 came out 0), as its forward flushes: the flush floor.
constexpr Accuracy kOneDnnSoftmaxBackwardTol{{1e-37, 1e-6}, 1.0, 0.0, kOneDnnFlushFloor};

// Something of a strategy in each element type, indexed by DType; nullptr where it has none.
template <class T>
using ByType = std::array<T, std::size(kDTypes)>;

// pick(element) for float, __half and __nv_bfloat16: a generic lambda that names the
// strategy's launcher (or workspace function) for the type of its argument.
template <class Pick>
auto per_type(Pick pick) {
  return ByType<decltype(pick(float{}))>{pick(float{}), pick(__half{}), pick(__nv_bfloat16{})};
}

// One strategy of one family: a Variant per element type it has a launcher for.
struct Row {
  FamilyIndex family;
  const char* name;
  int step;
  Device device;
  ByType<Launcher> launch;
  Accuracy accuracy;
  const char* summary;
  ByType<WorkspaceBytes> workspace{};
  int64_t max_cols = 0;
  const char* special_values = nullptr;
  // nullptr when every type with a launcher runs here; else why a type cannot (a library
  // without the type on this CPU): "" when it can. Such a type is listed by absent_variants().
  std::string (*unsupported)(DType) = nullptr;
};

// An elementwise activation's entries: its family, the accuracy of its precise strategies and
// of warp_approx, and what warp_approx does; the functors are add_elementwise's template
// arguments.
struct Ladder {
  FamilyIndex family;
  Accuracy precise, approx, onednn;
  const char* approx_summary;
};

// cuDNN's activation modes (cudnnActivationForward) cover sigmoid, tanh, relu and SiLU
// (SWISH); they have no GELU.
constexpr bool cudnn_has(Activation a) {
  return a == Activation::Sigmoid || a == Activation::Tanh || a == Activation::Relu || a == Activation::Silu;
}

constexpr const char* cudnn_summary(Activation a) {
  return a == Activation::Sigmoid ? "cudnnActivationForward (SIGMOID)"
         : a == Activation::Tanh  ? "cudnnActivationForward (TANH)"
         : a == Activation::Relu  ? "cudnnActivationForward (RELU)"
                                  : "cudnnActivationForward (SWISH, beta = 1)";
}

constexpr const char* cudnn_backward_summary(Activation a) {
  return a == Activation::Sigmoid ? "cudnnActivationBackward (SIGMOID)"
         : a == Activation::Tanh  ? "cudnnActivationBackward (TANH)"
                                  : "cudnnActivationBackward (RELU)";
}

constexpr const char* onednn_summary(Activation a) {
  return a == Activation::Sigmoid    ? "oneDNN eltwise_logistic"
         : a == Activation::Tanh     ? "oneDNN eltwise_tanh"
         : a == Activation::Relu     ? "oneDNN eltwise_relu"
         : a == Activation::Gelu     ? "oneDNN eltwise_gelu_erf"
         : a == Activation::GeluTanh ? "oneDNN eltwise_gelu_tanh"
                                     : "oneDNN eltwise_swish (alpha = 1)";
}

// How oneDNN's eltwise departs from ops.h on special values (measured here), or nullptr.
constexpr const char* onednn_departure(Activation a) {
  return a == Activation::Relu ? "oneDNN's relu maps NaN to 0"
         : a == Activation::Gelu || a == Activation::GeluTanh || a == Activation::Silu
             ? "oneDNN's gelu and swish give NaN at -inf, where the limit is -0"
             : nullptr;
}

// The ladder of an elementwise activation A (functor Op, its approximate twin Approx or void).
template <Activation A, class Op, class Approx>
void add_elementwise(std::vector<Row>& rows, const Ladder& l) {
  const Device G = Device::Gpu, C = Device::Cpu;
  const FamilyIndex f = l.family;
  rows.push_back({f, "naive", 0, G, per_type([](auto t) { return &elementwise_naive<decltype(t), Op>; }), l.precise,
                  "one thread per element, scalar loads"});
  rows.push_back({f, "warp", 1, G, per_type([](auto t) { return &elementwise_warp<decltype(t), Op>; }), l.precise,
                  "16-byte coalesced vectors, grid-stride over SMs, several loads in flight, scalar head/tail"});
  if constexpr (!std::is_void_v<Approx>) {
    rows.push_back({f, "warp_approx", 2, G, per_type([](auto t) { return &elementwise_warp<decltype(t), Approx>; }),
                    l.approx, l.approx_summary});
  }
  rows.push_back({f, "thrust", kLibraryStep, G, per_type([](auto t) { return &elementwise_thrust<decltype(t), Op>; }),
                  l.precise, "thrust::transform with the same functor"});
#if ACTBENCH_HAVE_CUDNN
  if constexpr (cudnn_has(A)) {
    rows.push_back({f, "cudnn", kLibraryStep + 1, G,
                    per_type([](auto t) { return &cudnn_activation<decltype(t), A>; }), l.precise, cudnn_summary(A)});
  }
#endif
  rows.push_back({f, "cpu_scalar", kCpuStep, C, per_type([](auto t) { return &cpu_scalar_elementwise<decltype(t), Op>; }),
                  l.precise, "plain loop, one core"});
  rows.push_back({f, "cpu_omp", kCpuStep + 1, C, per_type([](auto t) { return &cpu_omp_elementwise<decltype(t), A>; }),
                  l.precise, A == Activation::Relu ? "OpenMP threads + SIMD" : "OpenMP threads + SIMD, vectorized exp"});
#if ACTBENCH_HAVE_ONEDNN
  rows.push_back({f, "cpu_onednn", kCpuStep + 2, C, per_type([](auto t) { return &cpu_onednn_elementwise<decltype(t), A>; }),
                  l.onednn, onednn_summary(A), {}, 0, onednn_departure(A), onednn_unsupported<A>});
#endif
}

// The ladder of bias family b: y = op(x + bias[col]), the fusion that bias + activation allows.
template <class Op>
void add_bias(std::vector<Row>& rows, FamilyIndex b, Accuracy precise, Accuracy unfused) {
  const Device G = Device::Gpu;
  rows.push_back({b, "unfused", 0, G, per_type([](auto t) { return &bias_unfused<decltype(t), Op>; }), unfused,
                  "bias-add kernel then activation kernel: x read twice, y written twice"});
  rows.push_back({b, "fused", 1, G, per_type([](auto t) { return &bias_fused<decltype(t), Op>; }), precise,
                  "one kernel, one thread per element: one read, one write"});
  rows.push_back({b, "fused_warp", 2, G, per_type([](auto t) { return &bias_fused_warp<decltype(t), Op>; }),
                  precise, "fused and vectorized: 16-byte loads and stores, bias from L1"});
}

// The ladder of gated family g, y = op(a) * b over the two halves of each row (A and Op: the
// activation of a). No library rows: cuDNN's activation modes and oneDNN's eltwise have no
// gated form (each would be two calls, an activation and a multiply: unfused's pipeline),
// and thrust::transform reads one sequence, not two halves of each row.
template <Activation A, class Op>
void add_gated(std::vector<Row>& rows, FamilyIndex g, Accuracy precise, Accuracy unfused) {
  const Device G = Device::Gpu, C = Device::Cpu;
  rows.push_back({g, "unfused", 0, G, per_type([](auto t) { return &gated_unfused<decltype(t), Op>; }), unfused,
                  "activation kernel writes t = act(a), multiply kernel t * b: t written and read again",
                  per_type([](auto t) { return &gated_unfused_workspace<decltype(t)>; }), 0, kGatedUnfusedDeparture});
  rows.push_back({g, "fused", 1, G, per_type([](auto t) { return &gated_fused<decltype(t), Op>; }), precise,
                  "one kernel, one thread per output: one read of each half, one write"});
  rows.push_back({g, "fused_warp", 2, G, per_type([](auto t) { return &gated_fused_warp<decltype(t), Op>; }),
                  precise, "fused and vectorized: 16-byte stores, and 16-byte loads of both halves where the rows "
                           "are aligned"});
  rows.push_back({g, "cpu_scalar", kCpuStep, C, per_type([](auto t) { return &cpu_scalar_gated<decltype(t), Op>; }),
                  precise, "plain loop, one core"});
  rows.push_back({g, "cpu_omp", kCpuStep + 1, C, per_type([](auto t) { return &cpu_omp_gated<decltype(t), A>; }),
                  precise, "OpenMP threads + SIMD, vectorized exp, both halves a row at a time"});
}

// The ladder of elementwise backward family f, dx = Grad(s, dy) (A: the forward activation):
// the forward's GPU launchers (a functor of two arguments makes them read dy too), the library
// references and the CPU baselines. Each dx is a product of exact inputs in f32 (sigmoid:
// dy (y (1 - y)), tanh: dy ((1 - y)(1 + y)), relu: a select): kPrecise, relu kExact.
// oneDNN's eltwise_backward, measured here (AMD EPYC, avx512_core_bf16): f32 sigmoid and tanh
// within 1.5e-7 relative of the double reference over 2^20 values, relu exact; bf16 within
// 1 ulp, but results below 2^-126 flushed to 0 (1.2e-38 absolute at most), as its forward
// flushes: kOneDnnPrecise and kOneDnnExact, with their flush floor.
template <Activation A, class Grad>
void add_backward(std::vector<Row>& rows, FamilyIndex f, Accuracy accuracy, Accuracy onednn) {
  const Device G = Device::Gpu, C = Device::Cpu;
  rows.push_back({f, "naive", 0, G, per_type([](auto t) { return &elementwise_naive<decltype(t), Grad>; }), accuracy,
                  "one thread per element, scalar loads of the saved tensor and dy"});
  rows.push_back({f, "warp", 1, G, per_type([](auto t) { return &elementwise_warp<decltype(t), Grad>; }), accuracy,
                  "16-byte coalesced vectors of both inputs, grid-stride over SMs, several loads in flight"});
  rows.push_back({f, "thrust", kLibraryStep, G, per_type([](auto t) { return &elementwise_thrust<decltype(t), Grad>; }),
                  accuracy, "thrust::transform over the saved tensor and dy with the same functor"});
#if ACTBENCH_HAVE_CUDNN
  rows.push_back({f, "cudnn", kLibraryStep + 1, G,
                  per_type([](auto t) { return &cudnn_activation_backward<decltype(t), A>; }), accuracy,
                  cudnn_backward_summary(A)});
#endif
  rows.push_back({f, "cpu_scalar", kCpuStep, C,
                  per_type([](auto t) { return &cpu_scalar_backward<decltype(t), Grad>; }), accuracy,
                  "plain loop, one core"});
  rows.push_back({f, "cpu_omp", kCpuStep + 1, C, per_type([](auto t) { return &cpu_omp_backward<decltype(t), A>; }),
                  accuracy, "OpenMP threads + SIMD over the saved tensor and dy"});
#if ACTBENCH_HAVE_ONEDNN
  rows.push_back({f, "cpu_onednn", kCpuStep + 2, C,
                  per_type([](auto t) { return &cpu_onednn_backward<decltype(t), A>; }), onednn,
                  A == Activation::Sigmoid ? "oneDNN eltwise_backward (logistic_use_dst_for_bwd, from y)"
                  : A == Activation::Tanh  ? "oneDNN eltwise_backward (tanh_use_dst_for_bwd, from y)"
                                           : "oneDNN eltwise_backward (relu, from x)",
                  {}, 0,
                  A == Activation::Relu ? "oneDNN's relu backward multiplies dy by the mask: NaN or +-inf in dy gives "
                                          "NaN where x <= 0, not 0"
                                        : nullptr,
                  onednn_backward_unsupported<A>});
#endif
}

// The ladder of bias backward family b: dx = Grad(y, dy) and dbias = the column sums of dx,
// the fusion a bias gradient allows (dbias's tolerance is the reference's summation bound).
template <class Grad>
void add_bias_backward(std::vector<Row>& rows, FamilyIndex b, Accuracy accuracy) {
  const Device G = Device::Gpu;
  const auto workspace = per_type([](auto t) { return &bias_backward_workspace<decltype(t)>; });
  rows.push_back({b, "unfused", 0, G, per_type([](auto t) { return &bias_backward_unfused<decltype(t), Grad>; }),
                  accuracy, "dx kernel then column-sum kernel: dx written, then read again", workspace});
  rows.push_back({b, "fused", 1, G, per_type([](auto t) { return &bias_backward_fused<decltype(t), Grad>; }), accuracy,
                  "one pass: dx and f32 column sums per block, deterministic tile-order merge", workspace});
  rows.push_back({b, "fused_warp", 2, G, per_type([](auto t) { return &bias_backward_fused_warp<decltype(t), Grad>; }),
                  accuracy, "fused with 16-byte loads and stores where rows are aligned", workspace});
}

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      // {name, activation, bias, row_shaped, gated, backward}
      {"sigmoid", Activation::Sigmoid, false, false, false},
      {"tanh", Activation::Tanh, false, false, false},
      {"relu", Activation::Relu, false, false, false},
      {"gelu", Activation::Gelu, false, false, false},
      {"gelu_tanh", Activation::GeluTanh, false, false, false},
      {"silu", Activation::Silu, false, false, false},
      {"bias_sigmoid", Activation::Sigmoid, true, true, false},
      {"bias_tanh", Activation::Tanh, true, true, false},
      {"bias_relu", Activation::Relu, true, true, false},
      {"bias_gelu", Activation::Gelu, true, true, false},
      {"bias_silu", Activation::Silu, true, true, false},
      {"swiglu", Activation::Silu, false, true, true},
      {"geglu", Activation::Gelu, false, true, true},
      {"softmax", Activation::Softmax, false, true, false},
      {"sigmoid_backward", Activation::Sigmoid, false, false, false, true},
      {"tanh_backward", Activation::Tanh, false, false, false, true},
      {"relu_backward", Activation::Relu, false, false, false, true},
      {"bias_sigmoid_backward", Activation::Sigmoid, true, true, false, true},
      {"bias_tanh_backward", Activation::Tanh, true, true, false, true},
      {"bias_relu_backward", Activation::Relu, true, true, false, true},
      {"softmax_backward", Activation::Softmax, false, true, false, true},
      {"copy", Activation::Identity, false, false, false},
  };
  return table;
}

namespace {

// The table, expanded: what runs here and what the registry lists but cannot run here.
struct Expanded {
  std::vector<Variant> variants;
  std::vector<Absent> absent;
};

const Expanded& expanded() {
  static const Expanded table = [] {
    const Device G = Device::Gpu, C = Device::Cpu;
    std::vector<Row> rows;
    add_elementwise<Activation::Sigmoid, Sigmoid, SigmoidApprox>(
        rows, {kSigmoid, kPrecise, kSigmoidApprox, kOneDnnPrecise,
               "warp with __expf and approximate division (16-bit: 0.5 tanh(x/2) + 0.5 in the type)"});
    add_elementwise<Activation::Tanh, Tanh, TanhApprox>(
        rows, {kTanh, kPrecise, kTanhApprox, kOneDnnPrecise,
               "warp with tanh.approx (16-bit: .f16x2 / .bf16x2 on the elements themselves)"});
    // relu: no warp_approx (there is no transcendental to approximate); exact everywhere.
    add_elementwise<Activation::Relu, Relu, void>(rows, {kRelu, kExact, kExact, kOneDnnExact, nullptr});
    add_elementwise<Activation::Gelu, Gelu, GeluTanhApprox>(
        rows, {kGelu, kPrecise, kGeluApprox, kOneDnnTail,
               "warp with the tanh formula through __expf and approximate division"});
    add_elementwise<Activation::GeluTanh, GeluTanh, GeluTanhApprox>(
        rows, {kGeluTanh, kGeluTanhPrecise, kSiluApprox, kOneDnnTail, "warp with __expf and approximate division"});
    add_elementwise<Activation::Silu, Silu, SiluApprox>(
        rows, {kSilu, kPrecise, kSiluApprox, kOneDnnTail, "warp with __expf and approximate division"});
    add_bias<Sigmoid>(rows, kBiasSigmoid, kPrecise, kUnfused);
    add_bias<Tanh>(rows, kBiasTanh, kPrecise, kUnfused);
    add_bias<Relu>(rows, kBiasRelu, kExact, kExact);
    add_bias<Gelu>(rows, kBiasGelu, kPrecise, kUnfused);
    add_bias<Silu>(rows, kBiasSilu, kPrecise, kUnfused);
    add_gated<Activation::Silu, Silu>(rows, kSwiglu, kPrecise, kGatedUnfused);
    add_gated<Activation::Gelu, Gelu>(rows, kGeglu, kPrecise, kGatedUnfused);
    // Backward: products of the exact inputs in f32 (kPrecise; relu's select is exact; dbias is
    // checked against the reference's summation bound on top).
    add_backward<Activation::Sigmoid, SigmoidGrad>(rows, kSigmoidBackward, kPrecise, kOneDnnPrecise);
    add_backward<Activation::Tanh, TanhGrad>(rows, kTanhBackward, kPrecise, kOneDnnPrecise);
    add_backward<Activation::Relu, ReluGrad>(rows, kReluBackward, kExact, kOneDnnExact);
    add_bias_backward<SigmoidGrad>(rows, kBiasSigmoidBackward, kPrecise);
    add_bias_backward<TanhGrad>(rows, kBiasTanhBackward, kPrecise);
    add_bias_backward<ReluGrad>(rows, kBiasReluBackward, kExact);
    const std::vector<Row> softmax = {
        {kSoftmax, "naive", 0, G, per_type([](auto t) { return &softmax_naive<decltype(t)>; }), kSoftmaxTol,
         "three kernels (max, sum, normalize), one thread per row",
         per_type([](auto) { return &softmax_naive_workspace; })},
        {kSoftmax, "fused", 1, G, per_type([](auto t) { return &softmax_fused<decltype(t)>; }), kSoftmaxTol,
         "one kernel, one block per row, shared-memory tree reductions"},
        {kSoftmax, "warp", 2, G, per_type([](auto t) { return &softmax_warp<decltype(t)>; }), kSoftmaxTol,
         "one warp per row held in registers, shuffle reductions, one read and one write", {}, kSoftmaxWarpMaxCols},
        {kSoftmax, "block", 3, G, per_type([](auto t) { return &softmax_block<decltype(t)>; }), kSoftmaxTol,
         "one block per row kept on chip, shuffle + shared-memory reductions", {}, kSoftmaxBlockMaxCols},
        {kSoftmax, "cluster", 4, G, per_type([](auto t) { return &softmax_cluster<decltype(t)>; }), kSoftmaxTol,
         "sm_90: one thread-block cluster per row held on chip, distributed-shared-memory reductions, one read "
         "and one write", {}, kSoftmaxClusterMaxCols},
        {kSoftmax, "online", 5, G, per_type([](auto t) { return &softmax_online<decltype(t)>; }), kSoftmaxTol,
         "single-pass (max, sum) online normalizer, long rows split across blocks",
         per_type([](auto t) { return &softmax_online_workspace<decltype(t)>; })},
        {kSoftmax, "auto", 6, G, per_type([](auto t) { return &softmax_auto<decltype(t)>; }), kSoftmaxTol,
         "picks warp, block, cluster (sm_90) or online by shape", per_type([](auto t) { return &softmax_auto_workspace<decltype(t)>; })},
        {kSoftmax, "cub", kLibraryStep, G, per_type([](auto t) { return &softmax_cub<decltype(t)>; }), kSoftmaxTol,
         "cub::BlockReduce, one block per row"},
#if ACTBENCH_HAVE_CUDNN
        {kSoftmax, "cudnn", kLibraryStep + 1, G, per_type([](auto t) { return &cudnn_softmax<decltype(t)>; }),
         kSoftmaxTol, "cudnnSoftmaxForward (ACCURATE, INSTANCE)"},
#endif
        {kSoftmax, "cpu_scalar", kCpuStep, C, per_type([](auto t) { return &cpu_scalar_softmax<decltype(t)>; }),
         kSoftmaxTol, "plain loop, one core"},
        {kSoftmax, "cpu_omp", kCpuStep + 1, C, per_type([](auto t) { return &cpu_omp_softmax<decltype(t)>; }),
         kSoftmaxTol, "OpenMP threads over rows + SIMD, vectorized exp"},
#if ACTBENCH_HAVE_ONEDNN
        {kSoftmax, "cpu_onednn", kCpuStep + 2, C, per_type([](auto t) { return &cpu_onednn_softmax<decltype(t)>; }),
         kOneDnnSoftmaxTol, "oneDNN softmax (accurate), over the last axis", {}, 0,
         "oneDNN's softmax puts NaN only where the row holds NaN or +inf, 0 elsewhere",
         onednn_unsupported<Activation::Softmax>},
#endif
        // The roofline: the same bytes as the type's elementwise variants.
        {kCopy, "cuda_memcpy", 0, G, per_type([](auto t) { return &copy_cuda_memcpy<decltype(t)>; }), kExact,
         "cudaMemcpyAsync device to device of the same bytes"},
        {kCopy, "cpu_memcpy", kCpuStep, C, per_type([](auto t) { return &cpu_memcpy<decltype(t)>; }), kExact,
         "memcpy of the same bytes, OpenMP threads"},
    };
    rows.insert(rows.end(), softmax.begin(), softmax.end());
    const std::vector<Row> softmax_backward = {
        {kSoftmaxBackward, "naive", 0, G, per_type([](auto t) { return &softmax_backward_naive<decltype(t)>; }),
         kSoftmaxBackwardTol, "two kernels: the row dot products one thread per row, then one thread per element",
         per_type([](auto) { return &softmax_backward_naive_workspace; })},
        {kSoftmaxBackward, "fused", 1, G, per_type([](auto t) { return &softmax_backward_fused<decltype(t)>; }),
         kSoftmaxBackwardTol, "one kernel, one block per row, shared-memory tree reduction, y and dy read twice"},
        {kSoftmaxBackward, "warp", 2, G, per_type([](auto t) { return &softmax_backward_warp<decltype(t)>; }),
         kSoftmaxBackwardTol, "one warp per row, y and dy held in registers, shuffle reduction, one read and one write",
         {}, kSoftmaxBackwardWarpMaxCols},
        {kSoftmaxBackward, "block", 3, G, per_type([](auto t) { return &softmax_backward_block<decltype(t)>; }),
         kSoftmaxBackwardTol, "one block per row, y and dy kept on chip, shuffle + shared-memory reduction", {},
         kSoftmaxBackwardBlockMaxCols},
        {kSoftmaxBackward, "auto", 4, G, per_type([](auto t) { return &softmax_backward_auto<decltype(t)>; }),
         kSoftmaxBackwardTol, "picks warp, block or fused by shape"},
        {kSoftmaxBackward, "cub", kLibraryStep, G, per_type([](auto t) { return &softmax_backward_cub<decltype(t)>; }),
         kSoftmaxBackwardTol, "cub::BlockReduce of the dot product, one block per row"},
#if ACTBENCH_HAVE_CUDNN
        {kSoftmaxBackward, "cudnn", kLibraryStep + 1, G,
         per_type([](auto t) { return &cudnn_softmax_backward<decltype(t)>; }), kSoftmaxBackwardTol,
         "cudnnSoftmaxBackward (ACCURATE, INSTANCE)"},
#endif
        {kSoftmaxBackward, "cpu_scalar", kCpuStep, C,
         per_type([](auto t) { return &cpu_scalar_softmax_backward<decltype(t)>; }), kSoftmaxBackwardTol,
         "plain loop, one core: each row's dot product, then its outputs"},
        {kSoftmaxBackward, "cpu_omp", kCpuStep + 1, C,
         per_type([](auto t) { return &cpu_omp_softmax_backward<decltype(t)>; }), kSoftmaxBackwardTol,
         "OpenMP threads over rows (long rows split) + SIMD"},
#if ACTBENCH_HAVE_ONEDNN
        {kSoftmaxBackward, "cpu_onednn", kCpuStep + 2, C,
         per_type([](auto t) { return &cpu_onednn_softmax_backward<decltype(t)>; }), kOneDnnSoftmaxBackwardTol,
         "oneDNN softmax backward (accurate), over the last axis", {}, 0, nullptr,
         onednn_backward_unsupported<Activation::Softmax>},
#endif
    };
    rows.insert(rows.end(), softmax_backward.begin(), softmax_backward.end());

    const std::vector<Family>& f = families();
    Expanded out;
    std::vector<Variant>& v = out.variants;
    for (const Row& row : rows) {
      for (DType t : kDTypes) {
        const auto i = static_cast<size_t>(t);
        if (!row.launch[i]) continue;
        if (row.unsupported) {
          if (std::string why = row.unsupported(t); !why.empty()) {
            out.absent.push_back({std::string(f[row.family].name) + "/" + row.name + "/" + dtype_name(t), why});
            continue;
          }
        }
        v.push_back({&f[row.family], row.name, t, row.step, row.device, row.launch[i], row.accuracy.in(t),
                     row.summary, row.workspace[i], row.max_cols, row.special_values});
      }
    }
    // Group by family (table order), then by type, then by ladder step: --list and the report
    // read it so.
    std::stable_sort(v.begin(), v.end(), [&f](const Variant& a, const Variant& b) {
      const auto fa = a.family - f.data(), fb = b.family - f.data();
      if (fa != fb) return fa < fb;
      return a.dtype != b.dtype ? a.dtype < b.dtype : a.step < b.step;
    });
    return out;
  }();
  return table;
}

}  // namespace

const std::vector<Variant>& variants() { return expanded().variants; }
const std::vector<Absent>& absent_variants() { return expanded().absent; }


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
