// GPU tests specific to the elementwise, bias + activation and gated variants, over every GPU
// variant the registry lists for the elementwise activations, bias_* and the gated swiglu and
// geglu (naive, warp, warp_approx, thrust, cudnn, unfused, fused, fused_warp): what the generic
// sweep of test_variants.cpp does not stress.
//
//   ElementwiseGpu.Sizes            n in {1, 3, 31, 32, 33, 1023, 4099, 2^20, 2^24 + 3}: every
//                                   head/vector/tail split, several grid-stride rounds.
// Every variant in each of its element types; offsets are in elements, up to a 16-byte vector
// (0-3 floats, 0-7 16-bit elements).
//
//   ElementwiseGpu.InputOffset      x 1-3 floats past alignment (run_once's Placement).
//   ElementwiseGpu.OffsetPairs      x and y misaligned independently (0-3 floats each), with
//                                   run_once's guards: nothing written outside y[0, n),
//                                   everything written inside.
//   ElementwiseGpu.SpecialValues    a quarter of the inputs special (+-0, +-inf, NaN, +-88.7,
//                                   +-1e4), and an input made only of special values.
//   ElementwiseGpu.TypeEdges        the edges of the element type (f16 overflow at 65504,
//                                   subnormal outputs, bf16 values beyond f16's range).
//   ElementwiseGpu.EmptyProblem     n = 0 enqueues nothing and throws nothing.
//   BiasGpu.OddShapes               rows x cols with odd cols (rows start misaligned), x 0-3
//                                   floats past alignment.
//   BiasGpu.OffsetPairs             x, y, bias offsets combined, guards around y.
//   BiasGpu.SpecialValues           special values in x and in the bias.
//   BiasGpu.TypeEdges               x + b past f16's range in f32, sums cancelling to subnormals.
//   BiasGpu.EmptyProblem            0 rows: nothing enqueued.
//   BackwardGpu.SavedAtTheEnds      sigmoid, tanh, relu backward and bias_* backward: saved
//                                   values at 0, +-1, 1/2, the smallest subnormals and specials,
//                                   dy with zeros, +-inf and NaN: PyTorch's rules (ops.h).
//   BackwardGpu.LongColumns         bias_*_backward over 20000 x 33 and 3 x 5000: more rows than
//                                   the chunks cap, fewer than a chunk, tiles cut by cols.
//   BackwardGpu.DbiasRepeatsBitForBit  the same dx and dbias bits on three runs, and the rows
//                                   reversed still within the reference's bound.
//   BackwardGpu.EmptyProblem        0 elements: nothing enqueued.
//   GatedGpu.OddShapes              rows x cols with one column, odd rows, cols no vector divides
//                                   (rows start misaligned) and cols of whole vectors (the
//                                   16-byte loads of both halves), x 0-7 elements past
//                                   alignment.
//   GatedGpu.OffsetPairs            x and y offsets combined, guards around y: the vector path
//                                   only where both are aligned.
//   GatedGpu.SpecialValues          special values in both halves (silu(inf) * 0, gelu(-inf) *
//                                   inf: NaN), and b = 0 throughout.
//   GatedGpu.TypeEdges              the type's edges as a (b as drawn).
//   GatedGpu.EmptyProblem           0 rows: nothing enqueued.
//
// Every test starts with ACT_REQUIRE_GPU(); no CUDA call happens outside a test body.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "host/gpu.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "kernels/common/cuda_check.h"
#include "kernels/registry.h"
#include "tests/test_support.h"

namespace actbench {
namespace {

bool is_elementwise_activation(const Family& f) {
  return f.act != Activation::Softmax && f.act != Activation::Identity;
}

enum class Kind { Elementwise, Bias, Gated };

Kind kind_of(const Family& f) { return f.gated ? Kind::Gated : f.bias ? Kind::Bias : Kind::Elementwise; }

// The registry's GPU variants of the elementwise activations, bias_* or the gated families.
std::vector<const Variant*> gpu_variants(Kind kind) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == Device::Gpu && !v.family->backward && is_elementwise_activation(*v.family) &&
        kind_of(*v.family) == kind) {
      out.push_back(&v);
    }
  }
  return out;
}

std::string param_name(const ::testing::TestParamInfo<const Variant*>& info) {
  std::string name = info.param->id();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

std::string shape(const Case& c) {
  return std::to_string(c.rows) + " x " + std::to_string(c.cols);
}

std::vector<double> reference_of(const Variant& v, const Case& c) {
  return reference(*v.family, v.dtype, c.x, c.bias, c.rows, c.cols);
}


class Stream {
 public:
  Stream() { ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// Elements in a 16-byte vector of v's type: placements run 0 .. per_vector(v) - 1.
int per_vector(const Variant& v) { return static_cast<int>(16 / dtype_bytes(v.dtype)); }

std::string describe(const Placement& at) {
  return "offsets x+" + std::to_string(at.x) + " y+" + std::to_string(at.y) + " bias+" +
         std::to_string(at.bias);
}

// v on c at the default placement and at `at`, both against one reference.
void expect_matches_placed(const Variant& v, const Case& c, const Placement& at, const std::string& what) {
  const std::vector<double> ref = reference_of(v, c);
  testing::run_and_expect(v, c, ref, what);
  testing::run_and_expect(v, c, ref, what + ", " + describe(at), at);
}

// A problem with no element: the launcher must enqueue nothing and throw nothing (null
// pointers included).
void expect_empty_problem_is_noop(const Variant& v, int64_t rows, int64_t cols) {
  Stream stream;
  Problem p;
  p.rows = rows;
  p.cols = cols;
  p.stream = stream.get();
  EXPECT_NO_THROW(v.launch(p)) << v.id() << " on " << rows << " x " << cols;
  ACT_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

// Every `stride`-th value replaced by the next of the edge inputs of type t, all then rounded
// to t (the values a t-typed array holds).
void plant_edges(std::vector<float>& values, DType t, size_t stride) {
  const std::vector<float> edges = testing::type_edge_inputs(t);
  for (size_t i = 0; i < values.size(); i += stride) values[i] = edges[(i / stride) % edges.size()];
  round_to_type(t, values);
}

// Input made of the special values, repeated.
void fill_with_specials(std::vector<float>& values) {
  const std::vector<float>& s = special_values();
  for (size_t i = 0; i < values.size(); ++i) values[i] = s[i % s.size()];
}

// ---- sigmoid, tanh, relu ------------------------------------------------------------------

class ElementwiseGpu : public ::testing::TestWithParam<const Variant*> {};

TEST_P(ElementwiseGpu, Sizes) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{31}, int64_t{32}, int64_t{33},
                          int64_t{1023}, int64_t{4099}, int64_t{1} << 20, (int64_t{1} << 24) + 3}) {
    Case c = make_case(*v.family, v.dtype, 1, n, 100 + n);
    if (!v.special_values) sprinkle_specials(c.x, 1e-3, 200 + n);  // departures: registry data
    testing::run_and_expect(v, c, reference_of(v, c), "n=" + std::to_string(n));
  }
}

TEST_P(ElementwiseGpu, InputOffset) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{33}, int64_t{4099},
                          (int64_t{1} << 22) + 5}) {
    const Case c = make_case(*v.family, v.dtype, 1, n, 300 + n);
    const std::vector<double> ref = reference_of(v, c);
    for (int offset = 1; offset < per_vector(v); ++offset) {
      testing::run_and_expect(v, c, ref, "n=" + std::to_string(n) + " offset=" + std::to_string(offset), {offset});
    }
  }
}

TEST_P(ElementwiseGpu, OffsetPairs) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  for (const int64_t n : {int64_t{1}, int64_t{2}, int64_t{5}, int64_t{33}, int64_t{4101},
                          (int64_t{1} << 20) + 7}) {
    const Case c = make_case(*v.family, v.dtype, 1, n, 400 + n);
    const std::vector<double> ref = reference_of(v, c);
    for (int ox = 0; ox < per_vector(v); ++ox) {
      for (int oy = 0; oy < per_vector(v); ++oy) {
        const Placement off{ox, oy, 0};
        testing::run_and_expect(v, c, ref, "n=" + std::to_string(n) + " " + describe(off), off);
      }
    }
  }
}

TEST_P(ElementwiseGpu, SpecialValues) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case sprinkled = make_case(*v.family, v.dtype, 1, 4099, 500);
  sprinkle_specials(sprinkled.x, 0.25, 501);
  expect_matches_placed(v, sprinkled, {1, 3, 0}, "25% special values");

  Case only = make_case(*v.family, v.dtype, 1, 1029, 502);
  fill_with_specials(only.x);
  expect_matches_placed(v, only, {2, 0, 0}, "special values only");
}

// The edges of the variant's type, where they are reachable: in f16, inputs at and past the
// largest finite value (65504; 65520 rounds to inf), outputs in the subnormals (sigmoid of
// -10..-17), values beyond f16's range in bf16 (1e30, 3e38); each placed in a sea of ordinary
// inputs at every head/vector/tail position.
TEST_P(ElementwiseGpu, TypeEdges) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = make_case(*v.family, v.dtype, 1, 1031, 510);
  plant_edges(c.x, v.dtype, 3);
  expect_matches_placed(v, c, {1, 0, 0}, "edges of " + std::string(dtype_name(v.dtype)));
}

TEST_P(ElementwiseGpu, EmptyProblem) {
  ACT_REQUIRE_GPU();
  expect_empty_problem_is_noop(*GetParam(), 1, 0);
}

INSTANTIATE_TEST_SUITE_P(Registry, ElementwiseGpu, ::testing::ValuesIn(gpu_variants(Kind::Elementwise)),
                         param_name);

// ---- bias + activation ----------------------------------------------------------------------

class BiasGpu : public ::testing::TestWithParam<const Variant*> {};

struct Shape {
  int64_t rows, cols;
};

TEST_P(BiasGpu, OddShapes) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  const Shape shapes[] = {{1, 1},   {3, 1},    {1, 3},      {7, 3},     {5, 33},   {33, 7},
                          {2, 4},   {4, 1024}, {64, 1023},  {3, 4099},  {1000, 1025},
                          {17, 65537}, {2049, 8191}};
  for (const Shape& s : shapes) {
    const Case c = make_case(*v.family, v.dtype, s.rows, s.cols, 600 + s.rows * 7 + s.cols);
    const std::vector<double> ref = reference_of(v, c);
    for (int offset = 0; offset < per_vector(v); ++offset) {
      testing::run_and_expect(v, c, ref, shape(c) + " offset=" + std::to_string(offset), {offset});
    }
  }
}

TEST_P(BiasGpu, OffsetPairs) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  const Shape shapes[] = {{1, 1}, {3, 5}, {7, 3}, {5, 33}, {4, 1024}, {33, 257}, {257, 4097}};
  for (const Shape& s : shapes) {
    const Case c = make_case(*v.family, v.dtype, s.rows, s.cols, 700 + s.rows * 7 + s.cols);
    const std::vector<double> ref = reference_of(v, c);
    for (int ox = 0; ox < per_vector(v); ++ox) {
      for (int oy = 0; oy < per_vector(v); ++oy) {
        for (const int ob : {0, per_vector(v) - 1}) {
          const Placement off{ox, oy, ob};
          testing::run_and_expect(v, c, ref, shape(c) + " " + describe(off), off);
        }
      }
    }
  }
}

TEST_P(BiasGpu, SpecialValues) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = make_case(*v.family, v.dtype, 37, 129, 800);
  sprinkle_specials(c.x, 0.25, 801);
  testing::run_and_expect(v, c, reference_of(v, c), "25% special x");
  sprinkle_specials(c.bias, 0.25, 802);
  expect_matches_placed(v, c, {3, 1, 2}, "25% special x and bias");
}

// x + b past f16's largest finite value in f32 (65504 + 65504: the sum is finite in f32, so
// relu keeps it and it rounds to inf on store; sigmoid and tanh saturate), and sums that
// cancel to f16 subnormals.
TEST_P(BiasGpu, TypeEdges) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = make_case(*v.family, v.dtype, 9, 67, 810);
  plant_edges(c.x, v.dtype, 2);
  plant_edges(c.bias, v.dtype, 3);
  expect_matches_placed(v, c, {1, 2, 3}, "edges of " + std::string(dtype_name(v.dtype)));
}

TEST_P(BiasGpu, EmptyProblem) {
  ACT_REQUIRE_GPU();
  expect_empty_problem_is_noop(*GetParam(), 0, 5);
}

INSTANTIATE_TEST_SUITE_P(Registry, BiasGpu, ::testing::ValuesIn(gpu_variants(Kind::Bias)), param_name);

// ---- backward: dx = grad(s, dy), and for bias_* the column sums dbias ------------------------

std::vector<const Variant*> gpu_backward_variants() {
  std::vector<const Variant*> out;
  for (const Variant& v : variants()) {
    if (v.device == Device::Gpu && v.family->backward && v.family->act != Activation::Softmax) out.push_back(&v);
  }
  return out;
}

class BackwardGpu : public ::testing::TestWithParam<const Variant*> {};

// A backward case of the variant's family at rows x cols (elementwise: 1 x n).
Case backward_case(const Variant& v, int64_t rows, int64_t cols, uint64_t seed) {
  if (v.family->bias) return make_case(*v.family, v.dtype, rows, cols, seed);
  return make_case(*v.family, v.dtype, 1, rows * cols, seed);
}

TEST_P(BackwardGpu, SavedAtTheEnds) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = backward_case(v, 37, 129, 7);
  const float inf = INFINITY, nan = NAN;
  const float saved[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1e-45f, -1e-45f, 0.99999994f, inf, -inf, nan};
  // No huge finite dy: a column sum of them may overflow f32 in one order and not in another.
  const float grads[] = {0.0f, -0.0f, 1.0f, -0.75f, inf, -inf, nan, 1e4f};
  for (size_t i = 0; i < c.x.size(); i += 3) c.x[i] = saved[(i / 3) % std::size(saved)];
  for (size_t i = 0; i < c.dy.size(); i += 5) c.dy[i] = grads[(i / 5) % std::size(grads)];
  round_to_type(v.dtype, c.x);
  round_to_type(v.dtype, c.dy);
  testing::run_and_expect(v, c, reference(*v.family, v.dtype, c), "saved values at 0, +-1 and specials");
}

TEST_P(BackwardGpu, LongColumns) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{20000, 33}, {3, 5000}, {513, 264}}) {
    const Case c = backward_case(v, rows, cols, 11);
    testing::run_and_expect(v, c, reference(*v.family, v.dtype, c), shape(c), {1, 1, 0, 1});
  }
}

TEST_P(BackwardGpu, DbiasRepeatsBitForBit) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  if (!v.family->bias) GTEST_SKIP() << v.id() << " has no dbias";
  Case c = backward_case(v, 4096, 768, 5);
  const std::vector<float> first = run_once(v, c);
  for (int run = 0; run < 2; ++run) {
    const std::vector<float> again = run_once(v, c);
    ASSERT_EQ(again.size(), first.size());
    EXPECT_EQ(std::memcmp(again.data(), first.data(), first.size() * sizeof(float)), 0)
        << v.id() << ": run " << run + 2 << " differs from the first";
  }
  // The rows in reverse order: another order of the same sums, within the same bound.
  for (int64_t r = 0; r < c.rows / 2; ++r) {
    std::swap_ranges(c.x.begin() + r * c.cols, c.x.begin() + (r + 1) * c.cols, c.x.end() - (r + 1) * c.cols);
    std::swap_ranges(c.dy.begin() + r * c.cols, c.dy.begin() + (r + 1) * c.cols, c.dy.end() - (r + 1) * c.cols);
  }
  testing::run_and_expect(v, c, reference(*v.family, v.dtype, c), "rows reversed");
}

TEST_P(BackwardGpu, EmptyProblem) {
  ACT_REQUIRE_GPU();
  expect_empty_problem_is_noop(*GetParam(), 0, 5);
}

INSTANTIATE_TEST_SUITE_P(Registry, BackwardGpu, ::testing::ValuesIn(gpu_backward_variants()), param_name);

// ---- gated: y = act(a) * b over the two halves of each row -----------------------------------

class GatedGpu : public ::testing::TestWithParam<const Variant*> {};

// a (the first half of each row of x) at output index i.
float& a_of(Case& c, int64_t i) { return c.x[i / c.cols * 2 * c.cols + i % c.cols]; }
float& b_of(Case& c, int64_t i) { return c.x[i / c.cols * 2 * c.cols + c.cols + i % c.cols]; }

TEST_P(GatedGpu, OddShapes) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  const Shape shapes[] = {{1, 1},    {7, 1},    {1, 3},     {3, 7},      {5, 33},    {2, 8},   {9, 64},
                          {4, 1024}, {3, 4099}, {64, 1023}, {1000, 1025}, {17, 65537}, {2049, 8192}};
  for (const Shape& s : shapes) {
    const Case c = make_case(*v.family, v.dtype, s.rows, s.cols, 900 + s.rows * 7 + s.cols);
    const std::vector<double> ref = reference_of(v, c);
    // 2049 x 8192 (several grid-stride rounds of fused_warp in every type): aligned (16-byte
    // loads of both halves) and one element off (element loads) only.
    const int offsets = s.rows * s.cols > (int64_t{1} << 24) ? 2 : per_vector(v);
    for (int offset = 0; offset < offsets; ++offset) {
      testing::run_and_expect(v, c, ref, shape(c) + " offset=" + std::to_string(offset), {offset});
    }
  }
}

TEST_P(GatedGpu, OffsetPairs) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  const Shape shapes[] = {{1, 1}, {3, 5}, {7, 3}, {2, 8}, {5, 33}, {4, 1024}, {33, 257}, {65, 4096}};
  for (const Shape& s : shapes) {
    const Case c = make_case(*v.family, v.dtype, s.rows, s.cols, 950 + s.rows * 7 + s.cols);
    const std::vector<double> ref = reference_of(v, c);
    for (int ox = 0; ox < per_vector(v); ++ox) {
      for (int oy = 0; oy < per_vector(v); ++oy) {
        const Placement off{ox, oy, 0};
        testing::run_and_expect(v, c, ref, shape(c) + " " + describe(off), off);
      }
    }
  }
}

TEST_P(GatedGpu, SpecialValues) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = make_case(*v.family, v.dtype, 37, 136, 1000);
  sprinkle_specials(c.x, 0.25, 1001);
  expect_matches_placed(v, c, {3, 1, 0}, "25% special values in a and b");
  // Only special values as a, with b = 0 (inf * 0 is NaN, -0 * 0 a zero) and with b = -inf.
  Case only = make_case(*v.family, v.dtype, 9, 128, 1002);
  const std::vector<float>& specials = special_values();
  for (int64_t i = 0; i < only.rows * only.cols; ++i) {
    a_of(only, i) = specials[i % specials.size()];
    b_of(only, i) = i % 2 ? 0.0f : -std::numeric_limits<float>::infinity();
  }
  expect_matches_placed(v, only, {0, 0, 0}, "special values as a, b 0 or -inf");
}

// The type's edges as a (f16's overflow at 65504, subnormal activations), b as drawn (the
// tolerances take |b| < 4), each in a sea of ordinary inputs at every vector position.
TEST_P(GatedGpu, TypeEdges) {
  ACT_REQUIRE_GPU();
  const Variant& v = *GetParam();
  ACT_REQUIRE_SPECIAL_VALUE_RULES(v);
  Case c = make_case(*v.family, v.dtype, 11, 96, 1010);
  const std::vector<float> edges = testing::type_edge_inputs(v.dtype);
  for (int64_t i = 0; i < c.rows * c.cols; i += 3) a_of(c, i) = edges[(i / 3) % edges.size()];
  round_to_type(v.dtype, c.x);
  expect_matches_placed(v, c, {1, 0, 0}, "edges of " + std::string(dtype_name(v.dtype)) + " as a");
}

TEST_P(GatedGpu, EmptyProblem) {
  ACT_REQUIRE_GPU();
  expect_empty_problem_is_noop(*GetParam(), 0, 5);
}

INSTANTIATE_TEST_SUITE_P(Registry, GatedGpu, ::testing::ValuesIn(gpu_variants(Kind::Gated)), param_name);

}  // namespace
}  // namespace actbench
